//! Samplers: shapes, callbacks, seeds, and their numerics on a model with a known exact answer.
mod common;

use common::*;
use consistency_models::burn::tensor::Tensor;
use consistency_models::sampling::{LabelChoice, Method, SampleError, SampleRequest, Sampler, sample, sample_one_step};
use consistency_models::noise_levels::{consistency_levels, edm_levels};
use consistency_models::unet::{IMAGE_SIZE, Labels};
use consistency_models::{ConsistencyFunction, Denoise, Denoiser, SigmaConfig, UNCONDITIONAL};

/// Data distributed as N(0, s^2 I). Then everything is known in closed form:
/// `D(x, sigma) = s^2 / (s^2 + sigma^2) x`, the probability-flow ODE trajectory through `x` at
/// level `sigma` is `x(t) = x sqrt(s^2 + t^2) / sqrt(s^2 + sigma^2)`, and its consistency function
/// is `f(x, sigma) = x s / sqrt(s^2 + sigma^2)`.
struct GaussianData {
    s: f64,
    consistency: bool,
    sigma: SigmaConfig,
}

impl Denoise for GaussianData {
    fn denoise(&self, x: Tensor<4>, sigmas: &[f64], _labels: &Labels) -> Tensor<4> {
        let sigma = sigmas[0];
        let s2 = self.s * self.s;
        if self.consistency {
            x * (self.s / (s2 + sigma * sigma).sqrt())
        } else {
            x * (s2 / (s2 + sigma * sigma))
        }
    }
    fn sigma_config(&self) -> &SigmaConfig {
        &self.sigma
    }
}

fn gaussian(consistency: bool) -> GaussianData {
    GaussianData { s: 0.5, consistency, sigma: sigma() }
}

fn run(model: &dyn Denoise, method: Method, request: SampleRequest, levels: Vec<f64>) -> (Vec<f32>, Vec<(usize, usize, f64)>) {
    let mut steps = Vec::new();
    let out = sample(Sampler::new(model, method, request, levels, &device()).unwrap(), &mut |s| {
        assert_eq!(s.noisy.dims(), s.denoised.dims());
        steps.push((s.index, s.nfe, s.sigma))
    });
    (values(out), steps)
}

#[test]
fn every_sampler_returns_images_and_reports_each_step_once() {
    let net = tiny_net(1);
    let cm = ConsistencyFunction { net: &net, sigma: sigma() };
    let teacher = Denoiser { net: &net, sigma: sigma() };
    let request = SampleRequest::new(5, 3, 2);
    let cases: Vec<(&dyn Denoise, Method, Vec<f64>, usize)> = vec![
        (&cm, Method::Consistency, consistency_levels(&sigma(), &[]), 1),
        (&cm, Method::Consistency, consistency_levels(&sigma(), &[2.0, 0.8, 0.1]), 4),
        (&teacher, Method::Heun, edm_levels(&sigma(), 4), 7),
        (&teacher, Method::Euler, edm_levels(&sigma(), 4), 4),
    ];
    for (model, method, levels, nfe) in cases {
        let n = levels.len();
        let sampler = Sampler::new(model, method, request.clone(), levels.clone(), &device()).unwrap();
        assert_eq!(sampler.total_nfe(), nfe);
        let mut seen = Vec::new();
        let out = sample(sampler, &mut |s| seen.push((s.index, s.total, s.sigma, s.nfe)));
        assert_eq!(out.dims(), [3, 1, IMAGE_SIZE, IMAGE_SIZE]);
        let pixels = values(out);
        assert!(pixels.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(seen.len(), n, "{method:?}: one callback per step");
        for (i, (index, total, level, _)) in seen.iter().enumerate() {
            assert_eq!((*index, *total, *level), (i, n, levels[i]));
        }
        assert_eq!(seen.last().unwrap().3, nfe);
    }
}

#[test]
fn one_step_equals_multistep_with_one_step() {
    let net = tiny_net(2);
    let cm = ConsistencyFunction { net: &net, sigma: sigma() };
    let request = SampleRequest::new(77, 2, UNCONDITIONAL);
    let one = values(sample_one_step(&cm, request.clone(), &device(), &mut |_| {}).unwrap());
    let (multi, steps) = run(&cm, Method::Consistency, request, vec![80.0]);
    assert_eq!(steps.len(), 1);
    assert_eq!(one, multi);
}

#[test]
fn a_seed_gives_the_same_image_at_any_batch_size_and_step_count() {
    let net = tiny_net(3);
    let cm = ConsistencyFunction { net: &net, sigma: sigma() };
    let batch = SampleRequest { seed: 9, first_image: 0, labels: vec![1, 4, 7], blend: None };
    let single = SampleRequest { seed: 9, first_image: 1, labels: vec![4], blend: None };
    let (all, _) = run(&cm, Method::Consistency, batch.clone(), vec![80.0]);
    let (one, _) = run(&cm, Method::Consistency, single, vec![80.0]);
    let pixels = IMAGE_SIZE * IMAGE_SIZE;
    assert!(max_abs_diff(&all[pixels..2 * pixels], &one) < 1e-5);

    // The first denoise of a 3-step run is the 1-step image.
    let mut first = None;
    sample(
        Sampler::new(&cm, Method::Consistency, batch, vec![80.0, 1.0, 0.2], &device()).unwrap(),
        &mut |s| {
            if s.index == 0 {
                first = Some(values(s.denoised.clone()))
            }
        },
    );
    assert_eq!(first.unwrap(), all);
}

#[test]
fn multistep_renoises_with_sqrt_tau2_minus_sigma_min2() {
    let model = gaussian(true);
    let request = SampleRequest::new(3, 2, UNCONDITIONAL);
    let levels = vec![80.0, 1.5, 0.3];
    let mut steps = Vec::new();
    sample(Sampler::new(&model, Method::Consistency, request.clone(), levels.clone(), &device()).unwrap(), &mut |s| {
        steps.push(s.clone())
    });
    let z0 = request.noise(0, &device());
    assert!(max_abs_diff(&values(steps[0].noisy.clone()), &values(z0 * 80.0)) < 1e-4);
    for n in 1..3 {
        let tau = levels[n];
        let expected = steps[n - 1].denoised.clone() + request.noise(n as u32, &device()) * (tau * tau - 0.002f64 * 0.002).sqrt();
        assert!(max_abs_diff(&values(steps[n].noisy.clone()), &values(expected)) < 1e-5);
    }
}

#[test]
fn heun_converges_at_second_order_and_euler_at_first() {
    // Exact end point of the trajectory from sigma_max z: z sigma_max s / sqrt(s^2 + sigma_max^2).
    let model = GaussianData { s: 0.5, consistency: false, sigma: sigma() };
    let request = SampleRequest::new(4, 1, UNCONDITIONAL);
    let z = values(request.noise(0, &device()));
    let exact: Vec<f64> = z.iter().map(|v| f64::from(*v) * 80.0 * 0.5 / (0.25f64 + 6400.0).sqrt()).collect();
    // Relative error over the pixels the final clamp to [-1, 1] leaves alone.
    let rel_error = |method, n| {
        let (out, _) = run(&model, method, request.clone(), edm_levels(&sigma(), n));
        let pairs = exact.iter().zip(&out).filter(|(e, _)| e.abs() < 0.9 && e.abs() > 0.05);
        pairs.map(|(e, o)| ((f64::from(*o) - e) / e).abs()).fold(0.0, f64::max)
    };
    let (heun18, heun36) = (rel_error(Method::Heun, 18), rel_error(Method::Heun, 36));
    let (euler18, euler36) = (rel_error(Method::Euler, 18), rel_error(Method::Euler, 36));
    // Closed-form reference values of these errors (f64): Heun 5.5% -> 1.2%, Euler 15.4% -> 7.8%.
    assert!(heun18 < 0.06 && heun36 < 0.013, "Heun {heun18} {heun36}");
    assert!(heun18 / heun36 > 3.5, "Heun must be second order: {heun18} / {heun36}");
    let euler_ratio = euler18 / euler36;
    assert!((1.7..2.3).contains(&euler_ratio), "Euler must be first order: {euler18} / {euler36}");
    assert!(heun18 < euler18 / 2.0);

    // The exact consistency function reaches the end point in one step.
    let (one, _) = run(&gaussian(true), Method::Consistency, request, vec![80.0]);
    let clamped: Vec<f32> = exact.iter().map(|&e| (e as f32).clamp(-1.0, 1.0)).collect();
    assert!(max_abs_diff(&one, &clamped) < 1e-5);
}

#[test]
fn bad_levels_and_requests_are_refused() {
    let model = gaussian(true);
    let request = SampleRequest::new(1, 1, UNCONDITIONAL);
    let bad = |levels: Vec<f64>, method| {
        matches!(Sampler::new(&model, method, request.clone(), levels, &device()), Err(SampleError::InvalidLevels(_)))
    };
    assert!(bad(vec![], Method::Consistency));
    assert!(bad(vec![80.0, 1.0, 2.0], Method::Consistency));
    assert!(bad(vec![80.0, 0.001], Method::Consistency));
    assert!(bad(vec![80.0, f64::NAN], Method::Consistency));
    assert!(bad(vec![10.0, 1.0], Method::Consistency));
    assert!(bad(vec![81.0, 1.0], Method::Heun));
    assert!(Sampler::new(&model, Method::Heun, request.clone(), vec![10.0, 1.0], &device()).is_ok());
    let empty = SampleRequest { seed: 1, first_image: 0, labels: vec![], blend: None };
    assert!(matches!(Sampler::new(&model, Method::Consistency, empty, vec![80.0], &device()), Err(SampleError::InvalidRequest(_))));
    let label = SampleRequest::new(1, 1, 11);
    assert!(matches!(Sampler::new(&model, Method::Consistency, label, vec![80.0], &device()), Err(SampleError::InvalidRequest(_))));
}

#[test]
fn label_choices_parse_print_and_label_images_from_the_seeds_first_image() {
    for (text, choice) in [("any", LabelChoice::Any), ("0", LabelChoice::Digit(0)), ("7", LabelChoice::Digit(7)), ("0-9", LabelChoice::InTurn)] {
        assert_eq!(text.parse::<LabelChoice>(), Ok(choice));
        assert_eq!(choice.to_string(), text);
    }
    for bad in ["10", "-1", "seven", "", "0-8"] {
        let err = bad.parse::<LabelChoice>().unwrap_err();
        assert!(err.contains("0-9") && err.contains(&format!("{bad:?}")), "{err}");
    }
    assert_eq!(LabelChoice::Any.labels(5, 2), vec![UNCONDITIONAL; 2]);
    assert_eq!(LabelChoice::Digit(4).labels(5, 2), vec![4, 4]);
    assert_eq!(LabelChoice::InTurn.labels(8, 4), vec![8, 9, 0, 1]);
    // Split anywhere, the parts get the labels of the whole batch (the browser's workers do this).
    let whole = LabelChoice::InTurn.labels(0, 23);
    assert_eq!([LabelChoice::InTurn.labels(0, 7), LabelChoice::InTurn.labels(7, 16)].concat(), whole);
    let request = SampleRequest::labelled(3, 7, 16, LabelChoice::InTurn);
    assert_eq!((request.seed, request.first_image, request.labels), (3, 7, whole[7..].to_vec()));
    assert_eq!((LabelChoice::Any.single(), LabelChoice::Digit(2).single()), (Ok(UNCONDITIONAL), Ok(2)));
    assert!(LabelChoice::InTurn.single().unwrap_err().contains("one label"));
}
