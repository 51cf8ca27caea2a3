//! The training objectives, one short function each.
//!
//! - Denoising score matching with EDM's weighting (Karras et al. 2022, eq. 2 and Table 1):
//!   `lambda(sigma) ||D(x + sigma z, sigma) - x||^2`, `lambda = (sigma^2 + sd^2) / (sigma sd)^2`.
//! - The consistency loss (Song et al. 2023, eq. 7 / Algorithms 2-3):
//!   `lambda_n d(f_theta(x_{n+1}, sigma_{n+1}), f_theta-(x_n, sigma_n))`, with the metric `d` one of
//!   L2, L1, or iCT's pseudo-Huber `sqrt(||a - b||^2 + c^2) - c`, `c = 0.00054 sqrt(dim)`
//!   (Song & Dhariwal 2023, sec. 3.3).

use burn::tensor::{Tensor, TensorData};

use crate::sampling::PIXELS;

/// The distance `d` of the consistency loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// iCT's pseudo-Huber: `sqrt(||a - b||^2 + c^2) - c`, robust to outliers and no feature network.
    PseudoHuber,
    /// Squared L2 distance, averaged over pixels.
    L2,
    /// L1 distance, averaged over pixels.
    L1,
}

/// iCT's pseudo-Huber constant for `dim` values per example: `c = 0.00054 sqrt(dim)`.
pub fn pseudo_huber_c(dim: usize) -> f64 {
    0.00054 * (dim as f64).sqrt()
}

/// Per-example distance `d(a, b)`: `[B, 1, 28, 28]` twice -> `[B]`.
pub fn distance(metric: Metric, a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    let [batch, ..] = a.dims();
    let diff = (a - b).reshape([batch, PIXELS]);
    match metric {
        Metric::PseudoHuber => {
            let c = pseudo_huber_c(PIXELS);
            (diff.powi_scalar(2).sum_dim(1) + c * c).sqrt().reshape([batch]) - c
        }
        Metric::L2 => diff.powi_scalar(2).mean_dim(1).reshape([batch]),
        Metric::L1 => diff.abs().mean_dim(1).reshape([batch]),
    }
}

/// Weighted mean over the batch: `sum_i w_i d_i / B`.
pub fn weighted_mean(per_example: Tensor<1>, weights: &[f64]) -> Tensor<1> {
    let w: Vec<f32> = weights.iter().map(|&v| v as f32).collect();
    let w = Tensor::<1>::from_data(TensorData::new(w, [weights.len()]), &per_example.device());
    (per_example * w).mean()
}

/// EDM's loss weight `lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2`.
pub fn edm_loss_weight(sigma: f64, sigma_data: f64) -> f64 {
    (sigma * sigma + sigma_data * sigma_data) / (sigma * sigma_data).powi(2)
}

/// Denoising score matching: `mean_i lambda(sigma_i) ||D_i - x_i||^2 / 784`.
pub fn denoising_loss(denoised: Tensor<4>, clean: Tensor<4>, sigmas: &[f64], sigma_data: f64) -> Tensor<1> {
    let weights: Vec<f64> = sigmas.iter().map(|&s| edm_loss_weight(s, sigma_data)).collect();
    weighted_mean(distance(Metric::L2, denoised, clean), &weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn images(values: &[f32]) -> Tensor<4> {
        let n = values.len() / PIXELS;
        Tensor::from_data(TensorData::new(values.to_vec(), [n, 1, 28, 28]), &Device::flex())
    }

    #[test]
    fn metrics_match_their_formulas() {
        let a = images(&[0.5; PIXELS]);
        let b = images(&[0.0; PIXELS]);
        let l2: f32 = distance(Metric::L2, a.clone(), b.clone()).into_scalar();
        let l1: f32 = distance(Metric::L1, a.clone(), b.clone()).into_scalar();
        let ph: f32 = distance(Metric::PseudoHuber, a.clone(), b.clone()).into_scalar();
        let c = pseudo_huber_c(PIXELS);
        assert!((l2 - 0.25).abs() < 1e-6);
        assert!((l1 - 0.5).abs() < 1e-6);
        let expected = ((PIXELS as f64 * 0.25 + c * c).sqrt() - c) as f32;
        assert!((ph - expected).abs() < 1e-4, "{ph} vs {expected}");
        let zero: f32 = distance(Metric::PseudoHuber, a.clone(), a).into_scalar();
        assert!(zero.abs() < 1e-6);
        assert!((c - 0.01512).abs() < 1e-5); // 0.00054 * 28
    }

    #[test]
    fn edm_weight_balances_the_target_variance() {
        // lambda(sigma) c_out(sigma)^2 = 1: the effective network target has unit weight.
        for sigma in [0.01, 0.5, 3.0, 80.0] {
            let c_out = crate::preconditioning::edm_scalings(sigma, 0.5).c_out;
            assert!((edm_loss_weight(sigma, 0.5) * c_out * c_out - 1.0).abs() < 1e-12);
        }
    }
}
