//! Fréchet distance between two sets of feature vectors (the formula of FID, Heusel et al. 2017):
//! `FD = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1^(1/2) S_2 S_1^(1/2))^(1/2))`,
//! in f64, the symmetric square roots from nalgebra's symmetric eigen-decomposition.

use nalgebra::{DMatrix, DVector};

/// The Gaussian a set of feature vectors is summarised by: its mean and covariance.
#[derive(Debug, Clone)]
pub struct Gaussian {
    pub mean: DVector<f64>,
    /// Covariance, divided by `n - 1`.
    pub cov: DMatrix<f64>,
}

impl Gaussian {
    /// The moments of `rows` (one feature vector each, all of one length; at least one).
    pub fn fit(rows: &[Vec<f64>]) -> Self {
        let (n, d) = (rows.len(), rows[0].len());
        let x = DMatrix::from_fn(n, d, |i, j| rows[i][j]);
        let mean = x.row_mean().transpose();
        let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
        let cov = centred.tr_mul(&centred) / (n as f64 - 1.0).max(1.0);
        Self { mean, cov }
    }
}

/// Symmetric positive semi-definite square root (negative eigenvalues from round-off clipped to 0).
fn sqrt_psd(a: &DMatrix<f64>) -> DMatrix<f64> {
    let eigen = a.clone().symmetric_eigen();
    let roots = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// Fréchet distance between two Gaussians.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let mean_term = (&a.mean - &b.mean).norm_squared();
    let root = sqrt_psd(&a.cov);
    let middle = &root * &b.cov * &root;
    let middle = (&middle + middle.transpose()) * 0.5; // symmetric up to round-off
    let cross: f64 = middle.symmetric_eigenvalues().iter().map(|&l| l.max(0.0).sqrt()).sum();
    (mean_term + a.cov.trace() + b.cov.trace() - 2.0 * cross).max(0.0)
}

/// Fréchet distance between two sets of feature vectors.
pub fn frechet_distance_of(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    frechet_distance(&Gaussian::fit(a), &Gaussian::fit(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_square_root_squares_back() {
        let a = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0]);
        let root = sqrt_psd(&a);
        assert!((&root * &root - &a).abs().max() < 1e-10);
    }

    #[test]
    fn frechet_distance_of_gaussians_has_the_closed_form() {
        // Diagonal covariances: FD = |dmu|^2 + sum (sqrt(a) - sqrt(b))^2.
        let g = |mean: [f64; 2], var: [f64; 2]| Gaussian { mean: DVector::from_row_slice(&mean), cov: DMatrix::from_diagonal(&DVector::from_row_slice(&var)) };
        let fd = frechet_distance(&g([0.0, 0.0], [4.0, 1.0]), &g([3.0, 4.0], [1.0, 9.0]));
        assert!((fd - (25.0 + 1.0 + 4.0)).abs() < 1e-9, "{fd}");
        assert!(frechet_distance(&g([1.0, 2.0], [4.0, 1.0]), &g([1.0, 2.0], [4.0, 1.0])) < 1e-9);
    }

    #[test]
    fn moments_are_the_sample_mean_and_unbiased_covariance() {
        let g = Gaussian::fit(&[vec![1.0, 2.0], vec![3.0, 2.0], vec![5.0, 8.0]]);
        assert_eq!(g.mean.as_slice(), &[3.0, 4.0]);
        // x: deviations -2, 0, 2; y: -2, -2, 4. var x = 8/2, cov = (4 + 0 + 8)/2, var y = 24/2.
        assert_eq!(g.cov.as_slice(), &[4.0, 6.0, 6.0, 12.0]);
    }
}
