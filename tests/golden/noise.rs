// Golden values of the portable noise generator, checked natively (tests/seeded_noise_golden.rs)
// and in the browser (tests/wasm.rs): both must produce these exact bits.
// (seed, step, element, f32 bits of the standard normal at that address)
const GOLDEN_NORMALS: &[(u64, u32, u64, u32)] = &[
    (0, 0, 0, 0x3f7dbb33),                                      // 0.9911377
    (1, 0, 1, 0xbe97b1bc),                                      // -0.29627788
    (42, 0, 783, 0xbf8ca1b9),                                   // -1.0986854
    (42, 3, 3937, 0xbbe76120),                                  // -0.0070611387
    (12345678901234567, 7, 1000003, 0x3f30107e),                // 0.68775165
    (u64::MAX, u32::MAX, u64::MAX - 1, 0xbe9c8a18),             // -0.30574107
];

/// Checks every golden value, and a long run against the single-value path.
fn check_golden_normals() {
    use consistency_models::seeded_noise::{SeededNoise, Stream};
    for &(seed, step, element, bits) in GOLDEN_NORMALS {
        let value = SeededNoise::new(seed, Stream::Sampling).normal(step, element);
        assert_eq!(value.to_bits(), bits, "seed {seed} step {step} element {element}: got {value}");
    }
    let noise = SeededNoise::new(42, Stream::Sampling);
    let run = noise.normals(3, 3900, 100);
    assert_eq!(run[37].to_bits(), 0xbbe76120);
    // A fingerprint of 10,000 values: the exact sum of their bits.
    let fingerprint: u64 = noise.normals(0, 0, 10_000).iter().map(|v| u64::from(v.to_bits())).sum();
    assert_eq!(fingerprint, GOLDEN_FINGERPRINT);
}
const GOLDEN_FINGERPRINT: u64 = 21_135_712_159_431;
