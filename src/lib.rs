//! # Consistency models on burn
//!
//! A consistency model `f(x, sigma)` maps any point of a diffusion model's noising trajectory
//! straight back to the trajectory's clean start, so it generates an image in one network
//! evaluation, and can trade a few more for quality: denoise, add back less noise, denoise again.
//! (Song, Dhariwal, Chen, Sutskever, "Consistency Models", ICML 2023.)
//!
//! The paper's ideas, one module each:
//! - [`noise_levels`]: the sigma range and the Karras grid;
//! - [`preconditioning`]: EDM scalings and the consistency parameterisation (boundary condition);
//! - [`ct_schedule`]: N(k), mu(k), the iCT curriculum and lognormal level sampling;
//! - [`denoiser`] and [`consistency_function`]: thin wrappers around one [`unet::UNet`];
//! - [`sampling`]: one-step, multistep (Algorithm 1), and EDM Heun/Euler samplers;
//! - [`seeded_noise`]: portable seeded Gaussian noise, identical on native and wasm;
//! - [`initial_weights`]: a network's random initial weights from a seed alone, on any device;
//! - [`weights`]: burnpack weights plus a JSON manifest, loaded from bytes or a path.

pub mod activation;
pub mod consistency_function;
pub mod ct_schedule;
pub mod denoiser;
pub mod editing;
pub mod initial_weights;
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
pub use sampling::{LabelChoice, Method, SampleRequest, Sampler, Step, sample};
pub use unet::{UNet, UNetConfig, UNCONDITIONAL};
pub use weights::{Manifest, Model, ModelKind, WeightsError};

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(feature = "train")]
pub mod train;
