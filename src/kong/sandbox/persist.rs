//! `--data FILE`: write-through persistence to SQLite. Memory stays authoritative; every
//! change set is written in one transaction before it is applied, and everything is loaded
//! at start.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use super::store::{Change, Row, Store};
use crate::kong::KongKind;

/// The SQLite file.
#[derive(Debug)]
pub struct Persist {
    conn: Connection,
}

impl Persist {
    /// Opens (or creates) the file.
    pub fn open(path: &Path) -> rusqlite::Result<Persist> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS entities (kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, expires INTEGER, PRIMARY KEY (kind, id));
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )?;
        Ok(Persist { conn })
    }

    /// Loads every row into a new store.
    pub fn load(&self) -> rusqlite::Result<Store> {
        let mut store = Store::new();
        let mut stmt = self.conn.prepare("SELECT kind, data, expires FROM entities")?;
        let mut changes = Vec::new();
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<i64>>(2)?)))?;
        for row in rows {
            let (kind, data, expires) = row?;
            let Some(kind) = KongKind::from_table(&kind) else {
                continue;
            };
            let Ok(Value::Object(data)) = serde_json::from_str::<Value>(&data) else {
                continue;
            };
            changes.push((kind, Arc::new(Row { data, expires })));
        }
        changes.sort_by_key(|(k, _)| *k);
        let changes: Vec<Change> = changes.into_iter().map(|(k, r)| Change::Put(k, r)).collect();
        store.apply(&changes);
        Ok(store)
    }

    /// Writes a change set in one transaction.
    pub fn write(&mut self, changes: &[Change]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut put =
                tx.prepare("INSERT OR REPLACE INTO entities (kind, id, data, expires) VALUES (?1, ?2, ?3, ?4)")?;
            let mut del = tx.prepare("DELETE FROM entities WHERE kind = ?1 AND id = ?2")?;
            for c in changes {
                match c {
                    Change::Put(k, row) => {
                        let data = Value::Object(row.data.clone()).to_string();
                        put.execute(params![k.table(), row.id(), data, row.expires])?;
                    }
                    Change::Delete(k, id) => {
                        del.execute(params![k.table(), id])?;
                    }
                }
            }
        }
        tx.commit()
    }

    /// Replaces everything with `store`'s rows (DB-less `/config`).
    pub fn replace_all(&mut self, store: &Store, meta: &Map<String, Value>) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM entities", [])?;
        {
            let mut put = tx.prepare("INSERT INTO entities (kind, id, data, expires) VALUES (?1, ?2, ?3, ?4)")?;
            for (k, row) in store.all_rows() {
                put.execute(params![k.table(), row.id(), Value::Object(row.data.clone()).to_string(), row.expires])?;
            }
            for (key, v) in meta {
                tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![key, v.to_string()])?;
            }
        }
        tx.commit()
    }

    /// A stored meta value (e.g. the DB-less configuration hash).
    pub fn meta(&self, key: &str) -> Option<Value> {
        let s: String =
            self.conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| r.get(0)).ok()?;
        serde_json::from_str(&s).ok()
    }
}
