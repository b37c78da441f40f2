fn main() -> std::process::ExitCode {
    gateform::cli::main()
}
