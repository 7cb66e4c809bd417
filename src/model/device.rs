//! Which device tch computes on: CUDA when libtorch finds a GPU, else the CPU.

use serde::Serialize;

/// What the user asked for on the command line or in settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("CUDA was requested but libtorch finds no CUDA device")]
    NoCuda,
}

/// Resolves a choice to a tch device.
pub fn resolve(choice: DeviceChoice) -> Result<tch::Device, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(tch::Device::Cpu),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
        DeviceChoice::Cuda => Err(DeviceError::NoCuda),
        DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
    }
}

/// A one-line description of the device, from libtorch itself (loads it: the engine only).
pub fn describe() -> String {
    let n = tch::Cuda::device_count();
    if n > 0 {
        format!("CUDA ({n} device{})", if n == 1 { "" } else { "s" })
    } else {
        format!(
            "CPU ({} threads; no CUDA device found)",
            tch::get_num_threads()
        )
    }
}

/// What `valence status` says about the device without loading libtorch (the engine
/// decides when it starts and names the device in its summary): whether this build's
/// libtorch has CUDA at all, and whether an NVIDIA driver is present.
pub fn describe_without_loading() -> String {
    let cuda_build = option_env!("VALENCE_LIBTORCH_CUDA") == Some("1");
    let driver = std::path::Path::new("/proc/driver/nvidia/version").exists();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    match (cuda_build, driver) {
        (true, true) => "CUDA when the engine finds a GPU (NVIDIA driver present)".into(),
        (true, false) => format!("CPU ({threads} threads; no NVIDIA driver found)"),
        (false, _) => format!("CPU ({threads} threads; this libtorch has no CUDA)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_always_resolves_and_computes() {
        let d = resolve(DeviceChoice::Cpu).unwrap();
        let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_device(d);
        assert_eq!(t.sum(tch::Kind::Float).double_value(&[]), 6.0);
        assert!(!describe().is_empty());
    }

    #[test]
    fn cuda_request_matches_availability() {
        assert_eq!(
            resolve(DeviceChoice::Cuda).is_ok(),
            tch::Cuda::is_available()
        );
    }
}
