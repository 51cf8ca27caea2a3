//! A run's periodic measurement of its own quality: every N steps, samples of the EMA weights are
//! measured like `cm eval` measures a model (FD, sFD, precision, recall, pixel statistics; with
//! the labels 0-9 in turn and for any digit), appended to `fd.jsonl`, and drawn with the loss
//! into `curves.svg` in the run folder. What a run is measured with is not part of the run:
//! a resumed run may be watched more or less often, or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::train::classifier::Classifier;
use crate::train::data::Dataset;
use crate::train::eval::{self, Reference, Row};
use crate::train::plots;
use crate::train::trainer::{LogLine, RunSettings, TrainError, ema_model, grid_sampler};
use crate::unet::UNet;

/// How often to measure, on how many samples, with which classifier.
pub struct Watch {
    /// Measure after every `every`-th step (0: never).
    pub every: u64,
    /// Samples per measurement and label choice.
    pub samples: usize,
    pub classifier: Classifier,
    /// The real digits' statistics, computed at the first measurement (not at start-up: an
    /// invocation may stop before it measures anything).
    reference: OnceLock<Reference>,
}

/// The gauges of one label choice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gauges {
    pub fd: f64,
    pub sfd: f64,
    pub precision: f64,
    pub recall: f64,
    pub mid_grey: f64,
    pub stroke_width: f64,
}

impl From<&Row> for Gauges {
    fn from(r: &Row) -> Self {
        Self { fd: r.fd, sfd: r.sfd, precision: r.precision, recall: r.recall, mid_grey: r.mid_grey, stroke_width: r.stroke_width }
    }
}

/// One line of `fd.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Watched {
    pub step: u64,
    /// With the labels 0-9 in turn.
    pub labels: Gauges,
    /// For any digit.
    pub any: Gauges,
    /// Network evaluations per sample.
    pub nfe: usize,
    /// Samples per label choice (seed 1). Lines written before it was recorded measured 300.
    #[serde(default = "samples_before_recorded")]
    pub samples: usize,
}

fn samples_before_recorded() -> usize {
    300
}

impl Watch {
    /// A watch with the classifier of `classifier_path` (read now, so that a missing one is said
    /// at once).
    pub fn new(every: u64, samples: usize, classifier_path: &Path, device: &Device) -> Result<Self, String> {
        let (_, classifier) = crate::train::load_classifier(classifier_path, device).map_err(|e| format!("{}: {e}", classifier_path.display()))?;
        Ok(Self { every, samples: samples.max(10), classifier, reference: OnceLock::new() })
    }

    /// Whether step `step` is measured.
    pub fn due(&self, step: u64) -> bool {
        self.every > 0 && step % self.every == 0
    }

    /// Measures the EMA weights `ema` of a run with `settings` on `data` after step `step`
    /// (against the real digits of `data`), and appends the line to `<run>/fd.jsonl`.
    pub fn measure(&self, run: &Path, settings: &RunSettings, ema: &UNet, data: &Dataset, step: u64, device: &Device) -> Result<Watched, TrainError> {
        let reference = self.reference.get_or_init(|| Reference::new(&self.classifier, data, device));
        let model = ema_model(settings, ema);
        let (method, levels) = grid_sampler(&model);
        let row = |conditional| eval::evaluate("run", &model, method, &levels, &self.classifier, reference, self.samples, 100, 1, conditional, device);
        let (labels, any) = (row(true), row(false));
        let line = Watched { step, labels: (&labels).into(), any: (&any).into(), nfe: labels.nfe, samples: self.samples };
        let path = run.join(FD_LOG);
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))?;
        writeln!(file, "{}", serde_json::to_string(&line).expect("line serialises")).map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))?;
        Ok(line)
    }
}

/// The measurements of a run, one JSON line each.
pub const FD_LOG: &str = "fd.jsonl";

/// The run's chart.
pub const CURVES: &str = "curves.svg";

/// Draws `<run>/curves.svg` from `log.jsonl` and `fd.jsonl`.
pub fn draw_curves(run: &Path) -> Result<PathBuf, String> {
    let lines = |name: &str| std::fs::read_to_string(run.join(name)).unwrap_or_default();
    let losses: Vec<(u64, f64)> = lines("log.jsonl").lines().filter_map(|l| serde_json::from_str::<LogLine>(l).ok()).map(|l| (l.step, l.loss)).collect();
    let watched: Vec<Watched> = lines(FD_LOG).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let fds = [("labels 0-9", watched.iter().map(|w| (w.step, w.labels.fd)).collect()), ("any digit", watched.iter().map(|w| (w.step, w.any.fd)).collect())];
    let path = run.join(CURVES);
    plots::run_curves(&losses, &fds, &path)?;
    Ok(path)
}
