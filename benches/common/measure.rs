//! Shared by the benchmarks that run the real binary: wall time and peak resident memory of
//! one `gateform` run, read from `/proc/<pid>/status` (`VmHWM`, kB) while it runs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary, sampling its peak resident memory (VmHWM) until it exits.
pub fn measure(args: &[&str], env: &[(&str, &str)]) -> (Duration, u64, String) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateform"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run gateform");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            for line in status.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak_kb = peak_kb.max(kb);
                }
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let out = reader.join().unwrap_or_default();
    (elapsed, peak_kb, out)
}
