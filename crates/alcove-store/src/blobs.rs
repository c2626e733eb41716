//! Content-addressed code packages.
//!
//! `code/<sha256-hex>.zip` holds the package exactly as uploaded (served back by
//! `GetFunction`), `code/<sha256-hex>/` its unpacked tree, the task root of every
//! environment running that code. Both are written under a temporary name and renamed into
//! place, so a crash never leaves a half-written package under its final name. On a
//! shared (PostgreSQL) store this directory is the node's cache of the cluster's packages
//! (see `shared_code`): a stored package is written there too, and a package this node
//! lacks is fetched before an environment needs its tree.
//!
//! Packages are untrusted: entries that would land outside the tree (absolute paths, `..`,
//! symlinks pointing out) are refused, and the unpacked size is counted while extracting,
//! not taken from the headers, so a zip bomb stops at the limit. Symlinks are created only
//! after every file is written (so no write ever goes through one) and each is resolved
//! through the package's other links, the way the kernel would follow them: two links that
//! are harmless one by one (`here -> .`, `out -> here/..`) cannot chain their way out.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Cursor, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use alcove_core::{CodeRef, Error, Result, LIMITS};
use alcove_sql::Location;
use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::shared_code::SharedPackages;

/// A file-system failure of ours, naming what was being done and to which path.
fn at(doing: &str, path: &Path, error: io::Error) -> Error {
    Error::caused(format!("{doing} {}", path.display()), error)
}

const UNZIP_FAILED: &str = "Could not unzip uploaded file. Please check your file, then try to upload again.";

#[derive(Clone)]
pub struct CodeStore {
    root: PathBuf,
    /// The cluster's packages, on a shared store.
    shared: Option<SharedPackages>,
    /// Digests whose tree this node has: the warm path finds its package without a syscall.
    present: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for CodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeStore").field("root", &self.root).field("shared", &self.shared.is_some()).finish()
    }
}

impl CodeStore {
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(CodeStore { root, shared: None, present: Arc::default() })
    }

    /// Shares packages through the store at `location` when it is shared (PostgreSQL);
    /// a local store keeps them in this directory alone.
    pub async fn share(mut self, location: &Location) -> Result<Self> {
        self.shared = SharedPackages::open(location).await?;
        Ok(self)
    }

    /// The unpacked tree of a package, fetched first from the shared store if this node
    /// does not have it yet. Without a shared store this is [`CodeStore::task_root`].
    pub async fn local_task_root(&self, sha256_hex: &str) -> Result<PathBuf> {
        let tree = self.task_root(sha256_hex);
        let Some(shared) = &self.shared else { return Ok(tree) };
        if self.is_present(sha256_hex) {
            return Ok(tree);
        }
        if !tree.is_dir() {
            let zip = shared.fetch(sha256_hex).await?.ok_or_else(|| {
                Error::internal(format!(
                    "code package {sha256_hex} is on no node and not in the shared store"
                ))
            })?;
            let store = self.clone();
            tokio::task::spawn_blocking(move || store.put_local(&zip))
                .await
                .map_err(|e| Error::caused("unpacking a fetched code package", e))??;
            tracing::info!(sha256 = sha256_hex, "code package fetched from the shared store");
        }
        self.present.lock().unwrap_or_else(|p| p.into_inner()).insert(sha256_hex.to_owned());
        Ok(tree)
    }

    fn is_present(&self, sha256_hex: &str) -> bool {
        self.present.lock().unwrap_or_else(|p| p.into_inner()).contains(sha256_hex)
    }

    /// The package bytes, fetched first from the shared store if this node lacks them.
    pub async fn read_zip_anywhere(&self, sha256_hex: &str) -> Result<Option<Vec<u8>>> {
        let store = self.clone();
        let digest = sha256_hex.to_owned();
        let local = tokio::task::spawn_blocking(move || store.read_zip(&digest))
            .await
            .map_err(|e| Error::caused("reading a code package", e))?
            .map_err(|e| Error::caused("reading a code package", e))?;
        match (local, &self.shared) {
            (Some(zip), _) => Ok(Some(zip)),
            (None, Some(shared)) if is_digest(sha256_hex) => shared.fetch(sha256_hex).await,
            (None, _) => Ok(None),
        }
    }

    /// Validates, stores and unpacks a zip, returning its reference; on a shared store the
    /// package is written there too before this returns. Storing the same bytes twice is a
    /// no-op the second time. Runs on a plain thread (it blocks).
    pub fn put(&self, zip: &[u8]) -> Result<CodeRef> {
        let code = self.put_local(zip)?;
        if let Some(shared) = &self.shared {
            shared.store_blocking(&code.sha256_hex, zip)?;
        }
        Ok(code)
    }

    fn put_local(&self, zip: &[u8]) -> Result<CodeRef> {
        if zip.len() as u64 > LIMITS.code_size_zipped {
            return Err(Error::TooLarge(format!(
                "Zipped size must be smaller than {} bytes",
                LIMITS.code_size_zipped
            )));
        }
        let sha256_hex = hex::encode(Sha256::digest(zip));
        let code = CodeRef { sha256_hex, size: zip.len() as u64 };
        let tree = self.task_root(&code.sha256_hex);
        if !tree.is_dir() {
            let staging = tempfile::TempDir::with_prefix_in(".unpack-", &self.root)
                .map_err(|e| at("creating a directory in", &self.root, e))?;
            unpack(zip, staging.path())?;
            fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))
                .map_err(|e| at("setting the mode of", staging.path(), e))?;
            match fs::rename(staging.path(), &tree) {
                Ok(()) => std::mem::forget(staging),
                // Another request unpacked the same package first; ours is dropped.
                Err(_) if tree.is_dir() => {}
                Err(e) => return Err(at("moving the unpacked package to", &tree, e)),
            }
        }
        let zip_path = self.zip_path(&code.sha256_hex);
        if !zip_path.is_file() {
            let mut file = tempfile::NamedTempFile::with_prefix_in(".upload-", &self.root)
                .map_err(|e| at("creating a file in", &self.root, e))?;
            file.write_all(zip)
                .and_then(|_| file.as_file().sync_all())
                .map_err(|e| at("writing", file.path(), e))?;
            file.persist(&zip_path).map_err(|e| at("storing", &zip_path, e.error))?;
        }
        Ok(code)
    }

    pub fn zip_path(&self, sha256_hex: &str) -> PathBuf {
        self.root.join(format!("{sha256_hex}.zip"))
    }

    /// The unpacked tree of a package: what an environment sees as `/var/task`.
    pub fn task_root(&self, sha256_hex: &str) -> PathBuf {
        self.root.join(sha256_hex)
    }

    /// The package bytes, if stored. `sha256_hex` must be a digest, never a path.
    pub fn read_zip(&self, sha256_hex: &str) -> io::Result<Option<Vec<u8>>> {
        if !is_digest(sha256_hex) {
            return Ok(None);
        }
        match fs::read(self.zip_path(sha256_hex)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Whether `text` is a SHA-256 digest in hex (and so never a path).
fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
}

fn unpack(zip: &[u8], dest: &Path) -> Result<()> {
    let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(|_| Error::invalid(UNZIP_FAILED))?;
    let too_big =
        || Error::invalid(format!("Unzipped size must be smaller than {} bytes", LIMITS.code_size_unzipped));
    let declared: u64 = (0..archive.len())
        .filter_map(|i| archive.by_index_raw(i).ok().map(|e| e.size()))
        .fold(0u64, u64::saturating_add);
    if declared > LIMITS.code_size_unzipped {
        return Err(too_big());
    }
    let mut budget = LIMITS.code_size_unzipped;
    let mut links: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|_| Error::invalid(UNZIP_FAILED))?;
        let raw_name = entry.name().to_owned();
        let relative = entry
            .enclosed_name()
            .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
            .ok_or_else(|| {
                Error::invalid(format!(
                "Could not unzip uploaded file: entry '{raw_name}' has an absolute path or a '..' component."
            ))
            })?;
        let target = dest.join(&relative);
        if entry.is_dir() {
            fs::create_dir_all(&target).map_err(|e| at("creating", &target, e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| at("creating", parent, e))?;
        }
        if entry.is_symlink() {
            let mut link = String::new();
            entry.read_to_string(&mut link).map_err(|_| Error::invalid(UNZIP_FAILED))?;
            links.push((relative, PathBuf::from(link), raw_name));
            continue;
        }
        let mut out = fs::OpenOptions::new().write(true).create_new(true).open(&target).map_err(|_| {
            Error::invalid(format!("Could not unzip uploaded file: duplicate entry '{raw_name}'."))
        })?;
        let written = io::copy(&mut (&mut entry).take(budget + 1), &mut out)
            .map_err(|_| Error::invalid(UNZIP_FAILED))?;
        if written > budget {
            return Err(too_big());
        }
        budget -= written;
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .map_err(|e| at("setting the mode of", &target, e))?;
    }
    let targets: HashMap<PathBuf, PathBuf> =
        links.iter().map(|(at, to, _)| (at.clone(), to.clone())).collect();
    for (relative, link, raw_name) in &links {
        if !symlink_stays_inside(&targets, relative) {
            return Err(Error::invalid(format!(
                "Could not unzip uploaded file: symbolic link '{raw_name}' points outside the package."
            )));
        }
        let target = dest.join(relative);
        std::os::unix::fs::symlink(link, &target).map_err(|_| {
            Error::invalid(format!("Could not unzip uploaded file: duplicate entry '{raw_name}'."))
        })?;
    }
    Ok(())
}

/// Links the resolver follows before calling a chain a loop, as the kernel's ELOOP limit.
const MAX_LINK_HOPS: usize = 40;

/// Whether the link at `link_path` (relative to the package root) resolves to a place
/// inside the package, following the package's other links (`links`: path → target) the
/// way path resolution would. Only links can make a path leave the tree: every other entry
/// is a plain file or directory.
fn symlink_stays_inside(links: &HashMap<PathBuf, PathBuf>, link_path: &Path) -> bool {
    let Some(first) = links.get(link_path) else { return false };
    let mut resolved: Vec<OsString> = match link_path.parent() {
        Some(parent) => parent.components().map(|c| c.as_os_str().to_owned()).collect(),
        None => Vec::new(),
    };
    let mut pending: VecDeque<Component> = first.components().collect();
    let mut hops = 0;
    while let Some(component) = pending.pop_front() {
        match component {
            Component::Normal(name) => {
                resolved.push(name.to_owned());
                let here: PathBuf = resolved.iter().collect();
                if let Some(target) = links.get(&here) {
                    hops += 1;
                    if hops > MAX_LINK_HOPS {
                        return false;
                    }
                    resolved.pop();
                    for next in target.components().rev() {
                        pending.push_front(next);
                    }
                }
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if resolved.pop().is_none() {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn build(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body, mode) in entries {
            writer.start_file(*name, SimpleFileOptions::default().unix_permissions(*mode)).unwrap();
            writer.write_all(body).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn stores_unpacks_and_keeps_modes() {
        let dir = tempfile::tempdir().unwrap();
        let store = CodeStore::open(dir.path()).unwrap();
        let zip = build(&[("bootstrap", b"#!/bin/sh\n", 0o755), ("lib/data.txt", b"hello", 0o644)]);
        let code = store.put(&zip).unwrap();
        assert_eq!(code.size, zip.len() as u64);
        let root = store.task_root(&code.sha256_hex);
        assert_eq!(fs::read(root.join("lib/data.txt")).unwrap(), b"hello");
        let mode = fs::metadata(root.join("bootstrap")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(store.read_zip(&code.sha256_hex).unwrap().unwrap(), zip);
        // Idempotent.
        assert_eq!(store.put(&zip).unwrap(), code);
    }

    #[test]
    fn refuses_garbage_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let store = CodeStore::open(dir.path()).unwrap();
        assert!(store.put(b"not a zip").unwrap_err().to_string().contains("Could not unzip"));
        let zip = build(&[("ok.txt", b"x", 0o644)]);
        assert!(store.put(&zip[..zip.len() - 10]).is_err());
        for evil in ["../evil", "/etc/evil", "a/../../evil"] {
            let err = store.put(&build(&[(evil, b"x", 0o644)])).unwrap_err();
            assert!(matches!(err, Error::InvalidParameter(_)), "{evil}: {err}");
        }
        assert!(!dir.path().join("../evil").exists());
    }

    #[test]
    fn symlinks_must_stay_inside() {
        let inside = |links: &[(&str, &str)], which: &str| {
            let map = links.iter().map(|(at, to)| (PathBuf::from(at), PathBuf::from(to))).collect();
            symlink_stays_inside(&map, Path::new(which))
        };
        assert!(inside(&[("a/link", "../b")], "a/link"));
        assert!(inside(&[("link", "./b/c")], "link"));
        assert!(!inside(&[("link", "../etc/passwd")], "link"));
        assert!(!inside(&[("a/link", "/etc/passwd")], "a/link"));
        // Each harmless alone, out together.
        assert!(!inside(&[("here", "."), ("out", "here/..")], "out"));
        assert!(!inside(&[("lib/root", ".."), ("out", "lib/root/..")], "out"));
        assert!(inside(&[("lib/root", ".."), ("out", "lib/root/lib")], "out"));
        // Loops are refused rather than followed forever.
        assert!(!inside(&[("a", "b"), ("b", "a")], "a"));
    }

    #[test]
    fn never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let store = CodeStore::open(dir.path().join("code")).unwrap();
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer.add_symlink("here", ".", SimpleFileOptions::default()).unwrap();
        writer.add_symlink("out", "here/..", SimpleFileOptions::default()).unwrap();
        writer.start_file("out/planted", SimpleFileOptions::default()).unwrap();
        writer.write_all(b"x").unwrap();
        let zip = writer.finish().unwrap().into_inner();
        assert!(store.put(&zip).is_err());
        assert!(!dir.path().join("code/planted").exists());
        assert!(!dir.path().join("planted").exists());
    }

    #[test]
    fn refuses_oversized_and_bad_digests() {
        let dir = tempfile::tempdir().unwrap();
        let store = CodeStore::open(dir.path()).unwrap();
        let huge = vec![0u8; (LIMITS.code_size_zipped + 1) as usize];
        assert!(matches!(store.put(&huge), Err(Error::TooLarge(_))));
        assert_eq!(store.read_zip("../../etc/passwd").unwrap(), None);
    }
}

/// Packages shared through PostgreSQL (runs when `ALCOVE_TEST_POSTGRES` names a server).
#[cfg(test)]
mod shared_tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    fn package(body: &[u8]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer.start_file("app.py", SimpleFileOptions::default()).unwrap();
        writer.write_all(body).unwrap();
        writer.finish().unwrap().into_inner()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_package_stored_on_one_node_is_fetched_by_another() {
        let Ok(url) = std::env::var(alcove_sql::TEST_POSTGRES) else { return };
        let location = alcove_sql::scratch_database(&url).await.unwrap();
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = CodeStore::open(one.path()).unwrap().share(&location).await.unwrap();
        let second = CodeStore::open(two.path()).unwrap().share(&location).await.unwrap();

        // Larger than one chunk, so it is stored in several; random bytes do not compress.
        let noise: Vec<u8> = (0..3 * crate::shared_code::CHUNK_BYTES as u64)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let zip = package(&noise);
        let writer = first.clone();
        let stored = {
            let zip = zip.clone();
            tokio::task::spawn_blocking(move || writer.put(&zip)).await.unwrap().unwrap()
        };
        // Storing it again (another node uploading the same bytes) changes nothing.
        let writer = first.clone();
        let again = {
            let zip = zip.clone();
            tokio::task::spawn_blocking(move || writer.put(&zip)).await.unwrap().unwrap()
        };
        assert_eq!(again, stored);

        assert!(!second.task_root(&stored.sha256_hex).exists());
        let tree = second.local_task_root(&stored.sha256_hex).await.unwrap();
        assert_eq!(fs::read(tree.join("app.py")).unwrap(), noise);
        assert_eq!(second.read_zip_anywhere(&stored.sha256_hex).await.unwrap().unwrap(), zip);

        let missing = "ab".repeat(32);
        let error = second.local_task_root(&missing).await.unwrap_err();
        assert!(error.chain().contains("not in the shared store"), "{}", error.chain());
        assert_eq!(second.read_zip_anywhere(&missing).await.unwrap(), None);
        assert_eq!(second.read_zip_anywhere("../../etc/passwd").await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_damaged_package_is_refused() {
        let Ok(url) = std::env::var(alcove_sql::TEST_POSTGRES) else { return };
        let location = alcove_sql::scratch_database(&url).await.unwrap();
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = CodeStore::open(one.path()).unwrap().share(&location).await.unwrap();
        let second = CodeStore::open(two.path()).unwrap().share(&location).await.unwrap();
        let zip = package(b"def handler(e, c):\n    return 1\n");
        let stored = tokio::task::spawn_blocking(move || first.put(&zip)).await.unwrap().unwrap();

        let Location::Postgres(url) = &location else { unreachable!() };
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.execute("UPDATE code.chunks SET data = '\\x00'::bytea WHERE idx = 0", &[]).await.unwrap();

        let error = second.local_task_root(&stored.sha256_hex).await.unwrap_err();
        assert!(error.chain().contains("does not match its digest"), "{}", error.chain());
        assert!(!second.task_root(&stored.sha256_hex).exists(), "a damaged package was unpacked");
    }
}
