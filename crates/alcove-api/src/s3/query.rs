//! The query string of an S3 request. Its members choose the operation (`?uploads`,
//! `?list-type=2`, `?uploadId=...`), so a member no supported operation knows (`?acl`,
//! `?versioning`, ...) makes the request one Alcove does not implement, rather than being
//! mistaken for a plain GET or PUT.

/// Members any operation may carry without changing it: botocore's operation marker
/// (`x-id`), presigned-URL authentication and GetObject's response overrides.
fn is_neutral(name: &str) -> bool {
    name == "x-id" || name.to_ascii_lowercase().starts_with("x-amz-") || name.starts_with("response-")
}

pub struct Query {
    members: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let members = form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect();
        Query { members }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    pub fn has(&self, name: &str) -> bool {
        self.members.iter().any(|(n, _)| n == name)
    }

    /// Whether every member is one of `known` or neutral.
    pub fn only(&self, known: &[&str]) -> bool {
        self.members.iter().all(|(n, _)| is_neutral(n) || known.contains(&n.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subresources_are_told_from_neutral_members() {
        let q = Query::parse(Some("x-id=GetObject&response-content-type=text%2Fplain"));
        assert!(q.only(&[]));
        assert_eq!(q.get("response-content-type").as_deref(), Some("text/plain"));
        let q = Query::parse(Some("acl"));
        assert!(q.has("acl") && !q.only(&[]));
        assert!(Query::parse(Some("uploadId=u&partNumber=1")).only(&["uploadId", "partNumber"]));
    }
}
