//! The portable noise generator gives these exact bits natively; tests/wasm.rs checks the same
//! values in headless Chromium, so a seed means the same image on every platform.
include!("golden/noise.rs");

#[test]
fn native_noise_matches_the_golden_values() {
    check_golden_normals();
}
