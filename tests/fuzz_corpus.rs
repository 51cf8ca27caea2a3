//! Replays the fuzzers' corpora (`fuzz/corpus/<target>/`: the inputs libFuzzer found interesting,
//! kept in git) through the same harness the fuzz targets run, so each stays a regression test:
//! the weights loader must answer every one with a model or an error, never a panic.
//!
//! `CM_WRITE_FUZZ_SEEDS=1 cargo test --release --features train --test fuzz_corpus` (re)writes the
//! starting seeds into the corpus folders before a fuzzing session.
#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

const TARGETS: [&str; 2] = ["weights_bytes", "manifest_text"];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

#[test]
fn the_starting_seeds_are_valid_models() {
    for (target, name, input) in harness::starting_corpus() {
        if std::env::var_os("CM_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(corpus_dir(target)).unwrap();
            std::fs::write(corpus_dir(target).join(&name), &input).unwrap();
        }
        let loaded = harness::run(target, &input).expect("a non-empty UTF-8 seed");
        loaded.unwrap_or_else(|e| panic!("{target}/{name}: {e}"));
    }
}

#[test]
fn every_kept_input_loads_or_is_refused_without_a_panic() {
    for target in TARGETS {
        let dir = corpus_dir(target);
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(!files.is_empty(), "{target}: the corpus is in git");
        let (mut loaded, mut refused) = (0, 0);
        for file in files {
            let input = std::fs::read(&file).unwrap();
            let result = std::panic::catch_unwind(|| harness::run(target, &input).map(|r| r.map(|_| ())));
            match result {
                Ok(Some(Ok(()))) => loaded += 1,
                Ok(_) => refused += 1,
                Err(_) => panic!("{} panicked", file.display()),
            }
        }
        // The corpus reaches both ends of the loader: models that load and inputs it refuses.
        assert!(loaded > 0 && refused > 0, "{target}: {loaded} loaded, {refused} refused");
        println!("{target}: {loaded} inputs loaded, {refused} refused");
    }
}
