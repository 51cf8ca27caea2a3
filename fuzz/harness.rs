//! What the fuzz targets feed the weights loader. The same functions replay the kept corpus in
//! the ordinary tests (tests/fuzz_corpus.rs), so every input the fuzzer found interesting stays a
//! regression test.
#![allow(dead_code)]

use std::sync::OnceLock;

use consistency_models::burn::tensor::Device;
use consistency_models::sampling::LabelChoice;
use consistency_models::weights::{Manifest, ModelKind, Storage, WeightsError, module_bytes_as, sha256_hex};
use consistency_models::model::Model;
use consistency_models::{SigmaConfig, UNetConfig};

/// The smallest network with every layer type (a few thousand parameters, so the fuzzer runs fast).
fn seed_config() -> UNetConfig {
    UNetConfig::new().with_base_channels(4).with_channel_mult(vec![1]).with_norm_groups(2).with_attention(true)
}

/// A valid manifest text and weights bytes of a small seeded model in `storage`.
pub fn seed(storage: Storage) -> (String, Vec<u8>) {
    let device = Device::flex();
    device.seed(7);
    let config = seed_config();
    let grid_step = (storage == Storage::GridPlanes).then_some(0.02);
    let bytes = module_bytes_as(config.init(&device), storage, grid_step);
    let mut manifest = Manifest::new(ModelKind::Cd, &config, SigmaConfig::default());
    manifest.file = "seed.bpk".into();
    manifest.sha256 = sha256_hex(&bytes);
    manifest.storage = storage;
    manifest.grid_step = grid_step;
    manifest.levels.labelled.insert("2".into(), vec![0.8]);
    manifest.levels.any.insert("3".into(), vec![2.0, 0.3]);
    (manifest.to_json(), bytes)
}

const STORAGES: [Storage; 4] = [Storage::F32, Storage::F16, Storage::F16Planes, Storage::GridPlanes];

fn seeds() -> &'static [(String, Vec<u8>); 4] {
    static SEEDS: OnceLock<[(String, Vec<u8>); 4]> = OnceLock::new();
    SEEDS.get_or_init(|| STORAGES.map(seed))
}

/// Uses a loaded model the way the page and the CLI do right after loading.
fn exercise(model: &Model) {
    let _ = model.manifest.fingerprint();
    for steps in 1..=4 {
        for label in [LabelChoice::Any, LabelChoice::InTurn, LabelChoice::Digit(3)] {
            let _ = model.levels_for_steps(steps, label);
        }
    }
}

/// `data[0]` picks the storage, the rest are the weights; the manifest is the seed's with the
/// hash of these bytes, so the loader gets past the hash check to the parsing. `None`: no input.
pub fn load_weights(data: &[u8]) -> Option<Result<Model, WeightsError>> {
    let (&choice, bytes) = data.split_first()?;
    let mut manifest = Manifest::from_json(&seeds()[choice as usize % STORAGES.len()].0).expect("the seed manifest is valid");
    manifest.sha256 = sha256_hex(bytes);
    Some(Model::from_bytes(&manifest.to_json(), bytes.to_vec(), &Device::flex()))
}

/// `data` as the manifest text of the seed's f32 weights. `None`: not UTF-8. The weights' hash
/// is the one field no mutation keeps right (and the seed's bytes differ between processes, as
/// they hold random parameter ids), so a JSON object gets the right `sha256` and every other
/// field reaches the loader.
pub fn load_manifest(data: &[u8]) -> Option<Result<Model, WeightsError>> {
    let text = std::str::from_utf8(data).ok()?;
    let weights = &seeds()[0].1;
    let text = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("sha256".into(), sha256_hex(weights).into());
            serde_json::Value::Object(fields).to_string()
        }
        _ => text.to_string(),
    };
    Some(Model::from_bytes(&text, weights.clone(), &Device::flex()))
}

/// The input of `target` (`weights_bytes` or `manifest_text`), loaded and, if it loads, used.
pub fn run(target: &str, data: &[u8]) -> Option<Result<Model, WeightsError>> {
    let loaded = match target {
        "weights_bytes" => load_weights(data),
        "manifest_text" => load_manifest(data),
        other => panic!("no fuzz target {other:?}"),
    };
    if let Some(Ok(model)) = &loaded {
        exercise(model);
    }
    loaded
}

/// The starting corpus of each target: the valid seeds.
pub fn starting_corpus() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut inputs = Vec::new();
    for (i, (_, bytes)) in seeds().iter().enumerate() {
        let mut input = vec![i as u8];
        input.extend_from_slice(bytes);
        inputs.push(("weights_bytes", format!("seed-{:?}", STORAGES[i]).to_lowercase(), input));
    }
    inputs.push(("manifest_text", "seed-f32".into(), seeds()[0].0.clone().into_bytes()));
    inputs
}
