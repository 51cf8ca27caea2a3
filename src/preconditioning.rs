//! Preconditioning: how a raw network `F` becomes a denoiser or a consistency function.
//!
//! Both have the form `c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma))`.
//!
//! - EDM denoiser: Karras et al. 2022, Table 1 ("Ours" column), with `sd = sigma_data`:
//!   `c_skip = sd^2 / (sigma^2 + sd^2)`, `c_out = sigma sd / sqrt(sigma^2 + sd^2)`,
//!   `c_in = 1 / sqrt(sigma^2 + sd^2)`, `c_noise = ln(sigma) / 4`.
//! - Consistency function: Song et al. 2023, sec. 3.1 and appendix C, the same skip connection
//!   shifted by `sigma_min` so that the boundary condition `f(x, sigma_min) = x` holds exactly:
//!   `c_skip = sd^2 / ((sigma - sigma_min)^2 + sd^2)`,
//!   `c_out = (sigma - sigma_min) sd / sqrt(sigma^2 + sd^2)`; `c_in` and `c_noise` as in EDM.

use burn::tensor::{Device, Tensor, TensorData};

use crate::unet::{DropoutMasks, Labels, UNet};

/// The four coefficients of a preconditioned model at one noise level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scalings {
    pub c_skip: f64,
    pub c_out: f64,
    pub c_in: f64,
    pub c_noise: f64,
}

/// EDM's scalings of the denoiser `D(x, sigma)` (Karras et al. 2022, Table 1).
pub fn edm_scalings(sigma: f64, sigma_data: f64) -> Scalings {
    let sd2 = sigma_data * sigma_data;
    let norm = (sigma * sigma + sd2).sqrt();
    Scalings {
        c_skip: sd2 / (sigma * sigma + sd2),
        c_out: sigma * sigma_data / norm,
        c_in: 1.0 / norm,
        c_noise: sigma.ln() / 4.0,
    }
}

/// The consistency model's scalings (Song et al. 2023, appendix C): at `sigma = sigma_min`,
/// `c_skip = 1` and `c_out = 0` exactly, so `f(x, sigma_min) = x` whatever the network.
pub fn consistency_scalings(sigma: f64, sigma_min: f64, sigma_data: f64) -> Scalings {
    let sd2 = sigma_data * sigma_data;
    let shifted = sigma - sigma_min;
    Scalings {
        c_skip: sd2 / (shifted * shifted + sd2),
        c_out: shifted * sigma_data / (sigma * sigma + sd2).sqrt(),
        c_in: 1.0 / (sigma * sigma + sd2).sqrt(),
        c_noise: sigma.ln() / 4.0,
    }
}

/// `c_skip x + c_out F(c_in x, c_noise)` for a batch with one level per image.
///
/// `x`: `[batch, 1, 28, 28]`; `scalings`: one per image; returns `[batch, 1, 28, 28]`.
/// `dropout` is `None` at inference; training passes the same masks to both branches of a
/// consistency loss so that they see the same dropout masks.
pub fn apply_preconditioned(
    net: &UNet,
    x: Tensor<4>,
    scalings: &[Scalings],
    labels: &Labels,
    dropout: Option<DropoutMasks>,
) -> Tensor<4> {
    let device = x.device();
    let column = |f: fn(&Scalings) -> f64| per_image(scalings.iter().map(f), &device);
    let c_skip = column(|s| s.c_skip);
    let c_out = column(|s| s.c_out);
    let c_in = column(|s| s.c_in);
    let c_noise: Tensor<1> = Tensor::from_data(
        TensorData::new(scalings.iter().map(|s| s.c_noise as f32).collect::<Vec<_>>(), [scalings.len()]),
        &device,
    );
    let f = net.forward(x.clone() * c_in, c_noise, labels, dropout);
    x * c_skip + f * c_out
}

/// One value per image as a `[batch, 1, 1, 1]` tensor that broadcasts over pixels.
fn per_image(values: impl Iterator<Item = f64>, device: &Device) -> Tensor<4> {
    let v: Vec<f32> = values.map(|v| v as f32).collect();
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n, 1, 1, 1]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SD: f64 = 0.5;

    #[test]
    fn consistency_boundary_condition_is_exact() {
        let s = consistency_scalings(0.002, 0.002, SD);
        assert_eq!(s.c_skip, 1.0);
        assert_eq!(s.c_out, 0.0);
    }

    #[test]
    fn edm_scalings_match_the_formulas() {
        for sigma in [0.002, 0.1, 0.5, 1.0, 10.0, 80.0] {
            let s = edm_scalings(sigma, SD);
            let denom = sigma * sigma + SD * SD;
            assert!((s.c_skip - SD * SD / denom).abs() < 1e-15);
            assert!((s.c_out - sigma * SD / denom.sqrt()).abs() < 1e-15);
            assert!((s.c_in - 1.0 / denom.sqrt()).abs() < 1e-15);
            assert!((s.c_noise - 0.25 * sigma.ln()).abs() < 1e-15);
            // EDM's design goal: the network input c_in (x + sigma z) has unit variance.
            assert!((s.c_in * s.c_in * (SD * SD + sigma * sigma) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn consistency_scalings_match_the_formulas() {
        for sigma in [0.01, 0.5, 2.0, 80.0] {
            let s = consistency_scalings(sigma, 0.002, SD);
            let shifted = sigma - 0.002;
            assert!((s.c_skip - SD * SD / (shifted * shifted + SD * SD)).abs() < 1e-15);
            assert!((s.c_out - shifted * SD / (sigma * sigma + SD * SD).sqrt()).abs() < 1e-15);
            assert_eq!(s.c_in, edm_scalings(sigma, SD).c_in);
            assert_eq!(s.c_noise, edm_scalings(sigma, SD).c_noise);
        }
        // Far from sigma_min both parameterisations agree closely.
        let (a, b) = (consistency_scalings(80.0, 0.002, SD), edm_scalings(80.0, SD));
        assert!((a.c_out - b.c_out).abs() < 1e-4 && (a.c_skip - b.c_skip).abs() < 1e-6);
    }
}
