//! Buckets and single-part objects. One connection behind a mutex: S3 calls are short
//! metadata transactions (bodies are written before the lock is taken), and one writer
//! at a time is what SQLite allows anyway.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{S3Error, S3Result};
use crate::model::{from_ms, Bucket, ObjectHeaders, ObjectInfo};
use crate::names::{check_bucket_name, check_key};
use crate::schema;
use crate::staging::{install, Staged, Staging};

/// The object store; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct ObjectStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    conn: Mutex<Connection>,
}

impl ObjectStore {
    /// Opens (creating if need be) the store rooted at `root` (`<data>/s3`).
    pub fn open(root: &Path) -> S3Result<ObjectStore> {
        for dir in ["objects", "parts", "tmp"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        // Bodies of requests a crash interrupted.
        for entry in std::fs::read_dir(root.join("tmp"))? {
            let _ = std::fs::remove_file(entry?.path());
        }
        let conn = schema::open(&root.join("s3.db"))?;
        let store =
            ObjectStore { inner: Arc::new(Inner { root: root.to_path_buf(), conn: Mutex::new(conn) }) };
        store.remove_orphans()?;
        Ok(store)
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.inner.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(crate) fn object_path(&self, file: &str) -> PathBuf {
        self.inner.root.join("objects").join(file)
    }

    /// A new body to receive, for PutObject or UploadPart.
    pub fn staging(&self) -> S3Result<Staging> {
        Staging::create(&self.inner.root.join("tmp"))
    }

    /// Body files a crash left between their rename and their row's commit.
    fn remove_orphans(&self) -> S3Result<()> {
        let conn = self.conn();
        let mut known = conn.prepare("SELECT 1 FROM objects WHERE file = ?1")?;
        for entry in std::fs::read_dir(self.inner.root.join("objects"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !known.exists([&name])? {
                tracing::info!(file = %name, "removing an object body no object names");
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    pub fn create_bucket(&self, name: &str, region: &str) -> S3Result<Bucket> {
        check_bucket_name(name)?;
        let now = chrono::Utc::now();
        let conn = self.conn();
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO buckets (name, created_ms, region) VALUES (?1, ?2, ?3)",
            params![name, now.timestamp_millis(), region],
        )?;
        if inserted == 0 {
            return Err(S3Error::BucketAlreadyOwnedByYou { bucket: name.to_owned() });
        }
        Ok(Bucket {
            name: name.to_owned(),
            created: from_ms(now.timestamp_millis()),
            region: region.to_owned(),
        })
    }

    pub fn bucket(&self, name: &str) -> S3Result<Bucket> {
        bucket_in(&self.conn(), name)
    }

    /// Every bucket, by name.
    pub fn list_buckets(&self) -> S3Result<Vec<Bucket>> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT name, created_ms, region FROM buckets ORDER BY name")?;
        let rows = statement.query_map([], |row| {
            Ok(Bucket { name: row.get(0)?, created: from_ms(row.get(1)?), region: row.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes an empty bucket; its unfinished multipart uploads go with it.
    pub fn delete_bucket(&self, name: &str) -> S3Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        bucket_in(&tx, name)?;
        let has_objects = tx.prepare("SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1")?.exists([name])?;
        if has_objects {
            return Err(S3Error::BucketNotEmpty { bucket: name.to_owned() });
        }
        let uploads: Vec<String> = tx
            .prepare("SELECT id FROM uploads WHERE bucket = ?1")?
            .query_map([name], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &uploads {
            tx.execute("DELETE FROM parts WHERE upload_id = ?1", [id])?;
        }
        tx.execute("DELETE FROM uploads WHERE bucket = ?1", [name])?;
        tx.execute("DELETE FROM buckets WHERE name = ?1", [name])?;
        tx.commit()?;
        drop(conn);
        for id in uploads {
            let _ = std::fs::remove_dir_all(self.inner.root.join("parts").join(id));
        }
        Ok(())
    }

    /// Stores `body` as `bucket/key`, replacing any object there.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Staged,
        headers: ObjectHeaders,
    ) -> S3Result<ObjectInfo> {
        let etag = body.md5_hex();
        self.install_object(bucket, key, body, etag, headers)
    }

    /// Moves a staged body into place as `bucket/key` with `etag` and commits its row.
    pub(crate) fn install_object(
        &self,
        bucket: &str,
        key: &str,
        body: Staged,
        etag: String,
        headers: ObjectHeaders,
    ) -> S3Result<ObjectInfo> {
        if let Err(error) = check_key(key).and_then(|()| self.bucket(bucket).map(drop)) {
            body.discard();
            return Err(error);
        }
        let file = uuid::Uuid::new_v4().to_string();
        let size = body.size;
        install(&body.path, &self.object_path(&file))?;
        let now = chrono::Utc::now().timestamp_millis();
        let headers_json = serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into());
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let replaced = match bucket_in(&tx, bucket) {
            Ok(_) => tx
                .query_row(
                    "SELECT file FROM objects WHERE bucket = ?1 AND key = ?2",
                    params![bucket, key],
                    |row| row.get::<_, String>(0),
                )
                .optional()?,
            Err(error) => {
                // The bucket went while the body was written.
                let _ = std::fs::remove_file(self.object_path(&file));
                return Err(error);
            }
        };
        tx.execute(
            "INSERT OR REPLACE INTO objects (bucket, key, file, size, etag, modified_ms, headers)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![bucket, key, file, size as i64, etag, now, headers_json],
        )?;
        tx.commit()?;
        drop(conn);
        if let Some(old) = replaced {
            let _ = std::fs::remove_file(self.object_path(&old));
        }
        Ok(ObjectInfo { key: key.to_owned(), size, etag, last_modified: from_ms(now), headers })
    }

    /// An object's metadata.
    pub fn head_object(&self, bucket: &str, key: &str) -> S3Result<ObjectInfo> {
        self.find(bucket, key).map(|(info, _)| info)
    }

    /// An object's metadata and its body, opened: a later overwrite or delete does not
    /// change what this reader reads.
    pub fn get_object(&self, bucket: &str, key: &str) -> S3Result<(ObjectInfo, File)> {
        let (info, file) = self.find(bucket, key)?;
        Ok((info, File::open(self.object_path(&file))?))
    }

    /// A whole object in memory (a deployment package, a template).
    pub fn read_object(&self, bucket: &str, key: &str) -> S3Result<Vec<u8>> {
        let (_, file) = self.find(bucket, key)?;
        Ok(std::fs::read(self.object_path(&file))?)
    }

    fn find(&self, bucket: &str, key: &str) -> S3Result<(ObjectInfo, String)> {
        let conn = self.conn();
        bucket_in(&conn, bucket)?;
        conn.query_row(
            "SELECT size, etag, modified_ms, headers, file FROM objects WHERE bucket = ?1 AND key = ?2",
            params![bucket, key],
            |row| {
                let headers: String = row.get(3)?;
                Ok((
                    ObjectInfo {
                        key: key.to_owned(),
                        size: row.get::<_, i64>(0)? as u64,
                        etag: row.get(1)?,
                        last_modified: from_ms(row.get(2)?),
                        headers: serde_json::from_str(&headers).unwrap_or_default(),
                    },
                    row.get(4)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| S3Error::NoSuchKey { key: key.to_owned() })
    }

    /// Deletes an object; deleting one that is not there is no error, as in S3.
    pub fn delete_object(&self, bucket: &str, key: &str) -> S3Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        bucket_in(&tx, bucket)?;
        let file: Option<String> = tx
            .query_row(
                "SELECT file FROM objects WHERE bucket = ?1 AND key = ?2",
                params![bucket, key],
                |row| row.get(0),
            )
            .optional()?;
        tx.execute("DELETE FROM objects WHERE bucket = ?1 AND key = ?2", params![bucket, key])?;
        tx.commit()?;
        drop(conn);
        if let Some(file) = file {
            let _ = std::fs::remove_file(self.object_path(&file));
        }
        Ok(())
    }
}

pub(crate) fn bucket_in(conn: &Connection, name: &str) -> S3Result<Bucket> {
    conn.query_row("SELECT created_ms, region FROM buckets WHERE name = ?1", [name], |row| {
        Ok(Bucket { name: name.to_owned(), created: from_ms(row.get(0)?), region: row.get(1)? })
    })
    .optional()?
    .ok_or_else(|| S3Error::NoSuchBucket { bucket: name.to_owned() })
}
