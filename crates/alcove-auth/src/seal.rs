//! Authenticated encryption of small secrets with XChaCha20-Poly1305: a random 24-byte
//! nonce per message (large enough that random nonces never repeat in practice, unlike
//! the 12-byte nonce of plain ChaCha20-Poly1305), prepended to the ciphertext. The
//! associated data binds a sealed value to where it belongs (an access key's secret to
//! that key's id), so a sealed value copied elsewhere does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::server_key::{random_bytes, KEY_LEN};

const NONCE_LEN: usize = 24;

/// A sealed value did not open: it was altered, or sealed under another key or for
/// another place.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("sealed value does not open")]
pub struct Unsealable;

/// A key that seals and opens values.
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; KEY_LEN]) -> Sealer {
        Sealer(XChaCha20Poly1305::new(key.into()))
    }

    /// `nonce || ciphertext || tag`.
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> std::io::Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = random_bytes()?;
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: associated })
            .map_err(|_| std::io::Error::other("encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], associated: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: associated })
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_place() {
        let sealer = Sealer::new(&[1; KEY_LEN]);
        let sealed = sealer.seal(b"secret", b"AKIA1").unwrap();
        assert_eq!(sealer.open(&sealed, b"AKIA1").unwrap(), b"secret");
        assert_eq!(sealer.open(&sealed, b"AKIA2"), Err(Unsealable));
        assert_eq!(Sealer::new(&[2; KEY_LEN]).open(&sealed, b"AKIA1"), Err(Unsealable));
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open(&altered, b"AKIA1"), Err(Unsealable));
        assert_eq!(sealer.open(b"short", b"AKIA1"), Err(Unsealable));
        assert_ne!(sealer.seal(b"secret", b"AKIA1").unwrap(), sealed, "nonces are random");
    }
}
