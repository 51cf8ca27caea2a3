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
