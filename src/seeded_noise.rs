//! Portable seeded noise: the same numbers on every platform, addressed by (seed, step, element).
//!
//! Shareable links only work if a seed means the same image everywhere: natively, in the
//! browser on WebGPU and on the CPU fallback, at any batch size and any step count. So the
//! Gaussian noise of every sampler comes from here, never from a backend's random generator.
//!
//! - The bits come from Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers:
//!   as easy as 1, 2, 3", SC 2011), a counter-based generator: each draw is a pure function of
//!   (key, counter), so any element can be computed without generating the ones before it.
//! - Gaussians come from the Box-Muller transform with `libm`'s software `log`, `sin` and
//!   `cos`, in f64, rounded once to f32: bit-identical on native and wasm32 targets.
//!
//! Addressing: the key is the 64-bit seed; the counter holds the element's block (`element / 4`),
//! the sampler step, and a stream tag that keeps unrelated uses (sampling noise, dropout masks,
//! training draws) independent. Image `i` of a request owns elements `i * pixels .. (i + 1) * pixels`,
//! so it gets the same noise whatever the batch size.

/// Which independent family of numbers a draw belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Stream {
    /// Noise `z_n` of sampler step `n` (step 0 is the initial `sigma_max * z_0`).
    Sampling = 0,
    /// Dropout masks during training.
    Dropout = 1,
    /// Training draws: noise levels, images and labels of a batch.
    Training = 2,
}

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds: four 32-bit outputs for one 128-bit counter under a 64-bit key.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for _ in 0..10 {
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

/// A seeded source of portable random numbers for one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeededNoise {
    pub seed: u64,
    pub stream: Stream,
}

impl SeededNoise {
    pub fn new(seed: u64, stream: Stream) -> Self {
        Self { seed, stream }
    }

    /// The four raw 32-bit words of block `block` at step `step`.
    fn block(&self, step: u32, block: u64) -> [u32; 4] {
        let counter = [block as u32, (block >> 32) as u32, step, self.stream as u32];
        philox4x32_10(counter, [self.seed as u32, (self.seed >> 32) as u32])
    }

    /// Uniform number in [0, 1) at `(step, element)`, with 32 bits of resolution.
    pub fn uniform(&self, step: u32, element: u64) -> f64 {
        let words = self.block(step, element / 4);
        f64::from(words[(element % 4) as usize]) * (1.0 / 4_294_967_296.0)
    }

    /// Standard normal number at `(step, element)`.
    pub fn normal(&self, step: u32, element: u64) -> f32 {
        let words = self.block(step, element / 4);
        box_muller(&words)[(element % 4) as usize]
    }

    /// `len` consecutive standard normals starting at `first` (the fast path samplers use).
    pub fn normals(&self, step: u32, first: u64, len: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(len);
        for (block, lanes) in covering_blocks(first, len) {
            out.extend_from_slice(&box_muller(&self.block(step, block))[lanes]);
        }
        out
    }

    /// `len` consecutive uniforms in [0, 1) starting at `first`.
    pub fn uniforms(&self, step: u32, first: u64, len: usize) -> Vec<f64> {
        (first..first + len as u64).map(|e| self.uniform(step, e)).collect()
    }

    /// `len` Bernoulli draws starting at element `first` of `step`: true with probability `p`
    /// (the same numbers as `uniform(step, e) < p`, four per generator call).
    pub fn bernoulli(&self, step: u32, first: u64, len: usize, p: f64) -> Vec<bool> {
        let threshold = (p * 4_294_967_296.0).min(4_294_967_296.0);
        let mut out = Vec::with_capacity(len);
        for (block, lanes) in covering_blocks(first, len) {
            out.extend(self.block(step, block)[lanes].iter().map(|&w| f64::from(w) < threshold));
        }
        out
    }
}

/// The generator blocks (four elements each) that cover elements `first..first + len`, each with
/// the lanes of it inside that range.
fn covering_blocks(first: u64, len: usize) -> impl Iterator<Item = (u64, core::ops::Range<usize>)> {
    let end = first + len as u64;
    (first / 4..end.div_ceil(4)).map(move |block| {
        let start = block * 4;
        (block, (first.max(start) - start) as usize..(end - start).min(4) as usize)
    })
}

/// Box-Muller on two pairs of words: `r = sqrt(-2 ln u1)`, `(r cos 2 pi u2, r sin 2 pi u2)`.
/// `u1` is in (0, 1] so the logarithm is finite.
fn box_muller(words: &[u32; 4]) -> [f32; 4] {
    const SCALE: f64 = 1.0 / 4_294_967_296.0;
    let pair = |a: u32, b: u32| {
        let u1 = (f64::from(a) + 1.0) * SCALE;
        let u2 = f64::from(b) * SCALE;
        let r = libm::sqrt(-2.0 * libm::log(u1));
        let theta = 2.0 * core::f64::consts::PI * u2;
        (
            (r * libm::cos(theta)) as f32,
            (r * libm::sin(theta)) as f32,
        )
    };
    let (z0, z1) = pair(words[0], words[1]);
    let (z2, z3) = pair(words[2], words[3]);
    [z0, z1, z2, z3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_matches_the_reference_known_answers() {
        // Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 10 rounds).
        assert_eq!(philox4x32_10([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn same_address_gives_same_value_and_slices_agree() {
        let noise = SeededNoise::new(42, Stream::Sampling);
        let run = noise.normals(3, 5, 23);
        for (i, v) in run.iter().enumerate() {
            assert_eq!(v.to_bits(), noise.normal(3, 5 + i as u64).to_bits());
        }
        assert_eq!(noise.normal(3, 7).to_bits(), SeededNoise::new(42, Stream::Sampling).normal(3, 7).to_bits());
        assert_ne!(noise.normal(3, 7), noise.normal(4, 7));
        assert_ne!(noise.normal(3, 7), SeededNoise::new(43, Stream::Sampling).normal(3, 7));
        assert_ne!(noise.normal(3, 7), SeededNoise::new(42, Stream::Dropout).normal(3, 7));
    }

    #[test]
    fn large_draw_has_standard_normal_moments() {
        let noise = SeededNoise::new(7, Stream::Sampling);
        let draw = noise.normals(0, 0, 400_000);
        let n = draw.len() as f64;
        let mean = draw.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = draw.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        let fourth = draw.iter().map(|&v| (f64::from(v) - mean).powi(4)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        assert!((fourth - 3.0).abs() < 0.05, "fourth moment {fourth}");
        let coins = noise.bernoulli(2, 0, 1001, 0.3);
        assert!(coins.iter().enumerate().all(|(e, &c)| c == (noise.uniform(2, e as u64) < 0.3)));
        // Any stretch of them, from any element, is the same stretch of the whole draw.
        for (first, len) in [(1, 7), (3, 1), (4, 996), (513, 0), (998, 3)] {
            assert_eq!(noise.bernoulli(2, first as u64, len, 0.3), coins[first..first + len], "{first}+{len}");
        }
        let uniforms = noise.uniforms(1, 0, 100_000);
        let umean = uniforms.iter().sum::<f64>() / uniforms.len() as f64;
        assert!(uniforms.iter().all(|u| (0.0..1.0).contains(u)));
        assert!((umean - 0.5).abs() < 0.01);
    }
}
