//! SiLU, `x * sigmoid(x)`, the U-Net's activation, computed fast on the browser's CPU backend.
//!
//! The CPU backend evaluates `exp` element by element with libm's scalar routine; compiled to
//! WebAssembly, that was a quarter of a step's time. [`silu_rational`] builds the same function
//! from products, sums and one quotient, which the backend runs with SIMD: sigmoid(x) =
//! (1 + tanh(x / 2)) / 2 with Eigen's rational approximation of tanh (degree 13 over 6, exact to
//! a few float ulps on [-7.9, 7.9]; outside, tanh is +-1 to within float precision).

use burn::tensor::activation;
use burn::tensor::{Device, Tensor};

/// `x * sigmoid(x)`: [`silu_rational`] on the CPU backend in WebAssembly, burn's `silu` elsewhere
/// (natively `exp` is fast, and on a GPU every extra elementwise operation is one more kernel).
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if cfg!(target_arch = "wasm32") && x.device() == Device::flex() {
        silu_rational(x)
    } else {
        activation::silu(x)
    }
}

/// Numerators' coefficients of the tanh approximation, x^1 to x^13 (odd powers).
const ALPHA: [f32; 7] = [
    4.893_524_6e-3,
    6.372_619_3e-4,
    1.485_722_4e-5,
    5.122_297e-8,
    -8.604_672e-11,
    2.000_188e-13,
    -2.760_768_5e-16,
];
/// Denominators' coefficients, x^0 to x^6 (even powers).
const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
/// Beyond this, tanh(x) rounds to +-1 in f32.
const TANH_CLAMP: f32 = 7.905_311;

/// tanh by the rational approximation, from elementwise operations only.
pub fn tanh_rational<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let x = x.clamp(-TANH_CLAMP, TANH_CLAMP);
    let x2 = x.clone() * x.clone();
    let mut p = x2.clone().mul_scalar(ALPHA[6]).add_scalar(ALPHA[5]);
    for a in ALPHA[..5].iter().rev() {
        p = (p * x2.clone()).add_scalar(*a);
    }
    let p = p * x;
    let mut q = x2.clone().mul_scalar(BETA[3]).add_scalar(BETA[2]);
    for b in BETA[..2].iter().rev() {
        q = (q * x2.clone()).add_scalar(*b);
    }
    p / q
}

/// `x * sigmoid(x)` with sigmoid(x) = (1 + tanh(x / 2)) / 2.
pub fn silu_rational<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let sigmoid = tanh_rational(x.clone().mul_scalar(0.5)).mul_scalar(0.5).add_scalar(0.5);
    x * sigmoid
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn rational_silu_matches_the_exact_one() {
        let device = Device::flex();
        let xs: Vec<f32> = (-6000..=6000).map(|i| i as f32 / 100.0).collect();
        let x = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device);
        let fast = values(silu_rational(x.clone()));
        let tanh = values(tanh_rational(x));
        for ((x, s), t) in xs.iter().zip(&fast).zip(&tanh) {
            let exact = (*x as f64) / (1.0 + (-*x as f64).exp());
            assert!((*s as f64 - exact).abs() <= 3e-6 + 2e-6 * exact.abs(), "silu({x}) = {s}, exact {exact}");
            assert!((*t as f64 - (*x as f64).tanh()).abs() <= 1e-6, "tanh({x}) = {t}");
        }
    }
}
