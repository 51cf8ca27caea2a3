//! What each training command minimises, given a batch: the teacher's denoising loss, and the
//! consistency loss of distillation (Algorithm 2) and of consistency training (Algorithm 3).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::consistency_function::ConsistencyFunction;
use crate::ct_schedule::{CtSchedule, IctSchedule, ict_pair_weight, lognormal_pair_probabilities, pick_pair};
use crate::denoiser::Denoiser;
use crate::noise_levels::SigmaConfig;
use crate::train::data_parallel::shard_ranges;
use crate::train::losses::{Metric, denoising_loss, distance, weighted_mean};
use crate::unet::{DropoutMasks, UNet};
use crate::model::Model;

/// How the pair `(sigma_n, sigma_{n+1})` of each example is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LevelSampling {
    /// `n` uniform in `{0 .. N-2}` (the CM paper).
    Uniform,
    /// Lognormal over sigma with `P_mean = -1.1`, `P_std = 2` (iCT).
    Lognormal,
}

/// The loss weight `lambda_n` of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weighting {
    /// `lambda = 1` (the CM paper).
    Uniform,
    /// `lambda = 1 / (sigma_{n+1} - sigma_n)` (iCT).
    Ict,
}

/// How the number of discretisation levels grows during consistency training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Curriculum {
    /// CT's `N(k)` with its target EMA `mu(k)`.
    Ct { s0: f64, s1: f64, mu0: f64 },
    /// iCT's doubling `N(k)`, `s0 -> s1`.
    Ict { s0: u64, s1: u64 },
}

/// The training objective of a run (saved in its checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Objective {
    /// EDM denoising score matching, `ln sigma ~ N(p_mean, p_std^2)`.
    Teacher { p_mean: f64, p_std: f64 },
    /// Consistency distillation from a teacher on a fixed Karras grid of `levels` levels.
    Distill {
        teacher: String,
        teacher_sha256: String,
        levels: usize,
        /// Target-network EMA rate `mu` (0: the target is the online network).
        target_ema: f64,
        metric: Metric,
        level_sampling: LevelSampling,
        weighting: Weighting,
    },
    /// Consistency training from scratch.
    Ct {
        curriculum: Curriculum,
        /// Fixed target EMA; `None` uses the curriculum's `mu(k)` (CT), or 0 for iCT.
        target_ema: Option<f64>,
        metric: Metric,
        level_sampling: LevelSampling,
        weighting: Weighting,
    },
}

impl Objective {
    /// Does this objective keep a separate target network?
    pub fn has_target(&self, k: u64, total: u64) -> bool {
        self.target_ema(k, total) > 0.0
    }

    /// The target-network EMA rate at step `k`.
    pub fn target_ema(&self, k: u64, total: u64) -> f64 {
        match self {
            Objective::Teacher { .. } => 0.0,
            Objective::Distill { target_ema, .. } => *target_ema,
            Objective::Ct { curriculum, target_ema, .. } => match (target_ema, curriculum) {
                (Some(mu), _) => *mu,
                (None, Curriculum::Ct { s0, s1, mu0 }) => CtSchedule { s0: *s0, s1: *s1, mu0: *mu0 }.target_ema(k, total),
                (None, Curriculum::Ict { .. }) => 0.0,
            },
        }
    }

    /// Number of Karras levels at step `k`.
    pub fn levels(&self, k: u64, total: u64) -> usize {
        match self {
            Objective::Teacher { .. } => 0,
            Objective::Distill { levels, .. } => *levels,
            Objective::Ct { curriculum: Curriculum::Ct { s0, s1, mu0 }, .. } => {
                CtSchedule { s0: *s0, s1: *s1, mu0: *mu0 }.levels(k, total)
            }
            Objective::Ct { curriculum: Curriculum::Ict { s0, s1 }, .. } => IctSchedule { s0: *s0, s1: *s1 }.levels(k, total),
        }
    }
}

/// One batch of clean images with the random draws a step needs (all from the portable generator).
pub struct Batch {
    /// `[B, 1, 28, 28]` clean images, on the plain (no-autodiff) device.
    pub clean: Tensor<4>,
    pub labels: Vec<usize>,
    /// `[B, 1, 28, 28]` standard normal noise.
    pub z: Tensor<4>,
    /// One standard normal per example (teacher: the level) and one uniform (pair choice).
    pub normals: Vec<f64>,
    pub uniforms: Vec<f64>,
    /// This step's dropout masks (shared by both branches of a consistency loss).
    pub dropout: DropoutMasks,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The batch cut into `n` consecutive shards of near-equal size (fewer if the batch is
    /// smaller), each with the draws and dropout masks its images have in the whole batch.
    pub fn shards(&self, n: usize) -> Vec<Batch> {
        shard_ranges(self.len(), n)
            .map(|range| {
                let (start, end) = (range.start, range.end);
                Batch {
                    clean: self.clean.clone().narrow(0, start, end - start),
                    labels: self.labels[start..end].to_vec(),
                    z: self.z.clone().narrow(0, start, end - start),
                    normals: self.normals[start..end].to_vec(),
                    uniforms: self.uniforms[start..end].to_vec(),
                    dropout: DropoutMasks { seed: self.dropout.seed, first_image: self.dropout.first_image + start },
                }
            })
            .collect()
    }
}

/// The networks a loss may need.
pub struct Networks<'a> {
    /// Online network, on the autodiff device.
    pub model: &'a UNet,
    /// Target network (plain device); `None` means the online network without gradients.
    pub target: Option<&'a UNet>,
    /// The teacher, for distillation.
    pub teacher: Option<&'a Model>,
    pub sigma: SigmaConfig,
    pub autodiff: &'a Device,
}

/// Moves a plain tensor's values onto `device` (no graph history).
fn onto(t: Tensor<4>, device: &Device) -> Tensor<4> {
    Tensor::from_data(t.into_data(), device)
}

/// Per-image levels as a `[B, 1, 1, 1]` tensor.
fn column(values: &[f64], device: &Device) -> Tensor<4> {
    let v: Vec<f32> = values.iter().map(|&s| s as f32).collect();
    Tensor::from_data(TensorData::new(v, [values.len(), 1, 1, 1]), device)
}

/// The loss of one step, on the autodiff device. `k` of `total` steps.
pub fn loss(objective: &Objective, nets: &Networks, batch: &Batch, k: u64, total: u64) -> Tensor<1> {
    match objective {
        Objective::Teacher { p_mean, p_std } => {
            // Denoising score matching: x + sigma z, ln sigma ~ N(P_mean, P_std^2).
            let sigmas: Vec<f64> = batch.normals.iter().map(|n| (p_mean + p_std * n).exp()).collect();
            let ad = nets.autodiff;
            let clean = onto(batch.clean.clone(), ad);
            let noisy = clean.clone() + onto(batch.z.clone(), ad) * column(&sigmas, ad);
            let denoiser = Denoiser { net: nets.model, sigma: nets.sigma };
            let denoised = denoiser.forward(noisy, &sigmas, &batch.labels, Some(batch.dropout));
            denoising_loss(denoised, clean, &sigmas, nets.sigma.sigma_data)
        }
        Objective::Distill { metric, level_sampling, weighting, .. } | Objective::Ct { metric, level_sampling, weighting, .. } => {
            let levels = nets.sigma.karras_levels(objective.levels(k, total));
            let pairs = pick_pairs(&levels, *level_sampling, &batch.uniforms);
            let hi: Vec<f64> = pairs.iter().map(|&n| levels[n + 1]).collect();
            let lo: Vec<f64> = pairs.iter().map(|&n| levels[n]).collect();
            let plain = batch.clean.device();
            let x_hi = batch.clean.clone() + batch.z.clone() * column(&hi, &plain);
            let x_lo = match nets.teacher {
                // Algorithm 2: one Heun step of the teacher's ODE from sigma_{n+1} to sigma_n.
                Some(teacher) => heun_step(teacher, x_hi.clone(), &hi, &lo, &batch.labels),
                // Algorithm 3: the same noise at the lower level.
                None => batch.clean.clone() + batch.z.clone() * column(&lo, &plain),
            };
            let online = ConsistencyFunction { net: nets.model, sigma: nets.sigma };
            let student = online.forward(onto(x_hi, nets.autodiff), &hi, &batch.labels, Some(batch.dropout));
            let target_net = nets.target.cloned().unwrap_or_else(|| nets.model.valid());
            let target = ConsistencyFunction { net: &target_net, sigma: nets.sigma };
            let target = target.forward(x_lo, &lo, &batch.labels, Some(batch.dropout));
            let weights: Vec<f64> = match weighting {
                Weighting::Uniform => vec![1.0; pairs.len()],
                Weighting::Ict => pairs.iter().map(|&n| ict_pair_weight(&levels, n)).collect(),
            };
            weighted_mean(distance(*metric, student, onto(target, nets.autodiff)), &weights)
        }
    }
}

fn pick_pairs(levels: &[f64], sampling: LevelSampling, uniforms: &[f64]) -> Vec<usize> {
    match sampling {
        LevelSampling::Uniform => uniforms.iter().map(|u| ((u * (levels.len() - 1) as f64) as usize).min(levels.len() - 2)).collect(),
        LevelSampling::Lognormal => {
            let p = lognormal_pair_probabilities(levels, -1.1, 2.0);
            uniforms.iter().map(|&u| pick_pair(&p, u)).collect()
        }
    }
}

/// One Heun step of the teacher's probability-flow ODE, per image from `hi` down to `lo`.
pub fn heun_step(teacher: &Model, x: Tensor<4>, hi: &[f64], lo: &[f64], labels: &[usize]) -> Tensor<4> {
    let device = x.device();
    let d = teacher.denoiser();
    let (s_hi, s_lo) = (column(hi, &device), column(lo, &device));
    let slope = (x.clone() - d.denoise(x.clone(), hi, labels)) / s_hi.clone();
    let x_euler = x.clone() + slope.clone() * (s_lo.clone() - s_hi.clone());
    let slope_lo = (x_euler.clone() - d.denoise(x_euler, lo, labels)) / s_lo.clone();
    x + (slope + slope_lo) * (s_lo - s_hi) * 0.5
}
