//! Turning `-s/--state` arguments into configuration texts (`deck.md` §a.2 "Multi-file",
//! "Stdin").

use std::io::Read;
use std::path::{Path, PathBuf};

use super::diag::{Diagnostic, Diagnostics};

/// One configuration text and the name to show in messages: a path as the user gave it,
/// `<stdin>`, or `v1:kong/app.yaml` for a file read from Git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The name messages use.
    pub name: String,
    /// The whole text.
    pub text: String,
}

impl Input {
    /// An input from a name and a text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Input { name: name.into(), text: text.into() }
    }
}

/// Whether a file name has one of the extensions read from directories
/// (`.yaml`, `.yml`, `.json`, in any case).
pub fn is_config_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// Expands `-s` arguments into inputs, in argument order:
///
/// * a file is read whatever its extension;
/// * a directory contributes every `*.yaml`, `*.yml` and `*.json` file below it,
///   **recursively** (as decK's `ConfigFilesInDir` does), sorted by path; other files are
///   skipped;
/// * `-` is standard input, named `<stdin>` (it may be given once).
///
/// Every file that cannot be read is reported (`error: cannot read ...`); nothing is
/// returned unless all were read. Texts must be UTF-8.
pub fn read_inputs(args: &[PathBuf]) -> Result<Vec<Input>, Diagnostics> {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut stdin_read = false;
    for arg in args {
        if arg.as_os_str() == "-" {
            if stdin_read {
                errors.push(Diagnostic::error(None, "`-` (standard input) is given more than once"));
                continue;
            }
            stdin_read = true;
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => inputs.push(Input::new("<stdin>", text)),
                Err(e) => errors.push(Diagnostic::error(None, format!("cannot read standard input: {e}"))),
            }
            continue;
        }
        if arg.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = walk(arg, &mut files) {
                errors.push(Diagnostic::error(None, format!("cannot read directory {}: {e}", arg.display())));
                continue;
            }
            files.sort();
            for file in files {
                read_file(&file, &mut inputs, &mut errors);
            }
        } else {
            read_file(arg, &mut inputs, &mut errors);
        }
    }
    if errors.is_empty() { Ok(inputs) } else { Err(Diagnostics(errors)) }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if is_config_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<Diagnostic>) {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => inputs.push(Input::new(path.display().to_string(), text)),
            Err(_) => errors
                .push(Diagnostic::error(None, format!("cannot read {}: the file is not UTF-8 text", path.display()))),
        },
        Err(e) => errors.push(Diagnostic::error(None, format!("cannot read {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_read_recursively_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("b.yaml"), "b").unwrap();
        std::fs::write(root.join("a.json"), "a").unwrap();
        std::fs::write(root.join("notes.txt"), "skip").unwrap();
        std::fs::write(root.join("sub/c.YML"), "c").unwrap();
        let single = root.join("notes.txt");
        let inputs = read_inputs(&[root.to_path_buf(), single]).unwrap();
        let texts: Vec<&str> = inputs.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, vec!["a", "b", "c", "skip"]);
        assert!(inputs[0].name.ends_with("a.json"));
    }

    #[test]
    fn unreadable_files_are_all_reported() {
        let err =
            read_inputs(&[PathBuf::from("/nonexistent/one.yaml"), PathBuf::from("/nonexistent/two.yaml")]).unwrap_err();
        assert_eq!(err.0.len(), 2);
        assert!(err.0[0].to_string().starts_with("error: cannot read /nonexistent/one.yaml: "), "{}", err.0[0]);
    }
}
