//! Any bytes as a weights file (f32, f16, f16 byte planes or a grid in byte planes, picked by the
//! first byte) with a manifest whose hash matches them: the loader must return a model or an
//! error, never panic.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::run("weights_bytes", data);
});
