//! Zero-shot editing samplers (Algorithm 4): their guarantees, on a random network and on data
//! with a closed-form consistency function.
mod common;

use common::*;
use consistency_models::burn::tensor::{Tensor, TensorData};
use consistency_models::editing::{denoising, inpainting, interpolation, interpolation_path, stroke_guided};
use consistency_models::sampling::{Method, SampleRequest, Sampler, sample};
use consistency_models::noise_levels::consistency_levels;
use consistency_models::unet::Labels;
use consistency_models::{ConsistencyFunction, Denoise, SigmaConfig, UNCONDITIONAL};

fn image(values: Vec<f32>, n: usize) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, [n, 1, 28, 28]), &device())
}

#[test]
fn inpainting_keeps_the_known_pixels_exactly() {
    let net = tiny_net(4);
    let f = ConsistencyFunction { net: &net, sigma: sigma() };
    // Known: a vertical bar; mask: the left half of the image.
    let known: Vec<f32> = (0..2 * 784).map(|i| if (i % 28) / 3 == 4 { 0.9 } else { -0.8 }).collect();
    let mask: Vec<f32> = (0..2 * 784).map(|i| if i % 28 < 14 { 1.0 } else { 0.0 }).collect();
    let levels = consistency_levels(&sigma(), &[3.0, 0.5]);
    let sampler = inpainting(&f, SampleRequest::new(1, 2, UNCONDITIONAL), levels, image(known.clone(), 2), image(mask.clone(), 2), &device()).unwrap();
    let mut steps = 0;
    let out = values(sample(sampler, &mut |s| {
        steps += 1;
        let d = values(s.denoised.clone());
        assert!(mask.iter().zip(&d).zip(&known).all(|((m, v), k)| *m == 0.0 || v == k), "every step keeps the known pixels");
    }));
    assert_eq!(steps, 3);
    for i in 0..out.len() {
        if mask[i] == 1.0 {
            assert_eq!(out[i], known[i]);
        }
    }
    // And the unknown half is the network's, not the reference.
    assert!((0..out.len()).any(|i| mask[i] == 0.0 && out[i] != known[i]));
}

#[test]
fn interpolation_ends_are_the_two_seeds_samples_exactly() {
    let net = tiny_net(5);
    let f = ConsistencyFunction { net: &net, sigma: sigma() };
    for levels in [consistency_levels(&sigma(), &[]), consistency_levels(&sigma(), &[1.0])] {
        let plain = |seed| {
            let s = Sampler::new(&f, Method::Consistency, SampleRequest { seed, first_image: 2, labels: vec![6], blend: None }, levels.clone(), &device()).unwrap();
            values(sample(s, &mut |_| {}))
        };
        let morph = |t: f64| values(sample(interpolation(&f, 11, 12, 2, vec![t], 6, levels.clone(), &device()).unwrap(), &mut |_| {}));
        assert_eq!(morph(0.0), plain(11));
        assert_eq!(morph(1.0), plain(12));
        let middle = morph(0.5);
        assert!(max_abs_diff(&middle, &plain(11)) > 1e-3 && max_abs_diff(&middle, &plain(12)) > 1e-3);
    }
    let path = interpolation_path(5);
    assert_eq!(path, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    let frames = sample(interpolation(&f, 1, 2, 0, path, UNCONDITIONAL, vec![80.0], &device()).unwrap(), &mut |_| {});
    assert_eq!(frames.dims(), [5, 1, 28, 28]);
}

#[test]
fn slerp_keeps_the_noise_norm_in_between() {
    let request = SampleRequest::new(1, 1, UNCONDITIONAL);
    let a = values(request.noise(0, &device()));
    let b = values(SampleRequest::new(2, 1, UNCONDITIONAL).noise(0, &device()));
    let mid = consistency_models::sampling::slerp(&a, &b, 0.5);
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    // Nearly orthogonal Gaussian vectors: the slerp midpoint keeps their norm, a straight line would not.
    assert!((norm(&mid) / norm(&a) - 1.0).abs() < 0.05, "{} vs {}", norm(&mid), norm(&a));
}

/// Data N(0, s^2 I): its consistency function is `f(x, sigma) = x s / sqrt(s^2 + sigma^2)`.
struct GaussianData(SigmaConfig);

impl Denoise for GaussianData {
    fn denoise(&self, x: Tensor<4>, sigmas: &[f64], _labels: &Labels) -> Tensor<4> {
        x * (0.5 / (0.25 + sigmas[0] * sigmas[0]).sqrt())
    }
    fn sigma_config(&self) -> &SigmaConfig {
        &self.0
    }
}

#[test]
fn denoising_starts_from_the_given_image_at_its_level_and_reduces_the_error() {
    let model = GaussianData(sigma());
    let n = 64;
    let request = SampleRequest::new(3, n, UNCONDITIONAL);
    // Clean "data" x ~ N(0, 0.25), observed as x + 0.5 z.
    let clean = SampleRequest::new(99, n, UNCONDITIONAL).noise(0, &device()) * 0.5;
    let noisy = clean.clone() + SampleRequest::new(7, n, UNCONDITIONAL).noise(0, &device()) * 0.5;
    let mut first_input = None;
    let sampler = denoising(&model, request, noisy.clone(), vec![0.5], &device()).unwrap();
    let out = sample(sampler, &mut |s| first_input = Some(values(s.noisy.clone())));
    assert_eq!(first_input.unwrap(), values(noisy.clone()), "no noise is added to the given image");
    let mse = |a: Tensor<4>, b: Tensor<4>| f64::from((a - b).powi_scalar(2).mean().into_scalar::<f32>());
    let (before, after) = (mse(noisy, clean.clone()), mse(out, clean));
    assert!(after < 0.75 * before, "MSE {before} -> {after}");
}

#[test]
fn stroke_guided_generation_starts_from_the_noised_drawing() {
    let net = tiny_net(6);
    let f = ConsistencyFunction { net: &net, sigma: sigma() };
    let drawing: Vec<f32> = (0..784).map(|i| if (i % 28) == 14 { 1.0 } else { -1.0 }).collect();
    let request = SampleRequest::new(8, 1, 1);
    let expected = image(drawing.clone(), 1) + request.noise(0, &device()) * 2.0;
    let mut inputs = Vec::new();
    let sampler = stroke_guided(&f, request, image(drawing, 1), vec![2.0, 0.4], &device()).unwrap();
    sample(sampler, &mut |s| inputs.push((s.sigma, values(s.noisy.clone()))));
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0].0, 2.0);
    assert!(max_abs_diff(&inputs[0].1, &values(expected)) < 1e-6);
    // Levels above the start or a mis-sized drawing are refused.
    for (drawings, images) in [(2, 1), (3, 2)] {
        let bad = stroke_guided(&f, SampleRequest::new(8, images, 1), image(vec![0.0; drawings * 784], drawings), vec![2.0], &device());
        assert!(bad.is_err(), "{drawings} drawings for {images} images");
    }
}

/// `Edit`, the one description the CLI and the page parse into: each mode is the sampler its
/// documentation names, and bad settings are errors naming the mode.
#[test]
fn each_edit_mode_is_the_sampler_it_names_and_bad_settings_are_refused() {
    use consistency_models::editing::{Edit, EditRequest};
    use consistency_models::noise_levels::levels_from;
    use consistency_models::{LabelChoice, Manifest, Model, ModelKind};
    let cd = Model { manifest: Manifest::new(ModelKind::Cd, &tiny_config(), sigma()), net: tiny_net(7) };
    let f = cd.denoiser();
    let drawing: Vec<f32> = (0..784).map(|i| if (i % 28) / 4 == 3 { 0.8 } else { -1.0 }).collect();
    let run = |edit: Edit, count: usize| -> Vec<f32> {
        let request = EditRequest { edit, seed: 9, steps: 2, label: LabelChoice::Digit(3), count };
        values(sample(request.sampler(&cd, f.as_ref(), &device()).unwrap(), &mut |_| {}))
    };
    let batch = |v: &[f32], n: usize| image(v.iter().copied().cycle().take(784 * n).collect(), n);
    let request = SampleRequest::labelled(9, 0, 2, LabelChoice::Digit(3));
    let stroke = values(sample(stroke_guided(f.as_ref(), request.clone(), batch(&drawing, 2), levels_from(&sigma(), 3.0, 2), &device()).unwrap(), &mut |_| {}));
    assert_eq!(run(Edit::Stroke { image: drawing.clone(), level: 3.0 }, 2), stroke);
    // The page's "clean up a noisy digit": the seed's noise added to a clean digit, then the loop.
    assert_eq!(run(Edit::Denoise { image: drawing.clone(), level: 3.0 }, 2), stroke);
    let restored = values(sample(denoising(f.as_ref(), request, batch(&drawing, 2), levels_from(&sigma(), 0.3, 2), &device()).unwrap(), &mut |_| {}));
    assert_eq!(run(Edit::Restore { image: drawing.clone(), level: 0.3 }, 2), restored);
    let keep_left: Vec<f32> = (0..784).map(|i| if i % 28 < 14 { 1.0 } else { 0.0 }).collect();
    let filled = run(Edit::Inpaint { image: drawing.clone(), mask: keep_left.clone() }, 1);
    assert!((0..784).all(|i| keep_left[i] == 0.0 || filled[i] == drawing[i]), "inpainting keeps the known pixels");
    assert_eq!(run(Edit::Interpolate { seed_b: 4, t: vec![0.0, 0.5, 1.0] }, 1).len(), 3 * 784);

    let refused = |model: &Model, edit: Edit, label: LabelChoice| -> String {
        let g = model.denoiser();
        let request = EditRequest { edit, seed: 1, steps: 2, label, count: 1 };
        request.sampler(model, g.as_ref(), &device()).err().expect("refused").to_string()
    };
    let any = LabelChoice::Any;
    let err = refused(&cd, Edit::Stroke { image: vec![0.0; 783], level: 3.0 }, any);
    assert!(err.contains("stroke") && err.contains("784"), "{err}");
    let err = refused(&cd, Edit::Denoise { image: drawing.clone(), level: 500.0 }, any);
    assert!(err.contains("denoise") && err.contains("level"), "{err}");
    let err = refused(&cd, Edit::Inpaint { image: drawing.clone(), mask: vec![f32::NAN; 784] }, any);
    assert!(err.contains("inpaint") && err.contains("mask"), "{err}");
    let err = refused(&cd, Edit::Interpolate { seed_b: 2, t: vec![1.5] }, any);
    assert!(err.contains("[0, 1]"), "{err}");
    let err = refused(&cd, Edit::Interpolate { seed_b: 2, t: vec![0.5] }, LabelChoice::InTurn);
    assert!(err.contains("one label"), "{err}");
    let teacher = Model { manifest: Manifest::new(ModelKind::Teacher, &tiny_config(), sigma()), net: tiny_net(7) };
    let err = refused(&teacher, Edit::Restore { image: drawing, level: 0.3 }, any);
    assert!(err.contains("not a consistency model"), "{err}");
}
