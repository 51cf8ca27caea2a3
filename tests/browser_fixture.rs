//! Writes the browser tests' fixture: a small randomly initialised CD model in the weights format,
//! and the pixels this (native) build generates from it. The browser tests (tests/browser/) load
//! the same files in Chromium and must produce the same pixels on both backends, within 1e-3.
//! (Runs before them in scripts/test.sh; the files go to test-results/fixture/, not to git.)
mod common;

use common::*;
use consistency_models::sampling::{LabelChoice, SampleRequest, Sampler, sample};
use consistency_models::weights::{Manifest, Model, ModelKind, Storage, update_index};
use consistency_models::UNetConfig;

#[test]
fn write_browser_fixture_and_native_golden_pixels() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-results/fixture");
    std::fs::create_dir_all(&dir).unwrap();
    let device = device();
    let config = UNetConfig::new().with_base_channels(8).with_channel_mult(vec![1, 2]).with_norm_groups(4);
    let init = |seed| consistency_models::initial_weights::seeded(seed, &device, |device| config.init(device));
    let mut model = Model { manifest: Manifest::new(ModelKind::Cd, &config, sigma()), net: init(2024) };
    model.manifest.recommended_levels.insert("3".into(), vec![5.0, 0.5]);
    model.manifest.recommended_levels_any.insert("3".into(), vec![2.5, 0.25]); // any digit's own
    model.manifest.training.command = "tests/browser_fixture.rs (random weights, not trained)".into();
    model.manifest.storage = Storage::F16Planes; // the browser tests load half-precision weights too, as shipped
    model.save(&dir, "cd").unwrap();
    update_index(&dir, "cd", ModelKind::Cd).unwrap();
    // The golden pixels come from the file, as the browser will read it.
    let model = Model::load(&dir.join("cd.json"), &device).unwrap();
    // A (random) teacher for the page's comparison panel.
    let mut teacher = Model { manifest: Manifest::new(ModelKind::Teacher, &config, sigma()), net: init(2025) };
    teacher.save(&dir, "teacher").unwrap();
    update_index(&dir, "teacher", ModelKind::Teacher).unwrap();

    // The settings the browser test opens: ?model=cd&seed=5&steps=S&label=3&count=2.
    let mut golden = serde_json::Map::new();
    for steps in [1, 3] {
        let request = SampleRequest { seed: 5, first_image: 0, labels: vec![3, 3], blend: None };
        let denoiser = model.denoiser();
        let sampler = Sampler::new(denoiser.as_ref(), model.method(), request, model.levels_for_steps(steps, LabelChoice::Digit(3)), &device).unwrap();
        let pixels = values(sample(sampler, &mut |_| {}));
        assert!(pixels.iter().any(|v| v.abs() > 0.01), "a random network still gives non-trivial pixels");
        golden.insert(format!("steps{steps}"), serde_json::json!(pixels));
    }
    golden.insert("fingerprint".into(), serde_json::json!(model.manifest.fingerprint()));
    std::fs::write(dir.join("golden.json"), serde_json::to_string(&golden).unwrap()).unwrap();
}
