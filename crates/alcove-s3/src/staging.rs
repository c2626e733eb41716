//! A body on its way in. Bytes are written to a temporary file as they arrive (never held
//! whole in memory) while their MD5 and size are counted; only a finished, synced file is
//! renamed into place, so a crash leaves either the old object or the new one, never half
//! of one. Temporary files left by a crash are removed when the store opens.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use crate::error::{S3Error, S3Result};

/// Largest object (and part) S3 accepts in one upload: 5 GiB.
pub const MAX_OBJECT_BYTES: u64 = 5 << 30;

/// A body being received.
pub struct Staging {
    file: File,
    path: PathBuf,
    md5: Md5,
    size: u64,
    done: bool,
}

/// A received body, synced to disk, not yet part of any object.
#[derive(Debug)]
pub struct Staged {
    pub(crate) path: PathBuf,
    pub md5: [u8; 16],
    pub size: u64,
}

impl Staging {
    pub(crate) fn create(dir: &Path) -> S3Result<Staging> {
        let path = dir.join(uuid::Uuid::new_v4().to_string());
        let file = File::create(&path)?;
        Ok(Staging { file, path, md5: Md5::new(), size: 0, done: false })
    }

    /// Appends bytes; refuses a body that grows past [`MAX_OBJECT_BYTES`].
    pub fn write(&mut self, bytes: &[u8]) -> S3Result<()> {
        self.size += bytes.len() as u64;
        if self.size > MAX_OBJECT_BYTES {
            return Err(S3Error::EntityTooLarge);
        }
        self.md5.update(bytes);
        self.file.write_all(bytes)?;
        Ok(())
    }

    /// Syncs the file; the body is now durable under a temporary name.
    pub fn finish(mut self) -> S3Result<Staged> {
        self.file.sync_all()?;
        self.done = true;
        let md5: [u8; 16] = std::mem::take(&mut self.md5).finalize().into();
        Ok(Staged { path: std::mem::take(&mut self.path), md5, size: self.size })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Staged {
    /// The body's MD5 as lowercase hex, the ETag of a single-part object.
    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }

    /// Throws the body away (a failed check after it was received).
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Renames `from` to `to` and syncs `to`'s directory, so the new name survives a crash.
pub(crate) fn install(from: &Path, to: &Path) -> S3Result<()> {
    std::fs::rename(from, to)?;
    if let Some(dir) = to.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}
