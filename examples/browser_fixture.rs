//! Writes the browser tests' fixture (not a test itself: the browser tests need its files).
//!
//!   cargo run --release --features train --example browser_fixture [-- DIR]
//!
//! Into DIR (default: test-results/fixture/, which git ignores): a small randomly initialised CD
//! model and a teacher in the weights format, and `golden.json`, the pixels this native build
//! generates from the CD model for the settings the browser tests open, with its fingerprint.
//! The browser tests (tests/browser/) load the same files in Chromium and must produce the same
//! pixels on both backends, within 1e-3. scripts/test.sh runs this right before them.
use std::error::Error;
use std::path::PathBuf;

use consistency_models::burn::tensor::Device;
use consistency_models::weights::{Storage, update_index};
use consistency_models::{LabelChoice, Manifest, Model, ModelKind, SampleRequest, Sampler, SigmaConfig, UNetConfig, sample};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args().nth(1).map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-results/fixture"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let device = Device::flex();
    let config = UNetConfig::new().with_base_channels(8).with_channel_mult(vec![1, 2]).with_norm_groups(4);
    let init = |seed| consistency_models::initial_weights::seeded(seed, &device, |device| config.init(device));
    let sigma = SigmaConfig::default();
    // The page's comparison shows the chart `cm eval` drew for the shipped models, served from
    // weights/ beside them: the shipped one, as it is.
    std::fs::copy(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights/quality.svg"), dir.join("quality.svg"))?;

    let mut model = Model { manifest: Manifest::new(ModelKind::Cd, &config, sigma), net: init(2024) };
    model.manifest.levels.labelled.insert("3".into(), vec![5.0, 0.5]);
    model.manifest.levels.any.insert("3".into(), vec![2.5, 0.25]); // any digit's own
    model.manifest.training.command = "examples/browser_fixture.rs (random weights, not trained)".into();
    model.manifest.storage = Storage::F16Planes; // the browser tests load half-precision weights too, as shipped
    model.save(&dir, "cd")?;
    update_index(&dir, "cd", ModelKind::Cd)?;
    // The golden pixels come from the file, as the browser will read it.
    let model = Model::load(&dir.join("cd.json"), &device)?;
    // A (random) teacher for the page's comparison panel.
    let mut teacher = Model { manifest: Manifest::new(ModelKind::Teacher, &config, sigma), net: init(2025) };
    teacher.save(&dir, "teacher")?;
    update_index(&dir, "teacher", ModelKind::Teacher)?;

    // The settings the browser tests open: ?model=cd&seed=5&steps=S&label=3&count=2.
    let mut golden = serde_json::Map::new();
    for steps in [1, 3] {
        let request = SampleRequest { seed: 5, first_image: 0, labels: vec![3, 3], blend: None };
        let denoiser = model.denoiser();
        let sampler = Sampler::new(denoiser.as_ref(), model.method(), request, model.levels_for_steps(steps, LabelChoice::Digit(3)), &device)?;
        let pixels = sample(sampler, &mut |_| {}).into_data().try_into_vec::<f32>()?;
        if pixels.iter().all(|v| v.abs() <= 0.01) {
            return Err(format!("{steps} step(s) gave blank pixels: a random network should still give non-trivial ones").into());
        }
        golden.insert(format!("steps{steps}"), serde_json::json!(pixels));
    }
    golden.insert("fingerprint".into(), serde_json::json!(model.manifest.fingerprint()));
    std::fs::write(dir.join("golden.json"), serde_json::to_string(&golden)?)?;
    println!("browser fixture written to {}", dir.display());
    Ok(())
}
