//! A plan as a pull-request comment (GitHub-flavoured Markdown): a header naming the
//! environment and commit, a summary table per entity kind, a loud warning when anything is
//! destroyed, then one collapsible `<details>` section per changed entity with its field
//! diff in a `diff` code block.
//!
//! Large plans are split into pages under a character limit (GitHub refuses comments over
//! 65,536 characters). No page ever splits a section or a code block; the first page carries
//! the whole summary; every page is valid Markdown on its own.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::text;
use crate::model::Kind;
use crate::plan::{Action, Change, Plan};

/// The page size gateform uses for pull-request comments, in characters.
pub const COMMENT_LIMIT: usize = 65_000;

/// What the header says about the plan.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// The environment planned, if any.
    pub environment: Option<String>,
    /// The source, e.g. ``commit `abc1234` (v1.2.0): Add the billing API``.
    pub source: Option<String>,
    /// The gateway address.
    pub gateway: Option<String>,
}

/// The whole comment as one body (may exceed [`COMMENT_LIMIT`]).
pub fn render(plan: &Plan, header: &Header) -> String {
    let mut out = summary(plan, header, None);
    for s in sections(plan) {
        out.push_str(&s);
    }
    out
}

/// The comment split into pages of at most `limit` characters each.
pub fn pages(plan: &Plan, header: &Header, limit: usize) -> Vec<String> {
    let sections: Vec<String> = sections(plan).into_iter().map(|s| fit(s, limit / 2)).collect();
    // Pack with room for the page header, then write the real headers.
    let first_header = summary(plan, header, Some((1, 99)));
    let continued = continued_header(header, 99, 99);
    let mut groups: Vec<Vec<String>> = vec![Vec::new()];
    let mut used = first_header.chars().count();
    for s in sections {
        let n = s.chars().count();
        if used + n > limit && !groups.last().is_some_and(Vec::is_empty) {
            groups.push(Vec::new());
            used = continued.chars().count();
        }
        used += n;
        if let Some(g) = groups.last_mut() {
            g.push(s);
        }
    }
    let total = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let mut page = if i == 0 {
                summary(plan, header, (total > 1).then_some((1, total)))
            } else {
                continued_header(header, i + 1, total)
            };
            for s in g {
                page.push_str(&s);
            }
            page
        })
        .collect()
}

/// A plan without changes as one line: ``**gateform plan for `prod`: no changes.** ...``.
pub fn one_line(header: &Header) -> String {
    let mut out = String::from("**gateform plan");
    if let Some(env) = &header.environment {
        let _ = write!(out, " for `{}`", code(env));
    }
    out.push_str(": no changes.** The gateway matches the configuration");
    if let Some(source) = &header.source {
        let _ = write!(out, " ({})", escape(source));
    }
    out.push_str(".\n");
    out
}

/// A plan that could not be made: the title, then `message` in a code block.
pub fn failure(header: &Header, message: &str) -> String {
    let fence = fence_for(message);
    format!(
        "{} failed\n\n> [!CAUTION]\n> Nothing was planned: fix the cause below and push again.\n\n{fence}\n{}\n{fence}\n",
        title(header),
        message.trim_end()
    )
}

fn title(header: &Header) -> String {
    let mut t = String::from("## gateform plan");
    if let Some(env) = &header.environment {
        let _ = write!(t, " for `{}`", code(env));
    }
    t
}

fn summary(plan: &Plan, header: &Header, page: Option<(usize, usize)>) -> String {
    let mut out = title(header);
    if let Some((n, total)) = page {
        let _ = write!(out, " (part {n} of {total})");
    }
    out.push_str("\n\n");
    if let Some(source) = &header.source {
        let _ = writeln!(out, "**Source:** {}  ", escape(source));
    }
    if let Some(gw) = &header.gateway {
        let _ = writeln!(out, "**Gateway:** `{}`  ", code(gw));
    }
    if header.source.is_some() || header.gateway.is_some() {
        out.push('\n');
    }
    if plan.is_empty() {
        out.push_str("**No changes.** The gateway matches the configuration.\n");
        return out;
    }
    let _ = writeln!(out, "**{}**\n", text::summary_line(plan));
    out.push_str("| Kind | Add | Change | Destroy |\n|---|---:|---:|---:|\n");
    let mut per_kind: BTreeMap<Kind, [usize; 3]> = BTreeMap::new();
    for c in &plan.changes {
        let slot = per_kind.entry(c.kind).or_insert([0; 3]);
        slot[match c.action {
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
        }] += 1;
    }
    for (kind, [a, u, d]) in &per_kind {
        let _ = writeln!(out, "| `{kind}` | {a} | {u} | {d} |");
    }
    out.push('\n');
    let destroyed: Vec<&Change> = plan.changes.iter().filter(|c| c.action == Action::Delete).collect();
    if !destroyed.is_empty() {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> **This plan destroys {} entit{}.** Deleted routes, services and credentials stop serving traffic at once:",
            destroyed.len(),
            if destroyed.len() == 1 { "y" } else { "ies" }
        );
        for c in destroyed.iter().take(20) {
            let _ = writeln!(out, "> - `{}`", code(&text::address(c)));
        }
        if destroyed.len() > 20 {
            let _ = writeln!(out, "> - … and {} more", destroyed.len() - 20);
        }
        out.push('\n');
    }
    out
}

fn continued_header(header: &Header, n: usize, total: usize) -> String {
    format!("{} (part {n} of {total}, continued)\n\n", title(header))
}

/// One `<details>` section per change.
fn sections(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| {
            let symbol = c.action.symbol();
            let mut s = format!(
                "<details><summary><code>{symbol} {}</code> {}</summary>\n\n",
                html(&text::address(c)),
                text::verb(c.action)
            );
            let lines: Vec<String> = match c.action {
                Action::Delete => vec![format!("- {}", text::address(c))],
                Action::Create => text::field_lines(c, &plan.names),
                Action::Update => update_lines(c, &plan.names),
            };
            let body = lines.join("\n");
            let fence = fence_for(&body);
            let _ = write!(s, "{fence}diff\n{body}\n{fence}\n\n</details>\n\n");
            s
        })
        .collect()
}

/// An update as `-` (before) and `+` (after) lines, which GitHub colours in a `diff` block.
fn update_lines(c: &Change, names: &BTreeMap<String, String>) -> Vec<String> {
    let width = c.fields.iter().map(|f| f.path.len()).max().unwrap_or(0);
    let mut out = Vec::new();
    for f in &c.fields {
        let path = format!("{:width$}", f.path, width = width);
        if f.sensitive {
            out.push(format!("! {path} = (sensitive value changed)"));
            continue;
        }
        let present = |v: &Option<serde_json::Value>| v.as_ref().is_some_and(|v| !v.is_null());
        if present(&f.before) {
            out.push(format!("- {path} = {}", text::value(f.before.as_ref(), names)));
        }
        if present(&f.after) {
            out.push(format!("+ {path} = {}", text::value(f.after.as_ref(), names)));
        }
    }
    out
}

/// Shortens a section that alone exceeds `max` characters by dropping diff lines, keeping
/// its code block and `<details>` closed.
fn fit(section: String, max: usize) -> String {
    if section.chars().count() <= max {
        return section;
    }
    let (head, rest) = section.split_once("diff\n").unwrap_or((&section, ""));
    let fence_len = head.rsplit('\n').next().map(str::len).unwrap_or(3);
    let fence = "`".repeat(fence_len.max(3));
    let mut kept = String::new();
    let mut dropped = 0;
    for line in rest.lines() {
        if line.starts_with(&fence) {
            break;
        }
        if head.chars().count() + kept.chars().count() + line.chars().count() + 200 < max {
            kept.push_str(line);
            kept.push('\n');
        } else {
            dropped += 1;
        }
    }
    format!(
        "{head}diff\n{kept}{fence}\n\n_{dropped} more changed line{} not shown here; see the full plan._\n\n</details>\n\n",
        if dropped == 1 { "" } else { "s" }
    )
}

/// A code fence longer than any backtick run in `body`.
fn fence_for(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn code(s: &str) -> String {
    s.replace('`', "'")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '<' | '>' | '*' | '_' | '[' | ']' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
