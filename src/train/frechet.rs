//! Fréchet distance between two sets of feature vectors (the formula of FID, Heusel et al. 2017):
//! `FD = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1^(1/2) S_2 S_1^(1/2))^(1/2))`,
//! in f64, with symmetric square roots from a Jacobi eigen-decomposition.

/// Mean and covariance (divided by `n - 1`) of `rows`.
pub fn moments(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = rows.len() as f64;
    let d = rows[0].len();
    let mut mean = vec![0.0; d];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v / n;
        }
    }
    let mut cov = vec![vec![0.0; d]; d];
    for r in rows {
        for i in 0..d {
            let di = r[i] - mean[i];
            for j in i..d {
                cov[i][j] += di * (r[j] - mean[j]);
            }
        }
    }
    for i in 0..d {
        for j in i..d {
            cov[i][j] /= (n - 1.0).max(1.0);
            cov[j][i] = cov[i][j];
        }
    }
    (mean, cov)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut a = a.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i][j] * a[i][j]).sum();
        let scale: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum::<f64>().max(1e-300);
        if off <= 1e-22 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

/// Symmetric positive semi-definite square root (negative eigenvalues from round-off clipped to 0).
fn sqrt_psd(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (values, vectors) = symmetric_eigen(a);
    let n = a.len();
    let roots: Vec<f64> = values.iter().map(|&l| l.max(0.0).sqrt()).collect();
    (0..n)
        .map(|i| (0..n).map(|j| (0..n).map(|k| vectors[i][k] * roots[k] * vectors[j][k]).sum()).collect())
        .collect()
}

fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut out = vec![vec![0.0; n]; n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i][k];
            for j in 0..n {
                out[i][j] += aik * b[k][j];
            }
        }
    }
    out
}

/// Fréchet distance between two Gaussians given by their moments.
pub fn frechet_distance(mean1: &[f64], cov1: &[Vec<f64>], mean2: &[f64], cov2: &[Vec<f64>]) -> f64 {
    let mean_term: f64 = mean1.iter().zip(mean2).map(|(a, b)| (a - b) * (a - b)).sum();
    let root1 = sqrt_psd(cov1);
    let mut middle = matmul(&matmul(&root1, cov2), &root1);
    for i in 0..middle.len() {
        for j in 0..i {
            let avg = 0.5 * (middle[i][j] + middle[j][i]);
            middle[i][j] = avg;
            middle[j][i] = avg;
        }
    }
    let (values, _) = symmetric_eigen(&middle);
    let cross: f64 = values.iter().map(|&l| l.max(0.0).sqrt()).sum();
    let trace = |c: &[Vec<f64>]| (0..c.len()).map(|i| c[i][i]).sum::<f64>();
    (mean_term + trace(cov1) + trace(cov2) - 2.0 * cross).max(0.0)
}

/// Fréchet distance between two sets of feature vectors.
pub fn frechet_distance_of(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let (m1, c1) = moments(a);
    let (m2, c2) = moments(b);
    frechet_distance(&m1, &c1, &m2, &c2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_decomposition_reconstructs_the_matrix() {
        let a = vec![vec![4.0, 1.0, 0.5], vec![1.0, 3.0, 0.2], vec![0.5, 0.2, 1.0]];
        let (values, vectors) = symmetric_eigen(&a);
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3).map(|k| vectors[i][k] * values[k] * vectors[j][k]).sum();
                assert!((r - a[i][j]).abs() < 1e-10);
            }
        }
        let root = sqrt_psd(&a);
        let square = matmul(&root, &root);
        assert!((0..3).all(|i| (0..3).all(|j| (square[i][j] - a[i][j]).abs() < 1e-10)));
    }

    #[test]
    fn frechet_distance_of_gaussians_has_the_closed_form() {
        // Diagonal covariances: FD = |dmu|^2 + sum (sqrt(a) - sqrt(b))^2.
        let c1 = vec![vec![4.0, 0.0], vec![0.0, 1.0]];
        let c2 = vec![vec![1.0, 0.0], vec![0.0, 9.0]];
        let fd = frechet_distance(&[0.0, 0.0], &c1, &[3.0, 4.0], &c2);
        assert!((fd - (25.0 + 1.0 + 4.0)).abs() < 1e-9, "{fd}");
        assert!(frechet_distance(&[1.0, 2.0], &c1, &[1.0, 2.0], &c1) < 1e-9);
    }
}
