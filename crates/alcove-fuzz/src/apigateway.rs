//! A stage URL's request: the path is matched against the deployed resource tree
//! (`routing`), and the request becomes the Lambda proxy event (`event`). Both see the
//! caller's path, query string, headers and body as sent.

use std::collections::BTreeMap;

use alcove_api::fuzzing::{find_route, path_segments, proxy_event, ProxyRequest, RequestContext};
use alcove_core::apigateway::{Method, Resource, RestApi};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bolero::TypeGenerator;

/// A resource's path part, as the control plane would accept it.
#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Part {
    Users,
    Orders,
    Id,
    OrderId,
    Proxy,
}

impl Part {
    fn text(self) -> &'static str {
        match self {
            Part::Users => "users",
            Part::Orders => "orders",
            Part::Id => "{id}",
            Part::OrderId => "{order}",
            Part::Proxy => "{proxy+}",
        }
    }
}

/// A request path segment.
#[derive(Debug, Clone, TypeGenerator)]
enum Segment {
    Users,
    Orders,
    Number(u32),
    Encoded,
    Empty,
    Raw(String),
}

impl Segment {
    fn text(&self) -> String {
        match self {
            Segment::Users => "users".into(),
            Segment::Orders => "orders".into(),
            Segment::Number(n) => n.to_string(),
            Segment::Encoded => "%2F%20%E2%9C%93%zz".into(),
            Segment::Empty => String::new(),
            Segment::Raw(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Verb {
    Get,
    Post,
    Delete,
    Options,
}

#[derive(Debug, TypeGenerator)]
struct Call {
    resources: Vec<Vec<Part>>,
    any_method: bool,
    verb: Verb,
    path: Vec<Segment>,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    binary_media_types: Vec<String>,
}

fn method(http_method: &str) -> Method {
    Method {
        http_method: http_method.into(),
        authorization_type: "NONE".into(),
        authorizer_id: None,
        api_key_required: false,
        operation_name: None,
        request_parameters: BTreeMap::new(),
        request_models: BTreeMap::new(),
        integration: None,
    }
}

/// The resource tree the paths describe, under the control plane's rules: one variable
/// (or greedy) child per resource, and nothing below a greedy one.
fn api(paths: &[Vec<Part>], any_method: bool) -> RestApi {
    let root = Resource {
        id: "root".into(),
        parent_id: None,
        path_part: String::new(),
        path: "/".into(),
        methods: BTreeMap::new(),
    };
    let mut resources = BTreeMap::from([(root.id.clone(), root)]);
    for parts in paths.iter().take(8) {
        let mut parent = "root".to_owned();
        for part in parts.iter().take(6) {
            let siblings: Vec<&Resource> =
                resources.values().filter(|r| r.parent_id.as_deref() == Some(&parent)).collect();
            if let Some(same) = siblings.iter().find(|r| r.path_part == part.text()) {
                parent = same.id.clone();
                continue;
            }
            let parent_resource = &resources[&parent];
            let variable = part.text().starts_with('{');
            if parent_resource.path_part.ends_with("+}")
                || (variable && siblings.iter().any(|r| r.path_part.starts_with('{')))
            {
                break;
            }
            let id = format!("r{}", resources.len());
            let path = format!("{}/{}", parent_resource.path.trim_end_matches('/'), part.text());
            resources.insert(
                id.clone(),
                Resource {
                    id: id.clone(),
                    parent_id: Some(parent.clone()),
                    path_part: part.text().into(),
                    path,
                    methods: BTreeMap::new(),
                },
            );
            parent = id;
        }
        let verb = if any_method { "ANY" } else { "GET" };
        resources.get_mut(&parent).expect("the resource just made").methods.insert(verb.into(), method(verb));
    }
    RestApi {
        id: "abc123".into(),
        name: "fuzz".into(),
        description: None,
        version: None,
        created_date: 0,
        binary_media_types: Vec::new(),
        endpoint_types: vec!["EDGE".into()],
        api_key_source: "HEADER".into(),
        disable_execute_api_endpoint: false,
        tags: BTreeMap::new(),
        root_resource_id: "root".into(),
        authorizers: BTreeMap::new(),
        resources,
    }
}

#[test]
fn apigateway_request() {
    bolero::check!().with_type::<Call>().for_each(|call| {
        let api = api(&call.resources, call.any_method);
        let path = format!("/{}", call.path.iter().map(Segment::text).collect::<Vec<_>>().join("/"));
        let http_method = match call.verb {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Delete => "DELETE",
            Verb::Options => "OPTIONS",
        };
        let segments = path_segments(&path);
        let Some(route) = find_route(&api, &segments, http_method) else { return };
        // Every path parameter is a variable of the matched resource's path.
        for name in route.path_parameters.keys() {
            assert!(
                route.resource.path.contains(&format!("{{{name}}}"))
                    || route.resource.path.contains(&format!("{{{name}+}}")),
                "{name} is not in {}",
                route.resource.path
            );
        }
        let mut headers = HeaderMap::new();
        for (name, value) in call.headers.iter().take(16) {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(name.as_str()), HeaderValue::from_bytes(value))
            {
                headers.append(name, value);
            }
        }
        let stage_variables = BTreeMap::new();
        let request = ProxyRequest {
            resource_id: &route.resource.id,
            resource_path: &route.resource.path,
            path: &path,
            http_method,
            headers: &headers,
            query: call.query.as_deref(),
            path_parameters: &route.path_parameters,
            stage_variables: &stage_variables,
            body: &call.body,
            binary_media_types: &call.binary_media_types,
            context: RequestContext {
                api_id: &api.id,
                stage: "prod",
                request_id: "c0ffee",
                source_ip: "127.0.0.1",
                domain_name: "localhost",
                protocol: "HTTP/1.1",
                time_ms: 0,
            },
        };
        let event = proxy_event(&request);
        let json = serde_json::to_value(&event).expect("the event serializes");
        // The body reaches the function intact: as text, or base64 of the bytes.
        match (&event.body, event.is_base64_encoded) {
            (None, _) => assert!(call.body.is_empty()),
            (Some(text), false) => assert_eq!(text.as_bytes(), call.body.as_slice()),
            (Some(_), true) => {}
        }
        assert_eq!(json["httpMethod"], http_method);
    });
}
