//! Link libtorch so the analysis engine runs from a fresh shell and finds CUDA when present,
//! and keep it out of the `valence` binary (the window and the light commands), which must
//! start without loading it.
//! See ../shared/STACK-NOTES.md: without an rpath the loader cannot find libtorch_cpu.so, and
//! the default --as-needed linking drops libtorch_cuda.so (tch-rs #980), hiding the GPU.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // `valence` never calls into tch (the commands that infer run in `valence-engine`), but
    // torch-sys's C++ glue defines template instances that libtorch also references; the
    // linker then exports them, keeps them alive and with them a dependency on libc10 and
    // libtorch_cpu (~0.5 s and ~450 MB at every start). Hiding the archives' symbols lets
    // --gc-sections and --as-needed drop both. A test checks the result
    // (`tests/engine_process.rs`).
    println!("cargo:rustc-link-arg-bin=valence=-Wl,--exclude-libs=ALL");
    // Exported by torch-sys (links = "tch"); we depend on it directly to receive it.
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    // Tells `valence status` and the engine whether this build's libtorch has CUDA at all.
    let cuda = Path::new(&lib).join("libtorch_cuda.so").exists();
    println!(
        "cargo:rustc-env=VALENCE_LIBTORCH_CUDA={}",
        if cuda { "1" } else { "0" }
    );
    // libtorch_cuda.so is not linked: `model::device` loads it (dlopen) where an NVIDIA
    // driver is present, so a CPU-only machine never maps the CUDA libraries (~450 MB of
    // address space, ~110 MB resident, and part of every engine start). Linking it instead
    // needs --no-as-needed (rustc's --as-needed drops it: tch-rs #980).
}
