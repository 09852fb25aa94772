//! The skills, versions and decisions tables: what is installed, in which
//! state, and the record of every decision.

use rusqlite::{Connection, OptionalExtension, params};

use crate::digest::ModuleDigest;

use super::{SqliteStore, to_json};
use crate::registry::error::RegistryError;
use crate::registry::model::{
    Decision, Declared, Permissions, SkillRecord, SkillVersion, VersionState, transition,
};
use crate::registry::name::SkillName;
use crate::registry::store::{Actor, Inserted};

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

pub(super) fn insert_version(
    store: &SqliteStore,
    name: &SkillName,
    digest: &ModuleDigest,
    declared: &Declared,
    actor: &Actor<'_>,
) -> Result<Inserted, RegistryError> {
    store.with_tx(|tx| {
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

pub(super) fn skill(
    store: &SqliteStore,
    name: &SkillName,
) -> Result<Option<SkillRecord>, RegistryError> {
    let conn = store.conn.lock().unwrap_or_else(|p| p.into_inner());
    // One read transaction: the enabled flag and the versions are one
    // snapshot, never a state that did not exist.
    let tx = conn.unchecked_transaction()?;
    let skill = load_skill(&tx, name)?;
    tx.finish()?;
    Ok(skill)
}

pub(super) fn skills(store: &SqliteStore) -> Result<Vec<SkillRecord>, RegistryError> {
    let conn = store.conn.lock().unwrap_or_else(|p| p.into_inner());
    let tx = conn.unchecked_transaction()?;
    let names: Vec<String> = tx
        .prepare("SELECT name FROM skills ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for raw in names {
        let name = SkillName::parse(&raw)
            .map_err(|_| RegistryError::Corrupt(format!("bad name {raw:?}")))?;
        out.extend(load_skill(&tx, &name)?);
    }
    tx.finish()?;
    Ok(out)
}

pub(super) fn decide(
    store: &SqliteStore,
    name: &SkillName,
    digest: Option<&ModuleDigest>,
    decision: Decision,
    granted: Option<&Permissions>,
    actor: &Actor<'_>,
) -> Result<SkillVersion, RegistryError> {
    store.with_tx(|tx| {
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

pub(super) fn set_disabled(
    store: &SqliteStore,
    name: &SkillName,
    disabled: bool,
    actor: &Actor<'_>,
) -> Result<(), RegistryError> {
    store.with_tx(|tx| {
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
