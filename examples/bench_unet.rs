//! Benchmark (not a test): U-Net forward and training-step times on the CPU backend.
//!   cargo run --release --features train --example bench_unet -- [channels] [batch] [mult, e.g. 1,2,2] [noattn]
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use consistency_models::sampling::SampleRequest;
use consistency_models::{UNCONDITIONAL, UNetConfig, burn};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let channels: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let batch: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let mult: Vec<usize> = args.get(3).map_or(vec![1, 2, 2], |m| m.split(',').map(|v| v.parse().unwrap()).collect());
    let attention = args.get(4).is_none_or(|a| a != "noattn");
    let config = UNetConfig::new().with_base_channels(channels).with_channel_mult(mult.clone()).with_attention(attention);
    let plain = Device::flex();
    let ad = plain.clone().autodiff();
    let net = config.init(&ad);
    println!("channels {channels} x {mult:?}, batch {batch}, attention {attention}: {} parameters", net.num_params());
    let labels = vec![UNCONDITIONAL; batch];
    let x = SampleRequest::new(0, batch, UNCONDITIONAL).noise(0, &plain);
    let c = Tensor::<1>::from_data(TensorData::new(vec![0.1f32; batch], [batch]), &plain);
    let valid = net.valid();
    for _ in 0..2 {
        let t = Instant::now();
        let y = valid.forward(x.clone(), c.clone(), &labels, None);
        let _: Vec<f32> = y.into_data().try_to_vec().unwrap();
        println!("  forward: {:.3} s", t.elapsed().as_secs_f64());
    }
    let mut optim = AdamConfig::new().init();
    let mut net = net;
    let xa = Tensor::<4>::from_data(x.into_data(), &ad);
    let ca = Tensor::<1>::from_data(c.into_data(), &ad);
    for _ in 0..3 {
        let t = Instant::now();
        let y = net.forward(xa.clone(), ca.clone(), &labels, None);
        let loss = y.powi_scalar(2).mean();
        let t_fwd = t.elapsed().as_secs_f64();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let t_bwd = t.elapsed().as_secs_f64();
        net = optim.step(1e-4, net, grads);
        let _: f32 = net.valid().forward(xa.clone().narrow(0, 0, 1), ca.clone().narrow(0, 0, 1), &labels[..1], None).into_data().try_to_vec::<f32>().unwrap()[0];
        println!("  train step: forward {t_fwd:.3} s, +backward {t_bwd:.3} s, total {:.3} s", t.elapsed().as_secs_f64());
    }
}
