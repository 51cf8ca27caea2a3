//! Noise levels of the variance-exploding (EDM) formulation and the Karras grid.
//!
//! Karras, Aittala, Aila, Laine, "Elucidating the Design Space of Diffusion-Based Generative
//! Models" (EDM, 2022), eq. 5; used unchanged by Song et al., "Consistency Models" (2023), sec. 3.
//!
//! A clean image `x` (pixels in [-1, 1]) is noised to level `sigma` as `x + sigma * z`,
//! `z ~ N(0, I)`. Every model in this crate lives on `sigma in [sigma_min, sigma_max]`.

use serde::{Deserialize, Serialize};

/// The constants that fix the noise levels a model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SigmaConfig {
    /// Smallest level; the consistency function is the identity there (boundary condition).
    pub sigma_min: f64,
    /// Largest level; sampling starts from `sigma_max * z`.
    pub sigma_max: f64,
    /// Standard deviation of the data, used by the preconditioning.
    pub sigma_data: f64,
    /// Curvature of the Karras grid: larger rho packs more levels near `sigma_min`.
    pub rho: f64,
}

impl Default for SigmaConfig {
    /// The values of the EDM and consistency-model papers: 0.002, 80, 0.5, 7.
    fn default() -> Self {
        Self {
            sigma_min: 0.002,
            sigma_max: 80.0,
            sigma_data: 0.5,
            rho: 7.0,
        }
    }
}

impl SigmaConfig {
    /// The Karras grid of `n` levels, **increasing** from `sigma_min` to `sigma_max`:
    ///
    /// `sigma_i = (sigma_min^(1/rho) + i/(n-1) (sigma_max^(1/rho) - sigma_min^(1/rho)))^rho`.
    ///
    /// The endpoints are set exactly (no rounding drift). `n = 1` gives `[sigma_max]`.
    pub fn karras_levels(&self, n: usize) -> Vec<f64> {
        match n {
            0 => Vec::new(),
            1 => vec![self.sigma_max],
            _ => {
                let inv_rho = 1.0 / self.rho;
                let lo = self.sigma_min.powf(inv_rho);
                let hi = self.sigma_max.powf(inv_rho);
                let mut levels: Vec<f64> = (0..n)
                    .map(|i| (lo + i as f64 / (n - 1) as f64 * (hi - lo)).powf(self.rho))
                    .collect();
                levels[0] = self.sigma_min;
                levels[n - 1] = self.sigma_max;
                levels
            }
        }
    }

    /// The level at continuous position `u in [0, 1]` of the Karras curve (0: sigma_min, 1: sigma_max).
    pub fn karras_level_at(&self, u: f64) -> f64 {
        let inv_rho = 1.0 / self.rho;
        let lo = self.sigma_min.powf(inv_rho);
        let hi = self.sigma_max.powf(inv_rho);
        (lo + u * (hi - lo)).powf(self.rho)
    }

    /// Checks that the constants describe a usable range.
    pub fn validate(&self) -> Result<(), String> {
        let ok = self.sigma_min > 0.0
            && self.sigma_max > self.sigma_min
            && self.sigma_data > 0.0
            && self.rho > 0.0
            && [self.sigma_min, self.sigma_max, self.sigma_data, self.rho]
                .iter()
                .all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(format!("invalid sigma settings {self:?}: need 0 < sigma_min < sigma_max, sigma_data > 0, rho > 0"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karras_grid_is_increasing_with_exact_endpoints() {
        let s = SigmaConfig::default();
        for n in [2, 3, 18, 40, 1281] {
            let levels = s.karras_levels(n);
            assert_eq!(levels.len(), n);
            assert_eq!(levels[0], 0.002);
            assert_eq!(levels[n - 1], 80.0);
            assert!(levels.windows(2).all(|w| w[0] < w[1]), "not increasing for n = {n}");
        }
    }

    #[test]
    fn karras_grid_matches_formula_in_the_middle() {
        let s = SigmaConfig::default();
        let levels = s.karras_levels(3);
        let mid = ((0.002f64.powf(1.0 / 7.0) + 80f64.powf(1.0 / 7.0)) / 2.0).powi(7);
        assert!((levels[1] - mid).abs() < 1e-12);
        assert!((s.karras_level_at(0.5) - mid).abs() < 1e-12);
    }
}
