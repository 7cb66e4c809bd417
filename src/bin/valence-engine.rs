//! `valence-engine`: the one Valence binary that links libtorch. It runs the commands that
//! infer (`analyze`, `evaluate`, `train`, `sanity`, `tags`, `scenes codebook|evaluate`),
//! which `valence` hands over to it, and the window's analysis runs (`analysis::remote`).

fn main() -> std::process::ExitCode {
    valence::cli::engine_main()
}
