//! The apply history (an embedded SQLite ledger) and environment locks.
