//! Any text as the manifest of valid weights: the loader must return a model or an error, never
//! panic, whatever the manifest claims (network sizes, levels, storage, file name).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::run("manifest_text", data);
});
