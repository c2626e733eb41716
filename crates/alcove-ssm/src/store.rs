//! The store: put (a new version each time), get (latest or `name:version`), get by
//! path, describe, delete. One connection behind a mutex: parameter traffic is light
//! (a deploy reads a handful), so no reader pool is worth its complexity.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::names::{check_name, check_path, MAX_VALUE_BYTES};
use crate::{schema, SsmError};

/// Versions kept per parameter; a put beyond it drops the oldest, as Parameter Store does.
pub const MAX_VERSIONS: u64 = 100;
/// The most tags a parameter carries.
pub const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

impl ParameterType {
    pub fn parse(text: &str) -> Result<ParameterType, SsmError> {
        Ok(match text {
            "String" => ParameterType::String,
            "StringList" => ParameterType::StringList,
            "SecureString" => ParameterType::SecureString,
            other => {
                return Err(SsmError::Validation(format!(
                    "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]"
                )))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParameterType::String => "String",
            ParameterType::StringList => "StringList",
            ParameterType::SecureString => "SecureString",
        }
    }
}

/// One version of a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub parameter_type: ParameterType,
    pub value: String,
    pub version: u64,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    pub data_type: String,
    pub modified_ms: i64,
    /// The `name:version` selector it was asked for by, if any.
    pub selector: Option<String>,
}

impl Parameter {
    /// The value as a read without decryption sees it: a `SecureString` comes back as an
    /// opaque base64 blob (on AWS, the KMS ciphertext), anything else as stored.
    pub fn value_seen(&self, with_decryption: bool) -> String {
        if self.parameter_type == ParameterType::SecureString && !with_decryption {
            base64::engine::general_purpose::STANDARD.encode(self.value.as_bytes())
        } else {
            self.value.clone()
        }
    }
}

/// What PutParameter writes.
#[derive(Debug, Clone, Default)]
pub struct PutInput {
    pub name: String,
    pub value: String,
    /// `None`: keep the current type on overwrite (`String` for a new parameter).
    pub parameter_type: Option<ParameterType>,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    pub data_type: Option<String>,
    pub overwrite: bool,
    /// Tags of a new parameter (PutParameter refuses them with an overwrite).
    pub tags: BTreeMap<String, String>,
}

/// A DescribeParameters filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterKey {
    Name,
    Type,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: FilterKey,
    /// `Equals` or `BeginsWith` (only `Equals` for `Type`).
    pub begins_with: bool,
    pub values: Vec<String>,
}

/// One page of parameters and the token of the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub parameters: Vec<Parameter>,
    pub next_token: Option<String>,
}

#[derive(Clone)]
pub struct ParameterStore {
    conn: Arc<Mutex<Connection>>,
}

const COLUMNS: &str = "name, version, type, value, description, allowed_pattern, data_type, modified_ms";
/// The latest version of each parameter.
const LATEST: &str =
    "FROM parameter_versions p WHERE version = (SELECT MAX(version) FROM parameter_versions WHERE name = p.name)";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn row(row: &Row<'_>) -> rusqlite::Result<Parameter> {
    let type_text: String = row.get(2)?;
    Ok(Parameter {
        name: row.get(0)?,
        version: row.get::<_, i64>(1)? as u64,
        parameter_type: ParameterType::parse(&type_text).unwrap_or(ParameterType::String),
        value: row.get(3)?,
        description: row.get(4)?,
        allowed_pattern: row.get(5)?,
        data_type: row.get(6)?,
        modified_ms: row.get(7)?,
        selector: None,
    })
}

fn encode_token(name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name.as_bytes())
}

fn decode_token(token: &str) -> Result<String, SsmError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| SsmError::InvalidNextToken)?;
    String::from_utf8(bytes).map_err(|_| SsmError::InvalidNextToken)
}

/// Splits `name:version` (a label selector is not supported: it is looked up as a name).
fn selector(name: &str) -> (&str, Option<u64>) {
    match name.rsplit_once(':') {
        Some((base, version)) if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) => {
            (base, version.parse().ok())
        }
        _ => (name, None),
    }
}

fn check_value(input: &PutInput, pattern: Option<&str>) -> Result<(), SsmError> {
    if input.value.is_empty() {
        return Err(SsmError::Validation(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ));
    }
    if input.value.len() > MAX_VALUE_BYTES {
        return Err(SsmError::Validation(
            "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html".into(),
        ));
    }
    if let Some(description) = &input.description {
        if description.chars().count() > 1024 {
            return Err(SsmError::Validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1024".into(),
            ));
        }
    }
    if let Some(pattern) = pattern {
        let whole = fancy_regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|_| SsmError::InvalidAllowedPattern(pattern.to_owned()))?;
        if !whole.is_match(&input.value).unwrap_or(false) {
            return Err(SsmError::PatternMismatch(pattern.to_owned()));
        }
    }
    match input.data_type.as_deref() {
        None | Some("text") => Ok(()),
        Some(other) => Err(SsmError::Validation(format!(
            "The following data type is not supported: {other} (Data type names are all lowercase.)"
        ))),
    }
}

impl ParameterStore {
    /// Opens (creating) `dir/parameters.db`.
    pub fn open(dir: &Path) -> Result<ParameterStore, SsmError> {
        std::fs::create_dir_all(dir)?;
        let conn = schema::open(&dir.join("parameters.db"))?;
        Ok(ParameterStore { conn: Arc::new(Mutex::new(conn)) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn latest(conn: &Connection, name: &str) -> Result<Option<Parameter>, SsmError> {
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM parameter_versions WHERE name = ?1 ORDER BY version DESC LIMIT 1"
                ),
                [name],
                row,
            )
            .optional()?)
    }

    /// PutParameter: the new version's number.
    pub fn put(&self, input: &PutInput) -> Result<u64, SsmError> {
        check_name(&input.name)?;
        if let Some(pattern) = &input.allowed_pattern {
            if pattern.chars().count() > 1024 {
                return Err(SsmError::Validation(
                    "1 validation error detected: Value at 'allowedPattern' failed to satisfy constraint: Member must have length less than or equal to 1024".into(),
                ));
            }
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current = Self::latest(&tx, &input.name)?;
        if current.is_some() && !input.overwrite {
            return Err(SsmError::AlreadyExists);
        }
        // An overwrite keeps what it does not restate, as Parameter Store does.
        let pattern = input.allowed_pattern.clone().or_else(|| current.as_ref()?.allowed_pattern.clone());
        check_value(input, pattern.as_deref())?;
        let version = current.as_ref().map(|c| c.version).unwrap_or(0) + 1;
        let parameter_type = input
            .parameter_type
            .or(current.as_ref().map(|c| c.parameter_type))
            .unwrap_or(ParameterType::String);
        let description = input.description.clone().or_else(|| current.as_ref()?.description.clone());
        tx.execute(
            &format!("INSERT INTO parameter_versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                input.name,
                version as i64,
                parameter_type.as_str(),
                input.value,
                description,
                pattern,
                input.data_type.as_deref().unwrap_or("text"),
                now_ms()
            ],
        )?;
        if current.is_none() {
            Self::write_tags(&tx, &input.name, &input.tags)?;
        }
        tx.execute(
            "DELETE FROM parameter_versions WHERE name = ?1 AND version <= ?2",
            params![input.name, version as i64 - MAX_VERSIONS as i64],
        )?;
        tx.commit()?;
        Ok(version)
    }

    /// GetParameter: `name` or `name:version`.
    pub fn get(&self, name: &str) -> Result<Parameter, SsmError> {
        let (base, version) = selector(name);
        let conn = self.conn();
        match version {
            None => Self::latest(&conn, base)?.ok_or(SsmError::NotFound),
            Some(version) => {
                let found = conn
                    .query_row(
                        &format!("SELECT {COLUMNS} FROM parameter_versions WHERE name = ?1 AND version = ?2"),
                        params![base, version as i64],
                        row,
                    )
                    .optional()?;
                match found {
                    Some(mut parameter) => {
                        parameter.selector = Some(format!(":{version}"));
                        Ok(parameter)
                    }
                    None if Self::latest(&conn, base)?.is_none() => Err(SsmError::NotFound),
                    None => Err(SsmError::VersionNotFound { name: base.to_owned(), version }),
                }
            }
        }
    }

    /// GetParameters: the ones found, and the names not found.
    pub fn get_many(&self, names: &[String]) -> Result<(Vec<Parameter>, Vec<String>), SsmError> {
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        for name in names {
            match self.get(name) {
                Ok(parameter) => found.push(parameter),
                Err(SsmError::NotFound | SsmError::VersionNotFound { .. }) => invalid.push(name.clone()),
                Err(other) => return Err(other),
            }
        }
        Ok((found, invalid))
    }

    /// GetParametersByPath: parameters under `path` (one level, or all below with
    /// `recursive`), by name, `max` per page.
    pub fn by_path(
        &self,
        path: &str,
        recursive: bool,
        max: usize,
        token: Option<&str>,
    ) -> Result<Page, SsmError> {
        check_path(path)?;
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let depth = prefix.matches('/').count();
        let keep = |p: &Parameter| {
            p.name.starts_with(&prefix) && (recursive || p.name.matches('/').count() == depth)
        };
        self.page(keep, max, token)
    }

    /// DescribeParameters: the latest version of each parameter the filters keep.
    pub fn describe(&self, filters: &[Filter], max: usize, token: Option<&str>) -> Result<Page, SsmError> {
        let keep = |p: &Parameter| {
            filters.iter().all(|filter| {
                let field = match filter.key {
                    FilterKey::Name => p.name.as_str(),
                    FilterKey::Type => p.parameter_type.as_str(),
                };
                filter.values.iter().any(|v| {
                    if filter.begins_with {
                        field.starts_with(v.as_str())
                    } else {
                        field == v
                    }
                })
            })
        };
        self.page(keep, max, token)
    }

    fn page(
        &self,
        keep: impl Fn(&Parameter) -> bool,
        max: usize,
        token: Option<&str>,
    ) -> Result<Page, SsmError> {
        let after = token.map(decode_token).transpose()?.unwrap_or_default();
        let conn = self.conn();
        let mut statement =
            conn.prepare(&format!("SELECT {COLUMNS} {LATEST} AND name > ?1 ORDER BY name"))?;
        let mut parameters = Vec::new();
        let mut next_token = None;
        for parameter in statement.query_map([after], row)? {
            let parameter = parameter?;
            if !keep(&parameter) {
                continue;
            }
            if parameters.len() == max {
                next_token = parameters.last().map(|p: &Parameter| encode_token(&p.name));
                break;
            }
            parameters.push(parameter);
        }
        Ok(Page { parameters, next_token })
    }

    /// DeleteParameter: every version goes, and its tags.
    pub fn delete(&self, name: &str) -> Result<(), SsmError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let deleted = tx.execute("DELETE FROM parameter_versions WHERE name = ?1", [name])?;
        if deleted == 0 {
            return Err(SsmError::NotFound);
        }
        tx.execute("DELETE FROM parameter_tags WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(())
    }

    /// Adds or replaces tags, keeping the total within [`MAX_TAGS`].
    fn write_tags(tx: &Connection, name: &str, tags: &BTreeMap<String, String>) -> Result<(), SsmError> {
        for (key, value) in tags {
            tx.execute(
                "INSERT INTO parameter_tags (name, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                params![name, key, value],
            )?;
        }
        let count: i64 =
            tx.query_row("SELECT COUNT(*) FROM parameter_tags WHERE name = ?1", [name], |r| r.get(0))?;
        if count as usize > MAX_TAGS {
            return Err(SsmError::TooManyTags);
        }
        Ok(())
    }

    fn require(tx: &Connection, name: &str) -> Result<(), SsmError> {
        match Self::latest(tx, name)? {
            Some(_) => Ok(()),
            None => Err(SsmError::InvalidResourceId),
        }
    }

    /// AddTagsToResource: a tag with a key already there replaces its value.
    pub fn add_tags(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<(), SsmError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        Self::require(&tx, name)?;
        Self::write_tags(&tx, name, tags)?;
        tx.commit()?;
        Ok(())
    }

    /// RemoveTagsFromResource: keys not there are no error.
    pub fn remove_tags(&self, name: &str, keys: &[String]) -> Result<(), SsmError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        Self::require(&tx, name)?;
        for key in keys {
            tx.execute("DELETE FROM parameter_tags WHERE name = ?1 AND key = ?2", params![name, key])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// ListTagsForResource, by key.
    pub fn tags(&self, name: &str) -> Result<BTreeMap<String, String>, SsmError> {
        let conn = self.conn();
        Self::require(&conn, name)?;
        let mut statement =
            conn.prepare("SELECT key, value FROM parameter_tags WHERE name = ?1 ORDER BY key")?;
        let rows = statement.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ParameterStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ParameterStore::open(&dir.path().join("ssm")).unwrap();
        (dir, store)
    }

    fn put(store: &ParameterStore, name: &str, value: &str, overwrite: bool) -> Result<u64, SsmError> {
        store.put(&PutInput { name: name.into(), value: value.into(), overwrite, ..Default::default() })
    }

    #[test]
    fn tags_are_kept_added_removed_and_go_with_the_parameter() {
        let (_dir, store) = store();
        let tags = BTreeMap::from([("team".to_owned(), "blue".to_owned())]);
        let input = PutInput { name: "/t".into(), value: "v".into(), tags, ..Default::default() };
        store.put(&input).unwrap();
        assert_eq!(store.tags("/t").unwrap()["team"], "blue");
        store
            .add_tags("/t", &BTreeMap::from([("team".into(), "green".into()), ("tier".into(), "1".into())]))
            .unwrap();
        assert_eq!(store.tags("/t").unwrap().len(), 2);
        assert_eq!(store.tags("/t").unwrap()["team"], "green");
        store.remove_tags("/t", &["tier".into(), "absent".into()]).unwrap();
        assert_eq!(store.tags("/t").unwrap().keys().collect::<Vec<_>>(), ["team"]);
        let many: BTreeMap<String, String> = (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(matches!(store.add_tags("/t", &many), Err(SsmError::TooManyTags)));
        assert_eq!(store.tags("/t").unwrap().len(), 1, "a refused change writes nothing");
        assert!(matches!(store.add_tags("/missing", &many), Err(SsmError::InvalidResourceId)));
        store.delete("/t").unwrap();
        store.put(&PutInput { name: "/t".into(), value: "again".into(), ..Default::default() }).unwrap();
        assert!(store.tags("/t").unwrap().is_empty(), "a new parameter of the same name has none");
    }

    #[test]
    fn versions_and_overwrite() {
        let (_dir, store) = store();
        assert_eq!(put(&store, "/app/a", "1", false).unwrap(), 1);
        assert!(matches!(put(&store, "/app/a", "2", false), Err(SsmError::AlreadyExists)));
        assert_eq!(put(&store, "/app/a", "2", true).unwrap(), 2);
        let latest = store.get("/app/a").unwrap();
        assert_eq!(
            (latest.value.as_str(), latest.version, latest.parameter_type),
            ("2", 2, ParameterType::String)
        );
        let first = store.get("/app/a:1").unwrap();
        assert_eq!((first.value.as_str(), first.selector.as_deref()), ("1", Some(":1")));
        assert!(matches!(store.get("/app/a:9"), Err(SsmError::VersionNotFound { version: 9, .. })));
        assert!(matches!(store.get("/app/b"), Err(SsmError::NotFound)));
    }

    #[test]
    fn old_versions_are_dropped_past_the_limit() {
        let (_dir, store) = store();
        for i in 0..=MAX_VERSIONS {
            put(&store, "p", &i.to_string(), true).unwrap();
        }
        assert_eq!(store.get("p").unwrap().version, MAX_VERSIONS + 1);
        assert!(store.get("p:1").is_err());
        assert!(store.get("p:2").is_ok());
    }

    #[test]
    fn values_are_checked() {
        let (_dir, store) = store();
        assert!(matches!(put(&store, "p", "", false), Err(SsmError::Validation(_))));
        assert!(matches!(put(&store, "p", &"x".repeat(4097), false), Err(SsmError::Validation(_))));
        assert!(put(&store, "p", &"x".repeat(4096), false).is_ok());
        let patterned = PutInput {
            name: "q".into(),
            value: "abc".into(),
            allowed_pattern: Some("[0-9]+".into()),
            ..Default::default()
        };
        assert!(matches!(store.put(&patterned), Err(SsmError::PatternMismatch(_))));
        let bad_type = PutInput {
            data_type: Some("aws:ec2:image".into()),
            ..PutInput { value: "1".into(), ..patterned }
        };
        assert!(matches!(store.put(&bad_type), Err(SsmError::Validation(_))));
    }

    #[test]
    fn secure_strings_read_without_decryption_are_opaque() {
        let (_dir, store) = store();
        let input = PutInput {
            name: "s".into(),
            value: "secret".into(),
            parameter_type: Some(ParameterType::SecureString),
            ..Default::default()
        };
        store.put(&input).unwrap();
        let parameter = store.get("s").unwrap();
        assert_eq!(parameter.value_seen(true), "secret");
        assert_ne!(parameter.value_seen(false), "secret");
    }

    #[test]
    fn paths_pages_and_deletes() {
        let (_dir, store) = store();
        for name in ["/a/1", "/a/2", "/a/b/3", "/c/4", "top"] {
            put(&store, name, "v", false).unwrap();
        }
        let names = |page: &Page| page.parameters.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&store.by_path("/a", false, 10, None).unwrap()), ["/a/1", "/a/2"]);
        assert_eq!(names(&store.by_path("/a/", true, 10, None).unwrap()), ["/a/1", "/a/2", "/a/b/3"]);
        assert_eq!(names(&store.by_path("/", true, 10, None).unwrap()).len(), 4);
        let first = store.by_path("/a", true, 2, None).unwrap();
        assert_eq!(names(&first), ["/a/1", "/a/2"]);
        let second = store.by_path("/a", true, 2, first.next_token.as_deref()).unwrap();
        assert_eq!((names(&second), second.next_token), (vec!["/a/b/3".to_owned()], None));
        assert!(matches!(store.by_path("/a", true, 2, Some("!!")), Err(SsmError::InvalidNextToken)));
        let filter = Filter { key: FilterKey::Name, begins_with: true, values: vec!["/a/".into()] };
        assert_eq!(names(&store.describe(&[filter], 50, None).unwrap()).len(), 3);
        store.delete("/a/1").unwrap();
        assert!(matches!(store.delete("/a/1"), Err(SsmError::NotFound)));
        let (found, invalid) = store.get_many(&["/a/2".into(), "/a/1".into()]).unwrap();
        assert_eq!((found.len(), invalid), (1, vec!["/a/1".to_owned()]));
    }
}
