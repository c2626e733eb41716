//! The access keys Alcove manages, and the policies of roles, in `keys.db` under the auth
//! directory (SQLite, mode 0600, schema versioned by `PRAGMA user_version`).
//!
//! A key is an `AKIA…` id, a name (the caller is `arn:aws:iam::<account>:user/<name>`),
//! its creation time, an optional IAM-grammar policy (none: the key is an administrator)
//! and, while a rotation's grace period runs, the time it stops working. Its secret is
//! stored sealed under a key derived from the server key, with the key id as associated
//! data: the database alone (a backup, a copied file) reveals no secret, and a sealed
//! secret moved to another row does not open.
//!
//! The command line writes this database directly while the server runs (so the first
//! administrator key can be made before the server can be called); the server reads
//! through it on every cache miss, and SQLite's locking keeps the two consistent.
//!
//! Role policies (role ARN → policy document) decide what sessions of a role may do: STS
//! `AssumeRole` sessions, and execution environments' role credentials. A role without a
//! policy may do nothing.

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::policy::{Policy, PolicyError};
use crate::seal::Sealer;
use crate::server_key::ServerKey;
use crate::session::{new_access_key_id, new_secret_access_key};

const FILE_NAME: &str = "keys.db";
const PURPOSE: &str = "access key secrets v1";

/// Schema versions in order.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE access_keys (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        created     INTEGER NOT NULL,
        secret      BLOB NOT NULL,
        policy      TEXT,
        expires     INTEGER
    );
    CREATE TABLE role_policies (
        role_arn    TEXT PRIMARY KEY,
        policy      TEXT NOT NULL,
        updated     INTEGER NOT NULL
    );
"];

/// Why the key store failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("the key database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("the key database: {0}")]
    Io(#[from] std::io::Error),
    #[error("the key database has schema version {0}, newer than this alcove knows; upgrade alcove")]
    NewerSchema(i64),
    #[error("a stored secret does not open: the key database belongs to another server key")]
    Unsealable,
    #[error("{0}")]
    InvalidPolicy(#[from] PolicyError),
    #[error("Invalid name {0:?}: 1 to 64 characters of letters, digits and +=,.@_-")]
    InvalidName(String),
    #[error("The access key {0} does not exist")]
    NoSuchKey(String),
}

/// One access key, without its secret.
#[derive(Debug, Clone)]
pub struct AccessKey {
    pub id: String,
    pub name: String,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// The key's policy; `None` is an administrator.
    pub policy: Option<Policy>,
    /// When a key replaced by a rotation stops working (seconds since the Unix epoch).
    pub expires: Option<u64>,
}

impl AccessKey {
    pub fn is_admin(&self) -> bool {
        self.policy.is_none()
    }
}

/// A key just made: the only moment its secret is seen.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key: AccessKey,
    pub secret: String,
}

/// The key and role-policy database.
pub struct KeyStore {
    path: PathBuf,
    sealer: Sealer,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// An IAM user name: 1–64 of `[A-Za-z0-9+=,.@_-]`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

impl KeyStore {
    /// Opens (creating, mode 0600) `auth_dir/keys.db`; secrets are sealed under a key
    /// derived from `server_key`.
    pub fn open(auth_dir: &Path, server_key: &ServerKey) -> Result<KeyStore, KeyStoreError> {
        std::fs::create_dir_all(auth_dir)?;
        std::fs::set_permissions(auth_dir, std::fs::Permissions::from_mode(0o700))?;
        let path = auth_dir.join(FILE_NAME);
        OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(KeyStoreError::NewerSchema(version));
        }
        let tx = conn.transaction()?;
        for (done, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", done as i64 + 1)?;
        }
        tx.commit()?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Ok(KeyStore { path, sealer: Sealer::new(&server_key.derive(PURPOSE)), conn: Mutex::new(conn) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes a key; without a name it is named after its id.
    pub fn create(&self, name: Option<&str>, policy: Option<Policy>) -> Result<NewKey, KeyStoreError> {
        let id = new_access_key_id("AKIA")?;
        let name = name.map(str::to_owned).unwrap_or_else(|| id.clone());
        self.insert(id, name, policy, None)
    }

    fn insert(
        &self,
        id: String,
        name: String,
        policy: Option<Policy>,
        conn: Option<&Connection>,
    ) -> Result<NewKey, KeyStoreError> {
        if !valid_name(&name) {
            return Err(KeyStoreError::InvalidName(name));
        }
        let secret = new_secret_access_key()?;
        let sealed = self.sealer.seal(secret.as_bytes(), id.as_bytes())?;
        let created = now_secs();
        let document = policy.as_ref().map(|p| p.document().to_string());
        let sql = "INSERT INTO access_keys (id, name, created, secret, policy, expires) VALUES (?1, ?2, ?3, ?4, ?5, NULL)";
        let values = params![id, name, created as i64, sealed, document];
        match conn {
            Some(conn) => conn.execute(sql, values)?,
            None => self.conn().execute(sql, values)?,
        };
        Ok(NewKey { key: AccessKey { id, name, created, policy, expires: None }, secret })
    }

    /// Every key that still works, oldest first (expired rotations are removed).
    pub fn list(&self) -> Result<Vec<AccessKey>, KeyStoreError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM access_keys WHERE expires IS NOT NULL AND expires <= ?1",
            [now_secs() as i64],
        )?;
        let mut statement =
            conn.prepare("SELECT id, name, created, policy, expires FROM access_keys ORDER BY created, id")?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (id, name, created, policy, expires) = row?;
            keys.push(AccessKey {
                id,
                name,
                created: created as u64,
                policy: policy.map(|p| Policy::parse(&p)).transpose()?,
                expires: expires.map(|e| e as u64),
            });
        }
        Ok(keys)
    }

    /// A working key and its secret, to verify a signature with.
    pub fn resolve(&self, id: &str) -> Result<Option<(AccessKey, String)>, KeyStoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT name, created, secret, policy, expires FROM access_keys WHERE id = ?1",
                [id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<i64>>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((name, created, sealed, policy, expires)) = row else { return Ok(None) };
        if expires.is_some_and(|e| e as u64 <= now_secs()) {
            return Ok(None);
        }
        let secret = self.sealer.open(&sealed, id.as_bytes()).map_err(|_| KeyStoreError::Unsealable)?;
        let secret = String::from_utf8(secret).map_err(|_| KeyStoreError::Unsealable)?;
        let key = AccessKey {
            id: id.to_owned(),
            name,
            created: created as u64,
            policy: policy.map(|p| Policy::parse(&p)).transpose()?,
            expires: expires.map(|e| e as u64),
        };
        Ok(Some((key, secret)))
    }

    /// Removes a key; whether there was one.
    pub fn delete(&self, id: &str) -> Result<bool, KeyStoreError> {
        Ok(self.conn().execute("DELETE FROM access_keys WHERE id = ?1", [id])? > 0)
    }

    /// Replaces a key by a new one with the same name and policy. The old key stops
    /// working at once, or after `grace` when one is given.
    pub fn rotate(&self, id: &str, grace: Option<Duration>) -> Result<NewKey, KeyStoreError> {
        let (old, _) = self.resolve(id)?.ok_or_else(|| KeyStoreError::NoSuchKey(id.to_owned()))?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let new = self.insert(new_access_key_id("AKIA")?, old.name, old.policy, Some(&tx))?;
        match grace.filter(|g| !g.is_zero()) {
            Some(grace) => tx.execute(
                "UPDATE access_keys SET expires = ?2 WHERE id = ?1",
                params![id, (now_secs() + grace.as_secs().max(1)) as i64],
            )?,
            None => tx.execute("DELETE FROM access_keys WHERE id = ?1", [id])?,
        };
        tx.commit()?;
        Ok(new)
    }

    /// Attaches `policy` to `role_arn`, replacing any it had.
    pub fn put_role_policy(&self, role_arn: &str, policy: &Policy) -> Result<(), KeyStoreError> {
        self.conn().execute(
            "INSERT INTO role_policies (role_arn, policy, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT (role_arn) DO UPDATE SET policy = excluded.policy, updated = excluded.updated",
            params![role_arn, policy.document().to_string(), now_secs() as i64],
        )?;
        Ok(())
    }

    /// The policy of `role_arn`, if one is attached.
    pub fn role_policy(&self, role_arn: &str) -> Result<Option<Policy>, KeyStoreError> {
        let document: Option<String> = self
            .conn()
            .query_row("SELECT policy FROM role_policies WHERE role_arn = ?1", [role_arn], |row| row.get(0))
            .optional()?;
        Ok(document.map(|d| Policy::parse(&d)).transpose()?)
    }

    /// What `role_arn`'s sessions may do: its policy, or nothing.
    pub fn effective_role_policy(&self, role_arn: &str) -> Result<Policy, KeyStoreError> {
        Ok(self.role_policy(role_arn)?.unwrap_or_else(Policy::deny_all))
    }

    pub fn delete_role_policy(&self, role_arn: &str) -> Result<bool, KeyStoreError> {
        Ok(self.conn().execute("DELETE FROM role_policies WHERE role_arn = ?1", [role_arn])? > 0)
    }

    /// Every role with a policy, by ARN.
    pub fn list_role_policies(&self) -> Result<Vec<(String, Policy)>, KeyStoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT role_arn, policy FROM role_policies ORDER BY role_arn")?;
        let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
        let mut roles = Vec::new();
        for row in rows {
            let (arn, document) = row?;
            roles.push((arn, Policy::parse(&document)?));
        }
        Ok(roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server_key::KEY_LEN;

    fn store(dir: &Path) -> KeyStore {
        KeyStore::open(&dir.join("auth"), &ServerKey::from_bytes([9; KEY_LEN])).unwrap()
    }

    #[test]
    fn a_key_is_stored_sealed_in_a_private_file_and_resolves_to_its_secret() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        let new = keys.create(Some("front-end"), None).unwrap();
        assert!(new.key.id.starts_with("AKIA") && new.key.id.len() == 20);
        let mode = std::fs::metadata(keys.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (key, secret) = keys.resolve(&new.key.id).unwrap().unwrap();
        assert_eq!(
            (key.name.as_str(), secret.as_str(), key.is_admin()),
            ("front-end", new.secret.as_str(), true)
        );
        drop(keys);
        let mut raw = Vec::new();
        for entry in std::fs::read_dir(dir.path().join("auth")).unwrap() {
            raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        assert!(!raw.windows(new.secret.len()).any(|w| w == new.secret.as_bytes()), "secret in plaintext");
        // Another server key cannot open the secrets.
        let other = KeyStore::open(&dir.path().join("auth"), &ServerKey::from_bytes([8; KEY_LEN])).unwrap();
        assert!(matches!(other.resolve(&new.key.id), Err(KeyStoreError::Unsealable)));
    }

    #[test]
    fn keys_are_listed_deleted_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        let policy =
            Policy::parse(r#"{"Statement": {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}}"#)
                .unwrap();
        let a = keys.create(None, Some(policy)).unwrap();
        assert_eq!(a.key.name, a.key.id);
        let b = keys.create(Some("b"), None).unwrap();
        assert_eq!(keys.list().unwrap().len(), 2);
        let rotated = keys.rotate(&a.key.id, None).unwrap();
        assert_ne!(rotated.key.id, a.key.id);
        assert!(keys.resolve(&a.key.id).unwrap().is_none());
        let (key, secret) = keys.resolve(&rotated.key.id).unwrap().unwrap();
        assert_eq!((key.name, secret), (a.key.name.clone(), rotated.secret.clone()));
        assert!(!key.policy.unwrap().document().is_null());
        let graced = keys.rotate(&b.key.id, Some(Duration::from_secs(60))).unwrap();
        assert!(keys.resolve(&b.key.id).unwrap().is_some(), "the old key works during the grace period");
        assert!(keys.resolve(&graced.key.id).unwrap().is_some());
        assert!(keys.delete(&graced.key.id).unwrap());
        assert!(!keys.delete(&graced.key.id).unwrap());
        assert!(matches!(keys.rotate("AKIANOPE", None), Err(KeyStoreError::NoSuchKey(_))));
        assert!(matches!(keys.create(Some("bad name"), None), Err(KeyStoreError::InvalidName(_))));
    }

    #[test]
    fn role_policies_default_to_deny_all() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        let role = "arn:aws:iam::000000000000:role/deployer";
        assert!(keys.role_policy(role).unwrap().is_none());
        let request_context = crate::policy::Context::new();
        let request = crate::policy::Request {
            action: "lambda:InvokeFunction",
            resource: "arn:aws:lambda:us-east-1:000000000000:function:f",
            context: &request_context,
        };
        assert!(!keys.effective_role_policy(role).unwrap().evaluate(&request).is_allowed());
        keys.put_role_policy(role, &Policy::allow_all()).unwrap();
        assert!(keys.effective_role_policy(role).unwrap().evaluate(&request).is_allowed());
        assert_eq!(keys.list_role_policies().unwrap().len(), 1);
        assert!(keys.delete_role_policy(role).unwrap());
        assert!(keys.list_role_policies().unwrap().is_empty());
    }
}
