//! Everything gateform writes goes through here, so that the secret values the current
//! run knows are scrubbed from stdout, stderr, log lines and files alike.

use std::fmt;
use std::io::Write;
use std::sync::{OnceLock, RwLock};

use super::style::{self, Stream};
use crate::secrets::Redactor;
use tracing::Level;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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

/// Writes bytes to a stream, with the progress bar (if one is drawn) out of the way.
fn write(stream: Stream, bytes: &[u8]) {
    super::progress::hidden(|| match stream {
        Stream::Stdout => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(bytes);
            let _ = stdout.flush();
        }
        Stream::Stderr => {
            let _ = std::io::stderr().lock().write_all(bytes);
        }
    });
}

/// Writes `text` to stdout, scrubbed.
pub fn out(text: &str) {
    write(Stream::Stdout, redactor().scrub(text).as_bytes());
}

/// Writes `text` and a newline to stdout, scrubbed.
pub fn outln(text: &str) {
    out(&format!("{text}\n"));
}

/// Writes a plan, apply or drift rendering to stdout, scrubbed, then painted on a terminal
/// ([`style::paint_plan`]).
pub fn out_plan(text: &str) {
    write(Stream::Stdout, style::paint_plan(&redactor().scrub(text), Stream::Stdout).as_bytes());
}

/// Writes `text` to stderr, scrubbed, its `Error:` / `warning:` / `hint:` words painted on a
/// terminal.
pub fn err(text: &str) {
    if text.is_empty() {
        return;
    }
    write(Stream::Stderr, style::paint_messages(&redactor().scrub(text), Stream::Stderr).as_bytes());
}

/// Writes `text` and a newline to stderr, as [`err`].
pub fn errln(text: &str) {
    err(&format!("{text}\n"));
}

/// Scrubs `text` (for files written by commands).
pub fn scrub(text: &str) -> String {
    redactor().scrub(text)
}

struct ScrubbingStderr;

impl Write for ScrubbingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        err(&text);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Log lines as messages read: `warning: retrying in 0.2s after: ...`, without time or
/// target (the default, without `-v`).
struct MessageFormat;

impl<S, N> FormatEvent<S, N> for MessageFormat
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Starts logging to stderr (scrubbed). `verbose`: 0 = warnings, 1 = info, 2 = debug (every
/// Admin API request), 3+ = trace (request bodies). `RUST_LOG` overrides. Without `-v`,
/// lines read `warning: ...`; with it they carry their time and level.
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
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| ScrubbingStderr).with_ansi(false);
    let _ = if verbose == 0 {
        builder.event_format(MessageFormat).try_init()
    } else {
        builder.with_target(false).try_init()
    };
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
