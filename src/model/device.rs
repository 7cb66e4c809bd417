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

/// Whether this build's libtorch has a CUDA half (the full flavor; not the lean one).
fn cuda_build() -> bool {
    option_env!("VALENCE_LIBTORCH_CUDA") == Some("1")
}

/// Whether an NVIDIA driver is loaded (it publishes its version here).
fn nvidia_driver() -> bool {
    std::path::Path::new("/proc/driver/nvidia/version").exists()
}

/// Loads libtorch's CUDA half (`libtorch_cuda.so`, which registers the CUDA backend and
/// brings the CUDA libraries) where it can be used: a full-flavor libtorch and an NVIDIA
/// driver, or `VALENCE_CUDA=1` (`VALENCE_CUDA=0` never loads it). It is not linked, so a
/// machine without a GPU never maps it. Once per process; returns whether it is loaded. A
/// failure is said once on stderr, and inference goes on on the CPU.
pub fn load_cuda_backend() -> bool {
    static LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LOADED.get_or_init(|| {
        let wanted = match std::env::var("VALENCE_CUDA").as_deref() {
            Ok("0") => false,
            Ok("1") => true,
            _ => cuda_build() && nvidia_driver(),
        };
        if !wanted {
            return false;
        }
        match dlopen_global(c"libtorch_cuda.so") {
            Ok(()) => true,
            Err(e) => {
                eprintln!("valence: CUDA not available, computing on the CPU: {e}");
                false
            }
        }
    })
}

/// `dlopen(name, RTLD_NOW | RTLD_GLOBAL)`: found through this binary's rpath, kept loaded.
fn dlopen_global(name: &std::ffi::CStr) -> Result<(), String> {
    // SAFETY: a valid C string; the handle is deliberately never closed (the backend it
    // registers lives as long as the process). dlerror's text is copied at once.
    unsafe {
        if libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL).is_null() {
            let e = libc::dlerror();
            return Err(if e.is_null() {
                "dlopen failed".into()
            } else {
                std::ffi::CStr::from_ptr(e).to_string_lossy().into_owned()
            });
        }
    }
    Ok(())
}

/// Resolves a choice to a tch device.
pub fn resolve(choice: DeviceChoice) -> Result<tch::Device, DeviceError> {
    load_cuda_backend();
    match choice {
        DeviceChoice::Cpu => Ok(tch::Device::Cpu),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
        DeviceChoice::Cuda => Err(DeviceError::NoCuda),
        DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
    }
}

/// A one-line description of the device, from libtorch itself (loads it: the engine only).
pub fn describe() -> String {
    load_cuda_backend();
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
    let (cuda_build, driver) = (cuda_build(), nvidia_driver());
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
    fn the_cuda_half_of_a_full_libtorch_loads_on_demand() {
        if !cuda_build() {
            return; // the lean flavor has no libtorch_cuda.so
        }
        // What `load_cuda_backend` does where a driver is present (none is needed to load
        // it). Without a GPU, asking for a CUDA tensor fails either way, but with other
        // words once the CUDA backend is registered.
        let ask = || {
            tch::Tensor::f_zeros([1], (tch::Kind::Float, tch::Device::Cuda(0)))
                .err()
                .map(|e| e.to_string())
        };
        let no_backend = |e: &Option<String>| {
            e.as_deref()
                .is_some_and(|e| e.contains("from the 'CUDA' backend"))
        };
        // Not loaded yet on a machine without a driver (where `resolve` never loads it).
        if !nvidia_driver() {
            assert!(no_backend(&ask()), "{:?}", ask());
        }
        dlopen_global(c"libtorch_cuda.so").expect("dlopen libtorch_cuda.so");
        // Now a GPU is looked for: found, or "Found no NVIDIA driver on your system".
        let after = ask();
        assert!(!no_backend(&after), "{after:?}");
    }

    #[test]
    fn cuda_request_matches_availability() {
        assert_eq!(
            resolve(DeviceChoice::Cuda).is_ok(),
            tch::Cuda::is_available()
        );
    }
}
