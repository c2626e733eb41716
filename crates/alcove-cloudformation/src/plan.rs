//! What an update does to each resource: nothing when its resolved properties are equal,
//! an in-place update, or a replacement when the type says a changed property needs one
//! (or the type itself changed). The same comparison answers a change set's `Changes`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::resource::ResourceType;

/// One resource's fate in an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Keep,
    Update(Vec<String>),
    Replace(Vec<String>),
}

/// Top-level property names whose values differ (added, removed or changed), sorted.
pub fn changed(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names.into_iter().filter(|n| old.get(*n) != new.get(*n)).cloned().collect()
}

/// Classifies the change of one existing resource.
pub fn step(
    resource_type: Option<&dyn ResourceType>,
    type_changed: bool,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Step {
    let changed = changed(old, new);
    if type_changed {
        return Step::Replace(changed);
    }
    if changed.is_empty() {
        return Step::Keep;
    }
    let replaces = resource_type.map(|t| changed.iter().any(|p| t.replaces_on_change(p))).unwrap_or(false);
    if replaces {
        Step::Replace(changed)
    } else {
        Step::Update(changed)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::FakeType;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keep_update_and_replace() {
        let t = FakeType::new("Test::Fake::Thing");
        let old = map(json!({"Name": "a", "Size": 1, "Gone": true}));
        assert_eq!(step(Some(&t), false, &old, &old), Step::Keep);
        assert_eq!(
            step(Some(&t), false, &old, &map(json!({"Name": "a", "Size": 2}))),
            Step::Update(vec!["Gone".into(), "Size".into()])
        );
        assert_eq!(
            step(Some(&t), false, &old, &map(json!({"Name": "b", "Size": 1, "Gone": true}))),
            Step::Replace(vec!["Name".into()])
        );
        assert_eq!(step(Some(&t), true, &old, &old), Step::Replace(vec![]));
    }
}
