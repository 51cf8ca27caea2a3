//! The weights format: round trip, and a clear error (never a panic) for every bad input.
mod common;

use common::*;
use consistency_models::sampling::{LabelChoice, Method, SampleRequest, Sampler, sample};
use consistency_models::weights::{FORMAT_VERSION, Manifest, ModelKind, Storage, WeightsError, module_bytes, round_mantissa, round_mantissas, sha256_hex};
use consistency_models::model::Model;
use consistency_models::UNCONDITIONAL;

fn model(kind: ModelKind, seed: u64) -> Model {
    Model { manifest: Manifest::new(kind, &tiny_config(), sigma()), net: tiny_net(seed) }
}

fn generate(model: &Model, steps: usize) -> Vec<f32> {
    let denoiser = model.denoiser();
    let sampler = Sampler::new(
        denoiser.as_ref(),
        model.method(),
        SampleRequest::new(12, 2, UNCONDITIONAL),
        model.levels_for_steps(steps, LabelChoice::Any),
        &device(),
    )
    .unwrap();
    values(sample(sampler, &mut |_| {}))
}

/// Manifest text and weights bytes of a saved model.
fn saved(kind: ModelKind, seed: u64) -> (String, Vec<u8>) {
    let mut m = model(kind, seed);
    let bytes = module_bytes(m.net.clone());
    m.manifest.file = "m.bpk".into();
    m.manifest.sha256 = sha256_hex(&bytes);
    (m.manifest.to_json(), bytes)
}

#[test]
fn save_then_load_gives_the_same_outputs() {
    let dir = std::env::temp_dir().join(format!("cm-weights-{}", std::process::id()));
    for kind in [ModelKind::Cd, ModelKind::Teacher] {
        let mut original = model(kind, 21);
        original.manifest.levels.labelled.insert("2".into(), vec![0.8]);
        original.manifest.levels.any.insert("2".into(), vec![1.2]);
        original.manifest.training.command = "cm test".into();
        let path = original.save(&dir, "roundtrip").unwrap();
        let loaded = Model::load(&path, &device()).unwrap();
        assert_eq!(loaded.manifest, original.manifest);
        assert_eq!(loaded.method(), if kind == ModelKind::Teacher { Method::Heun } else { Method::Consistency });
        for steps in [1, 2] {
            assert_eq!(generate(&loaded, steps), generate(&original, steps));
        }
        // From bytes, as the browser does.
        let text = std::fs::read_to_string(&path).unwrap();
        let bytes = std::fs::read(dir.join("roundtrip.bpk")).unwrap();
        let from_bytes = Model::from_bytes(&text, bytes, &device()).unwrap();
        assert_eq!(generate(&from_bytes, 1), generate(&original, 1));
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn rounded_mantissas_are_the_nearest_values_with_that_many_bits() {
    let (one, ulp4) = (1.0f32, 2f32.powi(-4));
    assert_eq!(round_mantissa(one + ulp4 / 2.0, 4), one + ulp4, "a tie goes away from zero");
    assert_eq!(round_mantissa(one + ulp4 / 4.0, 4), one);
    assert_eq!(round_mantissa(-(one + ulp4 * 0.75), 4), -(one + ulp4));
    assert_eq!(round_mantissa(1.96875, 4), 2.0, "a carry into the exponent");
    for x in [0.1f32, -0.7, 3.3e-3, 12345.6, -2.0e-4] {
        for bits in [1, 4, 10] {
            let r = round_mantissa(x, bits);
            assert_eq!(r.to_bits() & ((1 << (23 - bits)) - 1), 0, "{x} at {bits} bits: low bits cleared");
            assert!(((r - x) / x).abs() <= 2f32.powi(-(bits as i32) - 1), "{x} at {bits} bits: {r}");
            assert_eq!(round_mantissa(r, bits), r);
        }
        assert_eq!(round_mantissa(x, 23), x);
    }
    // A whole network: every parameter rounded, so rounding again changes nothing; outputs move
    // a little; saved as f16 planes it loads back to the same rounded values.
    let original = model(ModelKind::Cd, 8);
    let mut rounded = Model { manifest: original.manifest.clone(), net: round_mantissas(original.net.clone(), 4) };
    assert_ne!(module_bytes(rounded.net.clone()), module_bytes(original.net.clone()));
    assert_eq!(module_bytes(round_mantissas(rounded.net.clone(), 4)), module_bytes(rounded.net.clone()));
    let (a, b) = (generate(&original, 1), generate(&rounded, 1));
    let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(diff > 0.0 && diff < 0.2, "outputs differ by {diff}");
    let dir = std::env::temp_dir().join(format!("cm-rounded-{}", std::process::id()));
    rounded.manifest.storage = Storage::F16Planes;
    let path = rounded.save(&dir, "rounded").unwrap();
    let loaded = Model::load(&path, &device()).unwrap();
    assert_eq!(module_bytes(loaded.net.clone()), module_bytes(rounded.net.clone()), "f16 keeps 4-bit mantissas exactly");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_fingerprint_follows_what_decides_the_pixels_and_nothing_else() {
    let (text, _) = saved(ModelKind::Cd, 5);
    let manifest = Manifest::from_json(&text).unwrap();
    let fingerprint = manifest.fingerprint();
    assert!(fingerprint.len() == 8 && fingerprint.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{fingerprint}");
    let changed = |change: &dyn Fn(&mut Manifest)| {
        let mut m = manifest.clone();
        change(&mut m);
        m.fingerprint() != fingerprint
    };
    assert!(!changed(&|m| m.metrics = serde_json::json!([{"fd": 1.0}])), "metrics do not change the pixels");
    assert!(!changed(&|m| m.training.command = "cm other".into()));
    assert!(!changed(&|m| m.sha256 = m.sha256.to_ascii_uppercase()), "the hash's case");
    assert!(changed(&|m| m.sha256 = sha256_hex(b"other weights")));
    assert!(changed(&|m| drop(m.levels.labelled.insert("2".into(), vec![0.8]))));
    assert!(changed(&|m| drop(m.levels.any.insert("2".into(), vec![0.8]))));
    assert!(changed(&|m| m.sigma.sigma_max = 40.0));
    assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap().fingerprint(), fingerprint, "survives a save");
}

#[test]
fn recommended_levels_win_over_the_default_curve() {
    let mut m = model(ModelKind::Cd, 2);
    let default = m.levels_for_steps(3, LabelChoice::Digit(4));
    assert_eq!(default.len(), 3);
    assert_eq!(default[0], 80.0);
    assert!(default.windows(2).all(|w| w[1] < w[0]) && default[2] > 0.002);
    assert_eq!(m.levels_for_steps(3, LabelChoice::Any), default);
    m.manifest.levels.labelled.insert("3".into(), vec![2.0, 0.5]);
    // Labelled images use them; any digit falls back to them while it has none of its own.
    for label in [LabelChoice::Digit(4), LabelChoice::InTurn, LabelChoice::Any] {
        assert_eq!(m.levels_for_steps(3, label), vec![80.0, 2.0, 0.5], "{label}");
    }
    m.manifest.levels.any.insert("3".into(), vec![3.0, 0.7]);
    assert_eq!(m.levels_for_steps(3, LabelChoice::Any), vec![80.0, 3.0, 0.7]);
    assert_eq!(m.levels_for_steps(3, LabelChoice::InTurn), vec![80.0, 2.0, 0.5]);
    assert_eq!(m.levels_for_steps(2, LabelChoice::Any), m.levels_for_steps(2, LabelChoice::Digit(0)), "no step count of its own");
    let teacher = model(ModelKind::Teacher, 2);
    assert_eq!(teacher.levels_for_steps(18, LabelChoice::Any), teacher.levels_for_steps(18, LabelChoice::Digit(1)));
    assert_eq!(teacher.levels_for_steps(18, LabelChoice::Any).len(), 18);
}

#[test]
fn a_hash_mismatch_is_reported() {
    let (text, mut bytes) = saved(ModelKind::Cd, 3);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    assert!(matches!(Model::from_bytes(&text, bytes, &device()), Err(WeightsError::HashMismatch { .. })));
}

#[test]
fn truncated_or_corrupted_files_are_reported_even_with_a_matching_hash() {
    let (text, bytes) = saved(ModelKind::Cd, 4);
    let mut manifest = Manifest::from_json(&text).unwrap();
    let mut check = |broken: Vec<u8>| {
        manifest.sha256 = sha256_hex(&broken);
        let err = Model::from_bytes(&manifest.to_json(), broken, &device()).unwrap_err();
        assert!(matches!(err, WeightsError::Corrupt(_) | WeightsError::Mismatch(_)), "{err}");
    };
    for len in [0, 5, 64, bytes.len() / 2, bytes.len() - 1] {
        check(bytes[..len].to_vec());
    }
    let mut garbage = bytes.clone();
    for b in garbage.iter_mut().take(200) {
        *b = 0xFF;
    }
    check(garbage);
    check(b"not a burnpack file at all".to_vec());
    // The file missing on disk is an I/O error naming the path.
    let dir = std::env::temp_dir().join(format!("cm-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.json"), &text).unwrap();
    let err = Model::load(&dir.join("m.json"), &device()).unwrap_err();
    assert!(matches!(err, WeightsError::Io { .. }) && err.to_string().contains("m.bpk"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_config_that_does_not_match_the_tensors_is_reported() {
    let (text, bytes) = saved(ModelKind::Cd, 5);
    let mut manifest = Manifest::from_json(&text).unwrap();
    manifest.network = serde_json::to_value(tiny_config().with_base_channels(16).with_norm_groups(4)).unwrap();
    let err = Model::from_bytes(&manifest.to_json(), bytes.clone(), &device()).unwrap_err();
    assert!(matches!(err, WeightsError::Mismatch(_)), "{err}");
    manifest.network = serde_json::to_value(tiny_config().with_attention(false)).unwrap();
    let err = Model::from_bytes(&manifest.to_json(), bytes.clone(), &device()).unwrap_err();
    assert!(matches!(err, WeightsError::Mismatch(_)), "{err}");
    manifest.network = serde_json::to_value(tiny_config().with_norm_groups(3)).unwrap();
    let err = Model::from_bytes(&manifest.to_json(), bytes, &device()).unwrap_err();
    assert!(matches!(err, WeightsError::Config(_)), "{err}");
}

#[test]
fn bad_manifests_are_reported() {
    let (text, bytes) = saved(ModelKind::Cd, 6);
    let load = |t: &str| Model::from_bytes(t, bytes.clone(), &device()).unwrap_err();
    assert!(matches!(load("{ not json"), WeightsError::Manifest(_)));
    assert!(matches!(load("{}"), WeightsError::Manifest(_)));
    let future = text.replace(&format!("\"format_version\": {FORMAT_VERSION}"), "\"format_version\": 99");
    let err = load(&future);
    assert!(matches!(err, WeightsError::UnsupportedVersion(99)), "{err}");
    assert!(err.to_string().contains("99"));
    let no_sigma = text.replace("\"sigma_max\": 80.0", "\"sigma_max\": -1.0");
    assert!(matches!(load(&no_sigma), WeightsError::Config(_)));
    let classifier = text.replace("\"kind\": \"cd\"", "\"kind\": \"classifier\"");
    assert!(matches!(load(&classifier), WeightsError::Config(_)));
    let wrong_kind = text.replace("\"kind\": \"cd\"", "\"kind\": \"gan\"");
    assert!(matches!(load(&wrong_kind), WeightsError::Manifest(_)));
}

#[test]
fn byte_planes_round_trip_and_load_like_plain_f16() {
    use consistency_models::weights::{Storage, from_byte_planes, to_byte_planes};
    for n in [0usize, 1, 2, 7, 10] {
        let bytes: Vec<u8> = (0..n as u8).collect();
        let planes = to_byte_planes(&bytes);
        assert_eq!(planes.len(), n);
        assert_eq!(from_byte_planes(&planes), bytes);
    }
    assert_eq!(to_byte_planes(&[1, 2, 3, 4, 5]), vec![1, 3, 5, 2, 4]);
    let dir = std::env::temp_dir().join(format!("cm-weights-planes-{}", std::process::id()));
    let source = model(ModelKind::Cd, 32);
    let mut plain = Model { manifest: source.manifest.clone(), net: source.net.clone() };
    plain.manifest.storage = Storage::F16;
    let mut planes = Model { manifest: source.manifest.clone(), net: source.net.clone() };
    planes.manifest.storage = Storage::F16Planes;
    plain.save(&dir, "plain").unwrap();
    let path = planes.save(&dir, "planes").unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(read("planes.bpk"), to_byte_planes(&read("plain.bpk")), "the same bytes, rearranged");
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"storage\": \"f16-planes\""));
    let loaded = Model::load(&path, &device()).unwrap();
    let plain = Model::load(&dir.join("plain.json"), &device()).unwrap();
    assert_eq!(generate(&loaded, 2), generate(&plain, 2));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn half_precision_storage_halves_the_file_and_loads_as_f32() {
    use consistency_models::weights::Storage;
    let dir = std::env::temp_dir().join(format!("cm-weights-f16-{}", std::process::id()));
    let mut full = model(ModelKind::Cd, 31);
    let mut half = Model { manifest: full.manifest.clone(), net: full.net.clone() };
    half.manifest.storage = Storage::F16;
    full.save(&dir, "full").unwrap();
    let path = half.save(&dir, "half").unwrap();
    let size = |name: &str| std::fs::metadata(dir.join(name)).unwrap().len() as f64;
    assert!(size("half.bpk") < 0.6 * size("full.bpk"), "{} vs {}", size("half.bpk"), size("full.bpk"));
    let loaded = Model::load(&path, &device()).unwrap();
    assert_eq!(loaded.manifest.storage, Storage::F16);
    let (a, b) = (generate(&loaded, 2), generate(&full, 2));
    assert!(max_abs_diff(&a, &b) < 2e-2, "f16 weights change the image by {}", max_abs_diff(&a, &b));
    // Saving what was loaded from f16 gives the same bytes again.
    let mut again = Model { manifest: loaded.manifest.clone(), net: loaded.net };
    again.save(&dir, "again").unwrap();
    assert_eq!(std::fs::read(dir.join("again.bpk")).unwrap(), std::fs::read(dir.join("half.bpk")).unwrap());
    std::fs::remove_dir_all(dir).ok();
}

/// A folder of its own under the temp dir.
fn folder(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cm-weights-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_manifest_may_name_only_a_plain_file_beside_it() {
    let (text, bytes) = saved(ModelKind::Cd, 7);
    let dir = folder("names");
    std::fs::write(dir.join("m.bpk"), &bytes).unwrap();
    let mut manifest = Manifest::from_json(&text).unwrap();
    for bad in ["/etc/passwd", "../../x", "/dev/zero", "sub/m.bpk", "..", ".", "", ".hidden", "m.bpk\0", "c:\\m.bpk", "m\\..\\x"] {
        manifest.file = bad.into();
        let json = manifest.to_json();
        let err = Manifest::from_json(&json).unwrap_err();
        assert!(matches!(err, WeightsError::Manifest(_)) && err.to_string().contains("plain file name"), "{bad:?}: {err}");
        // Model::load refuses before reading anything: /dev/zero would never end.
        std::fs::write(dir.join("bad.json"), &json).unwrap();
        assert!(matches!(Model::load(&dir.join("bad.json"), &device()), Err(WeightsError::Manifest(_))), "{bad:?}");
    }
    manifest.file = "m.bpk".into();
    std::fs::write(dir.join("good.json"), manifest.to_json()).unwrap();
    Model::load(&dir.join("good.json"), &device()).expect("a plain name beside the manifest loads");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_oversized_weights_file_is_refused_without_reading_it_whole() {
    let (text, _) = saved(ModelKind::Cd, 8);
    let dir = folder("huge");
    std::fs::write(dir.join("m.json"), &text).unwrap();
    // A sparse file: larger than the limit on disk, costing nothing.
    let file = std::fs::File::create(dir.join("m.bpk")).unwrap();
    file.set_len(consistency_models::weights::MAX_WEIGHTS_BYTES + 1).unwrap();
    let err = Model::load(&dir.join("m.json"), &device()).unwrap_err();
    assert!(matches!(err, WeightsError::Io { .. }) && err.to_string().contains("larger than"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_huge_network_in_the_manifest_is_refused_before_anything_is_allocated() {
    // The hash covers the weights only, so a manifest can describe any network. The largest one
    // the config allows would take gigabytes: the shapes must be compared before it is built.
    let (text, bytes) = saved(ModelKind::Cd, 9);
    let mut manifest = Manifest::from_json(&text).unwrap();
    let huge = tiny_config().with_base_channels(256).with_channel_mult(vec![1, 8, 8]).with_res_blocks(4).with_norm_groups(8);
    huge.validate().expect("within the config's bounds");
    manifest.network = serde_json::to_value(&huge).unwrap();
    let started = std::time::Instant::now();
    let err = Model::from_bytes(&manifest.to_json(), bytes.clone(), &device()).unwrap_err();
    assert!(matches!(err, WeightsError::Mismatch(_)), "{err}");
    assert!(err.to_string().contains("shape"), "the message names the shapes: {err}");
    assert!(started.elapsed().as_secs() < 10, "refused from the file's metadata, not after building the network");
    // Config values outside what the crate can use are refused outright.
    for (field, value) in [("num_classes", 1_000_000_000u64), ("num_classes", 11), ("base_channels", 100_000), ("res_blocks", 1000)] {
        let mut network = manifest.network.clone();
        network[field] = value.into();
        manifest.network = network;
        let err = Model::from_bytes(&manifest.to_json(), bytes.clone(), &device()).unwrap_err();
        assert!(matches!(err, WeightsError::Config(_)), "{field} = {value}: {err}");
        manifest.network = serde_json::to_value(&huge).unwrap();
    }
}

#[test]
fn recommended_levels_must_fit_their_step_count() {
    let (text, bytes) = saved(ModelKind::Cd, 10);
    let mut manifest = Manifest::from_json(&text).unwrap();
    for (steps, levels) in [("2", vec![]), ("2", vec![1.0, 0.5]), ("3", vec![0.5, 1.0]), ("2", vec![80.0]), ("2", vec![0.001]), ("x", vec![]), ("65", vec![1.0; 64]), ("0", vec![])] {
        for any in [false, true] {
            let mut m = manifest.clone();
            let table = if any { &mut m.levels.any } else { &mut m.levels.labelled };
            table.insert(steps.into(), levels.clone());
            let err = Model::from_bytes(&m.to_json(), bytes.clone(), &device()).unwrap_err();
            assert!(matches!(err, WeightsError::Config(_)), "{steps:?}: {levels:?}: {err}");
        }
    }
    manifest.levels.labelled.insert("3".into(), vec![2.0, 0.5]);
    Model::from_bytes(&manifest.to_json(), bytes, &device()).expect("valid levels load");
}

#[test]
fn every_network_config_that_validates_builds_and_runs() {
    // Found by fuzzing the manifest: base_channels 5, channel_mult [2], norm_groups 2 passed
    // validation, then a group norm over the stem's 5 channels panicked. Walk small configs of
    // every shape: a config is refused, or it builds and runs a forward pass.
    let device = device();
    let (mut built, mut refused) = (0, 0);
    for base in [1, 2, 3, 4, 5, 6] {
        for mult in [vec![1], vec![2], vec![1, 2], vec![1, 3], vec![2, 2], vec![1, 2, 3], vec![1, 1, 1]] {
            for groups in [0, 1, 2, 3, 4] {
                for (attention, heads) in [(false, 1), (true, 1), (true, 2), (true, 0)] {
                    let config = tiny_config()
                        .with_base_channels(base)
                        .with_channel_mult(mult.clone())
                        .with_norm_groups(groups)
                        .with_attention(attention)
                        .with_attention_heads(heads);
                    if config.validate().is_err() {
                        refused += 1;
                        continue;
                    }
                    let net = consistency_models::initial_weights::seeded(0, &device, |d| config.init(d));
                    let x = consistency_models::burn::tensor::Tensor::<4>::zeros([2, 1, 28, 28], &device);
                    let c_noise = consistency_models::burn::tensor::Tensor::<1>::zeros([2], &device);
                    let out = net.forward(x, c_noise, &[3, UNCONDITIONAL], None);
                    assert_eq!(out.dims(), [2, 1, 28, 28], "{config:?}");
                    built += 1;
                }
            }
        }
    }
    assert!(built > 50 && refused > 50, "{built} built, {refused} refused");
}

/// A network's parameter values by name (its burnpack also holds parameter ids, which differ per build).
fn values_by_name(net: consistency_models::UNet) -> Vec<(String, Vec<u8>)> {
    let bytes = consistency_models::burn::tensor::Bytes::from_bytes_vec(module_bytes(net));
    let tensors = burn_pack::Reader::from_bytes(bytes).unwrap().into_tensors().unwrap();
    tensors.into_iter().map(|t| (t.name.clone(), t.into_bytes().unwrap().to_vec())).collect()
}

#[test]
fn initial_weights_come_from_the_seed_alone_whatever_other_threads_draw() {
    use consistency_models::initial_weights::seeded;
    let alone: Vec<_> = (0..4).map(|seed| values_by_name(tiny_net(seed))).collect();
    assert!(alone[0] != alone[1], "seeds differ, so do the weights");
    // Four threads building networks at once, each from its own seed, over and over.
    let threads: Vec<_> = (0..4u64)
        .map(|seed| std::thread::spawn(move || (0..5).map(|_| values_by_name(seeded(seed, &device(), |d| tiny_config().init(d)))).collect::<Vec<_>>()))
        .collect();
    for (seed, thread) in threads.into_iter().enumerate() {
        for values in thread.join().unwrap() {
            assert!(values == alone[seed], "seed {seed}: the same weights as when drawn alone");
        }
    }
}

/// Float tensors of a burnpack by name, as f32 values.
fn tensors_of(bytes: Vec<u8>) -> std::collections::BTreeMap<String, Vec<f32>> {
    burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .and_then(|r| r.into_tensors())
        .unwrap()
        .into_iter()
        .map(|t| {
            let (name, dtype, _, _, data) = t.into_parts().unwrap();
            assert_eq!(dtype, burn::tensor::DType::F32, "{name}");
            (name, data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        })
        .collect()
}

fn rms(values: &[f32]) -> f32 {
    (values.iter().map(|v| v * v).sum::<f32>() / values.len() as f32).sqrt()
}

#[test]
fn grid_storage_rounds_each_tensor_to_a_fraction_of_its_rms_and_loads_as_f32() {
    use consistency_models::weights::{from_grid_planes, to_grid_planes};
    let source = model(ModelKind::Cd, 33);
    let original = tensors_of(module_bytes(source.net.clone()));
    for rel_step in [0.01f32, 0.05] {
        let stored = to_grid_planes(module_bytes(source.net.clone()), rel_step).unwrap();
        let decoded = tensors_of(from_grid_planes(&stored).unwrap());
        assert_eq!(decoded.keys().collect::<Vec<_>>(), original.keys().collect::<Vec<_>>());
        let (mut err, mut total) = (0f64, 0f64);
        for (name, values) in &original {
            let step = rel_step * rms(values);
            for (x, y) in values.iter().zip(&decoded[name]) {
                assert!((x - y).abs() <= 0.5 * step * 1.0001 + 1e-12, "{name}: {x} -> {y} at step {step}");
                err += f64::from(x - y).powi(2);
                total += f64::from(*x).powi(2);
            }
        }
        // A uniform rounding error: RMS about step / sqrt(12).
        let relative = (err / total).sqrt() as f32;
        assert!(relative > 0.15 * rel_step && relative < 0.45 * rel_step, "relative RMS error {relative} at step {rel_step}");
    }
    // Saved and loaded as a model: the file is smaller than f16 and the images barely move.
    let dir = folder("grid");
    let mut half = Model { manifest: source.manifest.clone(), net: source.net.clone() };
    half.manifest.storage = Storage::F16Planes;
    half.save(&dir, "half").unwrap();
    let mut grid = Model { manifest: source.manifest.clone(), net: source.net.clone() };
    grid.manifest.storage = Storage::GridPlanes;
    grid.manifest.grid_step = Some(0.01);
    let path = grid.save(&dir, "grid").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"storage\": \"grid-planes\"") && text.contains("\"grid_step\": 0.01"), "{text}");
    let loaded = Model::load(&path, &device()).unwrap();
    assert_eq!(loaded.manifest, grid.manifest);
    let (a, b) = (generate(&loaded, 2), generate(&source, 2));
    assert!(max_abs_diff(&a, &b) < 2e-2, "grid weights change the image by {}", max_abs_diff(&a, &b));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn grid_storage_keeps_zeros_and_outliers_and_refuses_what_is_not_a_grid() {
    use burn::tensor::{Bytes, DType};
    use consistency_models::weights::{from_grid_planes, to_byte_planes, to_grid_planes};
    let f32_tensor = |name: &str, values: &[f32]| {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        burn_pack::Tensor::new(name.into(), DType::F32, vec![values.len()], None, Bytes::from_bytes_vec(bytes))
    };
    // At 0.001 of the RMS, one value 1e4 among 4,000 small ones would be 63,000 steps: more
    // than 16 bits hold, so the step grows until it fits (and it is kept to within half a step).
    let mut outlier = vec![0.01f32; 4000];
    outlier[7] = -1.0e4;
    let pack = burn_pack::Writer::new(vec![f32_tensor("zeros", &[0.0; 5]), f32_tensor("outlier", &outlier), f32_tensor("one", &[-0.3])]);
    let decoded = tensors_of(from_grid_planes(&to_grid_planes(pack.into_bytes().unwrap().to_vec(), 0.001).unwrap()).unwrap());
    assert_eq!(decoded["zeros"], vec![0.0; 5]);
    assert!((decoded["one"][0] + 0.3).abs() <= 0.0005 * 0.3);
    let error = (decoded["outlier"][7] + 1.0e4).abs();
    assert!(error <= 0.5 * 1.0e4 / 32767.0 * 1.0001, "{}", decoded["outlier"][7]);
    assert_eq!(decoded["outlier"][0], 0.0, "0.01 is under half the grown step (0.15), not on a 0.00016 grid");
    // f16 planes, or a grid file without its steps, read as grid storage: an error, not a panic.
    let half = to_byte_planes(&module_bytes(model(ModelKind::Cd, 3).net.clone()));
    assert!(matches!(from_grid_planes(&half), Err(WeightsError::Corrupt(_))));
    let codes = burn_pack::Tensor::new("w".into(), DType::U16, vec![2], None, Bytes::from_bytes_vec(vec![1, 0, 2, 0]));
    let stepless = to_byte_planes(&burn_pack::Writer::new(vec![codes]).into_bytes().unwrap());
    assert!(matches!(from_grid_planes(&stepless), Err(WeightsError::Corrupt(_))));
    assert!(matches!(from_grid_planes(&[1, 2, 3]), Err(WeightsError::Corrupt(_))));
}
