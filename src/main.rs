fn main() -> std::process::ExitCode {
    valence::cli::main()
}
