//! Zero-shot editing with a consistency model: no retraining, only a different loop.
//!
//! Song, Dhariwal, Chen, Sutskever, "Consistency Models" (2023), Algorithm 4 and sec. 6.3:
//! - inpainting: the multistep loop, putting the known pixels back after every denoise;
//! - interpolation: spherical interpolation between the initial noises of two seeds;
//! - denoising: start the loop at the noise level of the given noisy image instead of sigma_max;
//! - stroke-guided generation (SDEdit, Meng et al. 2022): noise a rough drawing to a middle level
//!   and run the multistep loop from there.
//! Each returns a [`Sampler`], so it reports every step like generation does.

use burn::tensor::{Device, Tensor};

use crate::denoiser::Denoise;
use crate::sampling::{Guidance, Method, NoiseBlend, SampleError, SampleRequest, Sampler};

/// `steps` decreasing levels for a loop that starts at `start`: `start` itself, then points of the
/// Karras curve evenly spaced between it and `sigma_min` (exclusive).
pub fn levels_from(sigma: &crate::SigmaConfig, start: f64, steps: usize) -> Vec<f64> {
    let inv_rho = 1.0 / sigma.rho;
    let (lo, hi) = (sigma.sigma_min.powf(inv_rho), sigma.sigma_max.powf(inv_rho));
    let u_start = ((start.powf(inv_rho) - lo) / (hi - lo)).clamp(0.0, 1.0);
    let mut levels = vec![start];
    levels.extend((1..steps).map(|i| sigma.karras_level_at(u_start * (steps - i) as f64 / steps as f64)));
    levels
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
