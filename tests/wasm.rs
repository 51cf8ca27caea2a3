//! wasm-bindgen tests of the library itself, run in headless Chromium
//! (`cargo test --target wasm32-unknown-unknown --test wasm`, see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

include!("golden/noise.rs");

#[wasm_bindgen_test]
fn browser_noise_matches_the_native_golden_values() {
    check_golden_normals();
}

use consistency_models::burn::tensor::Device;
use consistency_models::sampling::{Method, SampleRequest, Sampler, consistency_levels, sample};
use consistency_models::web::Generator;
use consistency_models::{ConsistencyFunction, SigmaConfig, UNCONDITIONAL, UNetConfig};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen_test]
fn sampling_runs_on_the_cpu_backend_in_the_browser() {
    let device = Device::flex();
    device.seed(1);
    let net = UNetConfig::new().with_base_channels(8).with_channel_mult(vec![1, 2]).with_norm_groups(4).init(&device);
    let f = ConsistencyFunction { net: &net, sigma: SigmaConfig::default() };
    let levels = consistency_levels(&f.sigma, &[2.0, 0.3]);
    let mut calls = 0;
    let sampler = Sampler::new(&f, Method::Consistency, SampleRequest::new(3, 2, UNCONDITIONAL), levels, &device).unwrap();
    let out = sample(sampler, &mut |_| calls += 1);
    assert_eq!(out.dims(), [2, 1, 28, 28]);
    assert_eq!(calls, 3);
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

#[wasm_bindgen_test]
async fn the_js_api_generates_and_rejects_bad_options_with_messages() {
    let generator = Generator::random(7.0, JsValue::UNDEFINED, Some("cpu".into())).await.unwrap();
    assert_eq!(generator.backend(), "cpu");
    let pixels = JsFuture::from(generator.generate(options(r#"{"seed": 5, "steps": 2, "count": 3}"#), None)).await.unwrap();
    assert_eq!(js_sys::Float32Array::from(pixels).length(), 3 * 784);
    for bad in [r#"{"seed": -1}"#, r#"{"seed": 1.5}"#, r#"{"seed": 1, "count": 0}"#, r#"{"seed": 1, "steps": 99}"#, r#"{"seed": 1, "levels": [80, 90]}"#, r#"{"seed": 1, "colour": 2}"#] {
        let Err(err) = JsFuture::from(generator.generate(options(bad), None)).await else {
            panic!("{bad} was accepted");
        };
        let message = js_sys::Error::from(err).message();
        assert!(String::from(message).len() > 5, "{bad}");
    }
    let corrupt = Generator::load("{\"format_version\": 1}".into(), vec![1, 2, 3], None).await;
    assert!(corrupt.is_err());
}
