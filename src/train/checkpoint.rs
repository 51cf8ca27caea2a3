//! Training checkpoints that survive being killed at any moment.
//!
//! A checkpoint is a folder `<run>/checkpoint/` holding `state.json` (step, settings, the
//! commands that ran) and one burnpack per module (`model.bpk`, `optim.bpk`, `ema.bpk`,
//! optionally `target.bpk`). A new one is written completely into `checkpoint.tmp/` (each file
//! synced), then swapped in by renames: `checkpoint -> checkpoint.old`, `checkpoint.tmp ->
//! checkpoint`, and the old one removed. A kill during the write leaves the previous checkpoint
//! untouched; a kill between the two renames leaves `checkpoint.old`, which [`latest`] finds.

use std::io::Write;
use std::path::{Path, PathBuf};

/// One file of a checkpoint: its name and bytes.
pub type Part = (&'static str, Vec<u8>);

/// `<run>/checkpoint`.
pub fn dir(run: &Path) -> PathBuf {
    run.join("checkpoint")
}

fn sibling(run: &Path, suffix: &str) -> PathBuf {
    run.join(format!("checkpoint.{suffix}"))
}

/// Writes all `parts` as the run's new checkpoint. `before_swap` runs after every file is
/// written and synced and before anything is renamed (tests use it to simulate a crash there).
pub fn write(run: &Path, parts: &[Part], before_swap: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<()> {
    let tmp = sibling(run, "tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    for (name, bytes) in parts {
        let mut file = std::fs::File::create(tmp.join(name))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    before_swap()?;
    let (current, old) = (dir(run), sibling(run, "old"));
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    if current.exists() {
        std::fs::rename(&current, &old)?;
    }
    std::fs::rename(&tmp, &current)?;
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// The folder of the newest complete checkpoint of `run`, if any.
pub fn latest(run: &Path) -> Option<PathBuf> {
    [dir(run), sibling(run, "old")].into_iter().find(|d| d.join("state.json").is_file())
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

    #[test]
    fn a_crash_before_the_swap_leaves_the_old_checkpoint_intact() {
        let run = temp("crash");
        write(&run, &[("state.json", b"{\"step\":1}".to_vec()), ("model.bpk", vec![1; 100])], || Ok(())).unwrap();
        let crash = write(&run, &[("state.json", b"{\"step\":2}".to_vec()), ("model.bpk", vec![2; 50])], || {
            Err(std::io::Error::other("killed"))
        });
        assert!(crash.is_err());
        let found = latest(&run).unwrap();
        assert_eq!(read(&found, "state.json").unwrap(), b"{\"step\":1}");
        assert_eq!(read(&found, "model.bpk").unwrap(), vec![1; 100]);
        // The next write succeeds over the debris of the crashed one.
        write(&run, &[("state.json", b"{\"step\":3}".to_vec())], || Ok(())).unwrap();
        assert_eq!(read(&latest(&run).unwrap(), "state.json").unwrap(), b"{\"step\":3}");
        assert!(!sibling(&run, "tmp").exists() && !sibling(&run, "old").exists());
        std::fs::remove_dir_all(run).unwrap();
    }

    #[test]
    fn a_crash_between_the_renames_is_recovered_from_the_old_folder() {
        let run = temp("between");
        write(&run, &[("state.json", b"{\"step\":1}".to_vec())], || Ok(())).unwrap();
        std::fs::rename(dir(&run), sibling(&run, "old")).unwrap(); // as if killed right here
        assert_eq!(read(&latest(&run).unwrap(), "state.json").unwrap(), b"{\"step\":1}");
        std::fs::remove_dir_all(run).unwrap();
    }
}
