//! Route matching against a deployed API, as API Gateway does it: at each level of the
//! resource tree a literal path part is preferred to a `{param}`, and a `{param}` to a
//! greedy `{proxy+}` (which takes one or more remaining segments). The first resource in
//! that order with the request's method, or `ANY`, wins.

use std::collections::{BTreeMap, HashMap};

use alcove_core::apigateway::model::{path_part_kind, path_variable, PathPartKind};
use alcove_core::apigateway::{Method, Resource, RestApi};

/// A request matched to a resource and method.
#[derive(Debug)]
pub struct Route<'a> {
    pub resource: &'a Resource,
    pub method: &'a Method,
    pub path_parameters: BTreeMap<String, String>,
}

/// Splits a path into its decoded, non-empty segments.
pub fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

/// The resource and method serving `http_method` on `segments`, if any.
pub fn find<'a>(api: &'a RestApi, segments: &[String], http_method: &str) -> Option<Route<'a>> {
    let mut children: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for resource in api.resources.values() {
        if let Some(parent) = &resource.parent_id {
            children.entry(parent.as_str()).or_default().push(resource);
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|r| match path_part_kind(&r.path_part) {
            PathPartKind::Literal => 0,
            PathPartKind::Variable => 1,
            PathPartKind::Greedy => 2,
        });
    }
    let root = api.resources.get(&api.root_resource_id)?;
    let mut candidates = Vec::new();
    walk(&children, root, segments, &mut BTreeMap::new(), &mut candidates);
    candidates.into_iter().find_map(|(resource, path_parameters)| {
        let method = resource.methods.get(http_method).or_else(|| resource.methods.get("ANY"))?;
        Some(Route { resource, method, path_parameters })
    })
}

/// Collects, in order of preference, every resource whose path matches `rest`.
fn walk<'a>(
    children: &HashMap<&str, Vec<&'a Resource>>,
    node: &'a Resource,
    rest: &[String],
    parameters: &mut BTreeMap<String, String>,
    found: &mut Vec<(&'a Resource, BTreeMap<String, String>)>,
) {
    let Some((segment, after)) = rest.split_first() else {
        found.push((node, parameters.clone()));
        return;
    };
    for child in children.get(node.id.as_str()).into_iter().flatten() {
        match path_part_kind(&child.path_part) {
            PathPartKind::Literal if child.path_part == *segment => {
                walk(children, child, after, parameters, found)
            }
            PathPartKind::Literal => {}
            PathPartKind::Variable => {
                let name = path_variable(&child.path_part).unwrap_or_default().to_owned();
                let previous = parameters.insert(name.clone(), segment.clone());
                walk(children, child, after, parameters, found);
                match previous {
                    Some(value) => parameters.insert(name, value),
                    None => parameters.remove(&name),
                };
            }
            PathPartKind::Greedy => {
                let mut with_rest = parameters.clone();
                with_rest
                    .insert(path_variable(&child.path_part).unwrap_or_default().to_owned(), rest.join("/"));
                found.push((child, with_rest));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_core::apigateway::Method;

    fn method(http: &str) -> Method {
        Method::new(http)
    }

    /// `/`, `/users` (GET), `/users/me` (GET), `/users/{id}` (GET, DELETE),
    /// `/users/{id}/files/{path+}` (ANY), `/{proxy+}` (ANY), `/health` (POST only).
    fn api() -> RestApi {
        let mut api = RestApi::new("a".into(), "t".into(), 0);
        let root = api.root_resource_id.clone();
        api.put_method(&root, method("GET")).unwrap();
        for (path, methods) in [
            ("/users", &["GET"][..]),
            ("/users/me", &["GET"]),
            ("/users/{id}", &["GET", "DELETE"]),
            ("/users/{id}/files/{path+}", &["ANY"]),
            ("/{proxy+}", &["ANY"]),
            ("/health", &["POST"]),
        ] {
            let id = api.ensure_path(path).unwrap();
            for m in methods {
                api.put_method(&id, method(m)).unwrap();
            }
        }
        api
    }

    fn matched(api: &RestApi, path: &str, http: &str) -> Option<(String, Vec<(String, String)>)> {
        find(api, &segments(path), http)
            .map(|r| (r.resource.path.clone(), r.path_parameters.into_iter().collect()))
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn exact_then_parameter_then_greedy() {
        let api = api();
        assert_eq!(matched(&api, "/", "GET"), Some(("/".into(), vec![])));
        assert_eq!(matched(&api, "/users/me", "GET"), Some(("/users/me".into(), vec![])));
        assert_eq!(matched(&api, "/users/42", "GET"), Some(("/users/{id}".into(), params(&[("id", "42")]))));
        assert_eq!(matched(&api, "/users/", "GET"), Some(("/users".into(), vec![])));
        assert_eq!(
            matched(&api, "/users/7/files/a/b.txt", "PUT"),
            Some(("/users/{id}/files/{path+}".into(), params(&[("id", "7"), ("path", "a/b.txt")])))
        );
        assert_eq!(
            matched(&api, "/other/deep/path", "GET"),
            Some(("/{proxy+}".into(), params(&[("proxy", "other/deep/path")])))
        );
    }

    #[test]
    fn methods_fall_back_to_any_then_less_specific_resources() {
        let api = api();
        // /users/me has no DELETE; /users/{id} has.
        assert_eq!(
            matched(&api, "/users/me", "DELETE"),
            Some(("/users/{id}".into(), params(&[("id", "me")])))
        );
        // /health has only POST: GET falls through to the greedy ANY.
        assert_eq!(matched(&api, "/health", "GET").unwrap().0, "/{proxy+}");
        assert_eq!(matched(&api, "/health", "POST").unwrap().0, "/health");
        // The root is not matched by {proxy+}: it needs one segment or more.
        assert_eq!(matched(&api, "/", "POST"), None);
    }

    #[test]
    fn without_greedy_unknown_paths_do_not_match() {
        let mut api = RestApi::new("a".into(), "t".into(), 0);
        let id = api.ensure_path("/items/{id}").unwrap();
        api.put_method(&id, method("GET")).unwrap();
        assert!(matched(&api, "/items/1/extra", "GET").is_none());
        assert!(matched(&api, "/items", "GET").is_none());
        assert!(matched(&api, "/items/1", "POST").is_none());
        assert_eq!(matched(&api, "/items/a%20b", "GET").unwrap().1, params(&[("id", "a b")]));
    }
}
