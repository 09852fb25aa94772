//! The secrets table: encrypted values, with the hosts each may be sent to.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, to_json};
use crate::registry::error::RegistryError;
use crate::registry::store::{SecretRow, SecretRowBuilder, SecretStore};

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

impl SecretStore for SqliteStore {
    fn put_secret(
        &self,
        skill: &str,
        name: &str,
        build: &mut SecretRowBuilder<'_>,
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
