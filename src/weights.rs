//! The weights format: a burnpack file of the network's parameters plus a JSON manifest.
//!
//! ```text
//! weights/cd.json   {"format_version": 1, "file": "cd.bpk", "sha256": "...", "kind": "cd",
//!                    "network": {U-Net config}, "sigma": {...}, "recommended_levels": {"2": [0.8]},
//!                    "recommended_levels_any": {"2": [1.1]},
//!                    "training": {"command": "...", "data_sha256": "..."}, "metrics": {...}}
//! weights/cd.bpk    burnpack (burn::store) of the U-Net's tensors
//! ```
//!
//! Loading works from bytes (the browser fetches both files) and from a path, and every bad input
//! becomes a [`WeightsError`]: a malformed or unknown-version manifest, a hash mismatch, a
//! truncated or corrupted burnpack, a config that does not fit the tensors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::noise_levels::{RecommendedLevels, SigmaConfig};

/// The manifest format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What a weights file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// EDM diffusion model (denoiser parameterisation), sampled with Heun/Euler.
    Teacher,
    /// Consistency model distilled from a teacher.
    Cd,
    /// Consistency model trained from scratch.
    Ct,
    /// Digit classifier used by the evaluation.
    Classifier,
}

/// How a model was made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// The exact command line that produced the weights.
    pub command: String,
    /// SHA-256 of the training data as the loader saw it.
    #[serde(default)]
    pub data_sha256: String,
    /// Optimiser steps taken.
    #[serde(default)]
    pub steps: u64,
    /// Anything else worth keeping (teacher name, seed, wall time, ...).
    #[serde(default, flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The JSON manifest next to every weights file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Name of the burnpack file, relative to the manifest.
    pub file: String,
    /// SHA-256 (hex) of that file.
    pub sha256: String,
    pub kind: ModelKind,
    /// The network's config (a `UNetConfig` for teacher, CD and CT models).
    pub network: serde_json::Value,
    pub sigma: SigmaConfig,
    /// The intermediate levels `cm eval --tune` found best (`recommended_levels` and
    /// `recommended_levels_any` in the JSON).
    #[serde(flatten)]
    pub levels: RecommendedLevels,
    #[serde(default)]
    pub training: TrainingInfo,
    /// Measured quality (filled by `eval`).
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// Precision and layout of the stored parameters: `f32`, `f16` or `f16-planes` (half the
    /// download; loaded as f32).
    #[serde(default)]
    pub storage: Storage,
    /// With `grid-planes` storage: each tensor's grid step as a fraction of its RMS (the steps
    /// themselves are in the weights file, so loading does not need this; saving does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_step: Option<f32>,
}

/// Precision and layout of the stored parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    #[default]
    F32,
    /// f16 burnpack bytes.
    F16,
    /// The f16 burnpack bytes in two planes: every even byte, then every odd byte. The high bytes
    /// of the f16 values (sign, exponent, top of the mantissa) then sit together, and gzip
    /// compresses the file better, which is what a browser downloads (README: "Size and speed").
    #[serde(rename = "f16-planes")]
    F16Planes,
    /// Every parameter tensor on a uniform grid of its own, `step = grid_step x` the tensor's RMS:
    /// each value is stored as the integer `round(value / step)`, zigzag-coded into 16 bits, and
    /// the file's bytes are in two planes as for `f16-planes`. For weights shaped like a bell
    /// curve this spends gzip's bytes where the values are, not on the exponents of tiny ones: at
    /// the same download it rounds about 3x more finely than f16 with fewer mantissa bits (README:
    /// "Size and speed"). The steps are the burnpack's scalars `grid_step:<tensor>`.
    #[serde(rename = "grid-planes")]
    GridPlanes,
}

/// The burnpack scalar that holds a tensor's grid step in `grid-planes` storage.
fn grid_step_key(tensor: &str) -> String {
    format!("grid_step:{tensor}")
}

/// The largest integer a grid value may have (zigzag-coded, it fits in 16 bits).
const GRID_MAX: f32 = 32767.0;

/// The f32 burnpack `bytes` with every float tensor on its own grid (see [`Storage::GridPlanes`]):
/// the step is `rel_step` times the tensor's RMS (raised where needed so its largest value fits).
/// Returns the stored bytes (byte planes).
pub fn to_grid_planes(bytes: Vec<u8>, rel_step: f32) -> Result<Vec<u8>, WeightsError> {
    assert!(rel_step > 0.0 && rel_step.is_finite(), "the grid step must be positive, got {rel_step}");
    let tensors = pack_tensors(bytes)?;
    let mut steps = Vec::new();
    let mut stored = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        let (name, dtype, shape, id, data) = tensor.into_parts()?;
        if dtype != DType::F32 {
            return Err(WeightsError::Mismatch(format!("{name}: grid storage needs f32 parameters, got {dtype:?}")));
        }
        let values: Vec<f32> = data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let rms = (values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / values.len().max(1) as f64).sqrt() as f32;
        let largest = values.iter().fold(0f32, |m, v| m.max(v.abs()));
        let step = (rel_step * rms).max(largest / GRID_MAX);
        let step = if step > 0.0 { step } else { 1.0 }; // an all-zero tensor
        let codes: Vec<u8> = values
            .iter()
            .flat_map(|v| {
                let q = (v / step).round().clamp(-GRID_MAX, GRID_MAX) as i32;
                (((q << 1) ^ (q >> 31)) as u16).to_le_bytes()
            })
            .collect();
        steps.push((grid_step_key(&name), step));
        stored.push(burn_pack::Tensor::new(name, DType::U16, shape, id, Bytes::from_bytes_vec(codes)));
    }
    let writer = steps.into_iter().fold(burn_pack::Writer::new(stored), |w, (key, step)| w.with_scalar(&key, burn_pack::Scalar::Float(f64::from(step))));
    Ok(to_byte_planes(&writer.into_bytes()?))
}

/// Inverse of [`to_grid_planes`]: the f32 burnpack bytes of the values on their grids.
pub fn from_grid_planes(stored: &[u8]) -> Result<Vec<u8>, WeightsError> {
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(from_byte_planes(stored)))?;
    let steps = reader.scalars().clone();
    let mut tensors = Vec::new();
    for tensor in reader.into_tensors()? {
        let (name, dtype, shape, id, data) = tensor.into_parts()?;
        let step = match steps.get(&grid_step_key(&name)) {
            Some(burn_pack::Scalar::Float(step)) if dtype == DType::U16 && step.is_finite() => *step as f32,
            _ => return Err(WeightsError::Corrupt(format!("{name}: not a grid tensor (u16 codes with a float step)"))),
        };
        let values: Vec<u8> = data
            .chunks_exact(2)
            .flat_map(|b| {
                let z = u16::from_le_bytes([b[0], b[1]]);
                let q = i32::from(z >> 1) ^ -i32::from(z & 1);
                (q as f32 * step).to_le_bytes()
            })
            .collect();
        tensors.push(burn_pack::Tensor::new(name, DType::F32, shape, id, Bytes::from_bytes_vec(values)));
    }
    Ok(burn_pack::Writer::new(tensors).into_bytes()?.to_vec())
}

/// `bytes` as two planes: the even-indexed bytes, then the odd-indexed ones.
pub fn to_byte_planes(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().step_by(2).chain(bytes.iter().skip(1).step_by(2)).copied().collect()
}

/// Inverse of [`to_byte_planes`].
pub fn from_byte_planes(planes: &[u8]) -> Vec<u8> {
    let (even, odd) = planes.split_at(planes.len().div_ceil(2));
    let mut bytes = Vec::with_capacity(planes.len());
    for (i, e) in even.iter().enumerate() {
        bytes.push(*e);
        if let Some(o) = odd.get(i) {
            bytes.push(*o);
        }
    }
    bytes
}

/// Everything that can go wrong reading or writing weights.
#[derive(Debug)]
pub enum WeightsError {
    /// The manifest is not valid JSON or lacks a field.
    Manifest(String),
    /// The manifest's `format_version` is not one this build reads.
    UnsupportedVersion(u32),
    /// The weights bytes do not hash to the manifest's `sha256`.
    HashMismatch { expected: String, actual: String },
    /// The network config is invalid.
    Config(String),
    /// The burnpack bytes are truncated or corrupted.
    Corrupt(String),
    /// The tensors do not fit the network the config describes.
    Mismatch(String),
    /// A file could not be read or written.
    Io { path: PathBuf, error: std::io::Error },
}

impl core::fmt::Display for WeightsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WeightsError::Manifest(m) => write!(f, "malformed weights manifest: {m}"),
            WeightsError::UnsupportedVersion(v) => write!(
                f,
                "weights manifest has format_version {v}; this build reads version {FORMAT_VERSION}"
            ),
            WeightsError::HashMismatch { expected, actual } => write!(
                f,
                "weights file does not match its manifest (sha256 {actual}, expected {expected}): corrupted, truncated or from another model"
            ),
            WeightsError::Config(m) => write!(f, "invalid network config in manifest: {m}"),
            WeightsError::Corrupt(m) => write!(f, "weights file is truncated or corrupted: {m}"),
            WeightsError::Mismatch(m) => write!(f, "weights do not fit the manifest's network config: {m}"),
            WeightsError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for WeightsError {}

/// A burnpack that cannot be read (or written back) is a corrupted weights file.
impl From<burn_pack::Error> for WeightsError {
    fn from(e: burn_pack::Error) -> Self {
        WeightsError::Corrupt(e.to_string())
    }
}

/// The tensors of burnpack `bytes`, each a window into them (no tensor data is copied).
fn pack_tensors(bytes: Vec<u8>) -> Result<Vec<burn_pack::Tensor>, WeightsError> {
    Ok(burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes))?.into_tensors()?)
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    /// A manifest for a freshly made model of `kind` whose network is described by `network`
    /// (a `UNetConfig`, or the classifier's config); `file` and `sha256` are filled in when saved.
    pub fn new(kind: ModelKind, network: &impl Serialize, sigma: SigmaConfig) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            file: String::new(),
            sha256: String::new(),
            kind,
            network: serde_json::to_value(network).expect("network configs serialise"),
            sigma,
            levels: RecommendedLevels::default(),
            training: TrainingInfo::default(),
            metrics: serde_json::Value::Null,
            storage: Storage::F32,
            grid_step: None,
        }
    }

    /// Parses and checks the version.
    pub fn from_json(text: &str) -> Result<Self, WeightsError> {
        // Read the version first so a future format with other fields gets the right error.
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|e| WeightsError::Manifest(e.to_string()))?;
        match raw.get("format_version").and_then(|v| v.as_u64()) {
            None => return Err(WeightsError::Manifest("missing integer field `format_version`".into())),
            Some(v) if v != u64::from(FORMAT_VERSION) => {
                return Err(WeightsError::UnsupportedVersion(v.min(u64::from(u32::MAX)) as u32));
            }
            Some(_) => {}
        }
        let manifest: Manifest =
            serde_json::from_value(raw).map_err(|e| WeightsError::Manifest(e.to_string()))?;
        manifest.sigma.validate().map_err(WeightsError::Config)?;
        check_file_name(&manifest.file)?;
        manifest.levels.check(&manifest.sigma).map_err(WeightsError::Config)?;
        Ok(manifest)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises")
    }

    /// The network's config as `T` (a `UNetConfig`, or the classifier's), validated by `validate`.
    pub fn network_config<T: serde::de::DeserializeOwned>(&self, validate: impl Fn(&T) -> Result<(), String>) -> Result<T, WeightsError> {
        let config: T = serde_json::from_value(self.network.clone()).map_err(|e| WeightsError::Config(e.to_string()))?;
        validate(&config).map_err(WeightsError::Config)?;
        Ok(config)
    }

    /// Checks `bytes` against `sha256`.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), WeightsError> {
        let actual = sha256_hex(bytes);
        if actual != self.sha256.to_ascii_lowercase() {
            return Err(WeightsError::HashMismatch { expected: self.sha256.clone(), actual });
        }
        Ok(())
    }

    /// A short name (8 hex digits) for what decides a model's pixels: its weights file, network,
    /// noise levels and recommended levels (not its metrics or training notes). A share link
    /// carries it, so the page can tell when the weights it ships have changed since.
    pub fn fingerprint(&self) -> String {
        let pixels_depend_on = serde_json::json!({
            "sha256": self.sha256.to_ascii_lowercase(),
            "network": self.network,
            "sigma": self.sigma,
            "recommended_levels": self.levels.labelled,
            "recommended_levels_any": self.levels.any,
        });
        sha256_hex(pixels_depend_on.to_string().as_bytes())[..8].to_string()
    }
}

/// The weights file a manifest names must be a plain file name beside it: letters, digits, `.`,
/// `_` and `-`, not starting with a dot. No folder, no `..`, no absolute path, no device.
fn check_file_name(name: &str) -> Result<(), WeightsError> {
    let plain = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if plain {
        Ok(())
    } else {
        Err(WeightsError::Manifest(format!(
            "`file` must be a plain file name beside the manifest (letters, digits, '.', '_', '-'), got {name:?}"
        )))
    }
}

/// The most bytes a weights file may have (the largest network [`UNetConfig::validate`] allows
/// is far smaller): a path to an endless file (`/dev/zero`) gives an error, not an exhausted memory.
pub const MAX_WEIGHTS_BYTES: u64 = 256 << 20;

/// The most bytes a manifest may have (the shipped ones have about 20 kB).
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Collects the shape of every parameter by its path, as the burnpack names it, without
/// initialising any (a freshly built network's parameters are lazy: nothing is allocated yet).
#[derive(Default)]
struct ParamShapes {
    path: Vec<String>,
    shapes: BTreeMap<String, Vec<usize>>,
}

impl ModuleVisitor for ParamShapes {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.shapes.insert(self.path.join("."), param.lazy_shape().to_vec());
    }
}

/// Compares the tensors a burnpack holds (names, shapes, precision: its metadata only) with the
/// parameters of `net`, before anything is loaded or allocated, so a manifest that describes a
/// network other than its weights (or a huge one) gives an error instead of exhausting memory.
fn check_tensors<M: Module>(net: &M, bytes: &[u8]) -> Result<(), WeightsError> {
    let tensors = pack_tensors(bytes.to_vec())?;
    let mut expected = ParamShapes::default();
    net.visit(&mut expected);
    let mut expected = expected.shapes;
    for tensor in &tensors {
        let Some(shape) = expected.remove(&tensor.name) else {
            return Err(WeightsError::Mismatch(format!("the weights hold a tensor {:?} that the network does not have", tensor.name)));
        };
        if tensor.shape.as_slice() != shape.as_slice() {
            return Err(WeightsError::Mismatch(format!(
                "{}: the weights have shape {:?}, the network {:?}",
                tensor.name, tensor.shape.as_slice(), shape
            )));
        }
        if !matches!(tensor.dtype, DType::F32 | DType::F16) {
            return Err(WeightsError::Mismatch(format!("{}: stored as {:?}, expected f32 or f16", tensor.name, tensor.dtype)));
        }
    }
    match expected.keys().next() {
        Some(missing) => Err(WeightsError::Mismatch(format!("the weights lack the network's tensor {missing:?}"))),
        None => Ok(()),
    }
}

/// Parses burnpack bytes and loads them into `net` (casting stored f16 to the module's f32),
/// turning every failure into an error. `net` should be freshly built (lazy parameters): its
/// parameters' shapes are checked against the file's before anything is allocated.
pub fn load_into<M: Module>(net: M, bytes: Vec<u8>) -> Result<M, WeightsError> {
    let _alone = crate::initial_weights::drawing(); // loading draws from burn's generator
    load_into_unlocked(net, bytes)
}

pub(crate) fn load_into_unlocked<M: Module>(net: M, bytes: Vec<u8>) -> Result<M, WeightsError> {
    check_tensors(&net, &bytes)?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| WeightsError::Corrupt(e.to_string()))?
        .cast_to_module_dtype();
    net.try_load_record(record).map_err(|e| match e {
        burn::store::RecordError::Io(m) => WeightsError::Corrupt(m),
        burn::store::RecordError::Validation(m) => WeightsError::Mismatch(m),
    })
}

/// The burnpack bytes of a module's parameters.
pub fn module_bytes<M: Module>(net: M) -> Vec<u8> {
    net.into_record()
        .into_bytes()
        .expect("serialising parameters to memory cannot fail")
        .to_vec()
}

/// Casts every float parameter to one dtype.
struct CastFloats(DType);

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

/// `x` rounded to the nearest value with `bits` mantissa bits (1-23; ties away from zero).
pub fn round_mantissa(x: f32, bits: u32) -> f32 {
    assert!((1..=23).contains(&bits), "mantissa bits must be 1 to 23, got {bits}");
    if bits == 23 || !x.is_finite() {
        return x;
    }
    let dropped = 23 - bits;
    f32::from_bits((x.to_bits() + (1 << (dropped - 1))) & !((1u32 << dropped) - 1))
}

/// Rounds every float parameter to `bits` mantissa bits (see [`round_mantissa`]).
struct RoundMantissas(u32);

impl ModuleMapper for RoundMantissas {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let bits = self.0;
        param.map(|t| {
            let (shape, device) = (t.shape(), t.device());
            let values = t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float parameters");
            let rounded: Vec<f32> = values.into_iter().map(|v| round_mantissa(v, bits)).collect();
            Tensor::from_data(TensorData::new(rounded, shape), &device)
        })
    }
}

/// `net` with every parameter rounded to `bits` of f16's 10 mantissa bits. Stored as f16 byte
/// planes, the dropped low bits are zeros that gzip squeezes out (the README measures the
/// download and the quality at 3 to 8 bits).
pub fn round_mantissas<M: Module>(net: M, bits: u32) -> M {
    net.map(&mut RoundMantissas(bits))
}

/// The burnpack bytes of a module's parameters stored at `storage` precision; `grid_step` is
/// the relative step of `grid-planes` storage (see [`to_grid_planes`]), which needs one.
pub fn module_bytes_as<M: Module>(net: M, storage: Storage, grid_step: Option<f32>) -> Vec<u8> {
    match storage {
        Storage::F32 => module_bytes(net),
        Storage::F16 => module_bytes(net.map(&mut CastFloats(DType::F16))),
        Storage::F16Planes => to_byte_planes(&module_bytes_as(net, Storage::F16, None)),
        Storage::GridPlanes => {
            let step = grid_step.expect("grid-planes storage needs a grid step");
            to_grid_planes(module_bytes(net), step).expect("a module's own f32 burnpack is on a grid")
        }
    }
}

/// One model of `weights/index.json`, the list the page reads to find what is shipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    pub kind: ModelKind,
    pub manifest: String,
    pub file: String,
}

/// The contents of `weights/index.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub models: Vec<IndexEntry>,
}

/// Adds (or replaces) `name` in `<dir>/index.json`.
pub fn update_index(dir: &Path, name: &str, kind: ModelKind) -> Result<(), WeightsError> {
    let path = dir.join("index.json");
    let mut index: Index = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| WeightsError::Manifest(format!("{}: {e}", path.display())))?,
        Err(_) => Index::default(),
    };
    index.models.retain(|m| m.name != name);
    index.models.push(IndexEntry { name: name.into(), kind, manifest: format!("{name}.json"), file: format!("{name}.bpk") });
    index.models.sort_by(|a, b| a.name.cmp(&b.name));
    let text = serde_json::to_string_pretty(&index).expect("index serialises");
    write_atomic(&path, text.as_bytes())
}

/// Reads at most `limit` bytes of `path`, refusing a longer (or endless) file.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, WeightsError> {
    use std::io::Read;
    let io = |error| WeightsError::Io { path: path.to_path_buf(), error };
    let mut bytes = Vec::new();
    std::fs::File::open(path).map_err(io)?.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(io(std::io::Error::other(format!("larger than the {limit} bytes allowed"))));
    }
    Ok(bytes)
}

/// Reads a manifest and the weights file it names beside it (checked to be a plain file name
/// before anything is read), both with a size limit.
pub fn read_manifest_and_weights(manifest_path: &Path) -> Result<(String, Vec<u8>), WeightsError> {
    let text = String::from_utf8(read_bounded(manifest_path, MAX_MANIFEST_BYTES)?)
        .map_err(|e| WeightsError::Manifest(format!("{}: not UTF-8 text: {e}", manifest_path.display())))?;
    let manifest = Manifest::from_json(&text)?;
    let weights = read_bounded(&manifest_path.with_file_name(&manifest.file), MAX_WEIGHTS_BYTES)?;
    Ok((text, weights))
}

/// Parses a manifest, checks its weights against the hash and undoes the storage layout: the
/// manifest and the parameters' burnpack bytes, ready for [`load_into`].
pub fn verified(manifest_json: &str, weights: Vec<u8>) -> Result<(Manifest, Vec<u8>), WeightsError> {
    let manifest = Manifest::from_json(manifest_json)?;
    manifest.verify(&weights)?;
    let weights = match manifest.storage {
        Storage::F32 | Storage::F16 => weights,
        Storage::F16Planes => from_byte_planes(&weights),
        Storage::GridPlanes => from_grid_planes(&weights)?,
    };
    Ok((manifest, weights))
}

/// [`verified`] from a manifest's path (the weights file beside it).
pub fn read_verified(manifest_path: &Path) -> Result<(Manifest, Vec<u8>), WeightsError> {
    let (text, weights) = read_manifest_and_weights(manifest_path)?;
    verified(&text, weights)
}

/// Writes `<dir>/<name>.bpk` (`bytes`, stored as the manifest's `storage` says) and
/// `<dir>/<name>.json`, each via a temporary file and a rename, filling in the manifest's `file`
/// and `sha256`. Returns the manifest's path.
pub fn save(dir: &Path, name: &str, manifest: &mut Manifest, bytes: &[u8]) -> Result<PathBuf, WeightsError> {
    manifest.file = format!("{name}.bpk");
    manifest.sha256 = sha256_hex(bytes);
    write_atomic(&dir.join(&manifest.file), bytes)?;
    let manifest_path = dir.join(format!("{name}.json"));
    write_atomic(&manifest_path, manifest.to_json().as_bytes())?;
    Ok(manifest_path)
}

/// Makes the renames and removals inside `folder` durable (a no-op where folders cannot be
/// opened, as on Windows).
pub fn sync_dir(folder: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(folder)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = folder;
    Ok(())
}

/// Writes `bytes` to `path` through `path.tmp` and a rename, so a reader (or a crash) never sees
/// a half-written file; the folder is synced after the rename, so the new file is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
    let io = |error| WeightsError::Io { path: path.to_path_buf(), error };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    sync_dir(parent).map_err(io)
}
