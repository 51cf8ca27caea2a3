//! Quality against training steps across tries (`cm progress`): the chart that says whether a
//! goal is in reach. A try is a run's periodic measurements (`fd.jsonl`) or an exported model's
//! `cm eval` measurements (its manifest), placed at its total training steps: a branch, such as a
//! cool-down started from another run's weights, begins where its parent stopped. The teacher's
//! `cm eval` measurement at the same sample count draws the goals' lines (1.3x and 2x its FD).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::train::eval::Row;
use crate::train::plots;
use crate::train::watch::{FD_LOG, Watched};
use crate::weights::{Manifest, ModelKind};

/// Arguments of `cm progress`.
#[derive(clap::Args)]
pub struct ProgressOptions {
    /// A try, `NAME=PATH[@STEPS]`: PATH a run folder (its fd.jsonl), an fd.jsonl file, or an
    /// exported model's manifest (its `cm eval` measurement at one step, or the teacher's best);
    /// STEPS the training steps that came before it (a branch's parent's step). Repeat for each try
    #[arg(long = "try", required = true)]
    pub tries: Vec<Try>,
    /// Draw the measurements of this many samples per label choice (a run measures 300 unless
    /// told otherwise; `cm eval`, as the goals ask, 1,000)
    #[arg(long, default_value_t = 300)]
    pub samples: usize,
    /// The teacher's manifest: its `cm eval` measurement at --samples samples (seed 1) is drawn
    /// with the goals' lines, 1.3x (CD at 1 step) and 2x (CT at 1 step) its FD
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// `cm eval`'s table (weights/metrics.json): its real held-out digits are drawn as the floor
    #[arg(long)]
    pub real: Option<PathBuf>,
    /// The SVG file to write
    #[arg(long)]
    pub out: PathBuf,
}

/// One try: a name, where its measurements are, and the training steps before them.
#[derive(Debug, Clone, PartialEq)]
pub struct Try {
    pub name: String,
    pub path: PathBuf,
    pub offset: u64,
}

impl FromStr for Try {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, rest) = s.split_once('=').ok_or_else(|| format!("`{s}`: a try is NAME=PATH[@STEPS]"))?;
        let (path, offset) = match rest.rsplit_once('@') {
            Some((path, steps)) => (path, steps.replace([',', '_'], "").parse().map_err(|_| format!("`{s}`: STEPS must be a whole number"))?),
            None => (rest, 0),
        };
        if name.is_empty() || path.is_empty() {
            return Err(format!("`{s}`: a try is NAME=PATH[@STEPS]"));
        }
        Ok(Self { name: name.into(), path: path.into(), offset })
    }
}

/// One measurement of a try: total training steps, FD with the labels 0-9 in turn and for any digit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub step: u64,
    pub labels: f64,
    pub any: f64,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// An exported model's manifest, parsed and checked as every manifest is.
fn read_manifest(path: &Path) -> Result<Manifest, String> {
    Manifest::from_json(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `cm eval` rows of a manifest (an exported model's, or weights/metrics.json's list).
fn rows(value: serde_json::Value) -> Vec<Row> {
    match value {
        serde_json::Value::Array(rows) => rows.into_iter().filter_map(|r| serde_json::from_value(r).ok()).collect(),
        _ => Vec::new(),
    }
}

/// The FD of `rows` at `samples` samples with and without labels: the best of a teacher's
/// samplers, a consistency model's one step.
fn measured(rows: &[Row], kind: ModelKind, samples: usize) -> Option<(f64, f64)> {
    let pick = |conditional: bool| {
        let fds = rows.iter().filter(|r| r.samples == samples && r.conditional == conditional && r.nfe > 0);
        match kind {
            ModelKind::Teacher => fds.map(|r| r.fd).reduce(f64::min),
            _ => fds.filter(|r| r.nfe == 1).map(|r| r.fd).next(),
        }
    };
    Some((pick(true)?, pick(false)?))
}

/// The measurements of `t` at `samples` samples, at their total training steps.
pub fn points(t: &Try, samples: usize) -> Result<Vec<Point>, String> {
    let path = if t.path.is_dir() { t.path.join(FD_LOG) } else { t.path.clone() };
    if t.path.is_dir() && !path.exists() {
        return Ok(Vec::new()); // a run that has not measured itself yet
    }
    if path.extension().is_some_and(|e| e == "jsonl") {
        let lines = read(&path)?;
        let watched = lines.lines().filter_map(|l| serde_json::from_str::<Watched>(l).ok());
        return Ok(watched.filter(|w| w.samples == samples).map(|w| Point { step: t.offset + w.step, labels: w.labels.fd, any: w.any.fd }).collect());
    }
    let manifest = read_manifest(&path)?;
    let steps = manifest.training.steps;
    Ok(measured(&rows(manifest.metrics), manifest.kind, samples).map(|(labels, any)| Point { step: t.offset + steps, labels, any }).into_iter().collect())
}

/// Draws the chart of `cm progress`.
pub fn draw(args: &ProgressOptions) -> Result<PathBuf, String> {
    let mut tries = Vec::new();
    for t in &args.tries {
        let points = points(t, args.samples)?;
        if points.is_empty() {
            eprintln!("{}: no measurements of {} samples", t.path.display(), args.samples);
        }
        tries.push((t.name.clone(), points));
    }
    let mut levels = Vec::new();
    if let Some(teacher) = &args.teacher {
        let manifest = read_manifest(teacher)?;
        match measured(&rows(manifest.metrics), ModelKind::Teacher, args.samples) {
            Some((labels, any)) => {
                levels.push(("teacher".to_string(), labels, any));
                levels.push(("goal of CD, 1 step: 1.3x the teacher".to_string(), 1.3 * labels, 1.3 * any));
                levels.push(("goal of CT, 1 step: 2x the teacher".to_string(), 2.0 * labels, 2.0 * any));
            }
            None => eprintln!("{}: no `cm eval` measurement of {} samples", teacher.display(), args.samples),
        }
    }
    if let Some(real) = &args.real {
        let table = rows(serde_json::from_str(&read(real)?).map_err(|e| format!("{}: {e}", real.display()))?);
        // One row (NFE 0): real digits are the same with or without a label asked for.
        match table.iter().find(|r| r.nfe == 0 && r.samples == args.samples) {
            Some(r) => levels.push(("real held-out digits".to_string(), r.fd, r.fd)),
            None => eprintln!("{}: no real digits measured on {} samples", real.display(), args.samples),
        }
    }
    if tries.iter().all(|(_, p)| p.is_empty()) {
        return Err(format!("no try has measurements of {} samples", args.samples));
    }
    plots::progress(&tries, &levels, args.samples, &args.out)?;
    Ok(args.out.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_try_names_its_path_and_the_steps_before_it() {
        assert_eq!("CD cool-down=runs/cd20-cool@5,099".parse::<Try>().unwrap(), Try { name: "CD cool-down".into(), path: "runs/cd20-cool".into(), offset: 5099 });
        assert_eq!("CT=weights/ct.json".parse::<Try>().unwrap(), Try { name: "CT".into(), path: "weights/ct.json".into(), offset: 0 });
        assert!("runs/cd20".parse::<Try>().is_err());
        assert!("x=runs/a@many".parse::<Try>().is_err());
    }

    #[test]
    fn a_run_is_read_at_one_sample_count_and_a_branch_after_its_parent() {
        let dir = std::env::temp_dir().join(format!("cm-progress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let gauges = |fd: f64| format!(r#"{{"fd":{fd},"sfd":1,"precision":0.8,"recall":0.8,"mid_grey":0.06,"stroke_width":2}}"#);
        let lines = [
            format!(r#"{{"step":1000,"labels":{},"any":{},"nfe":1}}"#, gauges(90.0), gauges(250.0)),
            format!(r#"{{"step":2000,"labels":{},"any":{},"nfe":1,"samples":1000}}"#, gauges(50.0), gauges(150.0)),
        ];
        std::fs::write(dir.join(FD_LOG), lines.join("\n")).unwrap();
        let branch = Try { name: "cool-down".into(), path: dir.clone(), offset: 5000 };
        assert_eq!(points(&branch, 300).unwrap(), vec![Point { step: 6000, labels: 90.0, any: 250.0 }], "lines without a count measured 300");
        assert_eq!(points(&branch, 1000).unwrap(), vec![Point { step: 7000, labels: 50.0, any: 150.0 }]);
        assert!(points(&Try { path: dir.join("missing.jsonl"), ..branch }, 300).is_err());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_teacher_is_measured_by_its_best_sampler_and_a_student_at_one_step() {
        let row = |nfe: usize, fd: f64, conditional: bool, samples: usize| Row { nfe, fd, conditional, samples, ..Row::default() };
        let rows = [row(1, 2000.0, true, 1000), row(35, 23.0, true, 1000), row(9, 70.0, true, 1000), row(1, 3000.0, false, 1000), row(35, 56.0, false, 1000), row(35, 50.0, false, 300)];
        assert_eq!(measured(&rows, ModelKind::Teacher, 1000), Some((23.0, 56.0)));
        assert_eq!(measured(&rows, ModelKind::Cd, 1000), Some((2000.0, 3000.0)));
        assert_eq!(measured(&rows, ModelKind::Teacher, 500), None);
    }
}
