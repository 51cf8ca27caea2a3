//! Noise levels: the one home of every list of levels a sampler walks.
//!
//! A clean image `x` (pixels in [-1, 1]) is noised to level `sigma` as `x + sigma * z`,
//! `z ~ N(0, I)`. Every model in this crate lives on `sigma in [sigma_min, sigma_max]`
//! ([`SigmaConfig`]).
//!
//! - the Karras curve and its inverse (Karras, Aittala, Aila, Laine, "Elucidating the Design
//!   Space of Diffusion-Based Generative Models", EDM 2022, eq. 5; used unchanged by Song et al.,
//!   "Consistency Models", 2023, sec. 3);
//! - the teacher's grid ([`edm_levels`]), a consistency model's multistep levels
//!   ([`consistency_levels`], [`default_intermediate_levels`]) and an edit's loop that starts
//!   part-way ([`levels_from`]);
//! - the levels a manifest recommends, tuned per step count by `cm eval --tune`
//!   ([`RecommendedLevels`]), and the lookup that prefers them to the defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::labels::LabelChoice;

/// The most steps a request may run (the wasm API's limit, and the most a manifest may recommend
/// levels for).
pub const MAX_STEPS: usize = 64;

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
                let mut levels: Vec<f64> = (0..n).map(|i| self.karras_level_at(i as f64 / (n - 1) as f64)).collect();
                levels[0] = self.sigma_min;
                levels[n - 1] = self.sigma_max;
                levels
            }
        }
    }

    /// The level at continuous position `u in [0, 1]` of the Karras curve (0: sigma_min, 1: sigma_max).
    pub fn karras_level_at(&self, u: f64) -> f64 {
        let (lo, hi) = self.karras_ends();
        (lo + u * (hi - lo)).powf(self.rho)
    }

    /// The inverse of [`Self::karras_level_at`]: the position of `sigma` on the curve, clamped to [0, 1].
    pub fn karras_position(&self, sigma: f64) -> f64 {
        let (lo, hi) = self.karras_ends();
        ((sigma.powf(1.0 / self.rho) - lo) / (hi - lo)).clamp(0.0, 1.0)
    }

    /// `sigma_min^(1/rho)` and `sigma_max^(1/rho)`: the curve is a straight line between them.
    fn karras_ends(&self) -> (f64, f64) {
        let inv_rho = 1.0 / self.rho;
        (self.sigma_min.powf(inv_rho), self.sigma_max.powf(inv_rho))
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

/// The EDM sampler's levels: the Karras grid of `n` levels, from `sigma_max` down to `sigma_min`
/// (the sampler adds the final step to 0). Heun costs `2n - 1` evaluations, Euler `n`.
pub fn edm_levels(config: &SigmaConfig, n: usize) -> Vec<f64> {
    let mut levels = config.karras_levels(n);
    levels.reverse();
    levels
}

/// Consistency levels for `steps` steps: `[sigma_max]` followed by the given intermediate levels.
pub fn consistency_levels(config: &SigmaConfig, intermediate: &[f64]) -> Vec<f64> {
    let mut levels = vec![config.sigma_max];
    levels.extend_from_slice(intermediate);
    levels
}

/// `steps - 1` levels between `sigma_max` and `sigma_min`, at positions `(steps - i) / (steps + 1)`
/// of the Karras curve (`i = 1 .. steps-1`): decreasing, none at either end.
pub fn default_intermediate_levels(sigma: &SigmaConfig, steps: usize) -> Vec<f64> {
    (1..steps.max(1)).map(|i| sigma.karras_level_at((steps - i) as f64 / (steps + 1) as f64)).collect()
}

/// `steps` decreasing levels for a loop that starts at `start` (an edit that begins part-way):
/// `start` itself, then points of the Karras curve evenly spaced between it and `sigma_min`
/// (exclusive).
pub fn levels_from(sigma: &SigmaConfig, start: f64, steps: usize) -> Vec<f64> {
    let u_start = sigma.karras_position(start);
    let mut levels = vec![start];
    levels.extend((1..steps).map(|i| sigma.karras_level_at(u_start * (steps - i) as f64 / steps as f64)));
    levels
}

/// The intermediate levels a manifest recommends per step count (`"2": [0.8]`), tuned by
/// `cm eval --tune`: those of labelled images, and those of "any digit" apart (its best levels
/// differ). Stored in the manifest as `recommended_levels` and `recommended_levels_any`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecommendedLevels {
    /// Per step count, e.g. `{"2": [0.8]}` (for "1": `[]`), for labelled images (a digit, or the
    /// digits in turn).
    #[serde(default, rename = "recommended_levels")]
    pub labelled: BTreeMap<String, Vec<f64>>,
    /// The same for "any digit" (the unconditional branch); a step count missing here falls back
    /// to `labelled`.
    #[serde(default, rename = "recommended_levels_any", skip_serializing_if = "BTreeMap::is_empty")]
    pub any: BTreeMap<String, Vec<f64>>,
}

impl RecommendedLevels {
    /// The table of images asked for with `label`.
    pub fn table_mut(&mut self, label: LabelChoice) -> &mut BTreeMap<String, Vec<f64>> {
        if label == LabelChoice::Any { &mut self.any } else { &mut self.labelled }
    }

    /// Intermediate levels at `steps` steps for images asked for with `label`: the recommended
    /// ones when there are (for any digit, its own or else the labelled ones), else
    /// [`default_intermediate_levels`].
    pub fn intermediate(&self, sigma: &SigmaConfig, steps: usize, label: LabelChoice) -> Vec<f64> {
        let key = steps.to_string();
        let own = if label == LabelChoice::Any { self.any.get(&key) } else { None };
        match own.or_else(|| self.labelled.get(&key)) {
            Some(levels) => levels.clone(),
            None => default_intermediate_levels(sigma, steps),
        }
    }

    /// A consistency model's levels at `steps` steps for `label`: `sigma_max`, then [`Self::intermediate`].
    pub fn consistency_levels(&self, sigma: &SigmaConfig, steps: usize, label: LabelChoice) -> Vec<f64> {
        consistency_levels(sigma, &self.intermediate(sigma, steps, label))
    }

    /// Checks every entry: a step count of 1 to [`MAX_STEPS`] mapping to `steps - 1` levels that
    /// decrease strictly between sigma_min and sigma_max.
    pub fn check(&self, sigma: &SigmaConfig) -> Result<(), String> {
        for (table, entries) in [("recommended_levels", &self.labelled), ("recommended_levels_any", &self.any)] {
            for (steps, levels) in entries {
                check_entry(sigma, steps, levels).map_err(|m| format!("{table}[{steps:?}]: {m}"))?;
            }
        }
        Ok(())
    }
}

fn check_entry(sigma: &SigmaConfig, steps: &str, levels: &[f64]) -> Result<(), String> {
    let n: usize = steps.parse().ok().filter(|n| (1..=MAX_STEPS).contains(n)).ok_or_else(|| format!("the step count must be 1 to {MAX_STEPS}"))?;
    if levels.len() != n - 1 {
        return Err(format!("{n} steps need {} intermediate levels, got {}", n - 1, levels.len()));
    }
    let inside = levels.iter().all(|&l| l > sigma.sigma_min && l < sigma.sigma_max);
    if !inside || levels.windows(2).any(|w| w[1] >= w[0]) {
        return Err(format!("levels must decrease strictly between {} and {}, got {levels:?}", sigma.sigma_min, sigma.sigma_max));
    }
    Ok(())
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

    #[test]
    fn karras_position_inverts_the_curve() {
        let s = SigmaConfig::default();
        for u in [0.0, 0.1, 0.5, 0.93, 1.0] {
            assert!((s.karras_position(s.karras_level_at(u)) - u).abs() < 1e-12, "{u}");
        }
        assert_eq!(s.karras_position(1e-9), 0.0);
        assert_eq!(s.karras_position(1e9), 1.0);
    }
}
