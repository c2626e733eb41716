//! Multipart uploads: parts are received into `parts/<upload id>/<number>` and kept
//! until the upload is completed (concatenated, in the order the client lists them, into
//! one object) or aborted. The completed object's ETag is S3's: the MD5 of the parts'
//! binary MD5s, a hyphen, and the number of parts.

use std::io::Read;

use md5::{Digest, Md5};
use rusqlite::{params, OptionalExtension};

use crate::error::{S3Error, S3Result};
use crate::model::{from_ms, ObjectHeaders, ObjectInfo, PartInfo};
use crate::names::check_key;
use crate::staging::{install, Staged};
use crate::store::{bucket_in, ObjectStore};

/// Part numbers run from 1 to this.
pub const MAX_PART_NUMBER: u32 = 10_000;
/// Every part but the last must be at least this large.
pub const MIN_PART_BYTES: u64 = 5 << 20;

struct Upload {
    headers: ObjectHeaders,
}

impl ObjectStore {
    /// Starts an upload of `bucket/key`; the headers are the finished object's.
    pub fn create_upload(&self, bucket: &str, key: &str, headers: ObjectHeaders) -> S3Result<String> {
        check_key(key)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let conn = self.conn();
        bucket_in(&conn, bucket)?;
        conn.execute(
            "INSERT INTO uploads (id, bucket, key, created_ms, headers) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                bucket,
                key,
                chrono::Utc::now().timestamp_millis(),
                serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into())
            ],
        )?;
        drop(conn);
        std::fs::create_dir_all(self.root().join("parts").join(&id))?;
        Ok(id)
    }

    fn upload(&self, bucket: &str, key: &str, id: &str) -> S3Result<Upload> {
        let conn = self.conn();
        bucket_in(&conn, bucket)?;
        let headers: Option<String> = conn
            .query_row(
                "SELECT headers FROM uploads WHERE id = ?1 AND bucket = ?2 AND key = ?3",
                params![id, bucket, key],
                |row| row.get(0),
            )
            .optional()?;
        let headers = headers.ok_or_else(|| S3Error::NoSuchUpload { upload_id: id.to_owned() })?;
        Ok(Upload { headers: serde_json::from_str(&headers).unwrap_or_default() })
    }

    /// Stores part `number` of an upload (replacing an earlier one of that number) and
    /// answers its ETag.
    pub fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        number: u32,
        body: Staged,
    ) -> S3Result<String> {
        if !(1..=MAX_PART_NUMBER).contains(&number) {
            body.discard();
            return Err(S3Error::InvalidArgument(format!(
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
            )));
        }
        if let Err(error) = self.upload(bucket, key, id) {
            body.discard();
            return Err(error);
        }
        let etag = body.md5_hex();
        let size = body.size;
        install(&body.path, &self.root().join("parts").join(id).join(number.to_string()))?;
        self.conn().execute(
            "INSERT OR REPLACE INTO parts (upload_id, number, size, md5, modified_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, number, size as i64, etag, chrono::Utc::now().timestamp_millis()],
        )?;
        Ok(etag)
    }

    /// The parts received so far, by number.
    pub fn list_parts(&self, bucket: &str, key: &str, id: &str) -> S3Result<Vec<PartInfo>> {
        self.upload(bucket, key, id)?;
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT number, size, md5, modified_ms FROM parts WHERE upload_id = ?1 ORDER BY number",
        )?;
        let parts = statement.query_map([id], |row| {
            Ok(PartInfo {
                number: row.get(0)?,
                size: row.get::<_, i64>(1)? as u64,
                etag: row.get(2)?,
                last_modified: from_ms(row.get(3)?),
            })
        })?;
        Ok(parts.collect::<Result<_, _>>()?)
    }

    /// Joins the listed parts (number, ETag as the client has it) into the object.
    pub fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        chosen: &[(u32, String)],
    ) -> S3Result<ObjectInfo> {
        let upload = self.upload(bucket, key, id)?;
        if chosen.is_empty() {
            return Err(S3Error::InvalidArgument("You must specify at least one part".into()));
        }
        if chosen.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(S3Error::InvalidPartOrder);
        }
        let received = self.list_parts(bucket, key, id)?;
        let mut parts = Vec::with_capacity(chosen.len());
        for (number, etag) in chosen {
            let part = received
                .iter()
                .find(|p| p.number == *number && p.etag == etag.trim_matches('"'))
                .ok_or(S3Error::InvalidPart)?;
            parts.push(part);
        }
        if parts[..parts.len() - 1].iter().any(|p| p.size < MIN_PART_BYTES) {
            return Err(S3Error::EntityTooSmall);
        }
        let dir = self.root().join("parts").join(id);
        let mut staging = self.staging()?;
        let mut whole = Md5::new();
        let mut buffer = vec![0; 1 << 20];
        for part in &parts {
            whole.update(hex::decode(&part.etag).unwrap_or_default());
            let mut file = std::fs::File::open(dir.join(part.number.to_string()))?;
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                staging.write(&buffer[..n])?;
            }
        }
        let staged = staging.finish()?;
        let etag = format!("{}-{}", hex::encode(whole.finalize()), parts.len());
        // The upload may have been completed or aborted while the parts were joined.
        if let Err(error) = self.upload(bucket, key, id) {
            staged.discard();
            return Err(error);
        }
        let info = self.install_object(bucket, key, staged, etag, upload.headers)?;
        self.forget_upload(id)?;
        Ok(info)
    }

    /// Drops an upload and its parts.
    pub fn abort_upload(&self, bucket: &str, key: &str, id: &str) -> S3Result<()> {
        self.upload(bucket, key, id)?;
        self.forget_upload(id)
    }

    fn forget_upload(&self, id: &str) -> S3Result<()> {
        {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM parts WHERE upload_id = ?1", [id])?;
            tx.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
            tx.commit()?;
        }
        let _ = std::fs::remove_dir_all(self.root().join("parts").join(id));
        Ok(())
    }
}
