//! Samplers: one shape for all of them, each step visible to a callback.
//!
//! Every sampler is a [`Sampler`]: an iterator that runs one network step per `next()` and
//! yields a [`Step`] (the noisy input it saw, the denoised estimate, the level, the network
//! evaluations so far). [`sample`] drives it to the end and hands each step to a callback; the
//! browser drives the iterator itself so it can await each step's pixels before the next.
//! The final image is always the last step's `denoised`.
//!
//! - [`Method::Consistency`]: multistep consistency sampling, Song et al. 2023, Algorithm 1.
//!   `x = f(sigma_max z_0, sigma_max)`; then for each `tau_n`:
//!   `x_tau = x + sqrt(tau_n^2 - sigma_min^2) z_n`, `x = f(x_tau, tau_n)`. One step when the
//!   level list is just `[sigma_max]`.
//! - [`Method::Heun`] and [`Method::Euler`]: the deterministic EDM samplers of the teacher's
//!   probability-flow ODE `dx/dsigma = (x - D(x, sigma)) / sigma`, Karras et al. 2022,
//!   Algorithm 1 (Heun: 2 evaluations a step, the last step to sigma = 0 plain Euler).
//!
//! All Gaussian noise comes from [`SeededNoise`] addressed by (seed, step, element).

use burn::tensor::{Device, Tensor, TensorData};

use crate::denoiser::Denoise;
use crate::noise_levels::SigmaConfig;
use crate::seeded_noise::{SeededNoise, Stream};
use crate::unet::{IMAGE_SIZE, UNCONDITIONAL};

pub use crate::labels::LabelChoice;

/// Pixels of one image.
pub const PIXELS: usize = IMAGE_SIZE * IMAGE_SIZE;

/// Which images to make: a seed, the index of the first image under it, and one label per image.
///
/// Image `first_image + i` always gets the same noise, so a seed reproduces an image whatever
/// the batch size or the number of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRequest {
    pub seed: u64,
    pub first_image: u64,
    pub labels: Vec<usize>,
    /// Interpolation: every image blends the noise of image `first_image` under `seed` and under
    /// `blend.seed` by spherical interpolation at its own `blend.t[i]` (see [`slerp`]).
    pub blend: Option<NoiseBlend>,
}

/// The second end of an interpolation path and where each image sits on it.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseBlend {
    pub seed: u64,
    /// One position in [0, 1] per image: 0 is the request's own seed, 1 is `seed`.
    pub t: Vec<f64>,
}

/// Spherical interpolation `sin((1-t) theta)/sin(theta) a + sin(t theta)/sin(theta) b`, with theta
/// the angle between `a` and `b` (Shoemake 1985; used by the CM paper for noise interpolation).
/// Exactly `a` at `t = 0` and exactly `b` at `t = 1`.
pub fn slerp(a: &[f32], b: &[f32], t: f64) -> Vec<f32> {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let theta = (dot / (norm(a) * norm(b))).clamp(-1.0, 1.0).acos();
    let (wa, wb) = if theta.sin().abs() < 1e-12 {
        (1.0 - t, t) // (anti)parallel: fall back to a straight line
    } else {
        (((1.0 - t) * theta).sin() / theta.sin(), (t * theta).sin() / theta.sin())
    };
    a.iter().zip(b).map(|(x, y)| (wa * f64::from(*x) + wb * f64::from(*y)) as f32).collect()
}

impl SampleRequest {
    /// `count` images starting at image 0, all with `label`.
    pub fn new(seed: u64, count: usize, label: usize) -> Self {
        Self { seed, first_image: 0, labels: vec![label; count], blend: None }
    }

    /// Images `first_image .. first_image + count` of `seed`, labelled by `choice`.
    pub fn labelled(seed: u64, first_image: u64, count: usize, choice: LabelChoice) -> Self {
        Self { seed, first_image, labels: choice.labels(first_image, count), blend: None }
    }

    /// Number of images.
    pub fn count(&self) -> usize {
        self.labels.len()
    }

    /// Standard normal noise `z_step` of this request: `[count, 1, 28, 28]`.
    pub fn noise(&self, step: u32, device: &Device) -> Tensor<4> {
        let first = self.first_image * PIXELS as u64;
        let values = match &self.blend {
            None => SeededNoise::new(self.seed, Stream::Sampling).normals(step, first, self.count() * PIXELS),
            Some(blend) => {
                let a = SeededNoise::new(self.seed, Stream::Sampling).normals(step, first, PIXELS);
                let b = SeededNoise::new(blend.seed, Stream::Sampling).normals(step, first, PIXELS);
                blend.t.iter().flat_map(|&t| slerp(&a, &b, t)).collect()
            }
        };
        Tensor::from_data(TensorData::new(values, [self.count(), 1, IMAGE_SIZE, IMAGE_SIZE]), device)
    }
}

/// The sampling algorithms; all share [`Sampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Consistency model, one or several steps (Algorithm 1 of the paper).
    Consistency,
    /// EDM's second-order Heun sampler for a diffusion denoiser.
    Heun,
    /// First-order Euler sampler for a diffusion denoiser.
    Euler,
}

/// What a sampler reports after each step.
#[derive(Debug, Clone)]
pub struct Step {
    /// 0-based step index.
    pub index: usize,
    /// Number of steps of this run.
    pub total: usize,
    /// The level the network was evaluated at.
    pub sigma: f64,
    /// The network's input at this step: `[B, 1, 28, 28]` (for consistency sampling, the
    /// re-noised image the step starts from).
    pub noisy: Tensor<4>,
    /// The estimate of the clean images: `[B, 1, 28, 28]`.
    pub denoised: Tensor<4>,
    /// Network evaluations so far, this step included.
    pub nfe: usize,
}

/// Why a sampling request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleError {
    /// The level list is empty, not decreasing, or leaves the model's range.
    InvalidLevels(String),
    /// No images requested, or a label out of range.
    InvalidRequest(String),
}

impl core::fmt::Display for SampleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SampleError::InvalidLevels(m) => write!(f, "invalid noise levels: {m}"),
            SampleError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
        }
    }
}

impl std::error::Error for SampleError {}

/// What an editing sampler changes about the plain loop (Song et al. 2023, Algorithm 4).
#[derive(Debug, Clone, Default)]
pub struct Guidance {
    /// The first step's input, already at `levels[0]` (denoising: the noisy image; stroke-guided
    /// generation: the drawing plus noise). `None`: `levels[0] z_0`.
    pub start: Option<Tensor<4>>,
    /// Known pixels and their mask (1 = known): after every denoise,
    /// `x <- mask * known + (1 - mask) * x`.
    pub known: Option<(Tensor<4>, Tensor<4>)>,
}

/// A sampler in progress; each `next()` runs one step.
pub struct Sampler<'a> {
    model: &'a dyn Denoise,
    method: Method,
    request: SampleRequest,
    levels: Vec<f64>,
    device: Device,
    index: usize,
    nfe: usize,
    /// The current image: for consistency sampling the last denoised estimate, for the ODE
    /// samplers the point on the trajectory at `levels[index]`.
    x: Option<Tensor<4>>,
    guidance: Guidance,
}

impl<'a> Sampler<'a> {
    /// Checks the request and prepares the run. `levels` must be strictly decreasing and inside
    /// `[sigma_min, sigma_max]` of the model; for consistency sampling the first must be `sigma_max`.
    pub fn new(
        model: &'a dyn Denoise,
        method: Method,
        request: SampleRequest,
        levels: Vec<f64>,
        device: &Device,
    ) -> Result<Self, SampleError> {
        Self::guided(model, method, request, levels, Guidance::default(), device)
    }

    /// A sampler with editing [`Guidance`]. With a `start` image, consistency sampling may begin
    /// below `sigma_max`.
    pub fn guided(
        model: &'a dyn Denoise,
        method: Method,
        request: SampleRequest,
        levels: Vec<f64>,
        guidance: Guidance,
        device: &Device,
    ) -> Result<Self, SampleError> {
        validate_levels(model.sigma_config(), method, &levels, guidance.start.is_some())?;
        if request.count() == 0 {
            return Err(SampleError::InvalidRequest("count must be at least 1".into()));
        }
        if let Some(bad) = request.labels.iter().find(|&&l| l > UNCONDITIONAL) {
            return Err(SampleError::InvalidRequest(format!("label {bad} is not 0-9 or 10 (any)")));
        }
        if let Some(blend) = &request.blend {
            if blend.t.len() != request.count() || blend.t.iter().any(|t| !(0.0..=1.0).contains(t)) {
                return Err(SampleError::InvalidRequest("interpolation needs one t in [0, 1] per image".into()));
            }
        }
        let shape = [request.count(), 1, IMAGE_SIZE, IMAGE_SIZE];
        let tensors = guidance.start.iter().chain(guidance.known.iter().flat_map(|(k, m)| [k, m]));
        if let Some(bad) = tensors.map(|t| t.dims()).find(|d| *d != shape) {
            return Err(SampleError::InvalidRequest(format!("guidance images are {bad:?}, expected {shape:?}")));
        }
        Ok(Self { model, method, request, levels, device: device.clone(), index: 0, nfe: 0, x: None, guidance })
    }

    /// Network evaluations the whole run takes.
    pub fn total_nfe(&self) -> usize {
        match self.method {
            Method::Heun => 2 * self.levels.len() - 1,
            Method::Consistency | Method::Euler => self.levels.len(),
        }
    }

    fn evaluate(&mut self, x: Tensor<4>, sigma: f64) -> Tensor<4> {
        self.nfe += 1;
        let sigmas = vec![sigma; self.request.count()];
        self.model.denoise(x, &sigmas, &self.request.labels)
    }

    /// Algorithm 1, one iteration: re-noise the last estimate to `tau`, then denoise in one jump.
    fn consistency_step(&mut self, sigma: f64) -> (Tensor<4>, Tensor<4>) {
        let sigma_min = self.model.sigma_config().sigma_min;
        let z = self.request.noise(self.index as u32, &self.device);
        let noisy = match (self.x.take(), self.guidance.start.take()) {
            (Some(x), _) => x + z * (sigma * sigma - sigma_min * sigma_min).sqrt(),
            (None, Some(start)) => start, // an editing start, already at this level
            (None, None) => z * sigma,     // x_T = sigma_max z_0
        };
        let mut denoised = self.evaluate(noisy.clone(), sigma).clamp(-1.0, 1.0);
        if let Some((known, mask)) = &self.guidance.known {
            // Algorithm 4: put back what is known.
            denoised = mask.clone() * known.clone() + (mask.clone().neg() + 1.0) * denoised;
        }
        self.x = Some(denoised.clone());
        (noisy, denoised)
    }

    /// One ODE step from `levels[index]` to the next level (0 after the last), Euler or Heun.
    fn ode_step(&mut self, sigma: f64) -> (Tensor<4>, Tensor<4>) {
        let x = match (self.x.take(), self.guidance.start.take()) {
            (Some(x), _) => x,
            (None, Some(start)) => start,
            (None, None) => self.request.noise(0, &self.device) * sigma, // x_0 = sigma_0 z_0
        };
        let sigma_next = self.levels.get(self.index + 1).copied().unwrap_or(0.0);
        let denoised = self.evaluate(x.clone(), sigma);
        // Euler step: dx/dsigma = (x - D(x, sigma)) / sigma.
        let slope = (x.clone() - denoised.clone()) / sigma;
        let mut x_next = x.clone() + slope.clone() * (sigma_next - sigma);
        // Second-order correction, except on the last step to sigma = 0.
        if self.method == Method::Heun && sigma_next > 0.0 {
            let denoised_next = self.evaluate(x_next.clone(), sigma_next);
            let slope_next = (x_next - denoised_next) / sigma_next;
            x_next = x.clone() + (slope + slope_next) * (0.5 * (sigma_next - sigma));
        }
        self.x = Some(x_next);
        (x, denoised)
    }
}

impl Iterator for Sampler<'_> {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        let sigma = *self.levels.get(self.index)?;
        let (noisy, denoised) = match self.method {
            Method::Consistency => self.consistency_step(sigma),
            Method::Heun | Method::Euler => self.ode_step(sigma),
        };
        let step = Step { index: self.index, total: self.levels.len(), sigma, noisy, denoised, nfe: self.nfe };
        self.index += 1;
        Some(step)
    }
}

/// Runs `sampler` to the end, calling `callback` after every step; returns the final images
/// `[B, 1, 28, 28]`, clamped to [-1, 1].
pub fn sample(sampler: Sampler<'_>, callback: &mut dyn FnMut(&Step)) -> Tensor<4> {
    let mut last = None;
    for step in sampler {
        callback(&step);
        last = Some(step.denoised);
    }
    last.expect("a validated sampler has at least one step").clamp(-1.0, 1.0)
}

/// One-step generation `f(sigma_max z, sigma_max)`: multistep sampling with no intermediate level.
pub fn sample_one_step(
    model: &dyn Denoise,
    request: SampleRequest,
    device: &Device,
    callback: &mut dyn FnMut(&Step),
) -> Result<Tensor<4>, SampleError> {
    let levels = vec![model.sigma_config().sigma_max];
    Ok(sample(Sampler::new(model, Method::Consistency, request, levels, device)?, callback))
}

fn validate_levels(config: &SigmaConfig, method: Method, levels: &[f64], has_start: bool) -> Result<(), SampleError> {
    let err = |m: String| Err(SampleError::InvalidLevels(m));
    if levels.is_empty() {
        return err("need at least one level".into());
    }
    if levels.len() > 1000 {
        return err(format!("{} levels is more than the 1000 allowed", levels.len()));
    }
    if let Some(bad) = levels.iter().find(|&&s| !(s.is_finite() && s >= config.sigma_min && s <= config.sigma_max)) {
        return err(format!("level {bad} is outside [{}, {}]", config.sigma_min, config.sigma_max));
    }
    if levels.windows(2).any(|w| w[1] >= w[0]) {
        return err(format!("levels must be strictly decreasing, got {levels:?}"));
    }
    if method == Method::Consistency && !has_start && levels[0] != config.sigma_max {
        return err(format!("consistency sampling starts at sigma_max = {}, got {}", config.sigma_max, levels[0]));
    }
    Ok(())
}
