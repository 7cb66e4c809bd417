//! Link libtorch so the binary runs from a fresh shell and finds CUDA when present.
//! See ../shared/STACK-NOTES.md: without an rpath the loader cannot find libtorch_cpu.so, and
//! the default --as-needed linking drops libtorch_cuda.so (tch-rs #980), hiding the GPU.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Exported by torch-sys (links = "tch"); we depend on it directly to receive it.
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    // The lean CPU-only install has no libtorch_cuda.so; forcing libtorch there would pull
    // in CUDA libraries that are not installed, so only the full install gets it.
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
