//! Refused logins: fingerprints of credentials the client refused, kept
//! so that no later run sends them again.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, sqlite_error};

/// The most refused fingerprints kept; older ones go first.
const MAX_REFUSED: usize = 32;

impl Store {
    /// This store's salt for credential fingerprints, made on first use.
    pub fn login_salt(&mut self) -> Result<[u8; 16], StoreError> {
        let found: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT salt FROM store_salt WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(self.sqlite())?;
        if let Some(salt) = found.and_then(|s| <[u8; 16]>::try_from(s).ok()) {
            return Ok(salt);
        }
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| StoreError::Random(e.to_string()))?;

        self.conn
            .execute(
                "INSERT OR REPLACE INTO store_salt (id, salt) VALUES (1, ?1)",
                params![salt.to_vec()],
            )
            .map_err(self.sqlite())?;
        Ok(salt)
    }

    /// Whether any refused credentials are kept: when none are, a caller
    /// need not compute a fingerprint.
    pub fn any_refused_login(&self) -> Result<bool, StoreError> {
        Ok(self.count("SELECT count(*) FROM refused_logins", [])? > 0)
    }

    /// When the credentials with `fingerprint` were refused, if they were.
    pub fn refused_login(&self, fingerprint: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT at FROM refused_logins WHERE fingerprint = ?1",
                params![fingerprint.to_vec()],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|at| at.map(|a| a.max(0) as u64))
            .map_err(self.sqlite())
    }

    /// Remembers that the credentials with `fingerprint` were refused.
    pub fn put_refused_login(
        &mut self,
        fingerprint: &[u8; 32],
        now: u64,
    ) -> Result<(), StoreError> {
        let sqlite = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&sqlite)?;
        tx.execute(
            "INSERT OR REPLACE INTO refused_logins (fingerprint, at) VALUES (?1, ?2)",
            params![fingerprint.to_vec(), now as i64],
        )
        .and_then(|_| {
            tx.execute(
                "DELETE FROM refused_logins WHERE fingerprint NOT IN
                 (SELECT fingerprint FROM refused_logins ORDER BY at DESC LIMIT ?1)",
                params![MAX_REFUSED as i64],
            )
        })
        .and_then(|_| tx.commit())
        .map_err(&sqlite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_logins_are_kept_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let salt = store.login_salt().unwrap();
        assert_eq!(store.login_salt().unwrap(), salt, "one salt per store");
        assert!(!store.any_refused_login().unwrap());
        store.put_refused_login(&[1; 32], 100).unwrap();
        assert!(store.any_refused_login().unwrap());
        assert_eq!(store.refused_login(&[1; 32]).unwrap(), Some(100));
        assert_eq!(store.refused_login(&[2; 32]).unwrap(), None);
        for i in 0..40u8 {
            store
                .put_refused_login(&[i + 10; 32], 200 + u64::from(i))
                .unwrap();
        }
        assert_eq!(
            store.refused_login(&[1; 32]).unwrap(),
            None,
            "the oldest go"
        );
        assert_eq!(store.refused_login(&[49; 32]).unwrap(), Some(239));
    }
}
