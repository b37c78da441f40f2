//! Where the sandbox keeps the files a Tyk Gateway reads at reload (`tyk.md` §1.3): API
//! definitions in `apps/`, policies in `policies/`, and the gateway's working directory (the
//! root) where policy writes land when `policy_path` is unset.
//!
//! With a data directory the files are real files under it, so an operator can look at them,
//! hand-place one, and find them again at the next start; without one they live in memory.
//! Every node of a sandbox shares one store, as gateways sharing a volume do.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The directory API definitions are read from (`app_path`).
pub const APPS: &str = "apps";
/// The directory policies are read from (`policies.policy_path`).
pub const POLICIES: &str = "policies";

/// A set of files addressed as `dir/name` (`dir` is [`APPS`], [`POLICIES`] or `""` for the
/// root; `name` a plain file name).
#[derive(Debug)]
pub enum FileStore {
    /// Real files under a directory.
    Disk(PathBuf),
    /// Files in memory, keyed by `dir/name`.
    Memory(Mutex<BTreeMap<String, Vec<u8>>>),
}

fn key(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

fn poisoned() -> io::Error {
    io::Error::other("file store lock poisoned")
}

impl FileStore {
    /// A store under `root`, creating `root/apps` and `root/policies` when missing.
    pub fn disk(root: &Path) -> io::Result<FileStore> {
        std::fs::create_dir_all(root.join(APPS))?;
        std::fs::create_dir_all(root.join(POLICIES))?;
        Ok(FileStore::Disk(root.to_path_buf()))
    }

    /// An empty in-memory store.
    pub fn memory() -> FileStore {
        FileStore::Memory(Mutex::new(BTreeMap::new()))
    }

    fn path(root: &Path, dir: &str, name: &str) -> PathBuf {
        if dir.is_empty() { root.join(name) } else { root.join(dir).join(name) }
    }

    /// The bytes of `dir/name`.
    pub fn read(&self, dir: &str, name: &str) -> io::Result<Vec<u8>> {
        match self {
            FileStore::Disk(root) => std::fs::read(Self::path(root, dir, name)),
            FileStore::Memory(m) => m
                .lock()
                .map_err(|_| poisoned())?
                .get(&key(dir, name))
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file")),
        }
    }

    /// Writes `dir/name`, replacing it. On disk the text goes to a temporary file first, so
    /// a reader never sees half a file.
    pub fn write(&self, dir: &str, name: &str, bytes: &[u8]) -> io::Result<()> {
        match self {
            FileStore::Disk(root) => {
                let path = Self::path(root, dir, name);
                let tmp = Self::path(root, dir, &format!(".{name}.tmp"));
                std::fs::write(&tmp, bytes)?;
                std::fs::rename(&tmp, &path)
            }
            FileStore::Memory(m) => {
                m.lock().map_err(|_| poisoned())?.insert(key(dir, name), bytes.to_vec());
                Ok(())
            }
        }
    }

    /// Whether `dir/name` exists.
    pub fn exists(&self, dir: &str, name: &str) -> bool {
        match self {
            FileStore::Disk(root) => Self::path(root, dir, name).is_file(),
            FileStore::Memory(m) => m.lock().is_ok_and(|m| m.contains_key(&key(dir, name))),
        }
    }

    /// Removes `dir/name`; `NotFound` when it does not exist.
    pub fn remove(&self, dir: &str, name: &str) -> io::Result<()> {
        match self {
            FileStore::Disk(root) => std::fs::remove_file(Self::path(root, dir, name)),
            FileStore::Memory(m) => match m.lock().map_err(|_| poisoned())?.remove(&key(dir, name)) {
                Some(_) => Ok(()),
                None => Err(io::Error::new(io::ErrorKind::NotFound, "no such file")),
            },
        }
    }

    /// The names of the `*.json` files directly in `dir`, sorted (Go's `filepath.Glob`).
    pub fn list_json(&self, dir: &str) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = match self {
            FileStore::Disk(root) => {
                let mut out = Vec::new();
                let d = if dir.is_empty() { root.clone() } else { root.join(dir) };
                for entry in std::fs::read_dir(d)? {
                    let entry = entry?;
                    if entry.file_type()?.is_file()
                        && let Some(name) = entry.file_name().to_str()
                    {
                        out.push(name.to_owned());
                    }
                }
                out
            }
            FileStore::Memory(m) => {
                let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
                m.lock()
                    .map_err(|_| poisoned())?
                    .keys()
                    .filter_map(|k| k.strip_prefix(&prefix))
                    .filter(|rest| !rest.contains('/'))
                    .map(str::to_owned)
                    .collect()
            }
        };
        names.retain(|n| n.ends_with(".json") && !n.starts_with('.'));
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &FileStore) {
        store.write(APPS, "b.json", b"{}").unwrap();
        store.write(APPS, "a.json", b"[]").unwrap();
        store.write(APPS, "notes.txt", b"x").unwrap();
        store.write("", "p.json", b"1").unwrap();
        assert_eq!(store.list_json(APPS).unwrap(), vec!["a.json", "b.json"]);
        assert_eq!(store.list_json("").unwrap(), vec!["p.json"]);
        assert_eq!(store.read(APPS, "a.json").unwrap(), b"[]");
        assert!(store.exists(APPS, "b.json"));
        store.remove(APPS, "b.json").unwrap();
        assert!(!store.exists(APPS, "b.json"));
        assert_eq!(store.remove(APPS, "b.json").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(store.read(POLICIES, "x.json").unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn memory_and_disk_behave_alike() {
        exercise(&FileStore::memory());
        let dir = tempfile::tempdir().unwrap();
        exercise(&FileStore::disk(dir.path()).unwrap());
        assert!(dir.path().join("apps/a.json").is_file());
    }
}
