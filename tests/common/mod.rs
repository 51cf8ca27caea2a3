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
    let device = device();
    device.seed(seed);
    tiny_config().init(&device)
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
