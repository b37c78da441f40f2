//! The shape of the code, as the README's architecture section describes it: the core never
//! imports a dialect, and no module or file imports another that imports it back.
//!
//! The sources are read as text: every `use crate::…`/`use super::…` path (test modules
//! excluded) is resolved to the file that defines it, following `pub use` re-exports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that know no gateway.
const CORE: &[&str] = &["model", "plan", "graph", "apply", "render", "secrets", "ledger", "engine", "source"];
/// Modules that implement a gateway.
const DIALECTS: &[&str] = &["kong", "tyk"];

type Module = Vec<String>;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The text of a file without comments and without its `#[cfg(test)]` modules.
fn code(text: &str) -> String {
    let no_comments: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    match no_comments.find("#[cfg(test)]\nmod tests {") {
        Some(i) => no_comments[..i].to_owned(),
        None => no_comments,
    }
}

/// `a::{b, c::{d, e as f}}` → `[a::b, a::c::d, a::c::e]`.
fn expand(prefix: &[String], body: &str, out: &mut Vec<Module>) {
    let body = body.trim();
    if let Some(inner) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
        let (mut depth, mut cur) = (0, String::new());
        for ch in inner.chars() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if ch == ',' && depth == 0 {
                expand(prefix, &cur, out);
                cur.clear();
            } else {
                cur.push(ch);
            }
        }
        if !cur.trim().is_empty() {
            expand(prefix, &cur, out);
        }
        return;
    }
    if let Some(i) = body.find("::{") {
        let mut p = prefix.to_vec();
        p.extend(body[..i].split("::").map(|s| s.trim().to_owned()));
        return expand(&p, &body[i + 2..], out);
    }
    let name = body.split(" as ").next().unwrap_or("").trim();
    if !name.is_empty() {
        let mut p = prefix.to_vec();
        p.extend(name.split("::").map(|s| s.trim().to_owned()));
        out.push(p);
    }
}

/// `(public, absolute path)` of every `use` of a file; a path that starts with a child
/// module's name (`use traits::X` in `gateway/mod.rs`) is relative to the file's module.
fn uses(module: &Module, text: &str, modules: &BTreeSet<Module>) -> Vec<(bool, Module)> {
    let code = code(text);
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("use ") {
        let before = &rest[..i];
        let at_start = before.is_empty() || before.ends_with(|c: char| c.is_whitespace() || c == ';' || c == '}');
        let Some(end) = rest[i..].find(';') else { break };
        let stmt = &rest[i + 4..i + end];
        let public = before.trim_end().ends_with("pub") || before.trim_end().ends_with(')');
        rest = &rest[i + end + 1..];
        if !at_start {
            continue;
        }
        let mut paths = Vec::new();
        expand(&[], stmt, &mut paths);
        for p in paths {
            let abs = match p.first().map(String::as_str) {
                Some("crate") => p[1..].to_vec(),
                Some("super" | "self") => {
                    let mut base = module.clone();
                    let mut k = 0;
                    while p.get(k).is_some_and(|s| s == "super") {
                        base.pop();
                        k += 1;
                    }
                    if p.get(k).is_some_and(|s| s == "self") {
                        k += 1;
                    }
                    base.extend(p[k..].iter().cloned());
                    base
                }
                Some(first) => {
                    let mut child = module.clone();
                    child.push(first.to_owned());
                    if !modules.contains(&child) {
                        continue;
                    }
                    let mut abs = module.clone();
                    abs.extend(p.iter().cloned());
                    abs
                }
                None => continue,
            };
            out.push((public, abs));
        }
    }
    out
}

struct Tree {
    modules: BTreeSet<Module>,
    uses: BTreeMap<Module, Vec<(bool, Module)>>,
}

impl Tree {
    fn read() -> Tree {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let modules: BTreeSet<Module> = all.iter().map(|f| module_of(&src, f)).collect();
        let mut tree = Tree { modules, uses: BTreeMap::new() };
        for f in all {
            let m = module_of(&src, &f);
            let text = std::fs::read_to_string(&f).unwrap();
            let found = uses(&m, &text, &tree.modules);
            tree.uses.insert(m, found);
        }
        tree
    }

    /// The longest module prefix of `path`, and the rest.
    fn split(&self, path: &[String]) -> (Module, Vec<String>) {
        for n in (0..=path.len()).rev() {
            if self.modules.contains(&path[..n]) {
                return (path[..n].to_vec(), path[n..].to_vec());
            }
        }
        (Vec::new(), path.to_vec())
    }

    /// The module that defines what `path` names, following `pub use` re-exports.
    fn target(&self, path: &[String]) -> Module {
        let (mut module, mut rest) = self.split(path);
        for _ in 0..8 {
            let Some(name) = rest.first() else { break };
            let next =
                self.uses.get(&module).into_iter().flatten().find(|(public, p)| *public && p.last() == Some(name));
            let Some((_, p)) = next else { break };
            let (m, r) = self.split(p);
            if m == module {
                break;
            }
            (module, rest) = (m, r);
        }
        module
    }

    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (from, uses) in &self.uses {
            for (public, path) in uses {
                let to = self.target(path);
                // A module's facade (`pub use child::Item`) is not a dependency of the parent.
                if *public && to.starts_with(from) {
                    continue;
                }
                if &to != from && !to.is_empty() && !is_test(from) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        edges
    }
}

fn is_test(m: &Module) -> bool {
    m.iter().any(|s| s == "tests" || s.ends_with("_tests"))
}

/// Strongly connected components with more than one member.
fn cycles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    let nodes: BTreeSet<N> = edges.keys().chain(edges.values().flatten()).cloned().collect();
    let reach = |from: &N| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<N, BTreeSet<N>> = nodes.iter().map(|n| (n.clone(), reach(n))).collect();
    let mut out: Vec<Vec<N>> = Vec::new();
    for n in &nodes {
        if !reachable[n].contains(n) || out.iter().any(|c| c.contains(n)) {
            continue;
        }
        out.push(nodes.iter().filter(|m| reachable[n].contains(*m) && reachable[*m].contains(n)).cloned().collect());
    }
    out
}

#[test]
fn the_core_imports_no_dialect() {
    let tree = Tree::read();
    let mut offences = Vec::new();
    for (from, to) in tree.edges() {
        let core = from.first().is_some_and(|m| CORE.contains(&m.as_str()));
        for t in to.iter().filter(|t| t.first().is_some_and(|m| DIALECTS.contains(&m.as_str()))) {
            if core {
                offences.push(format!("{} imports {}", from.join("::"), t.join("::")));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn no_module_or_file_imports_itself_back() {
    let tree = Tree::read();
    let edges = tree.edges();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in &edges {
        for t in to {
            if let (Some(a), Some(b)) = (from.first(), t.first())
                && a != b
            {
                top.entry(a.clone()).or_default().insert(b.clone());
            }
        }
    }
    assert_eq!(cycles(&top), Vec::<Vec<String>>::new(), "circles between top-level modules");
    let files: Vec<Vec<String>> =
        cycles(&edges).into_iter().map(|c| c.into_iter().map(|m| m.join("::")).collect()).collect();
    assert_eq!(files, Vec::<Vec<String>>::new(), "circles between files");
}

#[test]
fn the_checker_sees_imports_and_re_exports() {
    let tree = Tree::read();
    let edges = tree.edges();
    let plan = edges.get(&vec!["plan".to_owned()]).expect("plan has imports");
    assert!(plan.contains(&vec!["gateway".to_owned(), "traits".to_owned()]), "{plan:?}");
    let kong_dialect = edges.get(&vec!["kong".to_owned(), "dialect".to_owned()]).expect("kong::dialect");
    assert!(kong_dialect.contains(&vec!["kong".to_owned(), "kind".to_owned()]), "re-export followed: {kong_dialect:?}");
}
