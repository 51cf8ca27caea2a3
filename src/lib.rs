//! # Consistency models on burn
//!
//! A consistency model `f(x, sigma)` maps any point of a diffusion model's noising trajectory
//! straight back to the trajectory's clean start, so it generates an image in one network
//! evaluation, and can trade a few more for quality: denoise, add back less noise, denoise again.
//! (Song, Dhariwal, Chen, Sutskever, "Consistency Models", ICML 2023.)
//!
//! The paper's ideas, one module each:
//! - [`noise_levels`]: the sigma range, the Karras curve, and every list of levels a sampler walks
//!   (the teacher's grid, multistep and edit levels, a manifest's recommended levels);
//! - [`labels`]: which digit each image asks for;
//! - [`preconditioning`]: EDM scalings and the consistency parameterisation (boundary condition);
//! - `ct_schedule` (training only): N(k), mu(k), the iCT curriculum and lognormal level sampling;
//! - [`denoiser`] and [`consistency_function`]: thin wrappers around one [`unet::UNet`];
//! - [`sampling`]: one-step, multistep (Algorithm 1), and EDM Heun/Euler samplers;
//! - [`seeded_noise`]: portable seeded Gaussian noise, identical on native and wasm;
//! - [`initial_weights`]: a network's random initial weights from a seed alone, on any device;
//! - [`weights`]: the file format, burnpack weights plus a JSON manifest, from bytes or a path;
//! - [`model`]: a loaded model and what its sampler needs from it.

pub mod consistency_function;
#[cfg(feature = "train")]
pub mod ct_schedule;
pub mod denoiser;
pub mod editing;
pub mod initial_weights;
pub mod labels;
pub mod model;
pub mod noise_levels;
pub mod preconditioning;
pub mod sampling;
pub mod seeded_noise;
pub mod unet;
pub mod weights;

pub use burn;
pub use consistency_function::ConsistencyFunction;
pub use denoiser::{Denoise, Denoiser};
pub use noise_levels::SigmaConfig;
pub use sampling::{Method, SampleRequest, Sampler, Step, sample};
pub use unet::{DropoutMasks, UNet, UNetConfig, UNCONDITIONAL};
pub use labels::LabelChoice;
pub use model::Model;
pub use weights::{Manifest, ModelKind, WeightsError};

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(feature = "train")]
pub mod train;
