//! ImportRestApi and PutRestApi: an OpenAPI 3 (or Swagger 2.0) JSON document with API
//! Gateway's extensions (`x-amazon-apigateway-integration`,
//! `x-amazon-apigateway-any-method`, `x-amazon-apigateway-binary-media-types`,
//! `x-amazon-apigateway-api-key-source`, and security schemes with
//! `x-amazon-apigateway-authtype` / `x-amazon-apigateway-authorizer`) turned into
//! resources, methods, integrations and Lambda authorizers. A scheme with an authorizer
//! becomes an authorizer named after the scheme; an `apiKey` scheme without one means
//! "API key required" for the operations whose `security` (or the document's) names it. Parsing is separate from applying, so the document
//! is checked before the store's transaction and applied inside it.

use std::collections::BTreeMap;

use alcove_core::apigateway::authorizer::DEFAULT_TTL;
use alcove_core::apigateway::model::TIMEOUT_MS;
use alcove_core::apigateway::{
    new_id, Authorizer, AuthorizerType, Integration, IntegrationType, Method, RestApi,
};
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
    /// Lambda authorizers, by scheme name; an operation's `authorizer_id` names the scheme
    /// until [`Definition::apply`] links it to the API's authorizer.
    pub authorizers: BTreeMap<String, Authorizer>,
    pub api_key_source: Option<String>,
}

/// A security scheme the operations may name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    Authorizer,
    ApiKey,
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
        authorizers: BTreeMap::new(),
        api_key_source: match doc.get("x-amazon-apigateway-api-key-source").and_then(Value::as_str) {
            None => None,
            Some(source @ ("HEADER" | "AUTHORIZER")) => Some(source.to_owned()),
            Some(other) => {
                return Err(invalid(format!(
                    "x-amazon-apigateway-api-key-source {other}: use HEADER or AUTHORIZER"
                )))
            }
        },
    };
    let schemes_doc = doc.get("securityDefinitions").or_else(|| doc.pointer("/components/securitySchemes"));
    let mut schemes = BTreeMap::new();
    if let Some(map) = schemes_doc {
        let map = map.as_object().ok_or_else(|| invalid("the security schemes must be an object"))?;
        for (name, spec) in map {
            match security_scheme(name, spec, &mut definition.warnings)? {
                Some(Some(authorizer)) => {
                    definition.authorizers.insert(name.clone(), authorizer);
                    schemes.insert(name.clone(), Scheme::Authorizer);
                }
                Some(None) => {
                    schemes.insert(name.clone(), Scheme::ApiKey);
                }
                None => {}
            }
        }
    }
    let global_security = doc.get("security");
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
            let mut method = operation_method(&doc, path, http, operation, shared, &mut definition.warnings)?;
            let security = operation.get("security").or(global_security);
            apply_security(&mut method, security, &schemes, path, http)?;
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

/// A security scheme: `Some(Some(authorizer))` for a Lambda authorizer, `Some(None)` for
/// an API key, `None` (with a warning) for what is ignored.
fn security_scheme(
    name: &str,
    spec: &Value,
    warnings: &mut Vec<String>,
) -> Result<Option<Option<Authorizer>>> {
    let Some(authorizer) = spec.get("x-amazon-apigateway-authorizer") else {
        let is_key = spec.get("type").and_then(Value::as_str) == Some("apiKey")
            && spec.get("in").and_then(Value::as_str) == Some("header")
            && spec.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"));
        if is_key {
            return Ok(Some(None));
        }
        warnings.push(format!(
            "Security scheme {name} is ignored: it is neither an API key nor a Lambda authorizer"
        ));
        return Ok(None);
    };
    let kind = match authorizer.get("type").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
        Some("TOKEN") => AuthorizerType::Token,
        Some("REQUEST") => AuthorizerType::Request,
        Some("COGNITO_USER_POOLS") => {
            return Err(invalid(format!(
                "security scheme {name}: COGNITO_USER_POOLS authorizers are not supported by this server"
            )))
        }
        _ => {
            return Err(invalid(format!(
                "security scheme {name}: the authorizer type must be token or request"
            )))
        }
    };
    // A TOKEN authorizer reads the header the scheme names, unless it says otherwise.
    let identity_source = text(authorizer.get("identitySource")).or_else(|| {
        (kind == AuthorizerType::Token && spec.get("in").and_then(Value::as_str) == Some("header"))
            .then(|| spec.get("name").and_then(Value::as_str).map(|h| format!("method.request.header.{h}")))
            .flatten()
    });
    let ttl = match authorizer.get("authorizerResultTtlInSeconds") {
        None => DEFAULT_TTL,
        Some(v) => v.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| {
            invalid(format!("security scheme {name}: authorizerResultTtlInSeconds must be a number"))
        })?,
    };
    let authorizer = Authorizer {
        id: new_id(6),
        name: name.to_owned(),
        kind,
        authorizer_uri: text(authorizer.get("authorizerUri")).unwrap_or_default(),
        authorizer_credentials: text(authorizer.get("authorizerCredentials")),
        identity_source,
        identity_validation_expression: text(authorizer.get("identityValidationExpression")),
        result_ttl_seconds: ttl,
        auth_type: text(spec.get("x-amazon-apigateway-authtype")),
    };
    authorizer.check().map_err(|e| invalid(format!("security scheme {name}: {e}")))?;
    Ok(Some(Some(authorizer)))
}

/// An operation's `security`: the authorizer it names (by scheme, linked on apply) and
/// whether it needs an API key.
fn apply_security(
    method: &mut Method,
    security: Option<&Value>,
    schemes: &BTreeMap<String, Scheme>,
    path: &str,
    http: &str,
) -> Result<()> {
    let Some(requirements) = security else { return Ok(()) };
    let requirements = requirements
        .as_array()
        .ok_or_else(|| invalid(format!("security of {http} {path} must be a list")))?;
    for requirement in requirements {
        let names = requirement
            .as_object()
            .ok_or_else(|| invalid(format!("security of {http} {path}: an object per requirement")))?;
        for name in names.keys() {
            match schemes.get(name) {
                Some(Scheme::ApiKey) => method.api_key_required = true,
                Some(Scheme::Authorizer) => {
                    method.authorization_type = "CUSTOM".into();
                    method.authorizer_id = Some(name.clone());
                }
                None => {
                    return Err(invalid(format!("{http} {path} names the undefined security scheme {name}")))
                }
            }
        }
    }
    Ok(())
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
                api.authorizers.clear();
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
        if let Some(source) = self.api_key_source {
            api.api_key_source = source;
        }
        // Authorizers by scheme name: one of the same name is replaced, keeping its id.
        let mut ids = BTreeMap::new();
        for (name, mut authorizer) in self.authorizers {
            if let Some(existing) = api.authorizers.values().find(|a| a.name == name) {
                authorizer.id = existing.id.clone();
            }
            ids.insert(name, authorizer.id.clone());
            api.authorizers.insert(authorizer.id.clone(), authorizer);
        }
        for Operation { path, mut method } in self.operations {
            if let Some(scheme) = method.authorizer_id.take() {
                method.authorizer_id = ids.get(&scheme).cloned();
            }
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
    fn security_schemes_become_authorizers_and_api_keys() {
        let doc = json!({
            "swagger": "2.0", "info": {"title": "t"},
            "x-amazon-apigateway-api-key-source": "HEADER",
            "securityDefinitions": {
                "tok": {"type": "apiKey", "name": "Authorization", "in": "header",
                        "x-amazon-apigateway-authtype": "custom",
                        "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": URI,
                            "authorizerResultTtlInSeconds": 0}},
                "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
            },
            "security": [{"api_key": []}],
            "paths": {"/": {"get": {"security": [{"tok": []}, {"api_key": []}],
                "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": URI,
                    "requestParameters": {"integration.request.header.X-Amz-Tenant-Id": "context.authorizer.tenantId"}}}},
                      "/open": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": URI}}}}
        });
        let definition = parse(doc.to_string().as_bytes()).unwrap();
        let mut api = RestApi::new("a".into(), "t".into(), 0);
        definition.clone().apply(&mut api, ImportMode::Overwrite).unwrap();
        let authorizer = api.authorizers.values().next().unwrap().clone();
        assert_eq!((authorizer.name.as_str(), authorizer.kind), ("tok", AuthorizerType::Token));
        assert_eq!(authorizer.identity_source.as_deref(), Some("method.request.header.Authorization"));
        assert_eq!(authorizer.result_ttl_seconds, 0);
        let root = api.root_resource_id.clone();
        let method = api.method(&root, "GET").unwrap();
        assert_eq!(
            (method.authorization_type.as_str(), method.authorizer_id.as_deref()),
            ("CUSTOM", Some(authorizer.id.as_str()))
        );
        assert!(method.api_key_required);
        let open = api.resource_by_path("/open").unwrap().id.clone();
        assert!(api.method(&open, "GET").unwrap().api_key_required);
        // Merging again keeps the authorizer's id.
        definition.apply(&mut api, ImportMode::Merge).unwrap();
        assert_eq!(api.authorizers.len(), 1);
        assert!(api.authorizers.contains_key(&authorizer.id));
        let undefined = json!({"openapi": "3.0.1", "info": {"title": "t"}, "paths": {"/": {"get": {"security": [{"nope": []}]}}}});
        assert!(parse(undefined.to_string().as_bytes()).is_err());
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
