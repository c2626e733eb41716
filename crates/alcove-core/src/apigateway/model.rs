//! The REST API document and the rules every change to it follows: the resource tree
//! (path parts, `{param}` and greedy `{proxy+}` variables), methods with their request
//! parameters, and Lambda proxy integrations with their parameter mappings.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::authorizer::{authorizer_not_found, Authorizer};
use super::mapping::{invalid_mapping, IntegrationTarget, MappingSource, ParamLocation};
use super::stage_settings::PatchOperation;
use super::{integration_not_found, method_not_found, new_id, resource_not_found};
use crate::error::{Error, Result};
use crate::names::FunctionRef;

/// The methods a resource can have; `ANY` matches every request method.
pub const HTTP_METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "ANY"];

/// Length of API and resource ids.
pub const ID_LEN: usize = 10;

/// Integration timeout bounds, in milliseconds.
pub const TIMEOUT_MS: (u32, u32) = (50, 29_000);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestApi {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub version: Option<String>,
    /// Seconds since the Unix epoch.
    pub created_date: i64,
    pub binary_media_types: Vec<String>,
    pub endpoint_types: Vec<String>,
    pub api_key_source: String,
    pub disable_execute_api_endpoint: bool,
    pub tags: BTreeMap<String, String>,
    pub root_resource_id: String,
    /// Every resource, the root included, by id.
    pub resources: BTreeMap<String, Resource>,
    /// Lambda authorizers by id.
    #[serde(default)]
    pub authorizers: BTreeMap<String, Authorizer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    /// None for the root.
    pub parent_id: Option<String>,
    /// Empty for the root.
    pub path_part: String,
    /// The full path, `/` for the root.
    pub path: String,
    /// By HTTP method, upper case.
    pub methods: BTreeMap<String, Method>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Method {
    pub http_method: String,
    /// `NONE` or `CUSTOM` (a Lambda authorizer, [`Method::authorizer_id`]).
    pub authorization_type: String,
    #[serde(default)]
    pub authorizer_id: Option<String>,
    pub api_key_required: bool,
    pub operation_name: Option<String>,
    /// `method.request.<location>.<name>` → required.
    pub request_parameters: BTreeMap<String, bool>,
    pub request_models: BTreeMap<String, String>,
    pub integration: Option<Integration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntegrationType {
    /// Lambda proxy integration.
    #[serde(rename = "AWS_PROXY")]
    AwsProxy,
}

impl IntegrationType {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "AWS_PROXY" => Ok(IntegrationType::AwsProxy),
            "HTTP" | "HTTP_PROXY" | "AWS" | "MOCK" => Err(Error::invalid(format!(
                "Integrations of type '{value}' are not supported by this server yet; use AWS_PROXY \
                 (Lambda proxy integration)."
            ))),
            other => Err(Error::invalid(format!(
                "1 validation error detected: Value '{other}' at 'putIntegrationInput.type' failed to \
                 satisfy constraint: Member must satisfy enum value set: [HTTP, AWS, MOCK, HTTP_PROXY, AWS_PROXY]"
            ))),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            IntegrationType::AwsProxy => "AWS_PROXY",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub kind: IntegrationType,
    /// The method of the call to the backend; Lambda's Invoke takes `POST`.
    pub http_method: String,
    pub uri: String,
    /// `integration.request.<location>.<name>` → source expression.
    pub request_parameters: BTreeMap<String, String>,
    pub request_templates: BTreeMap<String, String>,
    pub passthrough_behavior: String,
    pub content_handling: Option<String>,
    pub timeout_ms: u32,
    pub cache_namespace: String,
    pub cache_key_parameters: Vec<String>,
}

/// A stage name: 1..=128 characters of `[a-zA-Z0-9_]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageName(String);

impl StageName {
    pub fn parse(value: &str) -> Result<Self> {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::invalid("Stage name only allows a-zA-Z0-9_"));
        }
        Ok(StageName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A frozen copy of an API, taken by CreateDeployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub description: Option<String>,
    pub created_date: i64,
    pub api: RestApi,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub name: StageName,
    pub deployment_id: String,
    pub description: Option<String>,
    pub variables: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Keyed `{resourcePath}/{httpMethod}`; see [`super::stage_settings`].
    #[serde(default)]
    pub method_settings: BTreeMap<String, super::stage_settings::MethodSetting>,
    pub created_date: i64,
    pub last_updated_date: i64,
}

/// Checks stage variables: names of `[a-zA-Z0-9_]`, values of at most 512 characters.
pub fn check_stage_variables(variables: &BTreeMap<String, String>) -> Result<()> {
    for (name, value) in variables {
        if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::invalid(format!(
                "Stage variable name '{name}' is invalid: it must be 1 to 64 characters of a-zA-Z0-9_"
            )));
        }
        if value.chars().count() > 512 {
            return Err(Error::invalid(format!(
                "Stage variable value of '{name}' is longer than 512 characters"
            )));
        }
    }
    Ok(())
}

/// A path part is a literal, `{name}` or `{name+}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPartKind {
    Literal,
    Variable,
    Greedy,
}

pub fn path_part_kind(part: &str) -> PathPartKind {
    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        Some(inner) if inner.ends_with('+') => PathPartKind::Greedy,
        Some(_) => PathPartKind::Variable,
        None => PathPartKind::Literal,
    }
}

/// The variable name of `{name}` or `{name+}`.
pub fn path_variable(part: &str) -> Option<&str> {
    let inner = part.strip_prefix('{')?.strip_suffix('}')?;
    Some(inner.strip_suffix('+').unwrap_or(inner))
}

fn check_path_part(part: &str) -> Result<()> {
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c));
    let ok = part.len() <= 1024
        && match path_part_kind(part) {
            PathPartKind::Literal => plain(part),
            PathPartKind::Variable | PathPartKind::Greedy => path_variable(part).is_some_and(plain),
        };
    if !ok {
        return Err(Error::invalid(
            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end \
             and an optional plus sign before the closing brace.",
        ));
    }
    Ok(())
}

/// `HttpMethod` of a method: one of [`HTTP_METHODS`], upper case.
pub fn http_method(value: &str) -> Result<String> {
    let upper = value.to_ascii_uppercase();
    if HTTP_METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(Error::invalid(
            "Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY",
        ))
    }
}

/// The function an `AWS_PROXY` integration invokes, from its URI
/// `arn:<partition>:apigateway:<region>:lambda:path/2015-03-31/functions/<function>/invocations`.
/// The function may name stage variables (`${stageVariables.fn}`); they are substituted
/// when a request arrives.
pub fn lambda_function_of(uri: &str) -> Result<&str> {
    let not_lambda = || {
        Error::invalid("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations.")
    };
    let mut parts = uri.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("apigateway"), Some(_region), Some(service), Some(path)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::invalid("Invalid ARN specified in the request"));
    };
    if service != "lambda" {
        return Err(not_lambda());
    }
    let function = path
        .strip_prefix("path/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .filter(|f| !f.is_empty())
        .ok_or_else(not_lambda)?;
    if !function.contains("${") {
        FunctionRef::parse(function)
            .map_err(|_| Error::invalid(format!("Invalid function ARN or invalid uri: {uri}")))?;
    }
    Ok(function)
}

/// Replaces `${stageVariables.<name>}` in `text`; a variable the stage lacks is an error.
pub fn substitute_stage_variables(text: &str, variables: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${stageVariables.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "${stageVariables.".len()..];
        let end = after
            .find('}')
            .ok_or_else(|| Error::invalid(format!("Unterminated stage variable in {text}")))?;
        let name = &after[..end];
        let value = variables
            .get(name)
            .ok_or_else(|| Error::invalid(format!("Stage variable {name} is not defined in this stage")))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Method {
    /// A method without authorization, parameters or integration.
    pub fn new(http_method: &str) -> Self {
        Method {
            http_method: http_method.to_owned(),
            authorization_type: "NONE".into(),
            authorizer_id: None,
            api_key_required: false,
            operation_name: None,
            request_parameters: BTreeMap::new(),
            request_models: BTreeMap::new(),
            integration: None,
        }
    }

    /// Checks a method as PutMethod receives it; normalises the HTTP method.
    pub fn check(mut self) -> Result<Self> {
        self.http_method = http_method(&self.http_method)?;
        match (self.authorization_type.as_str(), &self.authorizer_id) {
            ("NONE", None) | ("CUSTOM", Some(_)) => {}
            ("NONE", Some(_)) => {
                return Err(Error::invalid("Authorizer ID can only be set for authorization type CUSTOM"))
            }
            ("CUSTOM", None) => {
                return Err(Error::invalid("Invalid authorizer ID specified. Setting the authorization type to CUSTOM requires a valid authorizer."))
            }
            ("AWS_IAM" | "COGNITO_USER_POOLS", _) => {
                return Err(Error::invalid(format!(
                    "Authorization type {} is not supported by this server; use NONE or CUSTOM.",
                    self.authorization_type
                )))
            }
            (other, _) => {
                return Err(Error::invalid(format!(
                    "Invalid authorization type specified: {other}. Valid values are NONE, AWS_IAM, CUSTOM, \
                     COGNITO_USER_POOLS"
                )))
            }
        }
        for key in self.request_parameters.keys() {
            super::MethodParam::parse(key)?;
        }
        Ok(self)
    }
}

impl Integration {
    /// A Lambda proxy integration of `uri` with API Gateway's defaults.
    pub fn lambda_proxy(uri: &str) -> Self {
        Integration {
            kind: IntegrationType::AwsProxy,
            http_method: "POST".into(),
            uri: uri.to_owned(),
            request_parameters: BTreeMap::new(),
            request_templates: BTreeMap::new(),
            passthrough_behavior: "WHEN_NO_MATCH".into(),
            content_handling: None,
            timeout_ms: TIMEOUT_MS.1,
            cache_namespace: String::new(),
            cache_key_parameters: Vec::new(),
        }
    }

    /// Checks an integration against the method and resource it is put on.
    pub fn check(&self, method: &Method, resource_path: &str) -> Result<()> {
        if self.http_method.is_empty() {
            return Err(Error::invalid("Enumeration value for HttpMethod must be non-empty"));
        }
        http_method(&self.http_method)?;
        lambda_function_of(&self.uri)?;
        if !(TIMEOUT_MS.0..=TIMEOUT_MS.1).contains(&self.timeout_ms) {
            return Err(Error::invalid(format!(
                "Timeout should be between {} ms and {} ms",
                TIMEOUT_MS.0, TIMEOUT_MS.1
            )));
        }
        let path_variables: Vec<&str> = resource_path.split('/').filter_map(path_variable).collect();
        for (target, source) in &self.request_parameters {
            IntegrationTarget::parse(target)?;
            if let MappingSource::Method(param) = MappingSource::parse(source)? {
                let declared = method.request_parameters.contains_key(&param.to_string())
                    || (param.location == ParamLocation::Path
                        && path_variables.contains(&param.name.as_str()));
                if !declared {
                    return Err(invalid_mapping(&format!(
                        "Invalid mapping expression parameter specified: {param}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The mapping that sets Lambda's tenant id header, if any.
    pub fn tenant_source(&self) -> Option<MappingSource> {
        self.request_parameters.iter().find_map(|(target, source)| {
            let target = IntegrationTarget::parse(target).ok()?;
            target.is_tenant_header().then(|| MappingSource::parse(source).ok()).flatten()
        })
    }
}

impl RestApi {
    /// A new, empty API: just the root resource `/`.
    pub fn new(id: String, name: String, created_date: i64) -> Self {
        let root_id = new_id(ID_LEN);
        let root = Resource {
            id: root_id.clone(),
            parent_id: None,
            path_part: String::new(),
            path: "/".into(),
            methods: BTreeMap::new(),
        };
        RestApi {
            id,
            name,
            description: None,
            version: None,
            created_date,
            binary_media_types: Vec::new(),
            endpoint_types: vec!["EDGE".into()],
            api_key_source: "HEADER".into(),
            disable_execute_api_endpoint: false,
            tags: BTreeMap::new(),
            root_resource_id: root_id.clone(),
            resources: BTreeMap::from([(root_id, root)]),
            authorizers: BTreeMap::new(),
        }
    }

    pub fn resource(&self, id: &str) -> Result<&Resource> {
        self.resources.get(id).ok_or_else(resource_not_found)
    }

    fn resource_mut(&mut self, id: &str) -> Result<&mut Resource> {
        self.resources.get_mut(id).ok_or_else(resource_not_found)
    }

    pub fn resource_by_path(&self, path: &str) -> Option<&Resource> {
        self.resources.values().find(|r| r.path == path)
    }

    pub fn children<'a>(&'a self, parent_id: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.values().filter(move |r| r.parent_id.as_deref() == Some(parent_id))
    }

    /// CreateResource: a child of `parent_id` named `path_part`, with a new id.
    pub fn add_resource(&mut self, parent_id: &str, path_part: &str) -> Result<Resource> {
        self.add_resource_with_id(new_id(ID_LEN), parent_id, path_part)
    }

    /// [`Self::add_resource`] with an id the caller chose (and so knows afterwards).
    pub fn add_resource_with_id(&mut self, id: String, parent_id: &str, path_part: &str) -> Result<Resource> {
        if self.resources.contains_key(&id) {
            return Err(Error::Conflict(format!("Resource id {id} is taken")));
        }
        let parent = self.resource(parent_id)?;
        check_path_part(path_part)?;
        if path_part_kind(&parent.path_part) == PathPartKind::Greedy {
            return Err(Error::invalid(format!(
                "Cannot create a child of a resource with a greedy path variable: {}",
                parent.path_part
            )));
        }
        let is_variable = path_part_kind(path_part) != PathPartKind::Literal;
        for sibling in self.children(parent_id) {
            if sibling.path_part == path_part {
                return Err(Error::Conflict(format!(
                    "Another resource with the same parent already has this name: {path_part}"
                )));
            }
            if is_variable && path_part_kind(&sibling.path_part) != PathPartKind::Literal {
                return Err(Error::invalid(format!(
                    "A sibling ({}) of this resource already has a variable path part -- only one is allowed",
                    sibling.path_part
                )));
            }
        }
        let path =
            if parent.path == "/" { format!("/{path_part}") } else { format!("{}/{path_part}", parent.path) };
        let resource = Resource {
            id,
            parent_id: Some(parent_id.to_owned()),
            path_part: path_part.to_owned(),
            path,
            methods: BTreeMap::new(),
        };
        self.resources.insert(resource.id.clone(), resource.clone());
        Ok(resource)
    }

    /// The resource at `path`, creating it and any missing ancestors.
    pub fn ensure_path(&mut self, path: &str) -> Result<String> {
        let mut current = self.root_resource_id.clone();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let existing = self.children(&current).find(|r| r.path_part == part).map(|r| r.id.clone());
            current = match existing {
                Some(id) => id,
                None => self.add_resource(&current, part)?.id,
            };
        }
        Ok(current)
    }

    /// DeleteResource: the resource and everything below it. The root stays.
    pub fn delete_resource(&mut self, id: &str) -> Result<()> {
        self.resource(id)?;
        if id == self.root_resource_id {
            return Err(Error::invalid("Cannot delete the root resource of an API"));
        }
        let mut doomed = vec![id.to_owned()];
        let mut i = 0;
        while i < doomed.len() {
            let children: Vec<String> = self.children(&doomed[i]).map(|r| r.id.clone()).collect();
            doomed.extend(children);
            i += 1;
        }
        for id in doomed {
            self.resources.remove(&id);
        }
        Ok(())
    }

    /// PutMethod: a method the resource does not have yet.
    pub fn put_method(&mut self, resource_id: &str, method: Method) -> Result<Method> {
        let method = method.check()?;
        self.check_authorizer_ref(&method)?;
        let resource = self.resource_mut(resource_id)?;
        if resource.methods.contains_key(&method.http_method) {
            return Err(Error::Conflict("Method already exists for this resource".into()));
        }
        resource.methods.insert(method.http_method.clone(), method.clone());
        Ok(method)
    }

    pub fn method(&self, resource_id: &str, http: &str) -> Result<&Method> {
        let http = http_method(http).map_err(|_| method_not_found())?;
        self.resource(resource_id)?.methods.get(&http).ok_or_else(method_not_found)
    }

    pub fn delete_method(&mut self, resource_id: &str, http: &str) -> Result<()> {
        let http = http_method(http).map_err(|_| method_not_found())?;
        self.resource_mut(resource_id)?.methods.remove(&http).map(drop).ok_or_else(method_not_found)
    }

    /// PutIntegration: sets (or replaces) the method's integration.
    pub fn put_integration(
        &mut self,
        resource_id: &str,
        http: &str,
        integration: Integration,
    ) -> Result<Integration> {
        let path = self.resource(resource_id)?.path.clone();
        let method = self.method(resource_id, http)?;
        integration.check(method, &path)?;
        let key = method.http_method.clone();
        let resource = self.resource_mut(resource_id)?;
        let method = resource.methods.get_mut(&key).ok_or_else(method_not_found)?;
        method.integration = Some(integration.clone());
        Ok(integration)
    }

    pub fn integration(&self, resource_id: &str, http: &str) -> Result<&Integration> {
        self.method(resource_id, http)?.integration.as_ref().ok_or_else(integration_not_found)
    }

    pub fn delete_integration(&mut self, resource_id: &str, http: &str) -> Result<()> {
        let key = self.method(resource_id, http)?.http_method.clone();
        let resource = self.resource_mut(resource_id)?;
        let method = resource.methods.get_mut(&key).ok_or_else(method_not_found)?;
        method.integration.take().map(drop).ok_or_else(integration_not_found)
    }

    /// A method's authorizer must be one of this API's.
    fn check_authorizer_ref(&self, method: &Method) -> Result<()> {
        match &method.authorizer_id {
            Some(id) if !self.authorizers.contains_key(id) => Err(Error::invalid(format!(
                "Invalid authorizer ID specified. Setting the authorization type to CUSTOM requires a valid \
                 authorizer: {id}"
            ))),
            _ => Ok(()),
        }
    }

    /// UpdateMethod: `replace` of `/authorizationType`, `/authorizerId`, `/apiKeyRequired`,
    /// `/operationName`; add/remove of `/requestParameters/<param>`.
    pub fn update_method(
        &mut self,
        resource_id: &str,
        http: &str,
        operations: &[PatchOperation],
    ) -> Result<Method> {
        let mut method = self.method(resource_id, http)?.clone();
        for operation in operations {
            let op = operation.op.as_deref().unwrap_or_default();
            let path = operation.path.as_deref().unwrap_or_default();
            let value = operation.value.clone();
            match (op, path) {
                ("replace", "/authorizationType") => {
                    method.authorization_type = value.unwrap_or_default();
                    if method.authorization_type != "CUSTOM" {
                        method.authorizer_id = None;
                    }
                }
                ("replace", "/authorizerId") => method.authorizer_id = value.filter(|v| !v.is_empty()),
                ("replace", "/apiKeyRequired") => {
                    method.api_key_required = match value.as_deref() {
                        Some("true") => true,
                        Some("false") => false,
                        other => {
                            return Err(Error::invalid(format!(
                                "Invalid boolean value for /apiKeyRequired: {}",
                                other.unwrap_or_default()
                            )))
                        }
                    }
                }
                ("replace", "/operationName") => method.operation_name = value.filter(|v| !v.is_empty()),
                ("add" | "replace", p) if p.starts_with("/requestParameters/") => {
                    let key = p["/requestParameters/".len()..].replace("~1", "/").replace("~0", "~");
                    method.request_parameters.insert(key, value.as_deref() == Some("true"));
                }
                ("remove", p) if p.starts_with("/requestParameters/") => {
                    let key = p["/requestParameters/".len()..].replace("~1", "/").replace("~0", "~");
                    method.request_parameters.remove(&key);
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid patch path '{path}' specified for op '{op}'. Must be one of: [/authorizationType, \
                         /authorizerId, /apiKeyRequired, /operationName, /requestParameters/*]"
                    )))
                }
            }
        }
        let method = method.check()?;
        self.check_authorizer_ref(&method)?;
        let key = method.http_method.clone();
        let resource = self.resource_mut(resource_id)?;
        resource.methods.insert(key, method.clone());
        Ok(method)
    }

    pub fn authorizer(&self, id: &str) -> Result<&Authorizer> {
        self.authorizers.get(id).ok_or_else(authorizer_not_found)
    }

    /// CreateAuthorizer.
    pub fn add_authorizer(&mut self, authorizer: Authorizer) -> Result<Authorizer> {
        authorizer.check()?;
        if self.authorizers.values().any(|a| a.name == authorizer.name) {
            return Err(Error::Conflict(format!(
                "Authorizer name must be unique. Authorizer {} already exists in this RestApi.",
                authorizer.name
            )));
        }
        self.authorizers.insert(authorizer.id.clone(), authorizer.clone());
        Ok(authorizer)
    }

    /// UpdateAuthorizer.
    pub fn update_authorizer(&mut self, id: &str, operations: &[PatchOperation]) -> Result<Authorizer> {
        let mut authorizer = self.authorizer(id)?.clone();
        authorizer.patch(operations)?;
        if self.authorizers.values().any(|a| a.name == authorizer.name && a.id != id) {
            return Err(Error::Conflict(format!(
                "Authorizer name must be unique. Authorizer {} already exists in this RestApi.",
                authorizer.name
            )));
        }
        self.authorizers.insert(id.to_owned(), authorizer.clone());
        Ok(authorizer)
    }

    /// DeleteAuthorizer: refused while a method uses it.
    pub fn delete_authorizer(&mut self, id: &str) -> Result<()> {
        self.authorizer(id)?;
        let user = self.resources.values().find_map(|r| {
            r.methods
                .values()
                .find(|m| m.authorizer_id.as_deref() == Some(id))
                .map(|m| format!("{}{}", m.http_method, r.path))
        });
        if let Some(user) = user {
            return Err(Error::Conflict(format!(
                "Cannot delete authorizer '{id}', is referenced in method: {user}"
            )));
        }
        self.authorizers.remove(id);
        Ok(())
    }

    /// What CreateDeployment requires: at least one method, each with an integration.
    pub fn check_deployable(&self) -> Result<()> {
        let mut methods = self.resources.values().flat_map(|r| r.methods.values()).peekable();
        if methods.peek().is_none() {
            return Err(Error::invalid("The REST API doesn't contain any methods"));
        }
        if methods.any(|m| m.integration.is_none()) {
            return Err(Error::invalid("No integration defined for method"));
        }
        Ok(())
    }

    /// Removes every resource but the root and the root's methods (PutRestApi overwrite).
    pub fn clear(&mut self) {
        let root = self.root_resource_id.clone();
        self.resources.retain(|id, _| *id == root);
        if let Some(root) = self.resources.get_mut(&root) {
            root.methods.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(http: &str, params: &[(&str, bool)]) -> Method {
        Method {
            request_parameters: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Method::new(http)
        }
    }

    fn integration(params: &[(&str, &str)]) -> Integration {
        Integration {
            request_parameters: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Integration::lambda_proxy(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations",
            )
        }
    }

    #[test]
    fn resource_tree_rules() {
        let mut api = RestApi::new("a".into(), "n".into(), 0);
        let root = api.root_resource_id.clone();
        let users = api.add_resource(&root, "users").unwrap();
        assert_eq!(users.path, "/users");
        let id = api.add_resource(&users.id, "{id}").unwrap();
        assert_eq!(id.path, "/users/{id}");
        assert!(api.add_resource(&users.id, "users").is_ok());
        assert!(matches!(api.add_resource(&root, "users"), Err(Error::Conflict(_))));
        // Only one variable child per parent.
        assert!(matches!(api.add_resource(&users.id, "{other}"), Err(Error::InvalidParameter(_))));
        let greedy = api.add_resource(&root, "{proxy+}").unwrap();
        assert!(api.add_resource(&greedy.id, "x").is_err());
        for bad in ["a/b", "", "{", "{}", "{a", "sp ace", "{a+b}"] {
            assert!(api.add_resource(&root, bad).is_err(), "{bad:?}");
        }
        assert!(matches!(api.add_resource("nope", "x"), Err(Error::NotFound(_))));
        assert_eq!(
            api.ensure_path("/users/{id}/orders").unwrap(),
            api.resource_by_path("/users/{id}/orders").unwrap().id
        );
        api.delete_resource(&users.id).unwrap();
        assert!(api.resource_by_path("/users/{id}/orders").is_none());
        assert!(api.delete_resource(&root).is_err());
    }

    #[test]
    fn methods_and_integrations() {
        let mut api = RestApi::new("a".into(), "n".into(), 0);
        let root = api.root_resource_id.clone();
        assert!(api.check_deployable().is_err());
        api.put_method(&root, method("get", &[("method.request.header.x-tenant-id", true)])).unwrap();
        assert!(matches!(api.put_method(&root, method("GET", &[])), Err(Error::Conflict(_))));
        assert!(api.put_method(&root, method("FETCH", &[])).is_err());
        assert!(api.put_method(&root, method("POST", &[("method.request.body", true)])).is_err());
        assert_eq!(api.check_deployable().unwrap_err(), Error::invalid("No integration defined for method"));
        assert!(matches!(api.integration(&root, "GET"), Err(Error::NotFound(_))));
        // Mapping from an undeclared parameter is refused.
        let undeclared =
            integration(&[("integration.request.header.X-Amz-Tenant-Id", "method.request.header.other")]);
        assert!(api.put_integration(&root, "GET", undeclared).is_err());
        let good = integration(&[(
            "integration.request.header.X-Amz-Tenant-Id",
            "method.request.header.x-tenant-id",
        )]);
        api.put_integration(&root, "GET", good.clone()).unwrap();
        assert_eq!(api.integration(&root, "get").unwrap(), &good);
        assert_eq!(
            good.tenant_source(),
            Some(MappingSource::Method(super::super::MethodParam {
                location: ParamLocation::Header,
                name: "x-tenant-id".into()
            }))
        );
        api.check_deployable().unwrap();
        let mut slow = good.clone();
        slow.timeout_ms = 30_000;
        assert!(api.put_integration(&root, "GET", slow).is_err());
        api.delete_integration(&root, "GET").unwrap();
        api.delete_method(&root, "GET").unwrap();
        assert!(matches!(api.method(&root, "GET"), Err(Error::NotFound(_))));
    }

    #[test]
    fn lambda_uris() {
        let f = lambda_function_of(
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:000000000000:function:f:live/invocations",
        )
        .unwrap();
        assert_eq!(f, "arn:aws:lambda:eu-west-1:000000000000:function:f:live");
        assert!(lambda_function_of("arn:aws:apigateway:us-east-1:s3:path/bucket").is_err());
        assert!(lambda_function_of("https://example.com").is_err());
        assert!(lambda_function_of(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/bad name/invocations"
        )
        .is_err());
        let staged =
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${stageVariables.fn}/invocations";
        assert_eq!(lambda_function_of(staged).unwrap(), "${stageVariables.fn}");
        let vars = BTreeMap::from([("fn".to_string(), "counter".to_string())]);
        assert_eq!(substitute_stage_variables("x-${stageVariables.fn}-y", &vars).unwrap(), "x-counter-y");
        assert!(substitute_stage_variables("${stageVariables.nope}", &vars).is_err());
    }

    #[test]
    fn stage_names() {
        assert!(StageName::parse("prod_1").is_ok());
        assert!(StageName::parse("pro-d").is_err());
        assert!(StageName::parse("").is_err());
    }
}
