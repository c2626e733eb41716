//! ImportRestApi and PutRestApi: an OpenAPI 3 (or Swagger 2.0) JSON document with API
//! Gateway's extensions (`x-amazon-apigateway-integration`,
//! `x-amazon-apigateway-any-method`, `x-amazon-apigateway-binary-media-types`) turned into
//! resources, methods and integrations. Parsing is separate from applying, so the document
//! is checked before the store's transaction and applied inside it.

use alcove_core::apigateway::model::TIMEOUT_MS;
use alcove_core::apigateway::{Integration, IntegrationType, Method, RestApi};
use alcove_core::{Error, Result};
use serde_json::{Map, Value};

/// How a definition meets an existing API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Adds the definition's paths; a method it defines replaces the existing one.
    Merge,
    /// The API becomes exactly the definition.
    Overwrite,
}

/// One method of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub path: String,
    pub method: Method,
}

/// A parsed definition, ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub title: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub binary_media_types: Vec<String>,
    pub operations: Vec<Operation>,
    pub warnings: Vec<String>,
}

const METHOD_KEYS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("patch", "PATCH"),
    ("head", "HEAD"),
    ("options", "OPTIONS"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::invalid(format!("Invalid OpenAPI input: {detail}"))
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn string_map(value: Option<&Value>, what: &str) -> Result<std::collections::BTreeMap<String, String>> {
    match value {
        None | Some(Value::Null) => Ok(Default::default()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.clone(), v.to_owned()))
                    .ok_or_else(|| invalid(format!("{what}.{k} must be a string")))
            })
            .collect(),
        Some(_) => Err(invalid(format!("{what} must be an object"))),
    }
}

/// Parses a JSON OpenAPI 3 or Swagger 2.0 document.
pub fn parse(bytes: &[u8]) -> Result<Definition> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!("the definition must be JSON (YAML is not supported by this server yet): {e}"))
    })?;
    let is_openapi3 = doc.get("openapi").and_then(Value::as_str).is_some_and(|v| v.starts_with("3."));
    let is_swagger2 = doc.get("swagger").and_then(Value::as_str) == Some("2.0");
    if !is_openapi3 && !is_swagger2 {
        return Err(invalid("expected an OpenAPI 3.x (\"openapi\": \"3.0.1\") or Swagger 2.0 document"));
    }
    let info = doc.get("info");
    let mut definition = Definition {
        title: text(info.and_then(|i| i.get("title"))),
        description: text(info.and_then(|i| i.get("description"))),
        version: text(info.and_then(|i| i.get("version"))),
        binary_media_types: match doc.get("x-amazon-apigateway-binary-media-types") {
            None => Vec::new(),
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(_) => return Err(invalid("x-amazon-apigateway-binary-media-types must be a list")),
        },
        operations: Vec::new(),
        warnings: Vec::new(),
    };
    if doc.get("security").is_some() || doc.get("securityDefinitions").is_some() {
        definition.warnings.push(
            "Security definitions are ignored: authorizers are not supported by this server yet".into(),
        );
    }
    let empty = Map::new();
    let paths = match doc.get("paths") {
        None => &empty,
        Some(Value::Object(paths)) => paths,
        Some(_) => return Err(invalid("paths must be an object")),
    };
    for (path, item) in paths {
        if !path.starts_with('/') {
            return Err(invalid(format!("path {path} must start with /")));
        }
        let item = item.as_object().ok_or_else(|| invalid(format!("path {path} must be an object")))?;
        let shared = item.get("parameters");
        for (key, http) in METHOD_KEYS {
            let Some(operation) = item.get(*key) else { continue };
            let method = operation_method(&doc, path, http, operation, shared, &mut definition.warnings)?;
            definition.operations.push(Operation { path: path.clone(), method });
        }
    }
    Ok(definition)
}

/// Resolves a local `$ref` (`#/components/parameters/X`, `#/parameters/X`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Result<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        None => Ok(value),
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .ok_or_else(|| invalid(format!("unresolvable reference {reference}"))),
    }
}

fn operation_method(
    doc: &Value,
    path: &str,
    http: &str,
    operation: &Value,
    shared: Option<&Value>,
    warnings: &mut Vec<String>,
) -> Result<Method> {
    let mut request_parameters = std::collections::BTreeMap::new();
    let lists = [shared, operation.get("parameters")];
    for parameter in lists.into_iter().flatten().flat_map(|l| l.as_array().into_iter().flatten()) {
        let parameter = resolve(doc, parameter)?;
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("a parameter of {http} {path} has no name")))?;
        let required = parameter.get("required").and_then(Value::as_bool).unwrap_or(false);
        let location = match parameter.get("in").and_then(Value::as_str) {
            Some("path") => "path",
            Some("query") => "querystring",
            Some("header") => "header",
            Some(other) => {
                warnings.push(format!("Parameter {name} of {http} {path} is in {other}, which is ignored"));
                continue;
            }
            None => return Err(invalid(format!("parameter {name} of {http} {path} has no \"in\""))),
        };
        // Path parameters are always required.
        request_parameters
            .insert(format!("method.request.{location}.{name}"), required || location == "path");
    }
    if operation.get("security").is_some() {
        warnings.push(format!(
            "Security of {http} {path} is ignored: authorizers are not supported by this server yet"
        ));
    }
    let integration = match operation.get("x-amazon-apigateway-integration") {
        Some(spec) => Some(integration(spec).map_err(|e| match e {
            Error::InvalidParameter(m) => invalid(format!("{http} {path}: {m}")),
            other => other,
        })?),
        None => {
            warnings.push(format!("No integration defined for method {http} {path}"));
            None
        }
    };
    Ok(Method {
        operation_name: text(operation.get("operationId")),
        request_parameters,
        integration,
        ..Method::new(http)
    })
}

/// `x-amazon-apigateway-integration`: the same members as PutIntegration, with the enums
/// in any case.
fn integration(spec: &Value) -> Result<Integration> {
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid("the integration has no type"))?;
    let timeout_ms = match spec.get("timeoutInMillis") {
        None => TIMEOUT_MS.1,
        Some(v) => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| Error::invalid("timeoutInMillis must be a number"))?,
    };
    Ok(Integration {
        kind: IntegrationType::parse(&kind.to_ascii_uppercase())?,
        http_method: text(spec.get("httpMethod")).unwrap_or_default().to_ascii_uppercase(),
        uri: text(spec.get("uri")).ok_or_else(|| Error::invalid("the integration has no uri"))?,
        request_parameters: string_map(spec.get("requestParameters"), "requestParameters")?,
        request_templates: string_map(spec.get("requestTemplates"), "requestTemplates")?,
        passthrough_behavior: text(spec.get("passthroughBehavior"))
            .map(|p| p.to_ascii_uppercase())
            .unwrap_or_else(|| "WHEN_NO_MATCH".into()),
        content_handling: text(spec.get("contentHandling")).map(|c| c.to_ascii_uppercase()),
        timeout_ms,
        cache_namespace: text(spec.get("cacheNamespace")).unwrap_or_default(),
        cache_key_parameters: spec
            .get("cacheKeyParameters")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

impl Definition {
    /// The warnings, or an error when the caller asked to fail on them.
    pub fn check_warnings(&self, fail_on_warnings: bool) -> Result<Vec<String>> {
        if fail_on_warnings && !self.warnings.is_empty() {
            return Err(Error::invalid(format!(
                "Warnings found during import:\n\t{}",
                self.warnings.join("\n\t")
            )));
        }
        Ok(self.warnings.clone())
    }

    /// Builds the definition's resources, methods and integrations into `api`.
    pub fn apply(self, api: &mut RestApi, mode: ImportMode) -> Result<()> {
        match mode {
            ImportMode::Overwrite => {
                api.clear();
                if let Some(title) = self.title {
                    api.name = title;
                }
                api.description = self.description;
                api.version = self.version;
                api.binary_media_types = self.binary_media_types;
            }
            ImportMode::Merge => {
                for media_type in self.binary_media_types {
                    if !api.binary_media_types.contains(&media_type) {
                        api.binary_media_types.push(media_type);
                    }
                }
            }
        }
        for Operation { path, mut method } in self.operations {
            let resource_id = api.ensure_path(&path)?;
            let http = method.http_method.clone();
            if api.method(&resource_id, &http).is_ok() {
                api.delete_method(&resource_id, &http)?;
            }
            let integration = method.integration.take();
            api.put_method(&resource_id, method)?;
            if let Some(mut integration) = integration {
                if integration.cache_namespace.is_empty() {
                    integration.cache_namespace = resource_id.clone();
                }
                api.put_integration(&resource_id, &http, integration)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URI: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations";

    fn document() -> Value {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "pets", "version": "1.0", "description": "d"},
            "x-amazon-apigateway-binary-media-types": ["image/png"],
            "components": {"parameters": {"Tenant": {"name": "x-tenant-id", "in": "header", "required": true}}},
            "paths": {
                "/": {
                    "get": {
                        "operationId": "root",
                        "parameters": [{"$ref": "#/components/parameters/Tenant"}],
                        "x-amazon-apigateway-integration": {
                            "type": "aws_proxy", "httpMethod": "POST", "uri": URI,
                            "requestParameters": {"integration.request.header.X-Amz-Tenant-Id": "method.request.header.x-tenant-id"}
                        }
                    }
                },
                "/pets/{id}": {
                    "parameters": [{"name": "id", "in": "path", "required": true}],
                    "x-amazon-apigateway-any-method": {
                        "parameters": [{"name": "q", "in": "query"}],
                        "x-amazon-apigateway-integration": {"type": "AWS_PROXY", "httpMethod": "POST", "uri": URI, "timeoutInMillis": 1000}
                    }
                },
                "/docs": {"get": {}}
            }
        })
    }

    #[test]
    fn parses_paths_parameters_and_integrations() {
        let definition = parse(document().to_string().as_bytes()).unwrap();
        assert_eq!(definition.title.as_deref(), Some("pets"));
        assert_eq!(definition.binary_media_types, ["image/png"]);
        assert_eq!(definition.operations.len(), 3);
        let root = definition.operations.iter().find(|o| o.path == "/").unwrap();
        assert_eq!(root.method.request_parameters.get("method.request.header.x-tenant-id"), Some(&true));
        assert_eq!(root.method.operation_name.as_deref(), Some("root"));
        let pets = definition.operations.iter().find(|o| o.path == "/pets/{id}").unwrap();
        assert_eq!(pets.method.http_method, "ANY");
        assert_eq!(pets.method.request_parameters.get("method.request.path.id"), Some(&true));
        assert_eq!(pets.method.request_parameters.get("method.request.querystring.q"), Some(&false));
        assert_eq!(pets.method.integration.as_ref().unwrap().timeout_ms, 1000);
        assert_eq!(definition.warnings, ["No integration defined for method GET /docs"]);
        assert!(definition.check_warnings(true).is_err());
    }

    #[test]
    fn applies_as_a_resource_tree() {
        let definition = parse(document().to_string().as_bytes()).unwrap();
        let mut api = RestApi::new("a".into(), "old".into(), 0);
        definition.clone().apply(&mut api, ImportMode::Overwrite).unwrap();
        assert_eq!(api.name, "pets");
        let pets = api.resource_by_path("/pets/{id}").unwrap();
        assert!(api.resource_by_path("/pets").is_some());
        let integration = api.integration(&pets.id, "ANY").unwrap();
        assert_eq!(integration.kind, IntegrationType::AwsProxy);
        assert_eq!(integration.cache_namespace, pets.id);
        let root = api.root_resource_id.clone();
        assert!(api.integration(&root, "GET").unwrap().tenant_source().is_some());
        // Merging again replaces the methods it defines and keeps the rest.
        let extra = api.add_resource(&root, "extra").unwrap();
        definition.clone().apply(&mut api, ImportMode::Merge).unwrap();
        assert!(api.resource(&extra.id).is_ok());
        definition.apply(&mut api, ImportMode::Overwrite).unwrap();
        assert!(api.resource(&extra.id).is_err());
    }

    #[test]
    fn refuses_what_it_cannot_build() {
        assert!(parse(b"openapi: 3.0.1").is_err());
        assert!(parse(br#"{"openapi": "2.5", "paths": {}}"#).is_err());
        let http = json!({"openapi": "3.0.1", "info": {"title": "t"}, "paths": {"/": {"get": {
            "x-amazon-apigateway-integration": {"type": "http", "httpMethod": "GET", "uri": "https://example.com"}}}}});
        assert!(parse(http.to_string().as_bytes()).is_err());
        let bad_mapping = json!({"openapi": "3.0.1", "info": {"title": "t"}, "paths": {"/": {"get": {
            "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": URI,
                "requestParameters": {"integration.request.header.X-Amz-Tenant-Id": "method.request.header.undeclared"}}}}}});
        let definition = parse(bad_mapping.to_string().as_bytes()).unwrap();
        let mut api = RestApi::new("a".into(), "t".into(), 0);
        assert!(definition.apply(&mut api, ImportMode::Overwrite).is_err());
    }
}
