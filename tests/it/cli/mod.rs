//! The first five minutes of a new user, through the real binary: every command's exact
//! stdout and stderr as snapshots (jj's style: `exit`, stdout, `------- stderr -------`,
//! stderr, `[EOF]`), with what varies from run to run filtered out (ports, temporary
//! directories, ids, times, retry delays). One file per part of issue 13: setup (the README),
//! errors, workflows, habits, progress.

mod errors;
mod habits;
mod progress;
mod readme;
mod workflows;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::common::Run;

/// The output of a run, normalised: `filters` (literal text → placeholder) first, then the
/// patterns every run has (ids, times, retry delays, elapsed seconds).
pub fn normalized(run: &Run, filters: &[(&str, &str)]) -> String {
    let mut text = format!("exit: {}\n{}------- stderr -------\n{}[EOF]\n", run.code, run.stdout, run.stderr);
    text = text.replace(concat!("gateform ", env!("CARGO_PKG_VERSION")), "gateform [VERSION]");
    for (from, to) in filters {
        if !from.is_empty() {
            text = text.replace(from, to);
        }
    }
    let patterns: &[(&str, &str)] = &[
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[ID]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "[TIME]"),
        (r"retrying in \d+\.\ds", "retrying in [DELAY]s"),
        (r"after \d+s \[", "after [N]s ["),
        (r"127\.0\.0\.1:\d{2,5}", "127.0.0.1:[PORT]"),
        (r"localhost:\d{2,5}", "localhost:[PORT]"),
        (r"\b[0-9a-f]{40}\b", "[COMMIT]"),
        (r"`[0-9a-f]{12}`", "`[SHORT]`"),
        (r"#\d+\b", "#[RUN]"),
        (r"pid \d+", "pid [PID]"),
    ];
    for (pattern, to) in patterns {
        text = regex::Regex::new(pattern).unwrap().replace_all(&text, *to).into_owned();
    }
    text
}

/// A server that answers every request with `status` and `body` (as `content_type`), and
/// keeps each request's head: a web page, a proxy port, a stand-in that records headers.
pub struct FakeServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl FakeServer {
    /// Serves until the test process ends.
    pub fn start(status: &'static str, content_type: &'static str, body: &'static str) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body_in = vec![0; length];
                let _ = reader.read_exact(&mut body_in);
                seen.lock().unwrap().push(head);
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        FakeServer { url, requests }
    }
}

/// An address where nothing listens (a port bound, then released).
pub fn closed_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// Runs `git args...` in `dir` with a fixed identity.
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=Jane Doe", "-c", "user.email=jane@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A Git repository in `dir` with `files` committed.
pub fn repo(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        crate::common::write(dir, name, text);
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "Configuration"]);
}

/// Runs `gateform args...` in `cwd` with extra variables, stdin closed.
pub fn gateform_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = crate::common::gateform_cmd();
    cmd.args(args).current_dir(cwd).stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run gateform").into()
}
