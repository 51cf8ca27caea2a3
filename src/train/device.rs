//! Where a command runs its networks (`--device`): burn's flex backend on the CPU, or burn's wgpu
//! backend on the GPU (Vulkan on Linux and Windows, Metal on macOS; compiled in by the `gpu`
//! feature). Weights and checkpoints are the same bytes whichever device wrote them, so a run
//! started on one device resumes on the other.

use burn::tensor::Device;

/// `--device`: where a command runs its networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeviceChoice {
    /// burn's flex backend on the CPU.
    #[default]
    Cpu,
    /// burn's wgpu backend on the system's GPU (needs a build with `--features gpu`).
    Gpu,
}

impl DeviceChoice {
    /// The device, and a line saying what it is (the adapter, for a GPU).
    pub fn device(self) -> Result<(Device, String), String> {
        match self {
            DeviceChoice::Cpu => Ok((Device::flex(), "CPU (burn flex)".into())),
            DeviceChoice::Gpu => gpu(),
        }
    }
}

/// How many threads a training step's batch is split over unless `--threads` says: one per core
/// on the CPU (burn's flex backend computes each operation on the calling thread), one on a GPU
/// (which is parallel already).
pub fn default_threads(device: &Device) -> usize {
    if *device == Device::flex() { std::thread::available_parallelism().map_or(1, usize::from) } else { 1 }
}

/// The GPU, acquired once per process (burn's wgpu runtime initialises only once).
#[cfg(feature = "gpu")]
fn gpu() -> Result<(Device, String), String> {
    static GPU: std::sync::OnceLock<Result<(Device, String), String>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| {
        let (device, setup) = Device::wgpu_options().init_with_setup().map_err(|e| format!("no GPU through wgpu: {e}"))?;
        let info = setup.adapter.get_info();
        Ok((device, format!("GPU: {} ({:?}, {:?}, driver {} {})", info.name, info.backend, info.device_type, info.driver, info.driver_info)))
    })
    .clone()
}

#[cfg(not(feature = "gpu"))]
fn gpu() -> Result<(Device, String), String> {
    Err("this cm was built without GPU support: build it with `cargo build --release --features gpu`".into())
}
