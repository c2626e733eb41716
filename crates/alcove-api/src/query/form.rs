//! The members of a Query-protocol request, read as botocore's Query serializer writes
//! them: scalars by name (`StackName=...`), lists flattened as `Name.member.N`, structures
//! in lists as `Name.member.N.Field`. A list the caller set to empty arrives as `Name=`
//! alone, which is how UpdateStack tells "no tags" from "keep the tags". Handlers read
//! typed values through this reader, so a missing required member is refused the same
//! way everywhere, in AWS's words.

use std::collections::BTreeMap;

use super::QueryError;

/// The decoded members of one request (query string and form body together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    members: BTreeMap<String, String>,
    /// Where these members sit in the request (`parameters.1.member` style), for messages.
    path: String,
}

impl Form {
    /// Reads `application/x-www-form-urlencoded` text; a later duplicate wins.
    pub fn parse(encoded: &[u8]) -> Form {
        let mut form = Form::default();
        form.extend(encoded);
        form
    }

    /// Adds the members of more encoded text (the body after the query string).
    pub fn extend(&mut self, encoded: &[u8]) {
        self.members.extend(form_urlencoded::parse(encoded).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }

    /// A scalar member, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.members.get(name).map(String::as_str)
    }

    /// A scalar member that must be present (it may be empty).
    pub fn required(&self, name: &str) -> Result<&str, QueryError> {
        self.get(name).ok_or_else(|| QueryError::Validation(self.null_message(name)))
    }

    /// `1 validation error detected: Value null at 'stackName' failed to satisfy
    /// constraint: Member must not be null`, as AWS words a missing required member.
    fn null_message(&self, name: &str) -> String {
        let mut member = lower_camel(name);
        if !self.path.is_empty() {
            member = format!("{}.{member}", self.path);
        }
        format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        )
    }

    /// A boolean member (`true`/`false`, as botocore writes them); absent is `false`.
    pub fn flag(&self, name: &str) -> Result<bool, QueryError> {
        match self.get(name) {
            None => Ok(false),
            Some(text) if text.eq_ignore_ascii_case("true") => Ok(true),
            Some(text) if text.eq_ignore_ascii_case("false") => Ok(false),
            Some(text) => Err(QueryError::Validation(format!(
                "1 validation error detected: Value '{text}' at '{}' failed to satisfy constraint: Member must be a boolean",
                lower_camel(name)
            ))),
        }
    }

    /// Whether the caller sent the list at all (possibly empty, as `Name=`).
    pub fn has_list(&self, name: &str) -> bool {
        let prefix = format!("{name}.member.");
        self.members.contains_key(name) || self.members.keys().any(|k| k.starts_with(&prefix))
    }

    /// A list of scalars (`Name.member.1`, `Name.member.2`, ...) in index order.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.indexed(name)
            .into_iter()
            .filter_map(|(index, rest, value)| rest.is_empty().then_some((index, value.to_owned())))
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .collect()
    }

    /// A list of structures (`Name.member.N.Field`), each read as a form of its own.
    pub fn structures(&self, name: &str) -> Vec<Form> {
        let mut items: BTreeMap<u32, Form> = BTreeMap::new();
        for (index, rest, value) in self.indexed(name) {
            if let Some(field) = rest.strip_prefix('.') {
                let item = items.entry(index).or_insert_with(|| Form {
                    members: BTreeMap::new(),
                    path: format!("{}.{index}.member", lower_camel(name)),
                });
                item.members.insert(field.to_owned(), value.to_owned());
            }
        }
        items.into_values().collect()
    }

    /// `(N, what follows N, value)` of every `Name.member.N...` member.
    fn indexed<'a>(&'a self, name: &str) -> Vec<(u32, &'a str, &'a str)> {
        let prefix = format!("{name}.member.");
        self.members
            .iter()
            .filter_map(|(key, value)| {
                let tail = key.strip_prefix(&prefix)?;
                let digits = tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len());
                let index = tail[..digits].parse().ok()?;
                Some((index, &tail[digits..], value.as_str()))
            })
            .collect()
    }
}

/// `StackName` → `stackName`, as AWS names members in validation messages.
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_decoded_and_a_missing_one_is_refused_in_aws_words() {
        let form = Form::parse(b"Action=DescribeStacks&StackName=my%20stack&Empty=");
        assert_eq!(form.get("StackName"), Some("my stack"));
        assert_eq!(form.required("Empty").unwrap(), "");
        let QueryError::Validation(message) = form.required("LogicalResourceId").unwrap_err() else {
            panic!("not a validation error")
        };
        assert_eq!(
            message,
            "1 validation error detected: Value null at 'logicalResourceId' failed to satisfy constraint: \
             Member must not be null"
        );
    }

    #[test]
    fn lists_of_scalars_come_in_index_order() {
        let form = Form::parse(
            b"Capabilities.member.2=CAPABILITY_NAMED_IAM&Capabilities.member.1=CAPABILITY_IAM\
              &Capabilities.member.10=CAPABILITY_AUTO_EXPAND&StackStatusFilter.member.1=CREATE_COMPLETE",
        );
        assert_eq!(
            form.strings("Capabilities"),
            ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
        );
        assert_eq!(form.strings("StackStatusFilter"), ["CREATE_COMPLETE"]);
        assert!(form.strings("Tags").is_empty());
        assert!(!form.has_list("Tags"));
    }

    #[test]
    fn lists_of_structures_are_read_as_forms_of_their_own() {
        let form = Form::parse(
            b"Parameters.member.1.ParameterKey=Env&Parameters.member.1.ParameterValue=prod\
              &Parameters.member.2.ParameterKey=Size&Parameters.member.2.UsePreviousValue=true\
              &Tags.member.1.Key=team&Tags.member.1.Value=a%26b",
        );
        let parameters = form.structures("Parameters");
        assert_eq!(parameters.len(), 2);
        assert_eq!(parameters[0].get("ParameterValue"), Some("prod"));
        assert!(parameters[1].flag("UsePreviousValue").unwrap());
        assert_eq!(parameters[1].get("ParameterValue"), None);
        let tags = form.structures("Tags");
        assert_eq!((tags[0].get("Key"), tags[0].get("Value")), (Some("team"), Some("a&b")));
        let QueryError::Validation(message) = tags[0].required("Missing").unwrap_err() else { panic!() };
        assert!(message.contains("'tags.1.member.missing'"), "{message}");
    }

    #[test]
    fn an_empty_list_is_told_from_an_absent_one() {
        let form = Form::parse(b"Tags=&NotificationARNs=");
        assert!(form.has_list("Tags"));
        assert!(form.structures("Tags").is_empty());
    }

    #[test]
    fn booleans_are_true_or_false() {
        let form = Form::parse(b"A=true&B=false&C=yes");
        assert!(form.flag("A").unwrap());
        assert!(!form.flag("B").unwrap());
        assert!(!form.flag("Absent").unwrap());
        assert!(matches!(form.flag("C"), Err(QueryError::Validation(_))));
    }
}
