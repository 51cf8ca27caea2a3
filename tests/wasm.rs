//! wasm-bindgen tests of the library itself, run in headless Chromium
//! (`cargo test --target wasm32-unknown-unknown --test wasm`, see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

include!("golden/noise.rs");

#[wasm_bindgen_test]
fn browser_noise_matches_the_native_golden_values() {
    check_golden_normals();
}

use consistency_models::burn::tensor::Device;
use consistency_models::sampling::{Method, SampleRequest, Sampler, sample};
use consistency_models::noise_levels::consistency_levels;
use consistency_models::web::Generator;
use consistency_models::{ConsistencyFunction, SigmaConfig, UNCONDITIONAL, UNetConfig};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen_test]
fn sampling_runs_on_the_cpu_backend_in_the_browser() {
    let device = Device::flex();
    device.seed(1);
    let net = UNetConfig::new().with_base_channels(8).with_channel_mult(vec![1, 2]).with_norm_groups(4).init(&device);
    let f = ConsistencyFunction { net: &net, sigma: SigmaConfig::default() };
    let levels = consistency_levels(&f.sigma, &[2.0, 0.3]);
    let mut calls = 0;
    let sampler = Sampler::new(&f, Method::Consistency, SampleRequest::new(3, 2, UNCONDITIONAL), levels, &device).unwrap();
    let out = sample(sampler, &mut |_| calls += 1);
    assert_eq!(out.dims(), [2, 1, 28, 28]);
    assert_eq!(calls, 3);
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

#[wasm_bindgen_test]
async fn the_js_api_generates_and_rejects_bad_options_with_messages() {
    let generator = Generator::random(7.0, JsValue::UNDEFINED, Some("cpu".into())).await.unwrap();
    let generator = &generator;
    assert_eq!(generator.backend(), "cpu");
    let pixels = JsFuture::from(generator.generate(options(r#"{"seed": 5, "steps": 2, "count": 3}"#), None)).await.unwrap();
    assert_eq!(js_sys::Float32Array::from(pixels).length(), 3 * 784);
    // "0-9": image k of the seed asks for digit k mod 10, counted from firstImage.
    let generate = |json: String| async move { floats(JsFuture::from(generator.generate(options(&json), None)).await.unwrap()) };
    let in_turn = generate(r#"{"seed": 5, "count": 3, "label": "0-9", "firstImage": 9}"#.into()).await;
    for (i, label) in [9, 0, 1].into_iter().enumerate() {
        let alone = generate(format!(r#"{{"seed": 5, "label": {label}, "firstImage": {}}}"#, 9 + i)).await;
        assert_eq!(&in_turn[i * 784..(i + 1) * 784], alone.as_slice(), "image {i}");
    }
    assert_eq!(generate(r#"{"seed": 5, "label": "any"}"#.into()).await, generate(r#"{"seed": 5}"#.into()).await);
    for bad in [r#"{"seed": 1, "label": 10}"#, r#"{"seed": 1, "label": 2.5}"#, r#"{"seed": 1, "label": "seven"}"#, r#"{"seed": -1}"#, r#"{"seed": 1.5}"#, r#"{"seed": 1, "count": 0}"#, r#"{"seed": 1, "steps": 99}"#, r#"{"seed": 1, "levels": [80, 90]}"#, r#"{"seed": 1, "colour": 2}"#] {
        let Err(err) = JsFuture::from(generator.generate(options(bad), None)).await else {
            panic!("{bad} was accepted");
        };
        let message = js_sys::Error::from(err).message();
        assert!(String::from(message).len() > 5, "{bad}");
    }
    let corrupt = Generator::load("{\"format_version\": 1}".into(), vec![1, 2, 3], None).await;
    assert!(corrupt.is_err());
}

fn floats(value: JsValue) -> Vec<f32> {
    js_sys::Float32Array::from(value).to_vec()
}

#[wasm_bindgen_test]
async fn the_js_edit_api_keeps_known_pixels_and_ends_interpolation_at_the_seeds() {
    let generator = Generator::random(3.0, JsValue::UNDEFINED, Some("cpu".into())).await.unwrap();
    let generator = &generator;
    let run = |json: String| async move { JsFuture::from(generator.edit(options(&json), None)).await.map(floats) };
    // Inpainting: the top half known (a bar), the bottom half filled in, for 2 images.
    let known: Vec<f32> = (0..784).map(|i| if i % 28 == 14 { 1.0 } else { -1.0 }).collect();
    let mask: Vec<f32> = (0..784).map(|i| if i < 392 { 1.0 } else { 0.0 }).collect();
    let json = format!(r#"{{"mode": "inpaint", "seed": 4, "steps": 2, "count": 2, "image": {known:?}, "mask": {mask:?}}}"#);
    let out = run(json).await.unwrap();
    assert_eq!(out.len(), 2 * 784);
    for (i, v) in out.iter().enumerate() {
        if i % 784 < 392 {
            assert_eq!(*v, known[i % 784]);
        }
    }
    // Interpolation: its ends are the two seeds' own images.
    let plain = move |seed: u32| async move {
        floats(JsFuture::from(generator.generate(options(&format!(r#"{{"seed": {seed}, "steps": 2, "label": 3}}"#)), None)).await.unwrap())
    };
    let morph = run(r#"{"mode": "interpolate", "seed": 8, "seedB": 9, "t": [0, 0.5, 1], "steps": 2, "label": 3}"#.into()).await.unwrap();
    assert_eq!(&morph[..784], plain(8).await.as_slice());
    assert_eq!(&morph[2 * 784..], plain(9).await.as_slice());
    // Stroke and denoise start at the given level; bad requests are refused with a message.
    assert_eq!(run(format!(r#"{{"mode": "stroke", "seed": 1, "steps": 3, "image": {known:?}, "level": 5}}"#)).await.unwrap().len(), 784);
    // Each mode has one meaning (`editing::Edit`): "denoise" noises a clean digit first, as
    // "stroke" noises a drawing; "restore" takes an image that already carries the noise.
    let with = |mode: &str| format!(r#"{{"mode": "{mode}", "seed": 2, "steps": 2, "image": {known:?}, "level": 0.5}}"#);
    let (denoised, stroked, restored) = (run(with("denoise")).await.unwrap(), run(with("stroke")).await.unwrap(), run(with("restore")).await.unwrap());
    assert_eq!(denoised, stroked);
    assert_ne!(denoised, restored);
    // The table of every answer of `levels`, for the CPU pool's proxy.
    let table: std::collections::BTreeMap<String, Vec<Vec<f64>>> = serde_wasm_bindgen::from_value(generator.level_table().unwrap()).unwrap();
    assert_eq!(table.len(), 12, "any, 0-9 and the digits in turn");
    for (label, per_steps) in &table {
        assert_eq!(per_steps.len(), consistency_models::noise_levels::MAX_STEPS);
        for (i, levels) in per_steps.iter().enumerate() {
            assert_eq!(levels, &generator.levels(i + 1, JsValue::from_str(label)).unwrap(), "{label} at {} steps", i + 1);
        }
    }
    for bad in [
        r#"{"mode": "inpaint", "seed": 1}"#.to_string(),
        r#"{"mode": "stroke", "seed": 1, "image": [0, 1]}"#.to_string(),
        format!(r#"{{"mode": "denoise", "seed": 1, "image": {known:?}, "level": 500}}"#),
        r#"{"mode": "interpolate", "seed": 1, "seedB": 2, "t": [2]}"#.to_string(),
        r#"{"mode": "interpolate", "seed": 1, "seedB": 2, "t": [0.5], "label": "0-9"}"#.to_string(),
        r#"{"mode": "paint", "seed": 1}"#.to_string(),
    ] {
        let err = run(bad.clone()).await.expect_err(&bad);
        assert!(String::from(js_sys::Error::from(err).message()).len() > 5, "{bad}");
    }
}

#[wasm_bindgen_test]
async fn every_call_is_bounded_by_the_exported_limits() {
    let limits: serde_json::Value = serde_wasm_bindgen::from_value(consistency_models::web::limits().unwrap()).unwrap();
    assert_eq!(limits, serde_json::json!({"steps": 64, "images": 256, "sigma": [0.002, 80]}));
    let generator = Generator::random(2.0, JsValue::UNDEFINED, Some("cpu".into())).await.unwrap();
    assert_eq!(generator.levels(64, JsValue::UNDEFINED).unwrap().len(), 64);
    for steps in [0, 65, 1 << 30] {
        assert!(generator.levels(steps, JsValue::UNDEFINED).is_err(), "levels({steps})");
    }
    // The page's largest morph (count 64) sends 65 positions: within the limit.
    let t: Vec<f64> = (0..65).map(|i| i as f64 / 64.0).collect();
    let json = format!(r#"{{"mode": "interpolate", "seed": 1, "seedB": 2, "t": {t:?}}}"#);
    let morph = JsFuture::from(generator.edit(options(&json), None)).await.unwrap();
    assert_eq!(floats(morph).len(), 65 * 784);
    let t: Vec<f64> = vec![0.5; 257];
    let json = format!(r#"{{"mode": "interpolate", "seed": 1, "seedB": 2, "t": {t:?}}}"#);
    assert!(JsFuture::from(generator.edit(options(&json), None)).await.is_err(), "257 positions");
    let levels: Vec<f64> = (0..65).map(|i| 80.0 - i as f64).collect();
    let json = format!(r#"{{"seed": 1, "levels": {levels:?}}}"#);
    assert!(JsFuture::from(generator.generate(options(&json), None)).await.is_err(), "65 levels");
}
