//! Precision and recall of generated images against real ones, in a feature space
//! (Kynkäänniemi, Karras, Laine, Lehtinen, Aila, "Improved Precision and Recall Metric for
//! Assessing Generative Models", NeurIPS 2019; as OpenAI's consistency-model evaluator reports them).
//!
//! Each set's manifold is the union of balls around its points, each ball reaching the point's
//! k-th nearest neighbour in the same set (k = 3). **Precision**: the share of generated points
//! inside the real manifold (are the samples realistic?). **Recall**: the share of real points
//! inside the generated manifold (do the samples cover the variety of the data?). FD mixes the
//! two; a model that draws only clean 1s has high precision and low recall.

/// The neighbour whose distance sets a point's radius (the paper's default).
pub const K: usize = 3;

/// `(precision, recall)` of `generated` against `real` feature vectors (each set at least
/// `K + 1` vectors, all of one length).
pub fn precision_recall(real: &[Vec<f64>], generated: &[Vec<f64>]) -> (f64, f64) {
    let (real_radii, generated_radii) = (radii(real), radii(generated));
    (coverage(generated, real, &real_radii), coverage(real, generated, &generated_radii))
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Squared distance of every point to its `K`-th nearest neighbour in its own set.
fn radii(points: &[Vec<f64>]) -> Vec<f64> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut d: Vec<f64> = points.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, q)| squared_distance(p, q)).collect();
            let k = K.min(d.len()) - 1;
            *d.select_nth_unstable_by(k, f64::total_cmp).1
        })
        .collect()
}

/// Share of `points` inside at least one ball of the manifold (`centres`, `radii` squared).
fn coverage(points: &[Vec<f64>], centres: &[Vec<f64>], radii: &[f64]) -> f64 {
    let inside = points.iter().filter(|p| centres.iter().zip(radii).any(|(c, &r)| squared_distance(p, c) <= r)).count();
    inside as f64 / points.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(offset: f64, n: usize) -> Vec<Vec<f64>> {
        (0..n).flat_map(|i| (0..n).map(move |j| vec![i as f64 + offset, j as f64])).collect()
    }

    #[test]
    fn a_set_against_itself_has_full_precision_and_recall() {
        let a = grid(0.0, 8);
        assert_eq!(precision_recall(&a, &a), (1.0, 1.0));
    }

    #[test]
    fn a_collapsed_sample_is_precise_but_recalls_little() {
        let real = grid(0.0, 10);
        // Samples that all sit on a few real points: realistic, but no variety.
        let collapsed: Vec<Vec<f64>> = (0..100).map(|i| vec![(i % 2) as f64 * 0.01, 0.0]).collect();
        let (precision, recall) = precision_recall(&real, &collapsed);
        assert_eq!(precision, 1.0);
        assert!(recall < 0.1, "recall {recall}");
        // Samples far from the data: neither.
        let far = grid(100.0, 10);
        assert_eq!(precision_recall(&real, &far), (0.0, 0.0));
    }
}
