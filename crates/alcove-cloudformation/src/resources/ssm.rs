//! `AWS::SSM::Parameter`: PutParameter (create, and with `Overwrite` for updates) and
//! DeleteParameter through SSM's JSON 1.1 API. `Ref` is the parameter's name; `GetAtt`
//! gives `Type` and `Value`. CloudFormation creates only `String` and `StringList`
//! parameters (not `SecureString`), and a new name means a new parameter. `Tags` (a
//! key-to-value map for this type) go with the create and, on updates, through
//! AddTagsToResource / RemoveTagsFromResource.

use async_trait::async_trait;
use http::Method;
use serde_json::{json, Map, Value};

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::SSM::Parameter";
const KNOWN: &[&str] =
    &["Name", "Type", "Value", "Description", "AllowedPattern", "DataType", "Tier", "Tags"];
const UNSUPPORTED: &[&str] = &["Policies"];

pub struct Parameter;

/// One SSM operation: `POST /` with `X-Amz-Target: AmazonSSM.<name>`.
pub fn operation(name: &str, body: &Value) -> ServiceRequest {
    ServiceRequest {
        service: Service::Ssm,
        method: Method::POST,
        path_and_query: "/".into(),
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amz-target".into(), format!("AmazonSSM.{name}")),
        ],
        body: serde_json::to_vec(body).unwrap_or_default().into(),
    }
}

/// The parameter's `Tags` map.
fn tag_map(properties: &Props) -> Result<Map<String, Value>, ResourceError> {
    match properties.get("Tags") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(tags)) => tags
            .iter()
            .map(|(key, value)| match props::text(value) {
                Some(text) => Ok((key.clone(), Value::String(text))),
                None => Err(ResourceError::InvalidProperties(
                    "Model validation failed (#/Tags: expected a map of keys to string values)".into(),
                )),
            })
            .collect(),
        Some(_) => Err(ResourceError::InvalidProperties(
            "Model validation failed (#/Tags: expected type: JSONObject)".into(),
        )),
    }
}

/// `[{Key, Value}]`, as SSM's requests carry tags.
fn tag_list(tags: &Map<String, Value>) -> Value {
    tags.iter().map(|(key, value)| json!({"Key": key, "Value": value})).collect()
}

/// The PutParameter request of these properties (checked as CloudFormation checks them).
fn put_request(name: &str, properties: &Props, overwrite: bool) -> Result<Value, ResourceError> {
    props::check(TYPE, properties, KNOWN, UNSUPPORTED)?;
    let parameter_type = props::required_str(properties, "Type")?;
    if !matches!(parameter_type.as_str(), "String" | "StringList") {
        return Err(ResourceError::InvalidProperties(format!(
            "Properties validation failed for resource with message: #/Type: {parameter_type} is not a valid enum value (String, StringList); CloudFormation does not create SecureString parameters"
        )));
    }
    let value = props::required_str(properties, "Value")?;
    let mut request = Map::new();
    request.insert("Name".into(), name.into());
    request.insert("Type".into(), parameter_type.into());
    request.insert("Value".into(), value.into());
    request.insert("Overwrite".into(), overwrite.into());
    for member in ["Description", "AllowedPattern", "DataType", "Tier"] {
        if let Some(text) = props::opt_str(properties, member)? {
            request.insert(member.into(), text.into());
        }
    }
    Ok(Value::Object(request))
}

fn provisioned(name: &str, properties: &Props) -> Result<Provisioned, ResourceError> {
    Ok(Provisioned::new(name)
        .with("Type", props::required_str(properties, "Type")?)
        .with("Value", props::required_str(properties, "Value")?))
}

/// CloudFormation's name for an unnamed parameter: `CFN-{logical id}-{random}`.
fn generated_name(context: &Context<'_>) -> String {
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(12).collect();
    let logical: String = context.logical_id.chars().take(128).collect();
    format!("CFN-{logical}-{suffix}")
}

#[async_trait]
impl ResourceType for Parameter {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        property == "Name"
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        let name = match props::opt_str(properties, "Name")? {
            Some(name) => name,
            None => generated_name(context),
        };
        let mut request = put_request(&name, properties, false)?;
        let tags = tag_map(properties)?;
        if !tags.is_empty() {
            request["Tags"] = tag_list(&tags);
        }
        send(context, operation("PutParameter", &request)).await?;
        provisioned(&name, properties)
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        let request = put_request(&current.physical_id, new, true)?;
        let (old_tags, new_tags) = (tag_map(old)?, tag_map(new)?);
        send(context, operation("PutParameter", &request)).await?;
        let name = &current.physical_id;
        let gone: Vec<&String> = old_tags.keys().filter(|key| !new_tags.contains_key(*key)).collect();
        if !gone.is_empty() {
            let body = json!({"ResourceType": "Parameter", "ResourceId": name, "TagKeys": gone});
            send(context, operation("RemoveTagsFromResource", &body)).await?;
        }
        let set: Map<String, Value> =
            new_tags.into_iter().filter(|(key, value)| old_tags.get(key) != Some(value)).collect();
        if !set.is_empty() {
            let body = json!({"ResourceType": "Parameter", "ResourceId": name, "Tags": tag_list(&set)});
            send(context, operation("AddTagsToResource", &body)).await?;
        }
        provisioned(&current.physical_id, new)
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
    ) -> Result<(), ResourceError> {
        send_delete(context, operation("DeleteParameter", &json!({"Name": current.physical_id}))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(value: Value) -> Props {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn put_requests_are_checked() {
        let good = props(json!({"Type": "String", "Value": "33", "Description": "d"}));
        let request = put_request("/p", &good, true).unwrap();
        assert_eq!(
            request,
            json!({"Name": "/p", "Type": "String", "Value": "33", "Overwrite": true, "Description": "d"})
        );
        let secure = props(json!({"Type": "SecureString", "Value": "x"}));
        assert!(put_request("/p", &secure, false).unwrap_err().to_string().contains("SecureString"));
        let policies = props(json!({"Type": "String", "Value": "x", "Policies": "[{}]"}));
        assert!(put_request("/p", &policies, false).unwrap_err().to_string().contains("Policies"));
        let missing = props(json!({"Type": "String"}));
        assert!(put_request("/p", &missing, false).unwrap_err().to_string().contains("Value"));
        assert!(Parameter.replaces_on_change("Name"));
        assert!(!Parameter.replaces_on_change("Value"));
        let tags = props(json!({"Tags": {"team": "blue", "tier": 1}}));
        assert_eq!(
            tag_list(&tag_map(&tags).unwrap()),
            json!([{"Key": "team", "Value": "blue"}, {"Key": "tier", "Value": "1"}])
        );
        assert!(tag_map(&props(json!({"Tags": [{"Key": "a"}]}))).is_err());
        let request = operation("GetParameter", &json!({"Name": "/p"}));
        assert!(request.headers.contains(&("x-amz-target".into(), "AmazonSSM.GetParameter".into())));
    }
}
