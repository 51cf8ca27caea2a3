//! A network's initial weights, drawn from a seed alone.
//!
//! burn draws random tensors from one generator per backend, shared by every thread of the
//! process, and a freshly built module draws its parameters lazily, at first use. So "seed, then
//! build" gives weights that depend on what else the process draws in between (a second training
//! in another thread, a second generator on the page), and on the device (the CPU's and the GPU's
//! generators differ). [`seeded`] draws every parameter at once, on the CPU, while holding a
//! process-wide lock, and moves them to the device: the same seed gives the same weights on every
//! device, in every process. Loading weights into a fresh module draws too (burn initialises each
//! parameter before overwriting it), so [`crate::weights::load_into`] takes the same lock.

use std::sync::{Mutex, MutexGuard};

use burn::module::Module;
use burn::tensor::Device;

use crate::weights::{load_into_unlocked, module_bytes};

/// Builds a module with `build` on `device`, its parameters drawn on the CPU from `seed` alone.
pub fn seeded<M: Module>(seed: u64, device: &Device, build: impl Fn(&Device) -> M) -> M {
    // Held throughout, loading included: see the module's documentation.
    let _alone = drawing();
    let cpu = Device::flex();
    cpu.seed(seed);
    let bytes = module_bytes(build(&cpu)); // serialising draws every lazy parameter, in a fixed order
    load_into_unlocked(build(device), bytes).expect("the same module built twice has the same tensors")
}

/// The lock every draw from burn's generators in this crate holds.
pub(crate) fn drawing() -> MutexGuard<'static, ()> {
    static DRAWING: Mutex<()> = Mutex::new(());
    DRAWING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
