//! Zero-shot editing with a consistency model: no retraining, only a different loop.
//!
//! Song, Dhariwal, Chen, Sutskever, "Consistency Models" (2023), Algorithm 4 and sec. 6.3:
//! - inpainting: the multistep loop, putting the known pixels back after every denoise;
//! - interpolation: spherical interpolation between the initial noises of two seeds;
//! - denoising: start the loop at the noise level of the given noisy image instead of sigma_max;
//! - stroke-guided generation (SDEdit, Meng et al. 2022): noise a rough drawing to a middle level
//!   and run the multistep loop from there.
//! Each returns a [`Sampler`], so it reports every step like generation does.
//!
//! [`Edit`] is the one description of an edit that both the CLI (`cm edit`) and the page (the
//! wasm API's `edit`) parse into; each of its modes has one meaning, documented there.

use burn::tensor::{Device, Tensor, TensorData};

use crate::denoiser::Denoise;
use crate::labels::LabelChoice;
use crate::model::Model;
use crate::noise_levels::levels_from;
use crate::sampling::{Guidance, Method, NoiseBlend, PIXELS, SampleError, SampleRequest, Sampler};
use crate::unet::IMAGE_SIZE;

/// What to do to an image (or between two seeds). Images are 784 values (28 x 28, row by row,
/// in [-1, 1]; a mask 1 = keep, 0 = fill in), shared by every image of the request, which differ
/// in their noise (and, with the digits in turn, in their digit).
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Fill in the pixels of `image` where `mask` is 0; those where it is 1 come out exactly as
    /// given. The loop walks the model's levels for the request's steps.
    Inpaint { image: Vec<f32>, mask: Vec<f32> },
    /// Turn a rough drawing into a digit (SDEdit): the drawing plus the seed's noise at `level`
    /// (the strength; 1-10 is a useful range) is the start of a loop that begins at that level.
    /// A low strength keeps the strokes, a high one lets the model redraw them.
    Stroke { image: Vec<f32>, level: f64 },
    /// Clean up a noisy version of a digit: the seed's noise at `level` is added to `image` (a
    /// clean digit), and the loop starts at that level (the page's "clean up a noisy digit").
    Denoise { image: Vec<f32>, level: f64 },
    /// Clean up `image`, which already carries Gaussian noise of level `level` (the paper's
    /// denoising: the loop starts at the noisy image itself).
    Restore { image: Vec<f32>, level: f64 },
    /// A morph between the seed and `seed_b`: one image per position in `t` (0: the seed's first
    /// image, 1: `seed_b`'s), each from the spherical interpolation of their noises.
    Interpolate { seed_b: u64, t: Vec<f64> },
}

/// An [`Edit`] with the settings every mode shares.
#[derive(Debug, Clone, PartialEq)]
pub struct EditRequest {
    pub edit: Edit,
    pub seed: u64,
    /// Steps of the loop.
    pub steps: usize,
    /// The digit to aim for (an interpolation keeps one label: not the digits in turn).
    pub label: LabelChoice,
    /// Images to make (an interpolation makes one per position instead).
    pub count: usize,
}

impl Edit {
    /// The mode's name, as the CLI's `--mode` and the API's `mode` write it.
    pub fn mode(&self) -> &'static str {
        match self {
            Edit::Inpaint { .. } => "inpaint",
            Edit::Stroke { .. } => "stroke",
            Edit::Denoise { .. } => "denoise",
            Edit::Restore { .. } => "restore",
            Edit::Interpolate { .. } => "interpolate",
        }
    }
}

impl EditRequest {
    /// The sampler of this edit with `model`, whose function `f` (from `model.denoiser()`) it
    /// calls. Every bad setting is an error naming it.
    pub fn sampler<'a>(&self, model: &Model, f: &'a dyn Denoise, device: &Device) -> Result<Sampler<'a>, SampleError> {
        let invalid = |m: String| SampleError::InvalidRequest(format!("{}: {m}", self.edit.mode()));
        if model.method() != Method::Consistency {
            return Err(invalid("the model is not a consistency model: editing needs cd or ct weights, not the diffusion teacher".into()));
        }
        let sigma = model.manifest.sigma;
        let images = |name: &str, values: &[f32]| -> Result<Tensor<4>, SampleError> {
            if values.len() != PIXELS || values.iter().any(|v| !v.is_finite()) {
                return Err(invalid(format!("{name} must be {PIXELS} finite numbers (28 x 28), got {}", values.len())));
            }
            let batch: Vec<f32> = values.iter().copied().cycle().take(PIXELS * self.count).collect();
            Ok(Tensor::from_data(TensorData::new(batch, [self.count, 1, IMAGE_SIZE, IMAGE_SIZE]), device))
        };
        let start = |level: f64| -> Result<Vec<f64>, SampleError> {
            if level > sigma.sigma_min && level <= sigma.sigma_max {
                Ok(levels_from(&sigma, level, self.steps))
            } else {
                Err(invalid(format!("the level must be in ({}, {}], got {level}", sigma.sigma_min, sigma.sigma_max)))
            }
        };
        let request = SampleRequest::labelled(self.seed, 0, self.count, self.label);
        match &self.edit {
            Edit::Inpaint { image, mask } => {
                let levels = model.levels_for_steps(self.steps, self.label);
                inpainting(f, request, levels, images("image", image)?, images("mask", mask)?, device)
            }
            Edit::Stroke { image, level } | Edit::Denoise { image, level } => stroke_guided(f, request, images("image", image)?, start(*level)?, device),
            Edit::Restore { image, level } => denoising(f, request, images("image", image)?, start(*level)?, device),
            Edit::Interpolate { seed_b, t } => {
                if t.iter().any(|t| !(0.0..=1.0).contains(t)) {
                    return Err(invalid("t must hold positions in [0, 1]".into()));
                }
                let label = self.label.single().map_err(invalid)?;
                interpolation(f, self.seed, *seed_b, 0, t.clone(), label, model.levels_for_steps(self.steps, self.label), device)
            }
        }
    }
}

/// Inpainting: `known` images `[B, 1, 28, 28]` with `mask` (1 = keep, 0 = fill in) over `levels`
/// (starting at sigma_max). The known pixels come out exactly as given.
pub fn inpainting<'a>(
    model: &'a dyn Denoise,
    request: SampleRequest,
    levels: Vec<f64>,
    known: Tensor<4>,
    mask: Tensor<4>,
    device: &Device,
) -> Result<Sampler<'a>, SampleError> {
    let guidance = Guidance { start: None, known: Some((known, mask)) };
    Sampler::guided(model, Method::Consistency, request, levels, guidance, device)
}

/// Interpolation: one image per `t` (0: `seed_a`'s sample, 1: `seed_b`'s), each from the slerp of
/// the two seeds' noises at every step; image index `first_image` of both seeds.
pub fn interpolation<'a>(
    model: &'a dyn Denoise,
    seed_a: u64,
    seed_b: u64,
    first_image: u64,
    t: Vec<f64>,
    label: usize,
    levels: Vec<f64>,
    device: &Device,
) -> Result<Sampler<'a>, SampleError> {
    let request = SampleRequest { seed: seed_a, first_image, labels: vec![label; t.len()], blend: Some(NoiseBlend { seed: seed_b, t }) };
    Sampler::new(model, Method::Consistency, request, levels, device)
}

/// `k` evenly spaced positions from 0 to 1 (a morph of `k` frames).
pub fn interpolation_path(k: usize) -> Vec<f64> {
    match k {
        0 => Vec::new(),
        1 => vec![0.0],
        _ => (0..k).map(|i| i as f64 / (k - 1) as f64).collect(),
    }
}

/// Denoising: `noisy` images already at level `levels[0]` (`x + levels[0] z`) are denoised in one
/// jump, then optionally refined over the lower `levels[1..]`.
pub fn denoising<'a>(
    model: &'a dyn Denoise,
    request: SampleRequest,
    noisy: Tensor<4>,
    levels: Vec<f64>,
    device: &Device,
) -> Result<Sampler<'a>, SampleError> {
    let guidance = Guidance { start: Some(noisy), known: None };
    Sampler::guided(model, Method::Consistency, request, levels, guidance, device)
}

/// Stroke-guided generation: `drawing` (in [-1, 1]) plus `levels[0] z_0` is the start; a higher
/// first level (the strength) follows the drawing less and the data more.
pub fn stroke_guided<'a>(
    model: &'a dyn Denoise,
    request: SampleRequest,
    drawing: Tensor<4>,
    levels: Vec<f64>,
    device: &Device,
) -> Result<Sampler<'a>, SampleError> {
    let start_level = *levels.first().ok_or_else(|| SampleError::InvalidLevels("need at least one level".into()))?;
    let expected = [request.count(), 1, crate::unet::IMAGE_SIZE, crate::unet::IMAGE_SIZE];
    if drawing.dims() != expected {
        return Err(SampleError::InvalidRequest(format!("the drawing is {:?}, expected {expected:?}", drawing.dims())));
    }
    let start = drawing + request.noise(0, device) * start_level;
    // From here it is denoising: the noised drawing is an image at level `levels[0]`.
    denoising(model, request, start, levels, device)
}
