//! The `gateform` command: see `gateform --help` and the README.

fn main() -> std::process::ExitCode {
    gateform::cli::main()
}
