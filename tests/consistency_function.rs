//! The consistency function's boundary condition and the wrappers' agreement with the formulas.
mod common;

use common::*;
use consistency_models::burn::tensor::{Tensor, TensorData};
use consistency_models::preconditioning::{consistency_scalings, edm_scalings};
use consistency_models::sampling::SampleRequest;
use consistency_models::unet::IMAGE_SIZE;
use consistency_models::{ConsistencyFunction, Denoise, Denoiser, DropoutMasks, UNCONDITIONAL};

fn noisy_batch(n: usize, seed: u64) -> Tensor<4> {
    SampleRequest::new(seed, n, UNCONDITIONAL).noise(0, &device())
}

#[test]
fn boundary_condition_holds_for_a_random_network() {
    for seed in [1, 2, 3] {
        let net = tiny_net(seed);
        let f = ConsistencyFunction { net: &net, sigma: sigma() };
        let x = noisy_batch(3, seed);
        let out = f.denoise(x.clone(), &[0.002; 3], &[1, 7, UNCONDITIONAL]);
        // c_skip = 1 and c_out = 0 exactly, so the output is the input bit for bit.
        assert_eq!(values(out), values(x));
    }
}

#[test]
fn wrappers_compute_c_skip_x_plus_c_out_f() {
    let device = device();
    let net = tiny_net(5);
    let x = noisy_batch(2, 9) * 3.0;
    let labels = [4, UNCONDITIONAL];
    for sigma_level in [0.01, 0.7, 12.0] {
        let sigmas = [sigma_level; 2];
        let raw_input = |c_in: f64| x.clone() * c_in;
        let c_noise = |c: f64| Tensor::<1>::from_data(TensorData::new(vec![c as f32; 2], [2]), &device);

        let s = edm_scalings(sigma_level, 0.5);
        let expected = x.clone() * s.c_skip + net.forward(raw_input(s.c_in), c_noise(s.c_noise), &labels, None) * s.c_out;
        let got = Denoiser { net: &net, sigma: sigma() }.denoise(x.clone(), &sigmas, &labels);
        assert!(max_abs_diff(&values(got), &values(expected)) < 1e-5);

        let s = consistency_scalings(sigma_level, 0.002, 0.5);
        let expected = x.clone() * s.c_skip + net.forward(raw_input(s.c_in), c_noise(s.c_noise), &labels, None) * s.c_out;
        let got = ConsistencyFunction { net: &net, sigma: sigma() }.denoise(x.clone(), &sigmas, &labels);
        assert!(max_abs_diff(&values(got), &values(expected)) < 1e-5);
    }
}

#[test]
fn unet_keeps_the_image_shape_and_uses_level_and_label() {
    let device = device();
    let net = tiny_net(11);
    let x = noisy_batch(2, 1);
    let c = |v: f32| Tensor::<1>::from_data(TensorData::new(vec![v; 2], [2]), &device);
    let out = net.forward(x.clone(), c(0.1), &[3, 3], None);
    assert_eq!(out.dims(), [2, 1, IMAGE_SIZE, IMAGE_SIZE]);
    let base = values(out);
    assert!(base.iter().all(|v| v.is_finite()));
    let other_level = values(net.forward(x.clone(), c(-1.0), &[3, 3], None));
    let other_label = values(net.forward(x.clone(), c(0.1), &[8, 8], None));
    assert!(max_abs_diff(&base, &other_level) > 1e-4, "noise level must change the output");
    assert!(max_abs_diff(&base, &other_label) > 1e-4, "label must change the output");
}

#[test]
fn dropout_masks_repeat_under_one_seed_and_vanish_at_inference() {
    let device = device();
    let net = consistency_models::initial_weights::seeded(3, &device, |device| tiny_config().with_dropout(0.3).init(device));
    let x = noisy_batch(2, 4);
    let c = Tensor::<1>::from_data(TensorData::new(vec![0.2f32; 2], [2]), &device);
    let run = |seed: Option<u64>| values(net.forward(x.clone(), c.clone(), &[1, 2], seed.map(|seed| DropoutMasks { seed, first_image: 0 })));
    assert_eq!(run(Some(7)), run(Some(7)));
    assert!(max_abs_diff(&run(Some(7)), &run(Some(8))) > 1e-4);
    assert!(max_abs_diff(&run(Some(7)), &run(None)) > 1e-4);
    assert_eq!(run(None), run(None));
    // The second image alone, as the second shard of the batch, drops what it drops in the batch.
    let whole = run(Some(7));
    let second = values(net.forward(x.clone().narrow(0, 1, 1), c.clone().narrow(0, 1, 1), &[2], Some(DropoutMasks { seed: 7, first_image: 1 })));
    assert!(max_abs_diff(&whole[whole.len() / 2..], &second) < 1e-5);
    let as_first = values(net.forward(x.clone().narrow(0, 1, 1), c.clone().narrow(0, 1, 1), &[2], Some(DropoutMasks { seed: 7, first_image: 0 })));
    assert!(max_abs_diff(&whole[whole.len() / 2..], &as_first) > 1e-4);
}
