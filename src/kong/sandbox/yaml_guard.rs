//! Bounds on YAML given to DB-less `/config`, checked on the parser's event stream before the
//! document is built: nesting depth and alias expansion (a "billion laughs" document expands
//! exponentially when its aliases are copied). The shared YAML reader builds the whole tree,
//! so the sandbox refuses such documents first, with code 14 like any unparsable one.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

/// Deepest nesting of sequences and mappings accepted (serde_json's default limit for JSON
/// bodies is the same 128).
pub const MAX_DEPTH: usize = 128;

/// Most nodes the document may have once every alias is expanded.
pub const MAX_NODES: u64 = 1_000_000;

/// `Ok` when the text stays within [`MAX_DEPTH`] and [`MAX_NODES`]; else `line:column:` and
/// why. Syntax errors are left to the parser, which reports them with their position.
pub fn check(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut total: u64 = 0;
    let mut sizes: HashMap<usize, u64> = HashMap::new();
    let mut open: Vec<(u64, usize)> = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { return Ok(()) };
        let at = format!("{}:{}", span.start.line(), span.start.col() + 1);
        match event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("{at}: nesting deeper than {MAX_DEPTH} levels"));
                }
                total += 1;
                open.push((total, anchor));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                if let Some((start, anchor)) = open.pop()
                    && anchor > 0
                {
                    sizes.insert(anchor, total - start + 1);
                }
            }
            Event::Scalar(_, _, anchor, _) => {
                total += 1;
                if anchor > 0 {
                    sizes.insert(anchor, 1);
                }
            }
            Event::Alias(anchor) => total = total.saturating_add(sizes.get(&anchor).copied().unwrap_or(1)),
            _ => {}
        }
        if total > MAX_NODES {
            return Err(format!("{at}: aliases expand to more than {MAX_NODES} nodes"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_and_exploding_documents_are_refused() {
        assert!(check("a: [1, 2]\nb: &x {c: 1}\nd: *x\n").is_ok());
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(check(&deep).unwrap_err().contains("nesting deeper than 128"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = (b'a' + i - 1) as char;
            let c = (b'a' + i) as char;
            bomb.push_str(&format!("{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"));
        }
        assert!(check(&bomb).unwrap_err().contains("aliases expand"));
    }
}
