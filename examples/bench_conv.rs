//! Benchmark (not a test): the 3x3 convolutions of the teacher's U-Net on the CPU backend, one
//! thread, batch 32: the forward pass, and forward + backward with both gradients or with the
//! weight's only (the input gradient is the difference). What `patches/burn-flex` speeds up.
//!
//!   cargo run --release --features train --example bench_conv
use std::time::Instant;

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
use consistency_models::burn;

/// Mean seconds of `n` calls of `f`, after one call to warm up.
fn mean_time(n: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() / n as f64
}

fn main() {
    let plain = Device::flex();
    let ad = plain.clone().autodiff();
    for (batch, channels, size) in [(32usize, 24usize, 28usize), (32, 48, 14), (32, 48, 7)] {
        let x = Tensor::<4>::random([batch, channels, size, size], Distribution::Normal(0.0, 1.0), &plain);
        let w = Tensor::<4>::random([channels, channels, 3, 3], Distribution::Normal(0.0, 0.1), &plain);
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let forward = mean_time(10, || {
            let _ = conv2d(x.clone(), w.clone(), None, options.clone()).into_data();
        });
        let w_ad = Tensor::<4>::from_data(w.clone().into_data(), &ad).require_grad();
        let x_ad = Tensor::<4>::from_data(x.clone().into_data(), &ad).require_grad();
        let x_const = Tensor::<4>::from_data(x.clone().into_data(), &ad);
        let both = mean_time(10, || {
            let grads = conv2d(x_ad.clone(), w_ad.clone(), None, options.clone()).sum().backward();
            let _ = (w_ad.grad(&grads).unwrap().into_data(), x_ad.grad(&grads).unwrap().into_data());
        });
        let weight_only = mean_time(10, || {
            let grads = conv2d(x_const.clone(), w_ad.clone(), None, options.clone()).sum().backward();
            let _ = w_ad.grad(&grads).unwrap().into_data();
        });
        let flop = 2.0 * (batch * channels * channels * 9 * size * size) as f64;
        println!(
            "batch {batch}, {channels} channels, {size}x{size}: forward {:.2} ms ({:.0} GFLOP/s), forward + both gradients {:.2} ms, forward + weight gradient {:.2} ms",
            forward * 1e3,
            flop / forward / 1e9,
            both * 1e3,
            weight_only * 1e3
        );
    }
}
