//! ListObjectsV2: keys in UTF-8 byte order (SQLite's binary collation is the same order),
//! filtered by prefix, rolled up into common prefixes at the delimiter, one page at a
//! time. A page resumes after the last key or common prefix of the one before, which the
//! edge hands out as the continuation token.

use rusqlite::params;

use crate::error::S3Result;
use crate::model::{from_ms, ListPage, ListRequest, ObjectInfo};
use crate::store::{bucket_in, ObjectStore};

impl ObjectStore {
    pub fn list_objects(&self, bucket: &str, request: &ListRequest) -> S3Result<ListPage> {
        let conn = self.conn();
        bucket_in(&conn, bucket)?;
        let mut page = ListPage::default();
        if request.max_keys == 0 {
            return Ok(page);
        }
        let after = request.after.clone().unwrap_or_default();
        let mut statement = conn.prepare(
            "SELECT key, size, etag, modified_ms, headers FROM objects
             WHERE bucket = ?1 AND key > ?2 AND key >= ?3 ORDER BY key",
        )?;
        let mut rows = statement.query(params![bucket, after, request.prefix])?;
        let mut count = 0;
        let mut last: Option<String> = None;
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            if !key.starts_with(&request.prefix) {
                break;
            }
            let rest = &key[request.prefix.len()..];
            let rolled_up =
                request.delimiter.as_deref().filter(|d| !d.is_empty()).and_then(|d| {
                    rest.find(d).map(|at| format!("{}{}", request.prefix, &rest[..at + d.len()]))
                });
            if let Some(common) = &rolled_up {
                // Already listed, here or (as the token's last entry) on an earlier page.
                if page.common_prefixes.last() == Some(common) || common.as_str() <= after.as_str() {
                    continue;
                }
            }
            if count == request.max_keys {
                page.next_after = last;
                return Ok(page);
            }
            count += 1;
            match rolled_up {
                Some(common) => {
                    last = Some(common.clone());
                    page.common_prefixes.push(common);
                }
                None => {
                    let headers: String = row.get(4)?;
                    last = Some(key.clone());
                    page.objects.push(ObjectInfo {
                        key,
                        size: row.get::<_, i64>(1)? as u64,
                        etag: row.get(2)?,
                        last_modified: from_ms(row.get(3)?),
                        headers: serde_json::from_str(&headers).unwrap_or_default(),
                    });
                }
            }
        }
        Ok(page)
    }
}
