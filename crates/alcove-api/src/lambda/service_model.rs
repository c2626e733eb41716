//! Lambda's service model, as far as validation and error bodies need it.
//!
//! AWS checks every request against the constraints of its service model (lengths,
//! patterns, enums, ranges, required members) before any handler runs, and the error
//! bodies it sends carry exactly the members of the error's shape. Rather than restate
//! those facts by hand, Alcove embeds the part of botocore's Lambda model that states
//! them (`model/lambda-2015-03-31.validation.json`, written by `model/trim.py` from the
//! model botocore ships) and reads it once. Updating to a newer model is running the
//! script again.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

const MODEL_JSON: &str = include_str!("../../model/lambda-2015-03-31.validation.json");

#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    pub operations: HashMap<String, Operation>,
    pub shapes: HashMap<String, Shape>,
    /// Error code → the members of its shape (`Type`, `Message` or `message`, ...).
    pub errors: HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    pub method: String,
    pub uri: String,
    pub input: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum Shape {
    String {
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<String>,
        #[serde(rename = "enum")]
        values: Option<Vec<String>>,
        #[serde(default)]
        sensitive: bool,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Long {
        min: Option<i64>,
        max: Option<i64>,
    },
    Double {},
    Float {},
    Boolean {},
    Blob {
        #[serde(default)]
        sensitive: bool,
    },
    Timestamp {},
    List {
        member: String,
        min: Option<u64>,
        max: Option<u64>,
    },
    Map {
        key: String,
        value: String,
        min: Option<u64>,
        max: Option<u64>,
        #[serde(default)]
        sensitive: bool,
    },
    Structure {
        members: ordered::OrderedMembers,
        #[serde(default)]
        required: Vec<String>,
        /// The member that is the whole body (Invoke's `Payload`), if any.
        payload: Option<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub shape: String,
    pub location: Option<String>,
    #[serde(rename = "locationName")]
    pub location_name: Option<String>,
}

/// The members of a structure in the model's order, which is the order AWS reports
/// violations in.
pub mod ordered {
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    use super::Member;

    #[derive(Debug, Default)]
    pub struct OrderedMembers(pub Vec<(String, Member)>);

    impl<'de> Deserialize<'de> for OrderedMembers {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Ordered;
            impl<'de> Visitor<'de> for Ordered {
                type Value = OrderedMembers;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of members")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut members = Vec::new();
                    while let Some((name, member)) = map.next_entry::<String, Member>()? {
                        members.push((name, member));
                    }
                    Ok(OrderedMembers(members))
                }
            }
            deserializer.deserialize_map(Ordered)
        }
    }
}

/// The embedded model, parsed on first use. The file is part of the build, so a parse
/// failure is a build defect caught by the unit tests, never a request's fault.
pub static MODEL: LazyLock<ServiceModel> =
    LazyLock::new(|| serde_json::from_str(MODEL_JSON).expect("the embedded Lambda model parses"));

impl ServiceModel {
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The operation served at `method` and a route template (`/2015-03-31/functions/{x}`):
    /// literal segments must match, parameters match parameters whatever their names.
    /// Two operations can share a route and differ by a literal query member in their URI
    /// (`...provisioned-concurrency?List=ALL` lists, the bare route gets one config): the
    /// request's `query` decides, and an operation whose literal member it carries wins.
    pub fn operation_for(
        &self,
        method: &str,
        template: &str,
        query: Option<&str>,
    ) -> Option<(&str, &Operation)> {
        let wanted = normalized(template);
        let carried: Vec<(String, String)> =
            query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        self.operations
            .iter()
            .filter(|(_, op)| op.method.eq_ignore_ascii_case(method) && normalized(&op.uri) == wanted)
            .filter_map(|(name, op)| {
                let literal = literal_query(&op.uri);
                let matches = literal.iter().all(|member| carried.contains(member));
                matches.then_some((literal.len(), name.as_str(), op))
            })
            .max_by_key(|(specificity, name, _)| (*specificity, std::cmp::Reverse(*name)))
            .map(|(_, name, op)| (name, op))
    }

    /// The key an error's message has in its body: `Message` or `message` as the error's
    /// shape declares it; `None` when the model does not list the error.
    pub fn message_key(&self, code: &str) -> Option<&'static str> {
        let members = self.errors.get(code)?;
        Some(if members.iter().any(|m| m == "Message") { "Message" } else { "message" })
    }
}

/// The literal `name=value` members of a URI template's query (`?List=ALL`).
fn literal_query(template: &str) -> Vec<(String, String)> {
    template
        .split_once('?')
        .map(|(_, q)| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// A URI template without its query part or trailing slash, parameters written `{}`.
fn normalized(template: &str) -> Vec<&str> {
    let path = template.split('?').next().unwrap_or_default();
    path.trim_end_matches('/')
        .split('/')
        .map(|segment| if segment.starts_with('{') && segment.ends_with('}') { "{}" } else { segment })
        .collect()
}

/// The position of each parameter in a route template, by name.
pub fn parameter_positions(template: &str) -> Vec<(usize, &str)> {
    template
        .split('?')
        .next()
        .unwrap_or_default()
        .split('/')
        .enumerate()
        .filter_map(|(i, segment)| {
            segment.strip_prefix('{')?.strip_suffix('}').map(|name| (i, name.trim_end_matches('+')))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_parses_and_every_input_shape_resolves() {
        for (name, op) in &MODEL.operations {
            if let Some(input) = &op.input {
                assert!(MODEL.shape(input).is_some(), "{name}: {input}");
            }
        }
        assert!(MODEL.errors.contains_key("ResourceNotFoundException"));
    }

    #[test]
    fn operations_are_found_by_route_template() {
        let (name, _) = MODEL.operation_for("GET", "/2015-03-31/functions/{function}", None).unwrap();
        assert_eq!(name, "GetFunction");
        let (name, _) = MODEL.operation_for("POST", "/2015-03-31/functions/", None).unwrap();
        assert_eq!(name, "CreateFunction");
        let (name, _) = MODEL.operation_for("GET", "/2015-03-31/functions", None).unwrap();
        assert_eq!(name, "ListFunctions");
        let (name, _) =
            MODEL.operation_for("POST", "/2015-03-31/functions/{function}/invocations", None).unwrap();
        assert_eq!(name, "Invoke");
    }

    #[test]
    fn a_literal_query_member_tells_operations_on_one_route_apart() {
        let route = "/2019-09-30/functions/{function}/provisioned-concurrency";
        for _ in 0..3 {
            let (name, _) = MODEL.operation_for("GET", route, Some("List=ALL&MaxItems=5")).unwrap();
            assert_eq!(name, "ListProvisionedConcurrencyConfigs");
            let (name, _) = MODEL.operation_for("GET", route, Some("Qualifier=live")).unwrap();
            assert_eq!(name, "GetProvisionedConcurrencyConfig");
            let (name, _) = MODEL.operation_for("GET", route, None).unwrap();
            assert_eq!(name, "GetProvisionedConcurrencyConfig");
        }
    }

    #[test]
    fn message_keys_follow_the_error_shapes() {
        assert_eq!(MODEL.message_key("ResourceNotFoundException"), Some("Message"));
        assert_eq!(MODEL.message_key("InvalidParameterValueException"), Some("message"));
        assert_eq!(MODEL.message_key("ServiceException"), Some("Message"));
        assert_eq!(MODEL.message_key("ValidationException"), None);
    }
}
