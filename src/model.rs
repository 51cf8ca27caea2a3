//! A loaded model: a U-Net (teacher, CD or CT) with its manifest, and what its sampler needs from
//! it (the function it calls, the sampler, the levels). The file format is in [`crate::weights`].

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::consistency_function::ConsistencyFunction;
use crate::denoiser::{Denoise, Denoiser};
use crate::labels::LabelChoice;
use crate::noise_levels::edm_levels;
use crate::sampling::Method;
use crate::unet::{UNet, UNetConfig};
use crate::weights::{self, Manifest, ModelKind, WeightsError, load_into, module_bytes_as};

impl ModelKind {
    /// The sampler a model of this kind is meant for.
    pub fn method(self) -> Method {
        match self {
            ModelKind::Teacher => Method::Heun,
            _ => Method::Consistency,
        }
    }
}

/// A loaded U-Net model (teacher, CD or CT) with its manifest.
#[derive(Debug)]
pub struct Model {
    pub manifest: Manifest,
    pub net: UNet,
}

impl Model {
    /// Builds a model from the manifest's text and the weights' bytes, checking the hash first.
    pub fn from_bytes(manifest_json: &str, weights: Vec<u8>, device: &Device) -> Result<Self, WeightsError> {
        let (manifest, weights) = weights::verified(manifest_json, weights)?;
        if manifest.kind == ModelKind::Classifier {
            return Err(WeightsError::Config("this manifest is a classifier, not a U-Net model".into()));
        }
        let config: UNetConfig = manifest.network_config(UNetConfig::validate)?;
        let net = load_into(config.init(device), weights)?;
        Ok(Self { manifest, net })
    }

    /// Reads `<path>` (a manifest) and the weights file it names, next to it.
    pub fn load(manifest_path: &Path, device: &Device) -> Result<Self, WeightsError> {
        let (text, weights) = weights::read_manifest_and_weights(manifest_path)?;
        Self::from_bytes(&text, weights, device)
    }

    /// Writes `<dir>/<name>.bpk` and `<dir>/<name>.json` (see [`weights::save`]). Returns the
    /// manifest's path.
    pub fn save(&mut self, dir: &Path, name: &str) -> Result<PathBuf, WeightsError> {
        let bytes = module_bytes_as(self.net.clone(), self.manifest.storage, self.manifest.grid_step);
        weights::save(dir, name, &mut self.manifest, &bytes)
    }

    /// The model as the function its sampler calls: `D` for a teacher, `f` for CD and CT.
    pub fn denoiser(&self) -> Box<dyn Denoise + '_> {
        let sigma = self.manifest.sigma;
        match self.manifest.kind {
            ModelKind::Teacher => Box::new(Denoiser { net: &self.net, sigma }),
            _ => Box::new(ConsistencyFunction { net: &self.net, sigma }),
        }
    }

    /// The sampler this model is meant for.
    pub fn method(&self) -> Method {
        self.manifest.kind.method()
    }

    /// Levels for `steps` steps of this model's sampler for images asked for with `label`:
    /// consistency levels starting at `sigma_max` (recommended ones from the manifest), or the
    /// Karras grid for a teacher (the same for every label).
    pub fn levels_for_steps(&self, steps: usize, label: LabelChoice) -> Vec<f64> {
        let sigma = &self.manifest.sigma;
        match self.method() {
            Method::Consistency => self.manifest.levels.consistency_levels(sigma, steps, label),
            Method::Heun | Method::Euler => edm_levels(sigma, steps),
        }
    }
}
