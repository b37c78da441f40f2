//! The `gateform` command: see `gateform --help` and the README.

/// mimalloc: planning allocates and frees millions of small maps and strings, which it
/// does in about half the time of glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gateform::cli::main()
}
