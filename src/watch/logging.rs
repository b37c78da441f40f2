//! The daemon's log lines on stderr: text (the default) or one JSON object per line
//! (tracing-subscriber's `json` format), every line passed through the caller's scrubber
//! first. JSON lines are scrubbed string by string after decoding, so a secret that JSON
//! escapes (a quote, a backslash) is still found.

use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

/// Replaces every secret value in a text (the CLI passes its process-wide redactor).
pub type Scrubber = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-11-01T12:00:00.000Z  WARN environment=prod: message`.
    Text,
    /// `{"timestamp": ..., "level": ..., "fields": {"message": ..., "environment": ...}}`.
    Json,
}

/// Starts logging to stderr with `filter` (an `EnvFilter` directive such as
/// `gateform=info,warn`). Returns false when a subscriber was already installed.
pub fn init(format: LogFormat, filter: &str, scrub: Scrubber) -> bool {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("gateform=info,warn"));
    let json = format == LogFormat::Json;
    let writer = move || ScrubbingWriter { scrub: Arc::clone(&scrub), json };
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).with_target(false);
    match format {
        LogFormat::Text => builder.try_init().is_ok(),
        LogFormat::Json => builder.json().flatten_event(false).with_current_span(false).try_init().is_ok(),
    }
}

/// Scrubs one log line: JSON lines value by value, anything else as text.
pub fn scrub_line(line: &str, json: bool, scrub: &dyn Fn(&str) -> String) -> String {
    if json && let Ok(mut value) = serde_json::from_str::<Value>(line.trim_end()) {
        scrub_value(&mut value, scrub);
        let mut out = value.to_string();
        out.push('\n');
        // A secret could also sit in a key: scrub the re-encoded line as text, too.
        return scrub(&out);
    }
    scrub(line)
}

fn scrub_value(value: &mut Value, scrub: &dyn Fn(&str) -> String) {
    match value {
        Value::String(s) => *s = scrub(s),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, scrub)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_value(v, scrub)),
        _ => {}
    }
}

struct ScrubbingWriter {
    scrub: Scrubber,
    json: bool,
}

impl Write for ScrubbingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let out: String =
            text.split_inclusive('\n').map(|line| scrub_line(line, self.json, self.scrub.as_ref())).collect();
        std::io::stderr().lock().write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_scrubbed_after_decoding() {
        let scrub = |s: &str| s.replace("p\"w\\d", "***");
        // The secret `p"w\d` appears escaped in JSON: a text scrub would miss it.
        let line = "{\"level\":\"WARN\",\"fields\":{\"message\":\"token p\\\"w\\\\d refused\"}}\n";
        assert_eq!(scrub(line), line, "the escaped form does not match as text");
        let out = scrub_line(line, true, &scrub);
        assert_eq!(out, "{\"level\":\"WARN\",\"fields\":{\"message\":\"token *** refused\"}}\n");
        assert_eq!(scrub_line("plain p\"w\\d\n", false, &scrub), "plain ***\n");
        assert_eq!(scrub_line("not json p\"w\\d\n", true, &scrub), "not json ***\n");
    }
}
