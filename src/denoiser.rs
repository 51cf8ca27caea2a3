//! The EDM denoiser `D(x, sigma)`: the diffusion teacher, a thin wrapper around the U-Net.
//!
//! Karras et al. 2022, eq. 7: `D(x, sigma) = c_skip x + c_out F(c_in x, c_noise)` with the
//! scalings of [`edm_scalings`]. Trained by denoising score matching, it estimates
//! `E[x_0 | x_sigma]`; the probability-flow ODE is `dx/dsigma = (x - D(x, sigma)) / sigma`.

use burn::tensor::Tensor;

use crate::noise_levels::SigmaConfig;
use crate::preconditioning::{Scalings, apply_preconditioned, edm_scalings};
use crate::unet::{DropoutMasks, Labels, UNet};

/// Anything that maps noisy images at given levels to estimates of the clean images: the EDM
/// denoiser and the consistency function both do, so every sampler takes a `&dyn Denoise`.
pub trait Denoise {
    /// `x`: `[B, 1, 28, 28]` noisy images, `sigmas`: the level of each image, `labels`: one per image.
    /// Returns `[B, 1, 28, 28]`.
    fn denoise(&self, x: Tensor<4>, sigmas: &[f64], labels: &Labels) -> Tensor<4>;

    /// The noise levels this model was trained on.
    fn sigma_config(&self) -> &SigmaConfig;
}

/// `D(x, sigma)` with EDM preconditioning.
#[derive(Debug, Clone, Copy)]
pub struct Denoiser<'a> {
    pub net: &'a UNet,
    pub sigma: SigmaConfig,
}

impl Denoiser<'_> {
    /// The scalings of each image's level.
    pub fn scalings(&self, sigmas: &[f64]) -> Vec<Scalings> {
        sigmas.iter().map(|&s| edm_scalings(s, self.sigma.sigma_data)).collect()
    }

    /// `D(x, sigma)`, with dropout masks when training.
    pub fn forward(&self, x: Tensor<4>, sigmas: &[f64], labels: &Labels, dropout: Option<DropoutMasks>) -> Tensor<4> {
        apply_preconditioned(self.net, x, &self.scalings(sigmas), labels, dropout)
    }
}

impl Denoise for Denoiser<'_> {
    fn denoise(&self, x: Tensor<4>, sigmas: &[f64], labels: &Labels) -> Tensor<4> {
        self.forward(x, sigmas, labels, None)
    }

    fn sigma_config(&self) -> &SigmaConfig {
        &self.sigma
    }
}
