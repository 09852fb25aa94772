//! The embedded registry store: one SQLite file in the data dir, WAL mode,
//! versioned migrations, every change in an immediate transaction (so two
//! processes deciding at once are serialised, and the loser sees the
//! winner's result).
//!
//! This module opens and migrates the database; each table's queries live
//! beside it: `skills` (skills, versions, decisions), `secrets`, `tokens`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::digest::ModuleDigest;

use super::error::RegistryError;
use super::model::{Decision, Declared, Permissions, SkillRecord, SkillVersion};
use super::name::SkillName;
use super::store::{Actor, Inserted, RegistryStore};

mod secrets;
mod skills;
mod tokens;

/// Schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Migrations, in order; `MIGRATIONS[i]` moves the schema from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE skills (
    name        TEXT PRIMARY KEY NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at  TEXT NOT NULL
) STRICT;
CREATE TABLE versions (
    name        TEXT NOT NULL REFERENCES skills(name),
    digest      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending','approved','superseded','rejected','revoked')),
    declared    TEXT NOT NULL,
    granted     TEXT,
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    decided_at  TEXT,
    decided_by  TEXT,
    PRIMARY KEY (name, digest)
) STRICT;
CREATE UNIQUE INDEX one_approved_version ON versions(name) WHERE state = 'approved';
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    digest      TEXT,
    decision    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT
) STRICT;
"#,
    r#"
CREATE TABLE secrets (
    skill       TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    key_id      TEXT NOT NULL,
    nonce       BLOB NOT NULL,
    ciphertext  BLOB NOT NULL,
    hosts       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (skill, name)
) STRICT;
"#,
    r#"
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('invoker', 'owner')),
    skills      TEXT,
    hash        BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
) STRICT;
"#,
];

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Open (creating and migrating if needed) the database at `path`. The
    /// file is created 0600.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| RegistryError::Io(format!("cannot create {}: {e}", path.display())))?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Self::init(conn, true)
    }

    /// A private in-memory database, gone when dropped (`skillhost dev`).
    pub fn in_memory() -> Result<Self, RegistryError> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(conn: Connection, file: bool) -> Result<Self, RegistryError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Read before anything writes: a foreign or corrupted file, or a
        // newer schema, is refused without being touched.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(RegistryError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        // A file about to be migrated is checked whole first, so a damaged
        // one is refused before anything writes to it. A current one is
        // not: `quick_check` reads every page, and start-up would grow with
        // the registry. Damage to its schema page shows below; damage
        // anywhere else shows when that page is read, as SQLITE_CORRUPT
        // (`registry.corrupt`), and nothing runs on it.
        if version < SCHEMA_VERSION {
            let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            if check != "ok" {
                return Err(RegistryError::Corrupt(check));
            }
        }
        if version > 0 {
            let tables: i64 = conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('skills','versions','decisions')",
                [],
                |r| r.get(0),
            )?;
            if tables != 3 {
                return Err(RegistryError::Corrupt("expected tables are missing".into()));
            }
        }
        if file {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(RegistryError::Storage(format!(
                    "cannot enable WAL (journal mode is {mode})"
                )));
            }
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = SqliteStore {
            conn: Mutex::new(conn),
        };
        store.migrate(version)?;
        Ok(store)
    }

    fn migrate(&mut self, from: i64) -> Result<(), RegistryError> {
        let conn = self.conn.get_mut().unwrap_or_else(|p| p.into_inner());
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated while we waited for the lock.
            let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn with_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("registry records always serialise")
}

impl RegistryStore for SqliteStore {
    /// `PRAGMA data_version` moves when another connection (another
    /// process) commits; `total_changes` counts the rows this connection
    /// changed. Both only grow, so their sum changes on every commit from
    /// anywhere.
    fn change_counter(&self) -> Result<u64, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let others: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok((others as u64).wrapping_add(conn.total_changes()))
    }

    fn insert_version(
        &self,
        name: &SkillName,
        digest: &ModuleDigest,
        declared: &Declared,
        actor: &Actor<'_>,
    ) -> Result<Inserted, RegistryError> {
        skills::insert_version(self, name, digest, declared, actor)
    }

    fn skill(&self, name: &SkillName) -> Result<Option<SkillRecord>, RegistryError> {
        skills::skill(self, name)
    }

    fn skills(&self) -> Result<Vec<SkillRecord>, RegistryError> {
        skills::skills(self)
    }

    fn runnable_digests(&self) -> Result<Vec<(String, String)>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let rows = conn
            .prepare(
                "SELECT s.name, v.digest FROM skills s JOIN versions v ON v.name = s.name
                 WHERE s.disabled = 0 AND v.state = 'approved' ORDER BY s.name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn decide(
        &self,
        name: &SkillName,
        digest: Option<&ModuleDigest>,
        decision: Decision,
        granted: Option<&Permissions>,
        actor: &Actor<'_>,
    ) -> Result<SkillVersion, RegistryError> {
        skills::decide(self, name, digest, decision, granted, actor)
    }

    fn set_disabled(
        &self,
        name: &SkillName,
        disabled: bool,
        actor: &Actor<'_>,
    ) -> Result<(), RegistryError> {
        skills::set_disabled(self, name, disabled, actor)
    }
}
