//! Everything gateform writes goes through here, so that the secret values the current
//! run knows are scrubbed from stdout, stderr, log lines and files alike.

use std::io::Write;
use std::sync::{OnceLock, RwLock};

use crate::secrets::Redactor;

fn current() -> &'static RwLock<Redactor> {
    static CURRENT: OnceLock<RwLock<Redactor>> = OnceLock::new();
    CURRENT.get_or_init(|| RwLock::new(Redactor::new()))
}

/// The current run's redactor (a cheap handle: values added to it are scrubbed from every
/// output from then on).
pub fn redactor() -> Redactor {
    current().read().map(|r| r.clone()).unwrap_or_default()
}

/// Makes `redactor` the current run's: every sink scrubs with it from now on.
pub fn set_redactor(redactor: Redactor) {
    if let Ok(mut r) = current().write() {
        *r = redactor;
    }
}

/// Writes `text` to stdout, scrubbed.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(redactor().scrub(text).as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` and a newline to stdout, scrubbed.
pub fn outln(text: &str) {
    out(&format!("{text}\n"));
}

/// Writes `text` to stderr, scrubbed.
pub fn err(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(redactor().scrub(text).as_bytes());
}

/// Writes `text` and a newline to stderr, scrubbed.
pub fn errln(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(redactor().scrub(&format!("{text}\n")).as_bytes());
}

/// Scrubs `text` (for files written by commands).
pub fn scrub(text: &str) -> String {
    redactor().scrub(text)
}

struct ScrubbingStderr;

impl Write for ScrubbingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().lock().write_all(redactor().scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Starts logging to stderr (scrubbed). `verbose`: 0 = warnings, 1 = info, 2 = debug (every
/// Admin API request), 3+ = trace (request bodies). `RUST_LOG` overrides.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "gateform=info,warn",
        2 => "gateform=debug,warn",
        _ => "gateform=trace,info",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|_| verbose == 0)
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ScrubbingStderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// The report of a panic, scrubbed: a bug's message may quote a value it was handling.
pub fn panic_report(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    scrub(&format!(
        "gateform crashed{place}: {payload}\nThis is a bug; please report it (the message above holds no secret value)."
    ))
}

/// Replaces the default panic message (which prints the payload as it is) with a scrubbed
/// one on stderr.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", panic_report(info));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_message_is_scrubbed() {
        let r = Redactor::new();
        r.add(["panic-secret-value"]);
        set_redactor(r);
        let report = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let seen = report.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| *seen.lock().unwrap() = panic_report(info)));
        let _ = std::panic::catch_unwind(|| panic!("bad value panic-secret-value"));
        std::panic::set_hook(previous);
        let text = report.lock().unwrap().clone();
        assert!(text.starts_with("gateform crashed at "), "{text}");
        assert!(text.contains("bad value (sensitive value)") && !text.contains("panic-secret-value"), "{text}");
    }
}
