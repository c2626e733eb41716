//! ImportRestApi and PutRestApi take an OpenAPI 3 or Swagger 2.0 document from the
//! caller; `openapi::parse` checks it before anything is stored.

use alcove_api::fuzzing::parse_openapi;
use bolero::TypeGenerator;
use serde_json::{json, Map, Value};

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY"];

/// Whatever parses must describe absolute paths and real methods.
fn check(bytes: &[u8]) {
    if let Ok(definition) = parse_openapi(bytes) {
        for operation in &definition.operations {
            assert!(operation.path.starts_with('/'), "{:?}", operation.path);
            assert!(METHODS.contains(&operation.method.http_method.as_str()), "{:?}", operation.method);
        }
    }
}

#[test]
fn openapi_bytes() {
    bolero::check!().for_each(check);
}

/// A value where the importer expects one: well-formed, mistyped or absent.
#[derive(Debug, Clone, TypeGenerator)]
enum Leaf {
    Text(String),
    AwsProxy,
    Http,
    LambdaUri,
    Post,
    Number(i64),
    Flag(bool),
    Null,
    EmptyObject,
    EmptyList,
}

impl Leaf {
    fn value(&self) -> Value {
        match self {
            Leaf::Text(s) => json!(s),
            Leaf::AwsProxy => json!("aws_proxy"),
            Leaf::Http => json!("http"),
            Leaf::LambdaUri => json!(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations"
            ),
            Leaf::Post => json!("POST"),
            Leaf::Number(n) => json!(n),
            Leaf::Flag(b) => json!(b),
            Leaf::Null => Value::Null,
            Leaf::EmptyObject => json!({}),
            Leaf::EmptyList => json!([]),
        }
    }
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
enum PathKey {
    Root,
    Users,
    UserId,
    Proxy,
    Bad,
    Nested,
}

impl PathKey {
    fn text(self) -> &'static str {
        match self {
            PathKey::Root => "/",
            PathKey::Users => "/users",
            PathKey::UserId => "/users/{id}",
            PathKey::Proxy => "/{proxy+}",
            PathKey::Bad => "users//{",
            PathKey::Nested => "/a/{b}/c/{d+}",
        }
    }
}

#[derive(Debug, Clone, TypeGenerator)]
struct Operation {
    path: PathKey,
    method: u8,
    integration: Option<Vec<(u8, Leaf)>>,
    parameters: Option<Vec<(Leaf, Leaf)>>,
}

#[derive(Debug, Clone, TypeGenerator)]
struct Document {
    swagger: bool,
    version: Leaf,
    title: Option<Leaf>,
    operations: Vec<Operation>,
    binary_media_types: Option<Vec<Leaf>>,
}

const METHOD_KEYS: &[&str] = &[
    "get",
    "put",
    "post",
    "delete",
    "patch",
    "head",
    "options",
    "x-amazon-apigateway-any-method",
    "trace",
    "parameters",
];
const INTEGRATION_KEYS: &[&str] = &[
    "type",
    "uri",
    "httpMethod",
    "requestParameters",
    "requestTemplates",
    "timeoutInMillis",
    "passthroughBehavior",
];

impl Document {
    fn json(&self) -> Value {
        let mut root = Map::new();
        root.insert(if self.swagger { "swagger" } else { "openapi" }.into(), self.version.value());
        if let Some(title) = &self.title {
            root.insert("info".into(), json!({ "title": title.value(), "version": "1" }));
        }
        let mut paths = Map::new();
        for operation in self.operations.iter().take(10) {
            let mut method = Map::new();
            if let Some(fields) = &operation.integration {
                let integration: Map<String, Value> = fields
                    .iter()
                    .take(8)
                    .map(|(key, leaf)| {
                        (
                            INTEGRATION_KEYS[usize::from(*key) % INTEGRATION_KEYS.len()].to_owned(),
                            leaf.value(),
                        )
                    })
                    .collect();
                method.insert("x-amazon-apigateway-integration".into(), Value::Object(integration));
            }
            if let Some(parameters) = &operation.parameters {
                let list = parameters
                    .iter()
                    .take(4)
                    .map(|(name, place)| json!({ "name": name.value(), "in": place.value() }))
                    .collect();
                method.insert("parameters".into(), Value::Array(list));
            }
            let key = METHOD_KEYS[usize::from(operation.method) % METHOD_KEYS.len()];
            let item = paths.entry(operation.path.text()).or_insert_with(|| json!({}));
            if let Value::Object(item) = item {
                item.insert(key.into(), Value::Object(method));
            }
        }
        root.insert("paths".into(), Value::Object(paths));
        if let Some(types) = &self.binary_media_types {
            let list = types.iter().take(4).map(Leaf::value).collect();
            root.insert("x-amazon-apigateway-binary-media-types".into(), Value::Array(list));
        }
        Value::Object(root)
    }
}

#[test]
fn openapi_documents() {
    bolero::check!().with_type::<Document>().for_each(|document| {
        check(&serde_json::to_vec(&document.json()).expect("a JSON document"));
    });
}
