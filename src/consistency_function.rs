//! The consistency function `f(x, sigma)`: maps any point of a probability-flow ODE trajectory
//! to the trajectory's origin. A thin wrapper around the same U-Net as the denoiser.
//!
//! Song, Dhariwal, Chen, Sutskever, "Consistency Models" (ICML 2023), eq. 5 and appendix C:
//! `f(x, sigma) = c_skip(sigma) x + c_out(sigma) F(c_in x, c_noise)` with the scalings of
//! [`consistency_scalings`], so the boundary condition `f(x, sigma_min) = x` holds for any
//! network weights, by construction rather than by training.

use burn::tensor::Tensor;

use crate::denoiser::Denoise;
use crate::noise_levels::SigmaConfig;
use crate::preconditioning::{Scalings, apply_preconditioned, consistency_scalings};
use crate::unet::{DropoutMasks, Labels, UNet};

/// `f(x, sigma)` with the consistency model's parameterisation.
#[derive(Debug, Clone, Copy)]
pub struct ConsistencyFunction<'a> {
    pub net: &'a UNet,
    pub sigma: SigmaConfig,
}

impl ConsistencyFunction<'_> {
    /// The scalings of each image's level.
    pub fn scalings(&self, sigmas: &[f64]) -> Vec<Scalings> {
        let s = &self.sigma;
        sigmas.iter().map(|&v| consistency_scalings(v, s.sigma_min, s.sigma_data)).collect()
    }

    /// `f(x, sigma)`, with dropout masks when training.
    pub fn forward(&self, x: Tensor<4>, sigmas: &[f64], labels: &Labels, dropout: Option<DropoutMasks>) -> Tensor<4> {
        apply_preconditioned(self.net, x, &self.scalings(sigmas), labels, dropout)
    }
}

impl Denoise for ConsistencyFunction<'_> {
    fn denoise(&self, x: Tensor<4>, sigmas: &[f64], labels: &Labels) -> Tensor<4> {
        self.forward(x, sigmas, labels, None)
    }

    fn sigma_config(&self) -> &SigmaConfig {
        &self.sigma
    }
}
