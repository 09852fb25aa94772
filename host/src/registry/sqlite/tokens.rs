//! The tokens table: API tokens, stored as hashes.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, to_json};
use crate::registry::error::RegistryError;
use crate::registry::store::{TokenRow, TokenStore};

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

impl TokenStore for SqliteStore {
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
