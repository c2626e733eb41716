//! Members several CloudFormation operations share, read from the form into the engine's
//! model: `Parameters`, `Tags`, `Capabilities`, and where the template comes from
//! (`TemplateBody`, `TemplateURL`, `UsePreviousTemplate`: exactly one, as AWS insists).

use alcove_cloudformation::model::{ParameterInput, Tag, TemplateInput};

use super::template_url;
use crate::query::{Call, Form, QueryError};

/// `Parameters.member.N.{ParameterKey,ParameterValue,UsePreviousValue}`.
pub fn parameters(form: &Form) -> Result<Vec<ParameterInput>, QueryError> {
    form.structures("Parameters")
        .iter()
        .map(|member| {
            Ok(ParameterInput {
                key: member.required("ParameterKey")?.to_owned(),
                value: member.get("ParameterValue").map(str::to_owned),
                use_previous_value: member.flag("UsePreviousValue")?,
            })
        })
        .collect()
}

/// `Tags.member.N.{Key,Value}`; `None` when the caller sent no `Tags` at all.
pub fn tags(form: &Form) -> Result<Option<Vec<Tag>>, QueryError> {
    if !form.has_list("Tags") {
        return Ok(None);
    }
    form.structures("Tags")
        .iter()
        .map(|member| {
            Ok(Tag { key: member.required("Key")?.to_owned(), value: member.required("Value")?.to_owned() })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// A new stack's or change set's name: `[a-zA-Z][-a-zA-Z0-9]*`, at most 128 characters,
/// refused in AWS's words.
pub fn new_name(form: &Form, member: &str) -> Result<String, QueryError> {
    let name = form.required(member)?;
    let camel = member[..1].to_ascii_lowercase() + &member[1..];
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !well_formed {
        return Err(QueryError::Validation(format!(
            "1 validation error detected: Value '{name}' at '{camel}' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )));
    }
    if name.len() > 128 {
        return Err(QueryError::Validation(format!(
            "1 validation error detected: Value '{name}' at '{camel}' failed to satisfy constraint: \
             Member must have length less than or equal to 128"
        )));
    }
    Ok(name.to_owned())
}

pub fn capabilities(form: &Form) -> Vec<String> {
    form.strings("Capabilities")
}

/// The template of a CreateStack, ValidateTemplate or GetTemplateSummary: its body, or
/// the body of the object its URL names. `None` when neither was given.
pub async fn template(call: &Call<'_>) -> Result<Option<String>, QueryError> {
    match (call.form.get("TemplateBody"), call.form.get("TemplateURL")) {
        (Some(_), Some(_)) => {
            Err(QueryError::Validation("You cannot specify both Template URL and Template Body.".into()))
        }
        (Some(body), None) => Ok(Some(body.to_owned())),
        (None, Some(url)) => template_url::fetch(call, url).await.map(Some),
        (None, None) => Ok(None),
    }
}

/// [`template`] that must be there.
pub async fn required_template(call: &Call<'_>) -> Result<String, QueryError> {
    template(call).await?.ok_or_else(neither)
}

/// The template of an UpdateStack or CreateChangeSet, which may reuse the stack's.
pub async fn template_or_previous(call: &Call<'_>) -> Result<TemplateInput, QueryError> {
    let previous = call.form.flag("UsePreviousTemplate")?;
    match (template(call).await?, previous) {
        (Some(_), true) => Err(QueryError::Validation(
            "You cannot specify both usePreviousTemplate and Template Body/Template URL.".into(),
        )),
        (Some(body), false) => Ok(TemplateInput::Body(body)),
        (None, true) => Ok(TemplateInput::UsePrevious),
        (None, false) => Err(neither()),
    }
}

fn neither() -> QueryError {
    QueryError::Validation("Either Template URL or Template Body must be specified.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_tags_are_read_member_by_member() {
        let form = Form::parse(
            b"Parameters.member.1.ParameterKey=Env&Parameters.member.1.ParameterValue=prod\
              &Parameters.member.2.ParameterKey=Size&Parameters.member.2.UsePreviousValue=true\
              &Tags.member.1.Key=team&Tags.member.1.Value=core",
        );
        assert_eq!(
            parameters(&form).unwrap(),
            [
                ParameterInput { key: "Env".into(), value: Some("prod".into()), use_previous_value: false },
                ParameterInput { key: "Size".into(), value: None, use_previous_value: true },
            ]
        );
        assert_eq!(tags(&form).unwrap(), Some(vec![Tag { key: "team".into(), value: "core".into() }]));
        assert_eq!(tags(&Form::parse(b"Tags=")).unwrap(), Some(vec![]));
        assert_eq!(tags(&Form::parse(b"")).unwrap(), None);
    }

    #[test]
    fn a_new_name_follows_the_pattern_aws_quotes() {
        assert_eq!(new_name(&Form::parse(b"StackName=my-stack-2"), "StackName").unwrap(), "my-stack-2");
        let Err(QueryError::Validation(message)) = new_name(&Form::parse(b"StackName=my_stack"), "StackName")
        else {
            panic!("accepted")
        };
        assert_eq!(
            message,
            "1 validation error detected: Value 'my_stack' at 'stackName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        );
        for bad in ["", "2stack", "a%20b"] {
            let form = Form::parse(format!("ChangeSetName={bad}").as_bytes());
            assert!(new_name(&form, "ChangeSetName").is_err(), "{bad:?}");
        }
        let long = format!("ChangeSetName=a{}", "b".repeat(128));
        let Err(QueryError::Validation(message)) = new_name(&Form::parse(long.as_bytes()), "ChangeSetName")
        else {
            panic!("accepted")
        };
        assert!(message.ends_with("at 'changeSetName' failed to satisfy constraint: Member must have length less than or equal to 128"));
    }

    #[test]
    fn a_parameter_without_a_key_is_refused() {
        let form = Form::parse(b"Parameters.member.1.ParameterValue=prod");
        let Err(QueryError::Validation(message)) = parameters(&form) else { panic!("accepted") };
        assert!(message.contains("'parameters.1.member.parameterKey'"), "{message}");
    }
}
