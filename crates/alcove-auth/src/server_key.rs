//! The server key: 32 random bytes in `server.key` under the auth directory, readable by
//! the server's user only (mode 0600), created on first start. It never leaves that file
//! and is never used directly: each use gets its own key derived from it
//! (HMAC-SHA256 over a purpose label), so a key for sealing secrets at rest can never
//! open a session token and the other way round.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of the server key and of every key derived from it.
pub const KEY_LEN: usize = 32;

const FILE_NAME: &str = "server.key";

/// The root secret of one Alcove deployment.
#[derive(Clone)]
pub struct ServerKey([u8; KEY_LEN]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

impl ServerKey {
    /// Reads `dir/server.key`, creating the directory (0700) and a fresh key (0600) if
    /// there is none. A key file that is not exactly [`KEY_LEN`] bytes, or that others
    /// may read, is refused rather than used or replaced.
    pub fn load_or_create(dir: &Path) -> io::Result<ServerKey> {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        let path = dir.join(FILE_NAME);
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
            Ok(mut file) => {
                let key = ServerKey(random_bytes()?);
                file.write_all(&key.0)?;
                file.sync_all()?;
                Ok(key)
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Self::read(&path),
            Err(error) => Err(error),
        }
    }

    fn read(path: &Path) -> io::Result<ServerKey> {
        let mut file = fs::File::open(path)?;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is readable by other users (mode {:o}); it must be 0600",
                    path.display(),
                    mode & 0o777
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(KEY_LEN);
        file.read_to_end(&mut bytes)?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a {KEY_LEN}-byte key", path.display()),
            )
        })?;
        Ok(ServerKey(key))
    }

    /// A key built from the given bytes (tests, and servers that share a key they
    /// distribute themselves).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> ServerKey {
        ServerKey(bytes)
    }

    /// The key for one purpose: HMAC-SHA256(server key, purpose).
    pub fn derive(&self, purpose: &str) -> [u8; KEY_LEN] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().join("auth");
        let first = ServerKey::load_or_create(&auth).unwrap();
        let mode = fs::metadata(auth.join(FILE_NAME)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = ServerKey::load_or_create(&auth).unwrap();
        assert_eq!(first.derive("x"), second.derive("x"));
    }

    #[test]
    fn purposes_get_different_keys() {
        let key = ServerKey::from_bytes([7; KEY_LEN]);
        assert_ne!(key.derive("secrets"), key.derive("sessions"));
    }

    #[test]
    fn a_key_others_may_read_or_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        ServerKey::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(ServerKey::load_or_create(dir.path()).is_err());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, b"short").unwrap();
        assert!(ServerKey::load_or_create(dir.path()).is_err());
    }
}
