//! Benchmark (not a test): U-Net forward and training-step times on the CPU backend.
//!
//!   cargo run --release --features train --example bench_unet -- --json [--threads N]
//!     one JSON line per shipped network (teacher 24x[1,2,2], student 16x[1,2,2]):
//!     {"network", "params", "batch": 32, "threads", "train_step_s", "forward16_s"},
//!     each time the median of 7 warm calls (a training step: forward, MSE, backward, Adam, as
//!     `../shared/bench/torch_unet.py` times PyTorch's), the batch split over N threads (default:
//!     one per core) as the trainer splits it;
//!   cargo run --release --features train --example bench_unet -- [channels] [batch] [mult, e.g. 1,2,2] [noattn]
//!     one network, each warm call printed.
use std::time::Instant;

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::{Device, Tensor, TensorData};
use consistency_models::sampling::SampleRequest;
use consistency_models::train::{data_parallel, device};
use consistency_models::{UNCONDITIONAL, UNetConfig, burn};

/// Seconds of each of `n` calls of `f`, after one call to warm up.
fn times(n: usize, mut f: impl FnMut()) -> Vec<f64> {
    f();
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Forward passes of `batch` images without autodiff.
fn forward_times(config: &UNetConfig, batch: usize, n: usize) -> Vec<f64> {
    let device = Device::flex();
    let net = config.init(&device);
    let labels = vec![UNCONDITIONAL; batch];
    let x = SampleRequest::new(0, batch, UNCONDITIONAL).noise(0, &device);
    let c = Tensor::<1>::from_data(TensorData::new(vec![0.1f32; batch], [batch]), &device);
    times(n, || {
        let y = net.forward(x.clone(), c.clone(), &labels, None);
        let _: Vec<f32> = y.into_data().try_to_vec().unwrap();
    })
}

/// Training steps (forward, MSE, backward, Adam) at `batch`, the batch split over `threads`
/// threads as the trainer splits it (`train::data_parallel`); also the parameter count.
fn train_step_times(config: &UNetConfig, batch: usize, threads: usize, n: usize) -> (usize, Vec<f64>) {
    let plain = Device::flex();
    let ad = plain.clone().autodiff();
    let mut net = Some(config.init(&ad));
    let params = net.as_ref().unwrap().num_params();
    let x = SampleRequest::new(0, batch, UNCONDITIONAL).noise(0, &plain);
    let shards: Vec<(Tensor<4>, Tensor<1>, Vec<usize>)> = data_parallel::shard_ranges(batch, threads)
        .map(|range| {
            let (start, end) = (range.start, range.end);
            let x = Tensor::<4>::from_data(x.clone().narrow(0, start, end - start).into_data(), &ad);
            let c = Tensor::<1>::from_data(TensorData::new(vec![0.1f32; end - start], [end - start]), &ad);
            (x, c, vec![UNCONDITIONAL; end - start])
        })
        .collect();
    let mut optim = AdamConfig::new().init();
    let times = times(n, || {
        let model = net.take().unwrap();
        let (_, grads) = data_parallel::gradients(&model, &shards, &ad, |model, (x, c, labels)| {
            let share = labels.len() as f64 / batch as f64;
            model.forward(x.clone(), c.clone(), labels, None).powi_scalar(2).mean() * share
        });
        // flex computes eagerly on the calling threads: when `step` returns, the step is done.
        net = Some(optim.step(1e-4, model, grads));
    });
    (params, times)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--json") {
        let threads = match args.get(1).map(String::as_str) {
            Some("--threads") => args.get(2).and_then(|t| t.parse().ok()).expect("--threads N"),
            _ => device::default_threads(&Device::flex()),
        };
        for (name, channels) in [("teacher", 24), ("student", 16)] {
            let config = UNetConfig::new().with_base_channels(channels).with_channel_mult(vec![1, 2, 2]);
            let (params, train) = train_step_times(&config, 32, threads, 7);
            let forward = forward_times(&config, 16, 7);
            let line = serde_json::json!({
                "network": name,
                "params": params,
                "batch": 32,
                "threads": threads,
                "train_step_s": median(train),
                "forward16_s": median(forward),
            });
            println!("{line}");
        }
        return;
    }
    let channels: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(32);
    let batch: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let mult: Vec<usize> = args.get(2).map_or(vec![1, 2, 2], |m| m.split(',').map(|v| v.parse().unwrap()).collect());
    let attention = args.get(3).is_none_or(|a| a != "noattn");
    let config = UNetConfig::new().with_base_channels(channels).with_channel_mult(mult.clone()).with_attention(attention);
    let (params, train) = train_step_times(&config, batch, 1, 3);
    println!("channels {channels} x {mult:?}, batch {batch}, attention {attention}: {params} parameters");
    for t in forward_times(&config, batch, 2) {
        println!("  forward: {t:.3} s");
    }
    for t in train {
        println!("  train step: {t:.3} s");
    }
}
