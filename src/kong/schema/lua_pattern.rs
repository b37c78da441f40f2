//! Lua 5.1 patterns, as Kong's schema validators use them (`match`, `not_match`,
//! `match_all`, `match_any`, `match_none`; `kong-schemas/README.md` "Validators").
//!
//! Supported: anchors `^`/`$`, `.`, character classes `%a %c %d %g %l %p %s %u %w %x` (upper
//! case negates), escapes `%<punct>`, sets `[...]` with ranges and `[^...]`, quantifiers
//! `* + - ?`, captures `(...)` and position captures `()`, back-references `%1`..`%9`,
//! balanced matches `%bxy` and frontiers `%f[set]`. Matching works on bytes, with the C
//! locale's character classes (bytes above 127 belong to no class), as Lua does.

use std::fmt;

/// A malformed pattern (`malformed pattern (ends with '%')`, `missing ']'`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

const MAX_CAPTURES: usize = 32;
const MAX_DEPTH: usize = 200;

#[derive(Clone, Copy)]
enum CapLen {
    Unfinished,
    Position,
    Len(usize),
}

struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    caps: Vec<(usize, CapLen)>,
    depth: usize,
}

/// Whether `pattern` matches somewhere in `subject` (Lua `string.find(subject, pattern) ~= nil`).
pub fn is_match(pattern: &str, subject: &str) -> Result<bool, PatternError> {
    find(pattern, subject).map(|m| m.is_some())
}

/// The byte range of the first match of `pattern` in `subject`, like Lua `string.find`.
pub fn find(pattern: &str, subject: &str) -> Result<Option<(usize, usize)>, PatternError> {
    let pat = pattern.as_bytes();
    let src = subject.as_bytes();
    let (anchor, p0) = if pat.first() == Some(&b'^') { (true, 1) } else { (false, 0) };
    let mut m = Matcher { src, pat, caps: Vec::new(), depth: 0 };
    let mut s = 0;
    loop {
        m.caps.clear();
        m.depth = 0;
        if let Some(e) = m.do_match(s, p0)? {
            return Ok(Some((s, e)));
        }
        s += 1;
        if anchor || s > src.len() {
            return Ok(None);
        }
    }
}

fn class_matches(c: u8, class: u8) -> bool {
    let res = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => c.is_ascii_whitespace() || c == 0x0b,
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        _ => return class == c,
    };
    if class.is_ascii_uppercase() { !res } else { res }
}

impl Matcher<'_> {
    fn err<T>(msg: &str) -> Result<T, PatternError> {
        Err(PatternError(format!("malformed pattern ({msg})")))
    }

    /// Index just past the single-character class starting at `p`.
    fn class_end(&self, p: usize) -> Result<usize, PatternError> {
        let pat = self.pat;
        let c = pat[p];
        let mut p = p + 1;
        if c == b'%' {
            if p >= pat.len() {
                return Self::err("ends with '%'");
            }
            return Ok(p + 1);
        }
        if c == b'[' {
            if pat.get(p) == Some(&b'^') {
                p += 1;
            }
            loop {
                if p >= pat.len() {
                    return Self::err("missing ']'");
                }
                let cc = pat[p];
                p += 1;
                if cc == b'%' {
                    if p >= pat.len() {
                        return Self::err("missing ']'");
                    }
                    p += 1;
                }
                if p >= pat.len() {
                    return Self::err("missing ']'");
                }
                if pat[p] == b']' {
                    break;
                }
            }
            return Ok(p + 1);
        }
        Ok(p)
    }

    /// Whether `c` is in the set `[...]` spanning `p` (at `[`) to `ec` (at `]`).
    fn bracket_class(&self, c: u8, p: usize, ec: usize) -> bool {
        let pat = self.pat;
        let mut sig = true;
        let mut p = p + 1;
        if pat[p] == b'^' {
            sig = false;
            p += 1;
        }
        while p < ec {
            if pat[p] == b'%' {
                p += 1;
                if p < ec && class_matches(c, pat[p]) {
                    return sig;
                }
                p += 1;
            } else if p + 2 < ec && pat[p + 1] == b'-' {
                if pat[p] <= c && c <= pat[p + 2] {
                    return sig;
                }
                p += 3;
            } else {
                if pat[p] == c {
                    return sig;
                }
                p += 1;
            }
        }
        !sig
    }

    fn single_match(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p] {
            b'.' => true,
            b'%' => class_matches(c, self.pat[p + 1]),
            b'[' => self.bracket_class(c, p, ep - 1),
            pc => pc == c,
        }
    }

    fn do_match(&mut self, mut s: usize, mut p: usize) -> Result<Option<usize>, PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatternError("pattern too complex".into()));
        }
        let result = loop {
            if p >= self.pat.len() {
                break Some(s);
            }
            match self.pat[p] {
                b'(' => {
                    break if self.pat.get(p + 1) == Some(&b')') {
                        self.start_capture(s, p + 2, CapLen::Position)?
                    } else {
                        self.start_capture(s, p + 1, CapLen::Unfinished)?
                    };
                }
                b')' => break self.end_capture(s, p + 1)?,
                b'$' if p + 1 == self.pat.len() => break (s == self.src.len()).then_some(s),
                b'%' if self.pat.get(p + 1) == Some(&b'b') => match self.match_balance(s, p + 2)? {
                    Some(ns) => {
                        s = ns;
                        p += 4;
                        continue;
                    }
                    None => break None,
                },
                b'%' if self.pat.get(p + 1) == Some(&b'f') => {
                    p += 2;
                    if self.pat.get(p) != Some(&b'[') {
                        return Self::err("missing '[' after '%f' in pattern");
                    }
                    let ep = self.class_end(p)?;
                    let prev = if s == 0 { 0 } else { self.src[s - 1] };
                    let cur = self.src.get(s).copied().unwrap_or(0);
                    if !self.bracket_class(prev, p, ep - 1) && self.bracket_class(cur, p, ep - 1) {
                        p = ep;
                        continue;
                    }
                    break None;
                }
                b'%' if self.pat.get(p + 1).is_some_and(u8::is_ascii_digit) => {
                    match self.match_capture(s, self.pat[p + 1])? {
                        Some(ns) => {
                            s = ns;
                            p += 2;
                            continue;
                        }
                        None => break None,
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    let m = self.single_match(s, p, ep);
                    match self.pat.get(ep) {
                        Some(b'?') => {
                            if m && let Some(r) = self.do_match(s + 1, ep + 1)? {
                                break Some(r);
                            }
                            p = ep + 1;
                            continue;
                        }
                        Some(b'*') => break self.max_expand(s, p, ep)?,
                        Some(b'+') => {
                            break if m { self.max_expand(s + 1, p, ep)? } else { None };
                        }
                        Some(b'-') => break self.min_expand(s, p, ep)?,
                        _ => {
                            if !m {
                                break None;
                            }
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        };
        self.depth -= 1;
        Ok(result)
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Result<Option<usize>, PatternError> {
        let mut i = 0;
        while self.single_match(s + i, p, ep) {
            i += 1;
        }
        loop {
            if let Some(r) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(r));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Result<Option<usize>, PatternError> {
        loop {
            if let Some(r) = self.do_match(s, ep + 1)? {
                return Ok(Some(r));
            }
            if self.single_match(s, p, ep) {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: CapLen) -> Result<Option<usize>, PatternError> {
        if self.caps.len() >= MAX_CAPTURES {
            return Err(PatternError("too many captures".into()));
        }
        self.caps.push((s, what));
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.caps.pop();
        }
        Ok(r)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        let Some(l) = self.caps.iter().rposition(|(_, len)| matches!(len, CapLen::Unfinished)) else {
            return Err(PatternError("invalid pattern capture".into()));
        };
        self.caps[l].1 = CapLen::Len(s - self.caps[l].0);
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.caps[l].1 = CapLen::Unfinished;
        }
        Ok(r)
    }

    fn match_balance(&self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        if p + 1 >= self.pat.len() {
            return Self::err("missing arguments to '%b'");
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        if self.src.get(s) != Some(&open) {
            return Ok(None);
        }
        let mut depth = 1;
        let mut i = s + 1;
        while i < self.src.len() {
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
            i += 1;
        }
        Ok(None)
    }

    fn match_capture(&self, s: usize, digit: u8) -> Result<Option<usize>, PatternError> {
        let l = usize::from(digit - b'1');
        let Some(&(start, CapLen::Len(len))) = self.caps.get(l) else {
            return Err(PatternError("invalid capture index".into()));
        };
        let cap = &self.src[start..start + len];
        Ok(self.src[s..].starts_with(cap).then_some(s + len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        is_match(p, s).unwrap()
    }

    #[test]
    fn kong_schema_patterns() {
        // routes.methods
        assert!(m("^%u+$", "GET"));
        assert!(!m("^%u+$", "get"));
        assert!(!m("^%u+$", ""));
        // routes.hosts wildcards
        assert!(m("^[^*]*%*?[^*]*$", "*.example.com"));
        assert!(!m("^[^*]*%*?[^*]*$", "*.ex*.com"));
        assert!(m("^%*%.", "*.example.com"));
        assert!(m("%.%*$", "example.*"));
        assert!(!m("^[^*]*$", "ex*ample.com"));
        // vaults.prefix (lazy quantifier)
        let vp = "^[a-z][a-z%d-]-[a-z%d]+$";
        assert!(m(vp, "my-vault"));
        assert!(m(vp, "ab"));
        assert!(!m(vp, "a"));
        assert!(!m(vp, "my-vault-"));
        assert!(!m(vp, "1abc"));
        // headers host
        assert!(m("^[Hh][Oo][Ss][Tt]$", "Host"));
        assert!(m("//", "/a//b"));
    }

    #[test]
    fn classes_sets_and_quantifiers() {
        assert!(m("^%a%d?$", "a"));
        assert!(m("^%a%d?$", "a1"));
        assert!(!m("^%a%d?$", "a12"));
        assert!(m("^[%w_-]+$", "a_b-c9"));
        assert!(!m("^[%w_-]+$", "a b"));
        assert!(m("[]]", "]"));
        assert!(m("^[^%s]+$", "abc"));
        assert!(!m("^[^%s]+$", "a c"));
        assert!(m("^%S+$", "abc"));
        assert!(m("a.-b", "axxb"));
        assert!(m("^a*$", ""));
        assert!(m("%.", "a.b"));
        assert!(!m("%.", "ab"));
    }

    #[test]
    fn captures_balance_frontier() {
        assert!(m("^(a+)%1$", "aaaa"));
        assert!(!m("^(a+)%1$", "aaa"));
        assert!(m("^%b()$", "(a(b)c)"));
        assert!(!m("^%b()$", "(a(b c)"));
        assert!(m("%f[%w]the", "in the end"));
        assert!(!m("%f[%w]the", "bathe"));
        assert!(m("()a", "xa"));
        assert_eq!(find("b+", "abbbc").unwrap(), Some((1, 4)));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert!(is_match("abc%", "abc").is_err());
        assert!(is_match("[abc", "x").is_err());
        assert!(is_match("%1", "x").is_err());
    }
}
