//! What each way of storing a model's parameters costs in download and in rounding error: f16
//! with fewer mantissa bits (`cm export --half --mantissa-bits K`) against every tensor on a
//! uniform grid (`cm export --grid-step S`). For each: the weights file gzipped (GNU gzip -9, as
//! `scripts/size.mjs` measures the page) and the RMS rounding error relative to the parameters'.
//!
//! ```sh
//! cargo run --release --features train --example rounding_sizes -- weights/cd.json
//! ```

use consistency_models::burn::tensor::Bytes;
use consistency_models::model::Model;
use consistency_models::weights::{Storage, module_bytes, module_bytes_as, round_mantissas, sha256_hex, to_grid_planes, verified};

/// Bytes after `gzip -9`.
fn gzipped(bytes: &[u8]) -> usize {
    let path = std::env::temp_dir().join(format!("cm-rounding-sizes-{}", std::process::id()));
    std::fs::write(&path, bytes).expect("a temporary file");
    let out = std::process::Command::new("gzip").arg("-9c").arg(&path).output().expect("gzip");
    std::fs::remove_file(&path).ok();
    out.stdout.len()
}

/// Every parameter of an f32 burnpack, in file order.
fn values(burnpack: Vec<u8>) -> Vec<f32> {
    let tensors = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(burnpack)).and_then(|r| r.into_tensors()).expect("a burnpack");
    tensors
        .into_iter()
        .flat_map(|t| t.into_bytes().expect("resident").to_vec())
        .collect::<Vec<u8>>()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// RMS of `b - a` over RMS of `a`.
fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let err: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let total: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum();
    (err / total).sqrt()
}

fn main() {
    let path = std::env::args().nth(1).expect("the manifest of a model, e.g. weights/cd.json");
    let model = Model::load(path.as_ref(), &Default::default()).expect("a model");
    let burnpack = module_bytes(model.net.clone());
    let original = values(burnpack.clone());
    println!("{} parameters\n\n| storage | gzipped | relative RMS error |\n|---|---:|---:|", original.len());
    for bits in [10, 6, 5, 4, 3] {
        let net = round_mantissas(model.net.clone(), bits);
        let rounded = values(module_bytes(net.clone())); // (f16's range then changes only the tiniest)
        let stored = module_bytes_as(net, Storage::F16Planes, None);
        println!("| f16, {bits} mantissa bits | {} | {:.4} |", gzipped(&stored), relative_error(&original, &rounded));
    }
    for step in [0.01f32, 0.012, 0.015, 0.02, 0.03, 0.04] {
        let stored = to_grid_planes(burnpack.clone(), step).expect("f32 parameters");
        let mut manifest = model.manifest.clone();
        (manifest.storage, manifest.grid_step, manifest.sha256) = (Storage::GridPlanes, Some(step), sha256_hex(&stored));
        let (_, loaded) = verified(&manifest.to_json(), stored.clone()).expect("reads back");
        println!("| grid, step {step} x RMS | {} | {:.4} |", gzipped(&stored), relative_error(&original, &values(loaded)));
    }
}
