//! The embedded registry store: one SQLite file in the data dir, WAL mode,
//! versioned migrations, every change in an immediate transaction (so two
//! processes deciding at once are serialised, and the loser sees the
//! winner's result).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::digest::ModuleDigest;

use super::error::RegistryError;
use super::model::{
    Decision, Declared, Permissions, SkillRecord, SkillVersion, VersionState, transition,
};
use super::name::SkillName;
use super::store::{Actor, Inserted, RegistryStore, SecretRow, TokenRow};

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
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(RegistryError::Corrupt(check));
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

fn load_versions(conn: &Connection, name: &SkillName) -> Result<Vec<SkillVersion>, RegistryError> {
    let mut stmt = conn.prepare(
        "SELECT digest, state, declared, granted, added_at, added_by, decided_at, decided_by
         FROM versions WHERE name = ?1 ORDER BY seq DESC",
    )?;
    let rows = stmt.query_map(params![name.as_str()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (digest, state, declared, granted, added_at, added_by, decided_at, decided_by) = row?;
        let bad = |what: &str| RegistryError::Corrupt(format!("{what} of {name} is unreadable"));
        out.push(SkillVersion {
            name: name.clone(),
            digest: ModuleDigest::parse(&digest).ok_or_else(|| bad("a digest"))?,
            state: VersionState::parse(&state).ok_or_else(|| bad("a state"))?,
            declared: serde_json::from_str::<Declared>(&declared)
                .map_err(|_| bad("declared metadata"))?,
            granted: granted
                .map(|g| serde_json::from_str::<Permissions>(&g))
                .transpose()
                .map_err(|_| bad("a grant"))?,
            added_at,
            added_by,
            decided_at,
            decided_by,
        });
    }
    Ok(out)
}

fn load_skill(conn: &Connection, name: &SkillName) -> Result<Option<SkillRecord>, RegistryError> {
    let disabled: Option<bool> = conn
        .query_row(
            "SELECT disabled FROM skills WHERE name = ?1",
            params![name.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(disabled) = disabled else {
        return Ok(None);
    };
    Ok(Some(SkillRecord {
        name: name.clone(),
        disabled,
        versions: load_versions(conn, name)?,
    }))
}

fn record_decision(
    tx: &rusqlite::Transaction<'_>,
    name: &SkillName,
    digest: Option<&ModuleDigest>,
    decision: Decision,
    actor: &Actor<'_>,
    detail: Option<String>,
) -> Result<(), RegistryError> {
    tx.execute(
        "INSERT INTO decisions (name, digest, decision, actor, at, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            name.as_str(),
            digest.map(|d| d.to_string()),
            decision.as_str(),
            actor.who,
            actor.at,
            detail
        ],
    )?;
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("registry records always serialise")
}

impl RegistryStore for SqliteStore {
    fn insert_version(
        &self,
        name: &SkillName,
        digest: &ModuleDigest,
        declared: &Declared,
        actor: &Actor<'_>,
    ) -> Result<Inserted, RegistryError> {
        self.with_tx(|tx| {
            if let Some(existing) = load_versions(tx, name)?
                .into_iter()
                .find(|v| v.digest == *digest)
            {
                return Ok(Inserted::AlreadyPresent(existing));
            }
            tx.execute(
                "INSERT OR IGNORE INTO skills (name, created_at) VALUES (?1, ?2)",
                params![name.as_str(), actor.at],
            )?;
            let seq: i64 = tx.query_row(
                "SELECT coalesce(max(seq), 0) + 1 FROM versions WHERE name = ?1",
                params![name.as_str()],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO versions (name, digest, seq, state, declared, added_at, added_by)
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6)",
                params![
                    name.as_str(),
                    digest.to_string(),
                    seq,
                    to_json(declared),
                    actor.at,
                    actor.who
                ],
            )?;
            record_decision(tx, name, Some(digest), Decision::Add, actor, None)?;
            let added = load_versions(tx, name)?
                .into_iter()
                .find(|v| v.digest == *digest)
                .expect("just inserted");
            Ok(Inserted::New(added))
        })
    }

    fn skill(&self, name: &SkillName) -> Result<Option<SkillRecord>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        load_skill(&conn, name)
    }

    fn skills(&self) -> Result<Vec<SkillRecord>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let names: Vec<String> = conn
            .prepare("SELECT name FROM skills ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for raw in names {
            let name = SkillName::parse(&raw)
                .map_err(|_| RegistryError::Corrupt(format!("bad name {raw:?}")))?;
            out.extend(load_skill(&conn, &name)?);
        }
        Ok(out)
    }

    fn decide(
        &self,
        name: &SkillName,
        digest: Option<&ModuleDigest>,
        decision: Decision,
        granted: Option<&Permissions>,
        actor: &Actor<'_>,
    ) -> Result<SkillVersion, RegistryError> {
        self.with_tx(|tx| {
            let skill = load_skill(tx, name)?.ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
            let target = match digest {
                Some(d) => skill.versions.iter().find(|v| v.digest == *d).ok_or_else(|| {
                    RegistryError::WrongDigest {
                        name: name.to_string(),
                        digest: d.to_string(),
                        known: skill
                            .versions
                            .iter()
                            .map(|v| format!("{} ({})", v.digest, v.state.as_str()))
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                })?,
                None => skill.approved().ok_or_else(|| RegistryError::InvalidState {
                    name: name.to_string(),
                    digest: "(no approved version)".into(),
                    action: decision.as_str(),
                    state: "not approved",
                })?,
            };
            let next = transition(target.state, decision).ok_or_else(|| RegistryError::InvalidState {
                name: name.to_string(),
                digest: target.digest.to_string(),
                action: decision.as_str(),
                state: target.state.as_str(),
            })?;
            if next == VersionState::Approved {
                tx.execute(
                    "UPDATE versions SET state = 'superseded' WHERE name = ?1 AND state = 'approved'",
                    params![name.as_str()],
                )?;
            }
            tx.execute(
                "UPDATE versions SET state = ?1, granted = coalesce(?2, granted), decided_at = ?3, decided_by = ?4
                 WHERE name = ?5 AND digest = ?6",
                params![
                    next.as_str(),
                    granted.map(to_json),
                    actor.at,
                    actor.who,
                    name.as_str(),
                    target.digest.to_string()
                ],
            )?;
            record_decision(tx, name, Some(&target.digest), decision, actor, granted.map(to_json))?;
            let digest = target.digest;
            Ok(load_versions(tx, name)?
                .into_iter()
                .find(|v| v.digest == digest)
                .expect("just updated"))
        })
    }

    fn set_disabled(
        &self,
        name: &SkillName,
        disabled: bool,
        actor: &Actor<'_>,
    ) -> Result<(), RegistryError> {
        self.with_tx(|tx| {
            let changed = tx.execute(
                "UPDATE skills SET disabled = ?1 WHERE name = ?2",
                params![disabled, name.as_str()],
            )?;
            if changed == 0 {
                return Err(RegistryError::NotFound(name.to_string()));
            }
            let decision = if disabled {
                Decision::Disable
            } else {
                Decision::Enable
            };
            record_decision(tx, name, None, decision, actor, None)
        })
    }
}

fn secret_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(SecretRow, String)> {
    Ok((
        SecretRow {
            skill: r.get(0)?,
            name: r.get(1)?,
            version: r.get(2)?,
            key_id: r.get(3)?,
            nonce: r.get(4)?,
            ciphertext: r.get(5)?,
            hosts: Vec::new(),
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
        },
        r.get::<_, String>(6)?,
    ))
}

const SECRET_COLUMNS: &str =
    "skill, name, version, key_id, nonce, ciphertext, hosts, created_at, updated_at";

fn finish_row((mut row, hosts): (SecretRow, String)) -> Result<SecretRow, RegistryError> {
    row.hosts = serde_json::from_str(&hosts)
        .map_err(|_| RegistryError::Corrupt("a secret's hosts are unreadable".into()))?;
    Ok(row)
}

impl SqliteStore {
    fn write_secret(tx: &rusqlite::Transaction<'_>, row: &SecretRow) -> Result<(), RegistryError> {
        tx.execute(
            &format!("INSERT OR REPLACE INTO secrets ({SECRET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![
                row.skill,
                row.name,
                row.version,
                row.key_id,
                row.nonce,
                row.ciphertext,
                to_json(&row.hosts),
                row.created_at,
                row.updated_at
            ],
        )?;
        Ok(())
    }
}

impl super::store::SecretStore for SqliteStore {
    fn put_secret(
        &self,
        skill: &str,
        name: &str,
        build: &mut super::store::SecretRowBuilder<'_>,
    ) -> Result<SecretRow, RegistryError> {
        self.with_tx(|tx| {
            let existing = tx
                .query_row(
                    &format!("SELECT {SECRET_COLUMNS} FROM secrets WHERE skill = ?1 AND name = ?2"),
                    params![skill, name],
                    secret_row,
                )
                .optional()?
                .map(finish_row)
                .transpose()?;
            let version = existing.as_ref().map_or(1, |r| r.version + 1);
            let row = build(version, existing.as_ref())?;
            Self::write_secret(tx, &row)?;
            Ok(row)
        })
    }

    fn secret(&self, skill: &str, name: &str) -> Result<Option<SecretRow>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            &format!("SELECT {SECRET_COLUMNS} FROM secrets WHERE skill = ?1 AND name = ?2"),
            params![skill, name],
            secret_row,
        )
        .optional()?
        .map(finish_row)
        .transpose()
    }

    fn secrets(&self, skill: Option<&str>) -> Result<Vec<SecretRow>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare(&format!(
            "SELECT {SECRET_COLUMNS} FROM secrets WHERE ?1 IS NULL OR skill = ?1 ORDER BY skill, name"
        ))?;
        let rows = stmt.query_map(params![skill], secret_row)?;
        rows.map(|r| finish_row(r?)).collect()
    }

    fn delete_secret(&self, skill: &str, name: &str) -> Result<bool, RegistryError> {
        self.with_tx(|tx| {
            Ok(tx.execute(
                "DELETE FROM secrets WHERE skill = ?1 AND name = ?2",
                params![skill, name],
            )? > 0)
        })
    }

    fn reencrypt_all(
        &self,
        f: &mut dyn FnMut(&SecretRow) -> Result<SecretRow, RegistryError>,
    ) -> Result<usize, RegistryError> {
        self.with_tx(|tx| {
            let rows: Vec<SecretRow> = {
                let mut stmt = tx.prepare(&format!("SELECT {SECRET_COLUMNS} FROM secrets"))?;
                let rows = stmt.query_map([], secret_row)?;
                rows.map(|r| finish_row(r?)).collect::<Result<_, _>>()?
            };
            for row in &rows {
                Self::write_secret(tx, &f(row)?)?;
            }
            Ok(rows.len())
        })
    }
}

const TOKEN_COLUMNS: &str = "id, name, role, skills, hash, created_at, expires_at, revoked_at";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRow, Option<String>)> {
    Ok((
        TokenRow {
            id: r.get(0)?,
            name: r.get(1)?,
            role: r.get(2)?,
            skills: None,
            hash: r.get(4)?,
            created_at: r.get(5)?,
            expires_at: r.get(6)?,
            revoked_at: r.get(7)?,
        },
        r.get(3)?,
    ))
}

fn finish_token((mut t, skills): (TokenRow, Option<String>)) -> Result<TokenRow, RegistryError> {
    t.skills = skills
        .map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|_| RegistryError::Corrupt("a token scope is unreadable".into()))?;
    Ok(t)
}

impl super::store::TokenStore for SqliteStore {
    fn insert_token(&self, t: &TokenRow) -> Result<(), RegistryError> {
        self.with_tx(|tx| {
            let taken: bool = tx.query_row(
                "SELECT count(*) > 0 FROM tokens WHERE name = ?1",
                params![t.name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(RegistryError::Storage(format!(
                    "a token named {} already exists",
                    t.name
                )));
            }
            tx.execute(
                &format!(
                    "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    t.id,
                    t.name,
                    t.role,
                    t.skills.as_ref().map(to_json),
                    t.hash,
                    t.created_at,
                    t.expires_at,
                    t.revoked_at
                ],
            )?;
            Ok(())
        })
    }

    fn token(&self, id: &str) -> Result<Option<TokenRow>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
            params![id],
            token_row,
        )
        .optional()?
        .map(finish_token)
        .transpose()
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt =
            conn.prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY name"))?;
        let rows = stmt.query_map([], token_row)?;
        rows.map(|r| finish_token(r?)).collect()
    }

    fn revoke_token(&self, name: &str, at: &str) -> Result<bool, RegistryError> {
        self.with_tx(|tx| {
            Ok(tx.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL",
                params![at, name],
            )? > 0)
        })
    }
}
