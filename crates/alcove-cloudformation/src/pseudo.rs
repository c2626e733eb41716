//! Pseudo parameters: the values `Ref` gives for `AWS::Region`, `AWS::StackName`, ... in
//! this deployment. `AWS::NoValue` is not a value but a removal, handled by the evaluator.

use std::collections::BTreeMap;

use serde_json::Value;

/// Every pseudo parameter a template may `Ref`.
pub const NAMES: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// The parameters `Ref` sees: the stack's declared parameters and the pseudo parameters.
pub fn with_pseudo(
    mut parameters: BTreeMap<String, Value>,
    region: &str,
    account_id: &str,
    stack_name: &str,
    stack_id: &str,
) -> BTreeMap<String, Value> {
    let pairs = [
        ("AWS::AccountId", Value::from(account_id)),
        ("AWS::NotificationARNs", Value::Array(Vec::new())),
        ("AWS::Partition", Value::from("aws")),
        ("AWS::Region", Value::from(region)),
        ("AWS::StackId", Value::from(stack_id)),
        ("AWS::StackName", Value::from(stack_name)),
        ("AWS::URLSuffix", Value::from("amazonaws.com")),
    ];
    for (name, value) in pairs {
        parameters.insert(name.to_owned(), value);
    }
    parameters
}
