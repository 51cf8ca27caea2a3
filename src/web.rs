//! The JavaScript-facing API (wasm-bindgen), compiled only for `wasm32`.
//!
//! ```js
//! import init, { Generator } from './pkg/consistency_models.js';
//! await init();
//! const gen = await Generator.load(manifestText, new Uint8Array(weightsBytes));
//! const pixels = await gen.generate({ seed: 42, steps: 2, label: 7, count: 4 },
//!   (step, noisy, denoised) => draw(step, noisy, denoised));
//! ```
//! Every failure comes back as a rejected promise carrying a message; a panic is logged to the
//! console by `console_error_panic_hook`.

use std::rc::Rc;

use burn::tensor::{Device, Tensor};
use js_sys::{Float32Array, Function, Promise};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::editing::{Edit, EditRequest};
use crate::sampling::{LabelChoice, SampleRequest, Sampler};
use crate::noise_levels::MAX_STEPS;
use crate::weights::{Manifest, ModelKind};
use crate::model::Model;
use crate::{SigmaConfig, UNetConfig};

unsafe extern "C" {
    /// The static constructors of the module (synthesised by wasm-ld; some dependencies register
    /// things with `inventory`).
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
pub fn start() {
    // Run the constructors once, here. Without an explicit call, wasm-ld treats the module as a
    // "command" and wraps every export so that it reruns all constructors on each call from
    // JavaScript: a third of the time of a one-image step went there.
    unsafe { __wasm_call_ctors() };
    console_error_panic_hook::set_once();
}

/// Options of [`Generator::generate`], from a plain JS object.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateOptions {
    seed: f64,
    #[serde(default)]
    steps: Option<usize>,
    #[serde(default)]
    levels: Option<Vec<f64>>,
    #[serde(default)]
    label: Option<LabelOption>,
    #[serde(default = "one")]
    count: usize,
    #[serde(default)]
    first_image: f64,
}

fn one() -> usize {
    1
}

/// The `label` option as JS gives it: a digit, or `"any"` / `"0-9"` (see [`LabelChoice`]).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LabelOption {
    Number(f64),
    Text(String),
}

/// The label choice of `label` (absent: any digit).
fn label_choice(label: &Option<LabelOption>) -> Result<LabelChoice, JsValue> {
    match label {
        None => Ok(LabelChoice::Any),
        Some(LabelOption::Number(d)) if d.fract() == 0.0 && (0.0..=9.0).contains(d) => Ok(LabelChoice::Digit(*d as usize)),
        Some(LabelOption::Number(d)) => Err(js_err(LabelChoice::invalid(d))),
        Some(LabelOption::Text(text)) => text.parse().map_err(js_err),
    }
}

/// Options of [`Generator::edit`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditOptions {
    mode: String,
    seed: f64,
    #[serde(default = "one")]
    steps: usize,
    #[serde(default)]
    label: Option<LabelOption>,
    #[serde(default = "one")]
    count: usize,
    #[serde(default)]
    image: Option<Vec<f32>>,
    #[serde(default)]
    mask: Option<Vec<f32>>,
    #[serde(default)]
    level: Option<f64>,
    #[serde(default)]
    seed_b: Option<f64>,
    #[serde(default)]
    t: Option<Vec<f64>>,
}

/// What the step callback receives as its first argument.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StepInfo {
    index: usize,
    total: usize,
    sigma: f64,
    nfe: usize,
    /// Milliseconds from the previous step's pixels (or the start) to this step's pixels.
    ms: f64,
}

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// Resolves once the browser has had the chance to paint: a macrotask after the next animation
/// frame (the paint follows the frame's callbacks). A plain `setTimeout(0)` does not guarantee a
/// paint, and once steps got fast enough, several arrived within one frame. Hidden tabs get no
/// animation frames, so a timer resolves it too after [`PAINT_WAIT_MAX_MS`]; in a worker (no
/// window, nothing to paint) it resolves at once. The library waits for it between the steps it
/// reports, and the page's CPU pool paces the steps its workers send with it.
#[wasm_bindgen(js_name = nextPaint)]
pub fn next_paint() -> Promise {
    Promise::new(&mut |resolve, _| {
        let Some(window) = web_sys::window() else {
            let _ = resolve.call0(&JsValue::NULL);
            return;
        };
        let (w, r) = (window.clone(), resolve.clone());
        let after_frame = Closure::once_into_js(move || {
            let _ = w.set_timeout_with_callback(&r);
        });
        let _ = window.request_animation_frame(after_frame.unchecked_ref());
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, PAINT_WAIT_MAX_MS);
    })
}

async fn next_frame() {
    let _ = wasm_bindgen_futures::JsFuture::from(next_paint()).await;
}

/// Longest wait for an animation frame between two steps (hidden tabs never get one).
const PAINT_WAIT_MAX_MS: i32 = 250;

/// `performance.now()` of the page or of the worker the library runs in.
fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// The most images one call makes: `count`, or the positions `t` of an interpolation.
pub const MAX_IMAGES: usize = 256;

/// The limits of one `generate`, `edit` or `levels` call, `{steps, images, sigma}` (`sigma`: the
/// range `[sigma_min, sigma_max]` of the noise levels of `SigmaConfig`'s default, which every
/// shipped model uses): the page's own limits (`www/state.js`) must stay within them, which the
/// browser tests check for every mode.
#[wasm_bindgen]
pub fn limits() -> Result<JsValue, JsValue> {
    let sigma = SigmaConfig::default();
    let limits = serde_json::json!({ "steps": MAX_STEPS, "images": MAX_IMAGES, "sigma": [sigma.sigma_min, sigma.sigma_max] });
    limits.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_err)
}

fn check_steps(steps: usize) -> Result<usize, JsValue> {
    if (1..=MAX_STEPS).contains(&steps) {
        Ok(steps)
    } else {
        Err(js_err(format!("steps must be 1 to {MAX_STEPS}, got {steps}")))
    }
}

fn check_images(n: usize, what: &str) -> Result<usize, JsValue> {
    if (1..=MAX_IMAGES).contains(&n) {
        Ok(n)
    } else {
        Err(js_err(format!("{what} must be 1 to {MAX_IMAGES}, got {n}")))
    }
}

/// Seeds are integers in [0, 2^53) so that JavaScript numbers carry them exactly.
fn integer(value: f64, what: &str) -> Result<u64, JsValue> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 9_007_199_254_740_992.0 {
        Ok(value as u64)
    } else {
        Err(js_err(format!("{what} must be an integer in [0, 2^53), got {value}")))
    }
}

/// serde-wasm-bindgen reads only the fields it knows, so a misspelt option would be silently
/// ignored: name it instead.
fn reject_unknown_keys(options: &JsValue, known: &[&str]) -> Result<(), JsValue> {
    let object = options.dyn_ref::<js_sys::Object>().ok_or_else(|| js_err("options must be an object"))?;
    for key in js_sys::Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(js_err(format!("unknown option {key:?}; known: {}", known.join(", "))));
        }
    }
    Ok(())
}

async fn pixels(t: Tensor<4>) -> Result<Float32Array, JsValue> {
    let data = t.into_data_async().await.map_err(js_err)?;
    let values = data.try_to_vec::<f32>().map_err(|e| js_err(format!("{e:?}")))?;
    Ok(Float32Array::from(values.as_slice()))
}

thread_local! {
    /// The WebGPU device, acquired once per page (burn's wgpu runtime initialises only once) and
    /// shared by every model, with its adapter's name.
    static WEBGPU: std::cell::RefCell<Option<(Device, String)>> = const { std::cell::RefCell::new(None) };
}

/// The WebGPU device (acquired on first use) and its adapter's description.
async fn webgpu_device() -> Result<(Device, String), JsValue> {
    if let Some(found) = WEBGPU.with(|w| w.borrow().clone()) {
        return Ok(found);
    }
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| js_err(format!("WebGPU initialisation failed: {e}")))?;
    let info = setup.adapter.get_info();
    let name = [info.name.as_str(), info.driver.as_str(), info.driver_info.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let name = if name.is_empty() { format!("{:?}", info.device_type) } else { name };
    WEBGPU.with(|w| *w.borrow_mut() = Some((device.clone(), name.clone())));
    Ok((device, name))
}

/// The device for `backend` ("webgpu" or "cpu") and a description of it.
async fn device_for(backend: Option<String>) -> Result<(Device, String, String), JsValue> {
    match backend.as_deref().unwrap_or("cpu") {
        "cpu" => Ok((Device::flex(), "cpu".into(), "CPU (flex backend, WebAssembly)".into())),
        "webgpu" => {
            let (device, adapter) = webgpu_device().await?;
            Ok((device, "webgpu".into(), adapter))
        }
        other => Err(js_err(format!("unknown backend {other:?}: use \"webgpu\" or \"cpu\""))),
    }
}

/// A loaded model and the device it runs on.
#[wasm_bindgen]
pub struct Generator {
    inner: Rc<Model>,
    device: Device,
    backend: String,
    adapter: String,
}

#[wasm_bindgen]
impl Generator {
    /// Loads a model from its manifest text and weights bytes, checking the manifest's hash,
    /// onto `backend`: `"webgpu"` or `"cpu"` (the default).
    pub async fn load(manifest: String, weights: Vec<u8>, backend: Option<String>) -> Result<Generator, JsValue> {
        let (device, backend, adapter) = device_for(backend).await?;
        let model = Model::from_bytes(&manifest, weights, &device).map_err(js_err)?;
        Ok(Self { inner: Rc::new(model), device, backend, adapter })
    }

    /// A consistency model with random weights (no download needed): for tests and for trying
    /// the page before any weights exist. `config` is a U-Net config object or `undefined`.
    pub async fn random(seed: f64, config: JsValue, backend: Option<String>) -> Result<Generator, JsValue> {
        let config: UNetConfig = if config.is_undefined() || config.is_null() {
            UNetConfig::new().with_base_channels(16).with_channel_mult(vec![1, 2])
        } else {
            serde_wasm_bindgen::from_value(config).map_err(js_err)?
        };
        config.validate().map_err(js_err)?;
        let seed = integer(seed, "seed")?;
        let (device, backend, adapter) = device_for(backend).await?;
        let net = crate::initial_weights::seeded(seed, &device, |device| config.init(device));
        let manifest = Manifest::new(ModelKind::Cd, &config, SigmaConfig::default());
        Ok(Self { inner: Rc::new(Model { manifest, net }), device, backend, adapter })
    }

    /// `"cpu"` or `"webgpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// The adapter (WebGPU) or a description of the CPU backend.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        self.adapter.clone()
    }

    /// `"teacher"`, `"cd"` or `"ct"`.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        serde_json::to_value(self.inner.manifest.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
    }

    /// 8 hex digits naming what decides this model's pixels (weights, levels; see
    /// `Manifest::fingerprint`): the share link's `w`.
    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.inner.manifest.fingerprint()
    }

    /// The noise levels `steps` steps of `generate` would use for images asked for with `label`
    /// (as `generate` takes it; absent: any digit, whose recommended levels differ).
    pub fn levels(&self, steps: usize, label: JsValue) -> Result<Vec<f64>, JsValue> {
        let label: Option<LabelOption> = serde_wasm_bindgen::from_value(label).map_err(js_err)?;
        Ok(self.inner.levels_for_steps(check_steps(steps)?, label_choice(&label)?))
    }

    /// Every answer `levels` can give, at once: `{label: [levels of 1 step, of 2 steps, ...]}` for
    /// every label as text (`"any"`, `"0"` .. `"9"`, `"0-9"`) and every step count up to
    /// `limits().steps`. For a proxy that must answer `levels` without this object (the CPU pool).
    #[wasm_bindgen(js_name = levelTable)]
    pub fn level_table(&self) -> Result<JsValue, JsValue> {
        let table: std::collections::BTreeMap<String, Vec<Vec<f64>>> = LabelChoice::ALL
            .iter()
            .map(|&label| (label.to_string(), (1..=MAX_STEPS).map(|steps| self.inner.levels_for_steps(steps, label)).collect()))
            .collect();
        table.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_err) // an object, not a Map
    }

    /// Generates images. `options`: `{seed, steps?, levels?, label?, count?, firstImage?}`
    /// (`levels` overrides `steps`; `label` a digit 0-9, `"0-9"` for the digits in turn (image `k`
    /// of the seed, counting from `firstImage`, gets `k mod 10`), or absent or `"any"` for any digit). `onStep(info, noisy,
    /// denoised)` is called after every step with that step's pixels (`count * 784` values in
    /// [-1, 1] order image, row, column). Resolves to the final pixels.
    pub fn generate(&self, options: JsValue, on_step: Option<Function>) -> Promise {
        let model = self.inner.clone();
        let device = self.device.clone();
        future_to_promise(async move {
            reject_unknown_keys(&options, &["seed", "steps", "levels", "label", "count", "firstImage"])?;
            let options: GenerateOptions = serde_wasm_bindgen::from_value(options).map_err(js_err)?;
            check_images(options.count, "count")?;
            let label = label_choice(&options.label)?;
            let request = SampleRequest::labelled(integer(options.seed, "seed")?, integer(options.first_image, "firstImage")?, options.count, label);
            let levels = match (&options.levels, options.steps) {
                (Some(levels), _) if levels.len() <= MAX_STEPS => levels.clone(),
                (Some(levels), _) => return Err(js_err(format!("levels must hold at most {MAX_STEPS} levels, got {}", levels.len()))),
                (None, Some(steps)) => model.levels_for_steps(check_steps(steps)?, label),
                (None, None) => model.levels_for_steps(1, label),
            };
            let denoiser = model.denoiser();
            let sampler = Sampler::new(denoiser.as_ref(), model.method(), request, levels, &device).map_err(js_err)?;
            drive(sampler, on_step.as_ref()).await
        })
    }

    /// Edits without retraining (Algorithm 4 of the paper; see `editing::Edit`, whose modes
    /// these are, with one meaning each). `options`:
    /// - `{mode: "inpaint", seed, steps?, label?, count?, image, mask}`: fills the pixels where
    ///   `mask` is 0 and keeps those where it is 1 exactly;
    /// - `{mode: "stroke", seed, steps?, label?, count?, image, level}`: noises a rough drawing to
    ///   `level` (the strength) and runs the loop from there;
    /// - `{mode: "denoise", seed, steps?, label?, count?, image, level}`: adds the seed's noise at
    ///   `level` to a clean digit and cleans it up again (the loop starts at that level);
    /// - `{mode: "restore", seed, steps?, label?, count?, image, level}`: cleans up an image that
    ///   already carries noise of `level`;
    /// - `{mode: "interpolate", seed, seedB, t, steps?, label?}`: one image per position in `t`
    ///   (0: `seed`'s image, 1: `seedB`'s), from the spherical interpolation of their noises.
    /// `image` and `mask` are 784 values (an array or Float32Array, row by row; image in [-1, 1]),
    /// shared by all `count` images, which differ in their noise (and, with `label: "0-9"`, in
    /// their digit; an interpolation needs one label). Steps and callback as `generate`.
    pub fn edit(&self, options: JsValue, on_step: Option<Function>) -> Promise {
        let model = self.inner.clone();
        let device = self.device.clone();
        future_to_promise(async move {
            reject_unknown_keys(&options, &["mode", "seed", "steps", "label", "count", "image", "mask", "level", "seedB", "t"])?;
            let options: EditOptions = serde_wasm_bindgen::from_value(options).map_err(js_err)?;
            let request = edit_request(options)?;
            let denoiser = model.denoiser();
            let sampler = request.sampler(&model, denoiser.as_ref(), &device).map_err(js_err)?;
            drive(sampler, on_step.as_ref()).await
        })
    }
}

/// The [`EditRequest`] the options describe (only parsing: the meaning is `editing::Edit`'s).
fn edit_request(options: EditOptions) -> Result<EditRequest, JsValue> {
    let mode = options.mode.as_str();
    let needs = |name: &str| js_err(format!("mode {mode:?} needs {name}"));
    let image = || options.image.clone().ok_or_else(|| needs("image"));
    let level = || options.level.ok_or_else(|| needs("a level"));
    let edit = match mode {
        "inpaint" => Edit::Inpaint { image: image()?, mask: options.mask.clone().ok_or_else(|| needs("mask"))? },
        "stroke" => Edit::Stroke { image: image()?, level: level()? },
        "denoise" => Edit::Denoise { image: image()?, level: level()? },
        "restore" => Edit::Restore { image: image()?, level: level()? },
        "interpolate" => {
            let seed_b = integer(options.seed_b.ok_or_else(|| needs("seedB"))?, "seedB")?;
            let t = options.t.clone().ok_or_else(|| needs("t, positions in [0, 1]"))?;
            check_images(t.len(), "the number of positions t")?;
            Edit::Interpolate { seed_b, t }
        }
        other => return Err(js_err(format!("unknown mode {other:?}: use inpaint, stroke, denoise, restore or interpolate"))),
    };
    Ok(EditRequest {
        edit,
        seed: integer(options.seed, "seed")?,
        steps: check_steps(options.steps)?,
        label: label_choice(&options.label)?,
        count: check_images(options.count, "count")?,
    })
}

/// Runs `sampler` to the end, handing each step's pixels to `on_step(info, noisy, denoised)` and
/// letting the page paint between steps; resolves to the last denoised pixels.
async fn drive(sampler: Sampler<'_>, on_step: Option<&Function>) -> Result<JsValue, JsValue> {
    let mut last = None;
    let mut clock = now_ms();
    for step in sampler {
        let noisy = pixels(step.noisy.clone()).await?;
        let denoised = pixels(step.denoised.clone().clamp(-1.0, 1.0)).await?;
        let t = now_ms();
        if let Some(callback) = on_step {
            let info = StepInfo { index: step.index, total: step.total, sigma: step.sigma, nfe: step.nfe, ms: t - clock };
            let info = serde_wasm_bindgen::to_value(&info).map_err(js_err)?;
            callback.call3(&JsValue::NULL, &info, &noisy, &denoised)?;
        }
        // Let the browser paint this step before the next one runs (the CPU backend computes
        // synchronously, so without this every step would appear at the end). After the last
        // step the caller gets control back and the browser paints anyway; in a worker there
        // is nothing to paint (`next_frame` returns at once).
        if step.index + 1 < step.total {
            next_frame().await;
        }
        clock = now_ms();
        last = Some(denoised);
    }
    last.map(JsValue::from).ok_or_else(|| js_err("no steps were run"))
}

/// Standard normals of the portable generator at `(seed, step, first .. first + count)`: lets
/// tests compare the browser's numbers with native golden values.
#[wasm_bindgen(js_name = seededNormals)]
pub fn seeded_normals(seed: f64, step: u32, first: f64, count: usize) -> Result<Float32Array, JsValue> {
    let noise = crate::seeded_noise::SeededNoise::new(integer(seed, "seed")?, crate::seeded_noise::Stream::Sampling);
    Ok(Float32Array::from(noise.normals(step, integer(first, "first")?, count).as_slice()))
}
