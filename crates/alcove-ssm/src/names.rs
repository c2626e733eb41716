//! Parameter names and values as Parameter Store checks them: a name is letters, digits
//! and `_.-`, optionally in a `/`-separated hierarchy of at most 15 levels (then it must
//! begin with `/`), never prefixed `aws` or `ssm`; a Standard-tier value is at most 4 KB.

use crate::SsmError;

/// Most levels a hierarchical name may have.
pub const MAX_HIERARCHY_LEVELS: usize = 15;
/// Most bytes of a Standard-tier value.
pub const MAX_VALUE_BYTES: usize = 4096;
/// Most characters of a name (AWS counts the whole ARN against 1011; the name alone is
/// held to 1011 here).
const MAX_NAME_CHARS: usize = 1011;

const NAME_RULES: &str = "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";

fn reserved(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    lower.starts_with("aws") || lower.starts_with("ssm")
}

/// Checks a parameter name (without a `:version` selector).
pub fn check_name(name: &str) -> Result<(), SsmError> {
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(SsmError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length between 1 and {MAX_NAME_CHARS}"
        )));
    }
    let allowed = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'));
    let first = name.strip_prefix('/').unwrap_or(name);
    let hierarchical = name.contains('/');
    let well_formed = allowed
        && !reserved(first)
        && (!hierarchical
            || (name.starts_with('/') && !first.is_empty() && !first.split('/').any(str::is_empty)));
    if !well_formed {
        return Err(SsmError::Validation(NAME_RULES.into()));
    }
    if hierarchical && first.split('/').count() > MAX_HIERARCHY_LEVELS {
        return Err(SsmError::HierarchyTooDeep);
    }
    Ok(())
}

/// Checks a path of GetParametersByPath: `/`, or `/a/b` with an optional trailing `/`.
pub fn check_path(path: &str) -> Result<(), SsmError> {
    let inner = path.trim_end_matches('/');
    if path == "/" {
        return Ok(());
    }
    if !path.starts_with('/') || inner.is_empty() {
        return Err(SsmError::Validation(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.".into(),
        ));
    }
    check_name(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["a", "A.b-c_d", "/cdk-bootstrap/hnb659fds/version", "/x"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["aws-x", "/SSM/x", "a b", "a/b", "/a//b", "/", "a$", ""] {
            assert!(matches!(check_name(bad), Err(SsmError::Validation(_))), "{bad}");
        }
        let deep = format!("/{}", vec!["l"; 16].join("/"));
        assert!(matches!(check_name(&deep), Err(SsmError::HierarchyTooDeep)));
        assert!(check_name(&format!("/{}", vec!["l"; 15].join("/"))).is_ok());
    }

    #[test]
    fn paths() {
        assert!(check_path("/").is_ok());
        assert!(check_path("/a/b/").is_ok());
        assert!(check_path("a/b").is_err());
        assert!(check_path("/aws/x").is_err());
    }
}
