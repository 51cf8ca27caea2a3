//! Helpers shared by the integration tests.
#![allow(dead_code)]

use consistency_models::burn::tensor::{Device, Tensor};
use consistency_models::{SigmaConfig, UNet, UNetConfig};

/// The CPU device every native test runs on.
pub fn device() -> Device {
    Device::flex()
}

/// A tiny U-Net (fast on CPU) with attention, so every layer type is exercised.
pub fn tiny_config() -> UNetConfig {
    UNetConfig::new()
        .with_base_channels(8)
        .with_channel_mult(vec![1, 2])
        .with_norm_groups(4)
        .with_attention(true)
}

pub fn tiny_net(seed: u64) -> UNet {
    consistency_models::initial_weights::seeded(seed, &device(), |device| tiny_config().init(device))
}

pub fn sigma() -> SigmaConfig {
    SigmaConfig::default()
}

/// All values of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The settings of a tiny teacher run on `data` (batch 4, a checkpoint after every step, a log
/// line per step): fast enough to train many times in one test.
#[cfg(feature = "train")]
pub fn tiny_teacher_settings(data: &consistency_models::train::data::Dataset, steps: u64) -> consistency_models::train::trainer::RunSettings {
    consistency_models::train::trainer::RunSettings {
        objective: consistency_models::train::objectives::Objective::Teacher { p_mean: -1.2, p_std: 1.2 },
        network: tiny_config(),
        sigma: sigma(),
        steps,
        batch: 4,
        lr: 2e-3,
        warmup: 2,
        lr_schedule: Default::default(),
        ema: 0.9,
        label_dropout: 0.1,
        seed: 3,
        data_path: "mnist".into(),
        data_sha256: data.sha256.clone(),
        checkpoint_minutes: 0.0, // after every step
        sample_every: 0,
        log_every: 1,
        init: None,
    }
}
