//! The training loop shared by `teacher`, `distill` and `ct`: read top to bottom.
//!
//! Each step draws a batch from the portable generator (so a step's randomness is a pure function
//! of the seed and the step number), computes the objective's loss, takes an Adam step, updates
//! the slow EMA (used for sampling and export) and the target network, logs, and now and then
//! writes a sample grid and a checkpoint. Resuming reloads everything and continues bit for bit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::noise_levels::SigmaConfig;
use crate::sampling::{Method, PIXELS, SampleRequest, Sampler, sample};
use crate::seeded_noise::{SeededNoise, Stream};
use crate::initial_weights;
use crate::train::checkpoint;
use crate::train::data_parallel;
use crate::train::data::Dataset;
use crate::train::ema::ema_update;
use crate::train::images::write_grid;
use crate::train::objectives::{Batch, Networks, Objective, loss};
use crate::train::watch::{self, Watch};
use crate::unet::{DropoutMasks, IMAGE_SIZE, UNCONDITIONAL, UNet, UNetConfig};
use crate::weights::{Manifest, ModelKind, load_into, module_bytes};
use crate::model::Model;

/// Everything that defines a run; saved in its checkpoint so `--resume` needs nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub objective: Objective,
    pub network: UNetConfig,
    pub sigma: SigmaConfig,
    pub steps: u64,
    pub batch: usize,
    pub lr: f64,
    pub warmup: u64,
    /// How the learning rate moves after the warm-up (runs from before it existed: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Decay of the slow EMA used for sampling.
    pub ema: f64,
    /// Probability of replacing a label by "any" (so one model serves both uses).
    pub label_dropout: f64,
    pub seed: u64,
    pub data_path: String,
    pub data_sha256: String,
    pub checkpoint_minutes: f64,
    pub sample_every: u64,
    pub log_every: u64,
    /// The weights the run started from, when not a random initialisation (`--init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitWeights>,
}

/// `--init`: the weights a new run starts from (a model with the same network as `network`,
/// dropout aside, which holds no parameters), with where they came from.
pub fn init_from(path: &Path, network: &UNetConfig) -> Result<(InitWeights, UNet), TrainError> {
    let model = Model::load(path, &Device::flex()).map_err(|e| TrainError::Settings(format!("--init {}: {e}", path.display())))?;
    let shape = |mut v: serde_json::Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("dropout");
        }
        v
    };
    let theirs = shape(model.manifest.network.clone());
    let ours = shape(serde_json::to_value(network).expect("configs serialise"));
    if theirs != ours {
        return Err(TrainError::Settings(format!("--init {}: its network {theirs} differs from this run's {ours}", path.display())));
    }
    Ok((InitWeights { manifest: path.display().to_string(), sha256: model.manifest.sha256.clone() }, model.net))
}

/// A run's starting weights: the manifest they came from and its weights' hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitWeights {
    pub manifest: String,
    pub sha256: String,
}

/// What the checkpoint's `state.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub settings: RunSettings,
    /// Steps completed.
    pub step: u64,
    /// The command lines that made this run (the first one, then each resume).
    pub commands: Vec<String>,
    /// Training wall time so far.
    pub elapsed_secs: f64,
    /// Mean loss of the last logged interval.
    pub last_loss: Option<f64>,
}

/// Why a run stopped early.
#[derive(Debug)]
pub enum TrainError {
    /// The loss became NaN or infinite; the last good checkpoint is kept.
    NonFinite { step: u64, checkpoint_step: u64 },
    Io(String),
    Settings(String),
}

impl core::fmt::Display for TrainError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TrainError::NonFinite { step, checkpoint_step } => write!(
                f,
                "the loss became NaN or infinite at step {step}; stopped. The checkpoint of step {checkpoint_step} is intact: lower --lr and resume from it"
            ),
            TrainError::Io(m) => write!(f, "{m}"),
            TrainError::Settings(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for TrainError {}

fn io(context: impl core::fmt::Display) -> impl FnOnce(std::io::Error) -> TrainError {
    move |e| TrainError::Io(format!("{context}: {e}"))
}

/// The modules and optimiser of a run in progress.
struct Training {
    model: UNet,
    optim: ModuleOptimizer,
    ema: UNet,
    target: Option<UNet>,
}

/// Offsets that keep the draws of one step apart in the generator's element space.
const DRAW_INDEX: u64 = 0;
const DRAW_LABEL: u64 = 1 << 40;
const DRAW_NORMAL: u64 = 2 << 40;
const DRAW_UNIFORM: u64 = 3 << 40;
const DRAW_IMAGE_NOISE: u64 = 4 << 40;

/// The batch of step `k`: a pure function of (seed, k) and the data.
pub fn draw_batch(data: &Dataset, settings: &RunSettings, k: u64, device: &Device) -> Batch {
    let b = settings.batch;
    let rng = SeededNoise::new(settings.seed, Stream::Training);
    let step = k as u32;
    let epoch = (k >> 32) as u64; // keeps draws distinct past 2^32 steps
    let indices: Vec<usize> = rng
        .uniforms(step, DRAW_INDEX + epoch * b as u64, b)
        .into_iter()
        .map(|u| ((u * data.len() as f64) as usize).min(data.len() - 1))
        .collect();
    let drop = rng.uniforms(step, DRAW_LABEL, b);
    let labels = indices
        .iter()
        .zip(drop)
        .map(|(&i, u)| if u < settings.label_dropout { UNCONDITIONAL } else { data.labels[i] })
        .collect();
    let mut clean = Vec::with_capacity(b * PIXELS);
    for &i in &indices {
        clean.extend_from_slice(data.image(i));
    }
    let z = rng.normals(step, DRAW_IMAGE_NOISE, b * PIXELS);
    let shape = [b, 1, IMAGE_SIZE, IMAGE_SIZE];
    Batch {
        clean: Tensor::from_data(TensorData::new(clean, shape), device),
        labels,
        z: Tensor::from_data(TensorData::new(z, shape), device),
        normals: rng.normals(step, DRAW_NORMAL, b).into_iter().map(f64::from).collect(),
        uniforms: rng.uniforms(step, DRAW_UNIFORM, b),
        dropout: DropoutMasks { seed: settings.seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17), first_image: 0 },
    }
}

/// Decay of the sampling EMA at step `k`: `min(decay, (1 + k) / (10 + k))`, so that early in a
/// run the average is not dominated by the random initial weights.
fn ema_decay(decay: f64, k: u64) -> f64 {
    decay.min((1 + k) as f64 / (10 + k) as f64)
}

/// The learning rate after the warm-up (`--lr-schedule`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// `--lr` to the end (as EDM).
    #[default]
    Constant,
    /// From `--lr` down to zero at the last step along half a cosine: for a run that should
    /// settle rather than wander.
    Cosine,
}

/// Learning rate at step `k`: linear warm-up, then the run's schedule.
pub fn learning_rate(settings: &RunSettings, k: u64) -> f64 {
    let warm = settings.lr * ((k + 1) as f64 / settings.warmup.max(1) as f64).min(1.0);
    match settings.lr_schedule {
        LrSchedule::Constant => warm,
        LrSchedule::Cosine if k < settings.warmup => warm,
        LrSchedule::Cosine => {
            let span = settings.steps.saturating_sub(settings.warmup).max(1) as f64;
            let t = ((k - settings.warmup) as f64 / span).min(1.0);
            settings.lr * 0.5 * (1.0 + (core::f64::consts::PI * t).cos())
        }
    }
}

fn new_training(settings: &RunSettings, ad: &Device, init: Option<&UNet>) -> Result<Training, TrainError> {
    let model = match init {
        Some(net) => load_into(settings.network.init(ad), module_bytes(net.clone())).map_err(|e| TrainError::Settings(format!("--init: {e}")))?,
        None => initial_weights::seeded(settings.seed, ad, |device| settings.network.init(device)),
    };
    let ema = model.valid();
    let target = settings.objective.has_target(0, settings.steps).then(|| model.valid());
    Ok(Training { model, optim: AdamConfig::new().with_epsilon(1e-8).init(), ema, target })
}

fn save_checkpoint(run: &Path, state: &RunState, t: &Training) -> Result<(), TrainError> {
    let json = serde_json::to_vec_pretty(state).expect("state serialises");
    let optim = t.optim.into_bytes().map_err(|e| TrainError::Io(format!("optimizer state: {e}")))?.to_vec();
    let mut parts: Vec<checkpoint::Part> = vec![
        ("model.bpk", module_bytes(t.model.valid())),
        ("optim.bpk", optim),
        ("ema.bpk", module_bytes(t.ema.clone())),
        ("state.json", json),
    ];
    if let Some(target) = &t.target {
        parts.push(("target.bpk", module_bytes(target.clone())));
    }
    checkpoint::write(run, state.step, &parts).map_err(io(format!("writing checkpoint in {}", run.display())))
}

fn load_checkpoint(dir: &Path, ad: &Device) -> Result<(RunState, Training), TrainError> {
    let read = |name: &str| checkpoint::read(dir, name).map_err(io(dir.join(name).display()));
    let state: RunState = serde_json::from_slice(&read("state.json")?)
        .map_err(|e| TrainError::Settings(format!("{}: {e}", dir.join("state.json").display())))?;
    let settings = &state.settings;
    let plain = ad.clone().without_autodiff();
    let weights = |name: &str, device: &Device| -> Result<UNet, TrainError> {
        load_into(settings.network.init(device), read(name)?).map_err(|e| TrainError::Io(format!("{name}: {e}")))
    };
    let model = weights("model.bpk", ad)?.train();
    let ema = weights("ema.bpk", &plain)?;
    let target = if dir.join("target.bpk").is_file() { Some(weights("target.bpk", &plain)?) } else { None };
    let optim = AdamConfig::new()
        .with_epsilon(1e-8)
        .init()
        .from_bytes(Bytes::from_bytes_vec(read("optim.bpk")?))
        .map_err(|e| TrainError::Io(format!("optim.bpk: {e}")))?;
    Ok((state, Training { model, optim, ema, target }))
}

/// Options of one invocation that are not part of the run's identity.
pub struct Invocation {
    pub run_dir: PathBuf,
    pub command: String,
    pub resume: bool,
    /// Stop after this many steps of this invocation (tests, timed bursts); the run stays resumable.
    pub max_steps_now: Option<u64>,
    /// Stop after the step during which this many minutes of this invocation have passed, with a
    /// checkpoint; the run stays resumable.
    pub max_minutes_now: Option<f64>,
    pub show_progress: bool,
    /// The network a new run starts from (`RunSettings::init` records where it came from).
    pub init: Option<UNet>,
    /// Where the networks run (`--device`): the CPU's flex backend or a GPU. A run's checkpoints
    /// are the same whichever device wrote them.
    pub device: Device,
    /// The run's periodic measurement of its EMA weights (`--eval-every`), if any.
    pub watch: Option<Watch>,
    /// Threads a step's batch is split over (`--threads`; 1: no split).
    pub threads: usize,
}

/// Loss of each logged interval, as written to `log.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    pub step: u64,
    pub loss: f64,
    pub lr: f64,
    pub steps_per_sec: f64,
    pub elapsed_secs: f64,
}

/// Runs (or resumes) a training run; returns the final state.
pub fn train(settings: RunSettings, data: &Dataset, teacher: Option<&Model>, inv: &Invocation) -> Result<RunState, TrainError> {
    let plain = inv.device.clone();
    let ad = plain.clone().autodiff();
    let run = &inv.run_dir;
    let (mut state, mut t) = open_run(settings, data, teacher, inv, &ad)?;
    let settings = state.settings.clone();
    let log_path = run.join("log.jsonl");
    cut_log(&log_path, state.step)?;
    cut_log(&run.join(watch::FD_LOG), state.step)?;
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(io("log.jsonl"))?;

    let mut end = inv.max_steps_now.map_or(settings.steps, |n| (state.step + n).min(settings.steps));
    let bar = progress_bar(state.step, settings.steps, inv.show_progress);
    let started = Instant::now();
    let elapsed_before = state.elapsed_secs;
    let mut last_checkpoint = Instant::now();
    let mut checkpoint_step = state.step;
    let (mut interval_loss, mut interval_steps, mut interval_start) = (0.0, 0u64, Instant::now());

    while state.step < end {
        let k = state.step;
        let batch = draw_batch(data, &settings, k, &plain);
        let (value, grads) = step_gradients(&settings, &t, teacher, &batch, k, inv.threads, &ad);
        if !value.is_finite() {
            bar.abandon();
            return Err(TrainError::NonFinite { step: k, checkpoint_step });
        }
        let lr = learning_rate(&settings, k);
        t.model = t.optim.step(lr, t.model, grads);
        t.ema = ema_update(t.ema, &t.model, ema_decay(settings.ema, k));
        if let Some(target) = t.target.take() {
            t.target = Some(ema_update(target, &t.model, settings.objective.target_ema(k, settings.steps)));
        }
        state.step += 1;
        interval_loss += value;
        interval_steps += 1;
        bar.set_position(state.step);

        if inv.max_minutes_now.is_some_and(|m| started.elapsed().as_secs_f64() >= m * 60.0) {
            end = state.step;
        }
        let done = state.step == end;
        if state.step % settings.log_every == 0 || done {
            let rate = interval_steps as f64 / interval_start.elapsed().as_secs_f64();
            let line = LogLine {
                step: state.step,
                loss: interval_loss / interval_steps as f64,
                lr,
                steps_per_sec: rate,
                elapsed_secs: elapsed_before + started.elapsed().as_secs_f64(),
            };
            bar.set_message(format!("loss {:.4}  {:.2} steps/s", line.loss, rate));
            writeln!(log, "{}", serde_json::to_string(&line).expect("log line")).map_err(io("log.jsonl"))?;
            state.last_loss = Some(line.loss);
            (interval_loss, interval_steps, interval_start) = (0.0, 0, Instant::now());
        }
        if let Some(w) = inv.watch.as_ref().filter(|w| w.due(state.step)) {
            let line = w.measure(run, &settings, &t.ema, data, state.step, &plain)?;
            bar.suspend(|| eprintln!("step {}: FD {:.2} with labels 0-9, {:.2} for any digit ({} samples each)", state.step, line.labels.fd, line.any.fd, w.samples));
            draw_curves_or_say(run, &bar);
        }
        if done || (settings.sample_every > 0 && state.step % settings.sample_every == 0) {
            sample_grid(&settings, &t.ema, &run.join("samples").join(format!("step{:07}.png", state.step)), &plain)?;
        }
        if done || last_checkpoint.elapsed().as_secs_f64() > settings.checkpoint_minutes * 60.0 {
            state.elapsed_secs = elapsed_before + started.elapsed().as_secs_f64();
            save_checkpoint(run, &state, &t)?;
            last_checkpoint = Instant::now();
            checkpoint_step = state.step;
        }
    }
    bar.finish();
    draw_curves_or_say(run, &bar);
    Ok(state)
}

/// The loss of step `k` and its gradients, the batch split over `threads` threads
/// ([`data_parallel`]: each shard's loss weighted by its share of the batch).
fn step_gradients(
    settings: &RunSettings,
    t: &Training,
    teacher: Option<&Model>,
    batch: &Batch,
    k: u64,
    threads: usize,
    ad: &Device,
) -> (f64, GradientsParams) {
    data_parallel::gradients(&t.model, &batch.shards(threads), ad, |model, shard| {
        let nets = Networks { model, target: t.target.as_ref(), teacher, sigma: settings.sigma, autodiff: ad };
        loss(&settings.objective, &nets, shard, k, settings.steps) * (shard.len() as f64 / batch.len() as f64)
    })
}

/// Redraws the run's `curves.svg`; a chart that cannot be drawn is said, not fatal.
fn draw_curves_or_say(run: &Path, bar: &indicatif::ProgressBar) {
    if let Err(e) = watch::draw_curves(run) {
        bar.suspend(|| eprintln!("could not draw {}: {e}", run.join(watch::CURVES).display()));
    }
}

/// Starts the run in `inv.run_dir` (refusing a folder that already holds one) or, with
/// `--resume`, loads its latest checkpoint, checking that the data and the teacher are the run's.
fn open_run(settings: RunSettings, data: &Dataset, teacher: Option<&Model>, inv: &Invocation, ad: &Device) -> Result<(RunState, Training), TrainError> {
    let run = &inv.run_dir;
    std::fs::create_dir_all(run).map_err(io(run.display()))?;
    let (state, t) = match (inv.resume, checkpoint::latest(run)) {
        (true, Some(dir)) => {
            let (mut state, t) = load_checkpoint(&dir, ad)?;
            if state.settings.data_sha256 != data.sha256 {
                return Err(TrainError::Settings(format!(
                    "the data ({}) differs from the run's (sha256 {}); resume with the same --data",
                    data.source, state.settings.data_sha256
                )));
            }
            state.settings.steps = settings.steps.max(state.step);
            state.commands.push(inv.command.clone());
            (state, t)
        }
        (true, None) => return Err(TrainError::Settings(format!("--resume: no checkpoint in {}", run.display()))),
        (false, Some(_)) => {
            return Err(TrainError::Settings(format!(
                "{} already holds a run: pass --resume to continue it, or choose another --run",
                run.display()
            )));
        }
        (false, None) => {
            let state = RunState { settings: settings.clone(), step: 0, commands: vec![inv.command.clone()], elapsed_secs: 0.0, last_loss: None };
            (state, new_training(&settings, ad, inv.init.as_ref())?)
        }
    };
    if let (Objective::Distill { teacher_sha256, teacher: path, .. }, Some(teacher)) = (&state.settings.objective, teacher) {
        if &teacher.manifest.sha256 != teacher_sha256 {
            return Err(TrainError::Settings(format!("this run distils the teacher {path} with sha256 {teacher_sha256}; the given teacher differs")));
        }
    }
    Ok((state, t))
}

/// Keeps the lines of `log.jsonl` (or `fd.jsonl`) up to `step` (the checkpoint a run continues from, 0 for a new
/// run): a run killed after its last checkpoint logged steps it will now take again, and a line
/// cut short by the kill is dropped.
fn cut_log(path: &Path, step: u64) -> Result<(), TrainError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path.display())(e)),
    };
    #[derive(Deserialize)]
    struct Line {
        step: u64,
    }
    let kept: String = text
        .lines()
        .map_while(|line| serde_json::from_str::<Line>(line).ok().filter(|l| l.step <= step).map(|_| format!("{line}\n")))
        .collect();
    if kept.len() != text.len() {
        crate::weights::write_atomic(path, kept.as_bytes()).map_err(|e| TrainError::Io(e.to_string()))?;
    }
    Ok(())
}

fn progress_bar(position: u64, total: u64, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total).with_position(position);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar
}

/// A grid of 20 samples (labels 0-9 twice) from the EMA weights, with the run's own sampler:
/// Heun at 35 NFE for a teacher, one step for a consistency model.
fn sample_grid(settings: &RunSettings, ema: &UNet, path: &Path, device: &Device) -> Result<(), TrainError> {
    let labels: Vec<usize> = (0..20).map(|i| i % 10).collect();
    let request = SampleRequest { seed: 0, first_image: 0, labels, blend: None };
    let model = ema_model(settings, ema);
    let (method, levels) = grid_sampler(&model);
    let denoiser = model.denoiser();
    let sampler = Sampler::new(denoiser.as_ref(), method, request, levels, device).map_err(|e| TrainError::Settings(e.to_string()))?;
    let images = sample(sampler, &mut |_| {});
    let pixels = images.into_data().try_to_vec::<f32>().map_err(|e| TrainError::Io(format!("{e:?}")))?;
    write_grid(path, &pixels, 10).map_err(TrainError::Io)
}

/// A run's EMA weights as a model of the run's kind.
pub(crate) fn ema_model(settings: &RunSettings, ema: &UNet) -> Model {
    Model { manifest: Manifest::new(model_kind(&settings.objective), &settings.network, settings.sigma), net: ema.clone() }
}

/// The sampler of a run's grids and measurements: a teacher with Heun at 35 NFE (18 levels), a
/// consistency model in one step.
pub(crate) fn grid_sampler(model: &Model) -> (Method, Vec<f64>) {
    let steps = if model.method() == Method::Consistency { 1 } else { 18 };
    (model.method(), model.levels_for_steps(steps, crate::sampling::LabelChoice::InTurn))
}

/// The kind of model a run makes.
pub fn model_kind(objective: &Objective) -> ModelKind {
    match objective {
        Objective::Teacher { .. } => ModelKind::Teacher,
        Objective::Distill { .. } => ModelKind::Cd,
        Objective::Ct { .. } => ModelKind::Ct,
    }
}

/// Re-exports exported weights (the manifest at `from`) at another precision: e.g. the shipped
/// student at fewer mantissa bits, for a smaller download, after its run is gone. Everything but
/// the storage is the source's; the command and the source's hash are recorded, and the source's
/// measurements are dropped (they were taken on other weights: run `cm eval` again).
pub fn export_from(from: &Path, out_dir: &Path, name: &str, precision: Precision, exported_by: &str) -> Result<PathBuf, TrainError> {
    let source = Model::load(from, &Device::flex()).map_err(|e| TrainError::Settings(format!("--from {}: {e}", from.display())))?;
    let mut manifest = source.manifest.clone();
    manifest.metrics = serde_json::Value::Null;
    manifest.training.command = format!("{} && {exported_by}", manifest.training.command);
    let extra = &mut manifest.training.extra;
    extra.insert("derived_from".into(), serde_json::json!({ "manifest": from.display().to_string(), "sha256": source.manifest.sha256 }));
    extra.remove("mantissa_bits");
    write_export(manifest, source.net, precision, out_dir, name)
}

/// Writes the run's EMA weights as `<out_dir>/<name>.bpk` + `.json` at `storage` precision, rounded
/// to `mantissa_bits` mantissa bits if given (see [`crate::weights::round_mantissas`]), with the
/// commands that made them, and lists them in the folder's index. `exported_by`: the command that
/// asked for the export (recorded in the manifest after the run's own commands, so the manifest
/// says exactly how its weights came to be).
pub fn export(run: &Path, out_dir: &Path, name: &str, precision: Precision, exported_by: &str) -> Result<PathBuf, TrainError> {
    let dir = checkpoint::latest(run).ok_or_else(|| TrainError::Settings(format!("no checkpoint in {}", run.display())))?;
    let (state, t) = load_checkpoint(&dir, &Device::flex().autodiff())?;
    let s = &state.settings;
    let mut manifest = Manifest::new(model_kind(&s.objective), &s.network, s.sigma);
    manifest.training.command = state.commands.join(" && ");
    if !state.commands.iter().any(|c| c == exported_by) {
        manifest.training.command = format!("{} && {exported_by}", manifest.training.command);
    }
    manifest.training.data_sha256 = s.data_sha256.clone();
    manifest.training.steps = state.step;
    let extra = &mut manifest.training.extra;
    extra.insert("settings".into(), serde_json::to_value(s).expect("settings serialise"));
    extra.insert("train_seconds".into(), serde_json::json!(state.elapsed_secs.round()));
    extra.insert("parameters".into(), serde_json::json!(t.ema.num_params()));
    write_export(manifest, t.ema, precision, out_dir, name)
}

/// How an export stores its parameters: the layout, and for `f16-planes` the mantissa bits kept,
/// for `grid-planes` the relative grid step (see [`crate::weights::Storage`]).
#[derive(Debug, Clone, Copy)]
pub struct Precision {
    pub storage: crate::weights::Storage,
    pub mantissa_bits: Option<u32>,
    pub grid_step: Option<f32>,
}

/// Saves `net` under `manifest` as `<out_dir>/<name>` at `precision` (rounded to its mantissa bits
/// if given, and recorded), and lists it in the folder's index.
fn write_export(mut manifest: Manifest, mut net: UNet, precision: Precision, out_dir: &Path, name: &str) -> Result<PathBuf, TrainError> {
    manifest.storage = precision.storage;
    manifest.grid_step = precision.grid_step;
    if let Some(bits) = precision.mantissa_bits {
        manifest.training.extra.insert("mantissa_bits".into(), serde_json::json!(bits));
        net = crate::weights::round_mantissas(net, bits);
    }
    let kind = manifest.kind;
    let mut model = Model { manifest, net };
    let path = model.save(out_dir, name).map_err(|e| TrainError::Io(e.to_string()))?;
    crate::weights::update_index(out_dir, name, kind).map_err(|e| TrainError::Io(e.to_string()))?;
    Ok(path)
}
