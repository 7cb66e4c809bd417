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

/// A one-line description for `valence status`.
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
