//! Discretisation schedules of consistency training: how many levels `N(k)` the Karras grid has
//! at training step `k`, how fast the target network follows (`mu(k)`), and which adjacent pair
//! of levels a training example uses.
//!
//! - Original CT: Song et al., "Consistency Models" (2023), appendix C, with
//!   `N(k) = ceil( sqrt( k/K ((s1 + 1)^2 - s0^2) + s0^2 ) - 1 ) + 1` and
//!   `mu(k) = exp( s0 ln(mu0) / N(k) )`; pairs `n` drawn uniformly from `{0 .. N-2}`.
//! - Improved CT (iCT): Song & Dhariwal, "Improved Techniques for Training Consistency Models"
//!   (2023), sec. 3.4-3.5: `N(k) = min(s0 2^floor(k / K'), s1) + 1` with
//!   `K' = floor(K / (log2(s1/s0) + 1))`, no target EMA, pairs drawn so that the level follows a
//!   lognormal `ln sigma ~ N(P_mean, P_std^2)`, and loss weight `1 / (sigma_{n+1} - sigma_n)`.

/// The original CT schedule `(s0, s1, mu0)`; the paper's CIFAR-10 values are `(2, 150, 0.9)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CtSchedule {
    pub s0: f64,
    pub s1: f64,
    pub mu0: f64,
}

impl Default for CtSchedule {
    fn default() -> Self {
        Self { s0: 2.0, s1: 150.0, mu0: 0.9 }
    }
}

impl CtSchedule {
    /// Number of Karras levels `N(k)` at step `k` of `total` (`K`) training steps.
    pub fn levels(&self, k: u64, total: u64) -> usize {
        let frac = k as f64 / total.max(1) as f64;
        let inner = frac * ((self.s1 + 1.0).powi(2) - self.s0 * self.s0) + self.s0 * self.s0;
        ((inner.sqrt() - 1.0).ceil() + 1.0) as usize
    }

    /// Target-network EMA rate `mu(k) = exp(s0 ln(mu0) / N(k))`.
    pub fn target_ema(&self, k: u64, total: u64) -> f64 {
        (self.s0 * self.mu0.ln() / self.levels(k, total) as f64).exp()
    }
}

/// The iCT doubling curriculum `(s0, s1)`; the paper uses `(10, 1280)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IctSchedule {
    pub s0: u64,
    pub s1: u64,
}

impl Default for IctSchedule {
    fn default() -> Self {
        Self { s0: 10, s1: 1280 }
    }
}

impl IctSchedule {
    /// Number of Karras levels `N(k) = min(s0 2^floor(k / K'), s1) + 1`.
    pub fn levels(&self, k: u64, total: u64) -> usize {
        let doublings = ((self.s1 as f64 / self.s0 as f64).log2().floor() + 1.0) as u64;
        let stage_len = (total / doublings).max(1);
        let stage = (k / stage_len).min(63) as u32;
        (self.s0.saturating_mul(1u64 << stage).min(self.s1) + 1) as usize
    }
}

/// iCT's lognormal distribution over adjacent pairs `(sigma_n, sigma_{n+1})` of an increasing grid:
/// `p(n) ∝ erf((ln sigma_{n+1} - P_mean) / (sqrt 2 P_std)) - erf((ln sigma_n - P_mean) / (sqrt 2 P_std))`.
/// Returns the `levels.len() - 1` probabilities, summing to 1. iCT uses `P_mean = -1.1, P_std = 2.0`.
pub fn lognormal_pair_probabilities(levels: &[f64], p_mean: f64, p_std: f64) -> Vec<f64> {
    let cdf = |sigma: f64| libm::erf((sigma.ln() - p_mean) / (core::f64::consts::SQRT_2 * p_std));
    let mass: Vec<f64> = levels.windows(2).map(|w| cdf(w[1]) - cdf(w[0])).collect();
    let total: f64 = mass.iter().sum();
    mass.into_iter().map(|m| m / total).collect()
}

/// Picks a pair index from `probabilities` with a uniform number `u in [0, 1)`.
pub fn pick_pair(probabilities: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (n, p) in probabilities.iter().enumerate() {
        acc += p;
        if u < acc {
            return n;
        }
    }
    probabilities.len().saturating_sub(1)
}

/// iCT's loss weight of pair `n`: `lambda(sigma_n) = 1 / (sigma_{n+1} - sigma_n)`.
pub fn ict_pair_weight(levels: &[f64], n: usize) -> f64 {
    1.0 / (levels[n + 1] - levels[n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise_levels::SigmaConfig;

    fn ct_formula(k: f64, total: f64, s0: f64, s1: f64) -> f64 {
        ((k / total * ((s1 + 1.0).powi(2) - s0 * s0) + s0 * s0).sqrt() - 1.0).ceil() + 1.0
    }

    #[test]
    fn ct_schedule_gives_the_formula_at_start_middle_end() {
        let s = CtSchedule::default();
        let total = 800_000;
        assert_eq!(s.levels(0, total), 2); // ceil(sqrt(4) - 1) + 1
        assert_eq!(s.levels(total, total), 151); // ceil(sqrt(151^2) - 1) + 1 = s1 + 1
        let mid = s.levels(total / 2, total);
        assert_eq!(mid as f64, ct_formula((total / 2) as f64, total as f64, 2.0, 150.0));
        assert_eq!(mid, 107); // ceil(sqrt(0.5 (151^2 - 4) + 4) - 1) + 1 = ceil(105.78) + 1
        for k in [0, total / 2, total] {
            let n = s.levels(k, total) as f64;
            let expected = (2.0 * 0.9f64.ln() / n).exp();
            assert!((s.target_ema(k, total) - expected).abs() < 1e-15);
        }
        assert!((s.target_ema(0, total) - 0.9).abs() < 1e-12); // mu(0) = mu0 since N(0) = s0
        let values: Vec<usize> = (0..=100).map(|i| s.levels(i * total / 100, total)).collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn ict_curriculum_doubles_from_s0_to_s1() {
        let s = IctSchedule::default();
        let total = 400_000; // 8 stages of 50,000 steps: 10, 20, ..., 1280
        assert_eq!(s.levels(0, total), 11);
        assert_eq!(s.levels(49_999, total), 11);
        assert_eq!(s.levels(50_000, total), 21);
        assert_eq!(s.levels(total / 2, total), 161);
        assert_eq!(s.levels(total, total), 1281);
    }

    #[test]
    fn lognormal_pairs_sum_to_one_and_peak_near_exp_p_mean() {
        let levels = SigmaConfig::default().karras_levels(641);
        let p = lognormal_pair_probabilities(&levels, -1.1, 2.0);
        assert_eq!(p.len(), 640);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p.iter().all(|&v| v >= 0.0));
        // Half of the mass lies below sigma = exp(P_mean) (within the truncation to [sigma_min, sigma_max]).
        let median = (-1.1f64).exp();
        let below: f64 = p.iter().zip(levels.windows(2)).filter(|(_, w)| w[1] <= median).map(|(v, _)| v).sum();
        assert!((below - 0.5).abs() < 0.05, "mass below exp(P_mean): {below}");
        assert_eq!(pick_pair(&[0.25, 0.5, 0.25], 0.0), 0);
        assert_eq!(pick_pair(&[0.25, 0.5, 0.25], 0.7), 1);
        assert_eq!(pick_pair(&[0.25, 0.5, 0.25], 0.999), 2);
        assert!((ict_pair_weight(&[1.0, 1.5], 0) - 2.0).abs() < 1e-15);
    }
}
