//! Evaluation: several gauges of a set of generated digits against real ones, because one alone
//! misses what another sees:
//! - Fréchet distance (FD) on the classifier's features, and a spatial FD (sFD) on its first
//!   layer's feature maps, which see texture (speckle, blur, stroke edges) as sFID does;
//! - precision and recall on the classifier's features ([`precision_recall`]);
//! - the classifier's confidence and the class balance; a copy check;
//! - pixel statistics: mid-grey share and stroke width ([`pixel_stats`]), beside the real digits';
//! - the wall time per sample.

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::sampling::{LabelChoice, Method, PIXELS, SampleRequest, Sampler, sample};
use crate::noise_levels::edm_levels;
use crate::train::classifier::{Analysis, Classifier, analyse};
use crate::train::data::Dataset;
use crate::train::frechet::{Gaussian, frechet_distance};
use crate::train::pixel_stats::pixel_stats;
use crate::train::precision_recall::precision_recall;
use crate::model::Model;

/// One line of the results table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Row {
    pub model: String,
    pub sampler: String,
    pub nfe: usize,
    pub levels: Vec<f64>,
    /// Fréchet distance to the real digits on the classifier's features (lower is better).
    pub fd: f64,
    /// Fréchet distance on the classifier's first-layer feature maps (texture; lower is better).
    #[serde(default)]
    pub sfd: f64,
    /// Share of samples inside the real digits' feature manifold (realism).
    #[serde(default)]
    pub precision: f64,
    /// Share of real digits inside the samples' feature manifold (variety).
    #[serde(default)]
    pub recall: f64,
    /// Share of pixels neither background nor ink.
    #[serde(default)]
    pub mid_grey: f64,
    /// Mean stroke width in pixels.
    #[serde(default)]
    pub stroke_width: f64,
    /// Mean of the classifier's top probability.
    pub confidence: f64,
    /// Share of each predicted class, 0-9.
    pub class_share: Vec<f64>,
    /// Share of samples closer to a training digit than 99% of held-out real digits are.
    pub near_copies: f64,
    /// Wall time per sample, at batch size `batch`.
    pub ms_per_sample: f64,
    pub samples: usize,
    pub batch: usize,
    /// Generated with the labels 0-9 in turn (class-conditional) rather than "any digit".
    #[serde(default)]
    pub conditional: bool,
}

/// The real digits' statistics, computed once.
pub struct Reference {
    /// The Gaussians of all real digits' features and spatial features.
    pub features: Gaussian,
    pub spatial: Gaussian,
    /// The features of [`MANIFOLD_DIGITS`] training digits: the real manifold of precision and
    /// recall (a fixed set, as large as a table row's samples, since the radii depend on the count).
    pub manifold: Vec<Vec<f64>>,
    pub train: Dataset,
    /// About one digit in ten, spread over all classes (`Dataset::split_every`): the `real digits`
    /// row of the table and the near-copy threshold.
    pub held_out: Dataset,
    /// The 1st percentile of held-out digits' distance to their nearest training digit.
    pub copy_threshold: f64,
}

/// Real digits in the manifold of precision and recall.
pub const MANIFOLD_DIGITS: usize = 1000;

impl Reference {
    pub fn new(classifier: &Classifier, data: &Dataset, device: &Device) -> Self {
        let analysis = analyse(classifier, &data.images, device);
        let (train, held_out) = data.split_every(10);
        let mut distances: Vec<f64> = nearest_distances(&held_out.images, &train);
        distances.sort_by(f64::total_cmp);
        let copy_threshold = distances[distances.len() / 100];
        let manifold = analyse(classifier, &train.take(MANIFOLD_DIGITS).images, device).features;
        Self { features: Gaussian::fit(&analysis.features), spatial: Gaussian::fit(&analysis.spatial), manifold, train, held_out, copy_threshold }
    }

    /// FD of an analysed set against the real digits.
    pub fn fd(&self, analysis: &Analysis) -> f64 {
        frechet_distance(&Gaussian::fit(&analysis.features), &self.features)
    }

    /// Spatial FD of an analysed set against the real digits.
    pub fn sfd(&self, analysis: &Analysis) -> f64 {
        frechet_distance(&Gaussian::fit(&analysis.spatial), &self.spatial)
    }
}

/// Root-mean-square pixel distance of each image to its nearest image in `set`.
pub fn nearest_distances(images: &[f32], set: &Dataset) -> Vec<f64> {
    images
        .chunks(PIXELS)
        .map(|img| {
            let best = (0..set.len())
                .map(|j| set.image(j).iter().zip(img).map(|(a, b)| (a - b) * (a - b)).sum::<f32>())
                .fold(f32::INFINITY, f32::min);
            (f64::from(best) / PIXELS as f64).sqrt()
        })
        .collect()
}

/// The labels of an evaluation: the digits 0-9 in turn when `conditional`, else any digit.
pub fn label_choice(conditional: bool) -> LabelChoice {
    if conditional { LabelChoice::InTurn } else { LabelChoice::Any }
}

/// Generates `n` samples with `method` over `levels`, in batches: unconditional ("any digit"), or
/// with the labels 0-9 in turn when `conditional`. Returns the pixels and the wall time per sample.
#[allow(clippy::too_many_arguments)]
pub fn generate(model: &Model, method: Method, levels: &[f64], n: usize, batch: usize, seed: u64, conditional: bool, device: &Device) -> (Vec<f32>, f64) {
    let denoiser = model.denoiser();
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let choice = label_choice(conditional);
    let start = Instant::now();
    for first in (0..n).step_by(batch) {
        let count = batch.min(n - first);
        let request = SampleRequest::labelled(seed, first as u64, count, choice);
        let sampler = Sampler::new(denoiser.as_ref(), method, request, levels.to_vec(), device).expect("valid levels");
        let out = sample(sampler, &mut |_| {});
        pixels.extend(out.into_data().try_to_vec::<f32>().expect("f32"));
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
    (pixels, ms)
}

/// Evaluates one (model, sampler, levels) setting.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    name: &str,
    model: &Model,
    method: Method,
    levels: &[f64],
    classifier: &Classifier,
    reference: &Reference,
    n: usize,
    batch: usize,
    seed: u64,
    conditional: bool,
    device: &Device,
) -> Row {
    let (pixels, ms) = generate(model, method, levels, n, batch, seed, conditional, device);
    let nfe = match method {
        Method::Heun => 2 * levels.len() - 1,
        _ => levels.len(),
    };
    Row {
        model: name.into(),
        sampler: format!("{method:?}").to_lowercase(),
        nfe,
        levels: levels.to_vec(),
        ms_per_sample: ms,
        batch,
        conditional,
        ..measure(&pixels, classifier, reference, device)
    }
}

/// The table's floor: held-out real digits measured like samples (their FD against the reference
/// is the sample-size bias at this count; near-copies about 1% by the threshold's definition).
pub fn real_row(classifier: &Classifier, reference: &Reference, n: usize, device: &Device) -> Row {
    let n = n.min(reference.held_out.len());
    let pixels = &reference.held_out.images[..n * PIXELS];
    Row { model: "real digits".into(), sampler: "held out".into(), ..measure(pixels, classifier, reference, device) }
}

/// What the table says of a set of images: FD, mean confidence, class shares and near-copies
/// (the caller names the row, its sampler, levels and time).
fn measure(pixels: &[f32], classifier: &Classifier, reference: &Reference, device: &Device) -> Row {
    let n = pixels.len() / PIXELS;
    let analysis = analyse(classifier, pixels, device);
    let mut share = vec![0.0; 10];
    for &c in &analysis.predicted {
        share[c] += 1.0 / n as f64;
    }
    let near = nearest_distances(pixels, &reference.train);
    let (precision, recall) = precision_recall(&reference.manifold, &analysis.features);
    let stats = pixel_stats(pixels);
    Row {
        model: String::new(),
        sampler: String::new(),
        nfe: 0,
        levels: Vec::new(),
        fd: reference.fd(&analysis),
        sfd: reference.sfd(&analysis),
        precision,
        recall,
        mid_grey: stats.mid_grey,
        stroke_width: stats.stroke_width,
        confidence: analysis.confidence.iter().sum::<f64>() / n as f64,
        class_share: share,
        near_copies: near.iter().filter(|&&d| d < reference.copy_threshold).count() as f64 / n as f64,
        ms_per_sample: 0.0,
        samples: n,
        batch: 0,
        conditional: false,
    }
}

/// The teacher's best setting, the one the goals compare with: Heun at 35 NFE (18 levels).
pub fn teacher_best_setting(model: &Model) -> (Method, Vec<f64>) {
    (Method::Heun, edm_levels(&model.manifest.sigma, 18))
}

/// The teacher's settings of the table: its best ([`teacher_best_setting`]), Euler at 1, 2, 4, 8
/// NFE, and Heun at 3, 5 and 9 NFE (Heun spends 2 evaluations a step but one on the last, so its
/// budgets are odd; at 1 NFE it is Euler).
pub fn teacher_settings(model: &Model) -> Vec<(Method, Vec<f64>)> {
    let s = &model.manifest.sigma;
    let mut out = vec![teacher_best_setting(model)];
    out.extend([1, 2, 4, 8].map(|n| (Method::Euler, edm_levels(s, n))));
    out.extend([2, 3, 5].map(|n| (Method::Heun, edm_levels(s, n))));
    out
}

/// The results table in Markdown.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| model | sampler | NFE | FD | sFD | precision | recall | confidence | rarest class | near-copies | mid-grey | stroke width | ms / sample |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let rarest = r.class_share.iter().copied().fold(f64::INFINITY, f64::min);
        s.push_str(&format!(
            "| {}{} | {} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} | {:.1}% | {:.1}% | {:.1}% | {:.2} | {:.1} |\n",
            r.model,
            if r.conditional { " (labels 0-9)" } else { "" },
            r.sampler,
            r.nfe,
            r.fd,
            r.sfd,
            r.precision,
            r.recall,
            r.confidence,
            100.0 * rarest,
            100.0 * r.near_copies,
            100.0 * r.mid_grey,
            r.stroke_width,
            r.ms_per_sample
        ));
    }
    s
}

/// Replaces the text between `<!-- results:start -->` and `<!-- results:end -->` in `readme`.
pub fn update_readme(readme: &Path, table: &str) -> std::io::Result<bool> {
    update_readme_section(readme, "results", table)
}

/// Replaces the text between `<!-- <section>:start -->` and `<!-- <section>:end -->`; false when
/// the markers are missing.
pub fn update_readme_section(readme: &Path, section: &str, body: &str) -> std::io::Result<bool> {
    let text = std::fs::read_to_string(readme)?;
    let (start, end) = (format!("<!-- {section}:start -->"), format!("<!-- {section}:end -->"));
    let (Some(i), Some(j)) = (text.find(&start), text.find(&end)) else {
        return Ok(false);
    };
    let updated = format!("{}{start}\n{body}{}", &text[..i], &text[j..]);
    std::fs::write(readme, updated)?;
    Ok(true)
}
