//! Training checkpoints that survive being killed at any moment, twice in a row.
//!
//! A checkpoint is a folder holding `state.json` (step, settings, the commands that ran), one
//! burnpack per module (`model.bpk`, `optim.bpk`, `ema.bpk`, optionally `target.bpk`) and, written
//! last, `complete.json`: the step and every file's length and SHA-256. A folder is a checkpoint
//! only when `complete.json` is there and every file matches it, so a half-written folder is never
//! mistaken for one.
//!
//! A run folder holds up to three: `checkpoint/` (the current one), `checkpoint.tmp/` (the next,
//! being written) and `checkpoint.old/` (the previous, during the swap). [`latest`] takes the
//! complete one with the highest step, whichever name it has. Every save first [`recover`]s (the
//! best complete checkpoint becomes `checkpoint/`, the rest is removed), writes the new one into
//! `checkpoint.tmp/`, then swaps by renames, syncing the run folder after each, so at every moment
//! at least one complete checkpoint exists and the newest complete one wins.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::weights::{sha256_hex, sync_dir};

/// One file of a checkpoint: its name and bytes.
pub type Part = (&'static str, Vec<u8>);

/// The marker that makes a folder a complete checkpoint.
const COMPLETE: &str = "complete.json";

/// What `complete.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Complete {
    step: u64,
    /// Name -> (length, SHA-256) of every other file.
    files: std::collections::BTreeMap<String, (u64, String)>,
}

/// `<run>/checkpoint`.
pub fn dir(run: &Path) -> PathBuf {
    run.join("checkpoint")
}

fn sibling(run: &Path, suffix: &str) -> PathBuf {
    run.join(format!("checkpoint.{suffix}"))
}

/// The three places a checkpoint can be, in order of preference when two hold the same step.
fn candidates(run: &Path) -> [PathBuf; 3] {
    [dir(run), sibling(run, "old"), sibling(run, "tmp")]
}

thread_local! {
    /// Filesystem operations of [`write`] left before a simulated crash (see [`crash_after`]).
    static CRASH_AFTER: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Makes the `n`-th next filesystem operation of [`write`] on this thread fail as if the process
/// were killed right before it (`None`: never). For crash tests; nothing else calls it.
pub fn crash_after(n: Option<u64>) {
    CRASH_AFTER.with(|c| c.set(n));
}

/// Operations left before the simulated crash set by [`crash_after`] (`None`: none is due).
pub fn crash_after_left() -> Option<u64> {
    CRASH_AFTER.with(|c| c.get())
}

/// Counts one filesystem operation, failing when a simulated crash is due.
fn op() -> std::io::Result<()> {
    CRASH_AFTER.with(|c| match c.get() {
        Some(0) => {
            c.set(None);
            Err(std::io::Error::other("simulated crash (checkpoint::crash_after)"))
        }
        Some(n) => {
            c.set(Some(n - 1));
            Ok(())
        }
        None => Ok(()),
    })
}

fn remove(folder: &Path) -> std::io::Result<()> {
    if folder.exists() {
        op()?;
        std::fs::remove_dir_all(folder)?;
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    op()?;
    std::fs::rename(from, to)
}

fn sync(run: &Path) -> std::io::Result<()> {
    op()?;
    sync_dir(run)
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    op()?;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes all `parts` as the run's checkpoint of `step`, keeping a complete checkpoint on disk
/// whenever this is interrupted (see the module doc).
pub fn write(run: &Path, step: u64, parts: &[Part]) -> std::io::Result<()> {
    std::fs::create_dir_all(run)?;
    recover(run)?;
    let tmp = sibling(run, "tmp");
    op()?;
    std::fs::create_dir_all(&tmp)?;
    let mut files = std::collections::BTreeMap::new();
    for (name, bytes) in parts {
        write_file(&tmp.join(name), bytes)?;
        files.insert(name.to_string(), (bytes.len() as u64, sha256_hex(bytes)));
    }
    // The marker goes in last and by a rename, so it exists only over a complete folder.
    let marker = serde_json::to_vec_pretty(&Complete { step, files }).expect("marker serialises");
    write_file(&tmp.join("complete.part"), &marker)?;
    rename(&tmp.join("complete.part"), &tmp.join(COMPLETE))?;
    sync(&tmp)?;
    let (current, old) = (dir(run), sibling(run, "old"));
    if current.exists() {
        rename(&current, &old)?;
        sync(run)?;
    }
    rename(&tmp, &current)?;
    sync(run)?;
    remove(&old)?;
    sync(run)
}

/// Reads `folder/complete.json` and checks every file against it; the step if complete.
fn complete_step(folder: &Path) -> Option<u64> {
    let marker: Complete = serde_json::from_slice(&std::fs::read(folder.join(COMPLETE)).ok()?).ok()?;
    for (name, (len, sha)) in &marker.files {
        let path = folder.join(name);
        if std::fs::metadata(&path).ok()?.len() != *len || &sha256_hex(&std::fs::read(&path).ok()?) != sha {
            return None;
        }
    }
    Some(marker.step)
}

/// The folder of the newest complete checkpoint of `run` and its step, if any.
pub fn latest_with_step(run: &Path) -> Option<(PathBuf, u64)> {
    let mut best: Option<(PathBuf, u64)> = None;
    for folder in candidates(run) {
        if let Some(step) = complete_step(&folder) {
            if best.as_ref().is_none_or(|(_, s)| step > *s) {
                best = Some((folder, step));
            }
        }
    }
    best
}

/// The folder of the newest complete checkpoint of `run`, if any.
pub fn latest(run: &Path) -> Option<PathBuf> {
    latest_with_step(run).map(|(folder, _)| folder)
}

/// Puts the newest complete checkpoint at `checkpoint/` and removes every other candidate
/// folder (older, incomplete or debris of a crash); returns its step. Interrupted at any point,
/// it leaves that checkpoint complete under one of the names [`latest`] looks at.
pub fn recover(run: &Path) -> std::io::Result<Option<u64>> {
    let best = latest_with_step(run);
    for folder in candidates(run) {
        if best.as_ref().is_none_or(|(b, _)| *b != folder) {
            remove(&folder)?;
        }
    }
    if let Some((folder, _)) = &best {
        if *folder != dir(run) {
            rename(folder, &dir(run))?;
        }
    }
    sync(run)?;
    Ok(best.map(|(_, step)| step))
}

/// Reads one file of a checkpoint folder.
pub fn read(checkpoint: &Path, name: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(checkpoint.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cm-ckpt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn parts(step: u8) -> Vec<Part> {
        vec![("model.bpk", vec![step; 100 + step as usize]), ("state.json", format!("{{\"step\":{step}}}").into_bytes())]
    }

    /// Filesystem operations of one save over an existing checkpoint.
    fn ops_per_save(run: &Path, step: u8) -> u64 {
        crash_after(Some(u64::MAX));
        write(run, step.into(), &parts(step)).unwrap();
        let left = crash_after_left().unwrap();
        crash_after(None);
        u64::MAX - left
    }

    /// The step and files of the checkpoint `latest` finds.
    fn found(run: &Path) -> Option<(u64, Vec<u8>)> {
        let (folder, step) = latest_with_step(run)?;
        Some((step, read(&folder, "model.bpk").unwrap()))
    }

    #[test]
    fn a_crash_at_any_point_of_a_save_twice_in_a_row_leaves_the_newest_complete_checkpoint() {
        let probe = temp("ops");
        write(&probe, 1, &parts(1)).unwrap();
        let ops = ops_per_save(&probe, 2);
        assert!(ops >= 10, "a save has at least its writes, renames and syncs ({ops})");
        std::fs::remove_dir_all(&probe).unwrap();
        for first in 0..ops {
            for second in 0..ops {
                let run = temp(&format!("twice-{first}-{second}"));
                write(&run, 1, &parts(1)).unwrap();
                crash_after(Some(first));
                assert!(write(&run, 2, &parts(2)).is_err(), "crash {first} happens");
                let after_one = found(&run).expect("a checkpoint survives one crash");
                assert!(after_one.0 == 1 || after_one.0 == 2, "crash {first}: step {}", after_one.0);
                assert_eq!(after_one.1, parts(after_one.0 as u8)[0].1, "crash {first}: its files are the ones of its step");
                // Resume from what was found and crash again while saving the next step.
                let next = after_one.0 as u8 + 1;
                crash_after(Some(second));
                assert!(write(&run, next.into(), &parts(next)).is_err());
                let after_two = found(&run).expect("a checkpoint survives two crashes");
                assert!(after_two.0 >= after_one.0, "crashes {first}, {second}: never older than the first survivor");
                assert_eq!(after_two.1, parts(after_two.0 as u8)[0].1);
                // And the run goes on: the next save succeeds and is the one found.
                write(&run, 9, &parts(9)).unwrap();
                assert_eq!(found(&run).unwrap().0, 9);
                let names: Vec<_> = std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().file_name()).collect();
                assert_eq!(names, vec![std::ffi::OsString::from("checkpoint")], "no debris is left");
                std::fs::remove_dir_all(run).unwrap();
            }
        }
    }

    #[test]
    fn a_folder_whose_files_do_not_match_its_marker_is_not_a_checkpoint() {
        let run = temp("mismatch");
        write(&run, 1, &parts(1)).unwrap();
        std::fs::write(dir(&run).join("model.bpk"), vec![7; 101]).unwrap(); // same length, other bytes
        assert!(latest(&run).is_none());
        write(&run, 1, &parts(1)).unwrap();
        std::fs::remove_file(dir(&run).join(COMPLETE)).unwrap();
        assert!(latest(&run).is_none(), "no marker, no checkpoint");
        std::fs::remove_dir_all(run).unwrap();
    }

    #[test]
    fn a_complete_tmp_folder_is_found_and_kept() {
        // A crash after the new checkpoint was complete but before the swap, then the old one lost.
        let run = temp("tmp");
        write(&run, 1, &parts(1)).unwrap();
        std::fs::rename(dir(&run), sibling(&run, "tmp")).unwrap();
        assert_eq!(found(&run).unwrap().0, 1);
        assert_eq!(recover(&run).unwrap(), Some(1));
        assert!(dir(&run).join(COMPLETE).is_file() && !sibling(&run, "tmp").exists());
        std::fs::remove_dir_all(run).unwrap();
    }
}
