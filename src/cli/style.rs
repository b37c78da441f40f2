//! Colours on a terminal, as Terraform shows a plan: `+` green, `~` yellow, `-` red, the
//! summary and headings bold; `Error:` red, `warning:` yellow, `hint:` cyan. Colours are
//! used only when the stream is a terminal, and never with `--no-color` or a non-empty
//! `NO_COLOR` variable (<https://no-color.org>). Painting only adds escape codes at the start
//! and end of whole lines, after the text was scrubbed of secrets ([`super::output`]), so no
//! escape code ever splits a value the scrubber looks for.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// A stream gateform writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Decides, once per process, whether each stream gets colours.
pub fn init(no_color: bool) {
    let allowed = !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    STDOUT.store(allowed && std::io::stdout().is_terminal(), Ordering::Relaxed);
    STDERR.store(allowed && std::io::stderr().is_terminal(), Ordering::Relaxed);
}

/// Whether `stream` gets colours.
pub fn enabled(stream: Stream) -> bool {
    match stream {
        Stream::Stdout => STDOUT.load(Ordering::Relaxed),
        Stream::Stderr => STDERR.load(Ordering::Relaxed),
    }
}

/// clap's colour choice for help and usage errors: never when colours are off.
pub fn clap_color() -> clap::ColorChoice {
    if enabled(Stream::Stdout) || enabled(Stream::Stderr) { clap::ColorChoice::Auto } else { clap::ColorChoice::Never }
}

fn fg(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(color.into()))
}

/// `line` wrapped in `style`.
fn wrap(style: Style, line: &str) -> String {
    format!("{}{line}{}", style.render(), style.render_reset())
}

/// The style of one line of a plan, apply or drift rendering, if it has one.
fn plan_style(line: &str) -> Option<Style> {
    let t = line.trim_start();
    let indented = t.len() < line.len();
    match () {
        _ if indented && t.starts_with("+ ") => Some(fg(AnsiColor::Green)),
        _ if indented && t.starts_with("~ ") => Some(fg(AnsiColor::Yellow)),
        _ if indented && t.starts_with("- ") => Some(fg(AnsiColor::Red)),
        _ if indented && t.starts_with("# ") => Some(Style::new().bold()),
        _ if t.starts_with("Apply complete!") || t.starts_with("No changes.") || t.starts_with("No drift.") => {
            Some(fg(AnsiColor::Green).bold())
        }
        _ if t.starts_with("Plan: ") || t.starts_with("Drift: ") => Some(Style::new().bold()),
        _ => None,
    }
}

/// The style of a message line's leading word (`Error:`, `warning:`, `hint:`), and its length.
fn message_style(line: &str) -> Option<(Style, usize)> {
    for (word, style) in [
        ("Error:", fg(AnsiColor::Red).bold()),
        ("error:", fg(AnsiColor::Red).bold()),
        ("Warning:", fg(AnsiColor::Yellow).bold()),
        ("warning:", fg(AnsiColor::Yellow).bold()),
        ("hint:", fg(AnsiColor::Cyan).bold()),
    ] {
        if line.starts_with(word) {
            return Some((style, word.len()));
        }
        // `file:line:column: error: ...`
        if let Some(i) = line.find(&format!(": {word} ")) {
            return Some((style, i + 2 + word.len())).filter(|_| !line[..i].contains(' '));
        }
    }
    None
}

/// Paints a plan (or apply, or drift) rendering, when `on`.
pub fn paint_plan_with(text: &str, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    map_lines(text, |line| match plan_style(line) {
        Some(style) => wrap(style, line),
        None => match message_style(line) {
            Some((style, end)) => format!("{}{}", wrap(style, &line[..end]), &line[end..]),
            None => line.to_owned(),
        },
    })
}

/// Paints messages (the leading `Error:`, `warning:`, `hint:` of each line), when `on`.
pub fn paint_messages_with(text: &str, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    map_lines(text, |line| match message_style(line) {
        Some((style, end)) => format!("{}{}", wrap(style, &line[..end]), &line[end..]),
        None => line.to_owned(),
    })
}

/// [`paint_plan_with`] for `stream`.
pub fn paint_plan(text: &str, stream: Stream) -> String {
    paint_plan_with(text, enabled(stream))
}

/// [`paint_messages_with`] for `stream`.
pub fn paint_messages(text: &str, stream: Stream) -> String {
    paint_messages_with(text, enabled(stream))
}

/// Applies `f` to every line, keeping the line ends.
fn map_lines(text: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for piece in text.split_inclusive('\n') {
        let (line, end) = match piece.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (piece, ""),
        };
        out.push_str(&f(line));
        out.push_str(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_painted_like_terraform_only_when_asked() {
        let plan = "  # services \"a\" will be created\n  + services \"a\" {\n      + host = \"a\"\n    }\n\nPlan: 1 to add, 0 to change, 0 to destroy.\n";
        assert_eq!(paint_plan_with(plan, false), plan);
        let painted = paint_plan_with(plan, true);
        assert!(painted.contains("\u{1b}[32m  + services \"a\" {\u{1b}[0m\n"), "{painted:?}");
        assert!(painted.contains("\u{1b}[1mPlan: 1 to add"), "{painted:?}");
        assert_eq!(anstream_strip(&painted), plan);
    }

    #[test]
    fn only_the_leading_word_of_a_message_is_painted() {
        let text = "kong.yaml:7:5: error: unknown field\nError: 1 error in kong.yaml.\n\nhint: try this\n";
        let painted = paint_messages_with(text, true);
        assert!(
            painted.starts_with("\u{1b}[1m\u{1b}[31mkong.yaml:7:5: error:\u{1b}[0m unknown field\n"),
            "{painted:?}"
        );
        assert!(painted.contains("\u{1b}[1m\u{1b}[36mhint:\u{1b}[0m try this"), "{painted:?}");
        assert_eq!(anstream_strip(&painted), text);
    }

    /// The text without escape sequences.
    fn anstream_strip(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for d in chars.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
