//! Who holds a lock or runs an apply (process, host, user), whether that process still
//! lives, and the clock (RFC 3339 UTC timestamps with milliseconds).

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// A process that runs a command against an environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// The process's start time in clock ticks since boot (Linux), which tells a live
    /// holder from a new process that reused its pid; `None` where unknown.
    pub pid_start: Option<u64>,
    /// Where the pid means something (see [`process_scope`]); `None` where unknown.
    pub scope: Option<String>,
    /// Host name.
    pub host: String,
    /// User name.
    pub user: String,
    /// The command line, with header values masked (`gateform apply --env prod`).
    pub command: String,
    /// The CI job it runs in ([`ci_job_url`]), when known.
    pub ci_job: Option<String>,
}

impl Holder {
    /// This process, run by `user`, doing `command`.
    pub fn current(user: &str, command: &str) -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            pid_start: start_time(pid),
            scope: process_scope(),
            host: host_name(),
            user: user.to_owned(),
            command: command.to_owned(),
            ci_job: None,
        }
    }
}

/// The web address of the CI job this process runs in, from the variables the usual CI
/// systems set (`vars` looks one up; the CLI passes the process environment):
///
/// * GitHub Actions: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`
///   (plus `/attempts/$GITHUB_RUN_ATTEMPT`);
/// * GitLab CI: `$CI_JOB_URL`;
/// * Jenkins: `$BUILD_URL`;
/// * Buildkite: `$BUILDKITE_BUILD_URL` (plus `#$BUILDKITE_JOB_ID`).
pub fn ci_job_url(vars: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let var = |name: &str| vars(name).filter(|v| !v.trim().is_empty());
    if let (Some(server), Some(repo), Some(run)) =
        (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID"))
    {
        let attempt = var("GITHUB_RUN_ATTEMPT").map(|a| format!("/attempts/{a}")).unwrap_or_default();
        return Some(format!("{}/{repo}/actions/runs/{run}{attempt}", server.trim_end_matches('/')));
    }
    if let Some(url) = var("CI_JOB_URL") {
        return Some(url);
    }
    if let Some(url) = var("BUILD_URL") {
        return Some(url);
    }
    var("BUILDKITE_BUILD_URL").map(|url| match var("BUILDKITE_JOB_ID") {
        Some(job) => format!("{url}#{job}"),
        None => url,
    })
}

/// Whether a process is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It runs.
    Alive,
    /// It has ended (or its pid now belongs to another process).
    Dead,
    /// It cannot be told from here (another host, or a platform without the means).
    Unknown,
}

/// Whether process `pid` (started at `pid_start`, on `host`, in `scope`) still runs, as
/// far as this process can tell: only processes of the same host, boot and pid namespace
/// are looked up; any other is [`Liveness::Unknown`].
pub fn liveness(pid: u32, pid_start: Option<u64>, host: &str, scope: Option<&str>) -> Liveness {
    if host != host_name() || scope != process_scope().as_deref() {
        return Liveness::Unknown;
    }
    process_state(pid, pid_start)
}

/// Where pids of this process's table mean something: on Linux, the boot id and the pid
/// namespace (`<boot id>/pid:[inode]`), so a holder in another container that shares the
/// host name, or from before a reboot, is never judged by this process table.
pub fn process_scope() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{}/{}", boot.trim(), ns.display()))
}

#[cfg(target_os = "linux")]
fn process_state(pid: u32, pid_start: Option<u64>) -> Liveness {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Liveness::Dead;
    };
    let Some(fields) = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect::<Vec<_>>()) else {
        return Liveness::Unknown;
    };
    // Field 3 is the state (Z: zombie, X: dead), field 22 the start time.
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return Liveness::Dead;
    }
    match (pid_start, fields.get(19).and_then(|s| s.parse::<u64>().ok())) {
        (Some(want), Some(now)) if want != now => Liveness::Dead,
        _ => Liveness::Alive,
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn process_state(pid: u32, _pid_start: Option<u64>) -> Liveness {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return Liveness::Unknown };
    // SAFETY: kill with signal 0 only checks whether the process exists; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        return Liveness::Alive;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Liveness::Dead,
        _ => Liveness::Alive,
    }
}

#[cfg(not(unix))]
fn process_state(_pid: u32, _pid_start: Option<u64>) -> Liveness {
    Liveness::Unknown
}

/// The start time of process `pid` (Linux: clock ticks since boot), if known.
pub fn start_time(pid: u32) -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This host's name.
pub fn host_name() -> String {
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() {
            return name.to_owned();
        }
    }
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            if let Ok(name) = std::str::from_utf8(&buf[..end])
                && !name.is_empty()
            {
                return name.to_owned();
            }
        }
    }
    "localhost".to_owned()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `ms` since the epoch as `2026-11-01T12:00:00.000Z`: fixed width, so text order is time order.
pub fn format_ms(ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// The current time as [`format_ms`] writes it.
pub fn now() -> String {
    format_ms(now_ms())
}

/// Parses an RFC 3339 time with any offset (`2026-11-01T12:00:00Z`,
/// `2026-11-01T13:00:00.5+01:00`) into milliseconds since the epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|e| format!("invalid time {text:?} ({e}); expected RFC 3339, e.g. 2026-11-01T12:00:00Z"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}
