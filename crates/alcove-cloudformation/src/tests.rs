//! The engine end to end against the fake resource type: stack lifecycles, rollbacks,
//! replacements, restarts (the same database opened again), exports and change sets.

use std::sync::Arc;
use std::time::Duration;

use crate::model::{
    CreateChangeSetInput, CreateStackInput, ParameterInput, Stack, TemplateInput, UpdateStackInput,
};
use crate::testing::{FakeType, NoServices, SharedWorld};
use crate::{CloudFormation, CloudFormationError, Settings};

const T: &str = "Test::Fake::Thing";

struct Harness {
    dir: tempfile::TempDir,
    cf: CloudFormation,
    world: SharedWorld,
}

fn settings() -> Settings {
    Settings { region: "us-east-1".into(), account_id: "123456789012".into(), sam_python: "python3".into() }
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let world = SharedWorld::default();
        let cf = Self::open_in(&dir, &world);
        Harness { dir, cf, world }
    }

    fn open_in(dir: &tempfile::TempDir, world: &SharedWorld) -> CloudFormation {
        let types: Vec<Box<dyn crate::resource::ResourceType>> =
            vec![Box::new(FakeType::in_world(T, world.clone()))];
        CloudFormation::open_with_types(&dir.path().join("cf.db"), Arc::new(NoServices), settings(), types)
            .unwrap()
    }

    /// The same database opened by a new engine, as after a restart.
    fn reopen(&self) -> CloudFormation {
        Self::open_in(&self.dir, &self.world)
    }

    async fn create(&self, name: &str, template: &str) -> Result<String, CloudFormationError> {
        self.cf.create_stack(create_input(name, template)).await
    }

    async fn update(&self, name: &str, template: &str) -> Result<String, CloudFormationError> {
        self.cf
            .update_stack(UpdateStackInput {
                stack_name: name.into(),
                template: TemplateInput::Body(template.into()),
                parameters: Vec::new(),
                capabilities: Vec::new(),
                tags: None,
                disable_rollback: false,
                client_request_token: None,
            })
            .await
    }

    fn live(&self) -> Vec<String> {
        self.world.lock().unwrap().live.keys().cloned().collect()
    }

    /// The events of a stack, oldest first, as `logical STATUS reason`.
    async fn events(&self, stack: &str) -> Vec<String> {
        let mut events: Vec<String> = self
            .cf
            .describe_stack_events(stack)
            .await
            .unwrap()
            .into_iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e.logical_resource_id,
                    e.resource_status,
                    e.resource_status_reason.unwrap_or_default()
                )
                .trim_end()
                .to_owned()
            })
            .collect();
        events.reverse();
        events
    }
}

fn create_input(name: &str, template: &str) -> CreateStackInput {
    CreateStackInput {
        stack_name: name.into(),
        template: template.into(),
        parameters: Vec::new(),
        capabilities: Vec::new(),
        tags: Vec::new(),
        disable_rollback: false,
        on_failure: None,
        client_request_token: None,
        description_override: None,
    }
}

/// Waits until the stack settles (no `*_IN_PROGRESS` status).
async fn settled(cf: &CloudFormation, stack: &str) -> Stack {
    for _ in 0..500 {
        let s = cf.describe_stacks(Some(stack)).await.unwrap().remove(0);
        if !s.status.ends_with("_IN_PROGRESS") {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("stack {stack} never settled");
}

const TWO: &str = r#"
Parameters:
  Suffix:
    Type: String
    Default: one
Resources:
  First:
    Type: Test::Fake::Thing
    Properties:
      Name: !Sub "first-${Suffix}"
  Second:
    Type: Test::Fake::Thing
    Properties:
      Target: !GetAtt First.Arn
      Ref: !Ref First
      Region: !Ref AWS::Region
Outputs:
  FirstArn:
    Value: !GetAtt First.Arn
    Export:
      Name: !Sub "${AWS::StackName}-first"
"#;

#[tokio::test]
async fn create_resolves_dependencies_and_outputs() {
    let h = Harness::new();
    let id = h.create("app", TWO).await.unwrap();
    assert!(id.starts_with("arn:aws:cloudformation:us-east-1:123456789012:stack/app/"));
    let stack = settled(&h.cf, "app").await;
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert_eq!(stack.outputs[0].value, "arn:fake:First-1");
    assert_eq!(stack.outputs[0].export_name.as_deref(), Some("app-first"));
    assert_eq!(stack.parameters[0].value, "one");
    {
        let world = h.world.lock().unwrap();
        let second = &world.live["Second-2"].1;
        assert_eq!(second["Target"], "arn:fake:First-1");
        assert_eq!(second["Ref"], "First-1");
        assert_eq!(second["Region"], "us-east-1");
        assert_eq!(world.live["First-1"].1["Name"], "first-one");
    }
    assert_eq!(
        h.events("app").await,
        vec![
            "app CREATE_IN_PROGRESS User Initiated",
            "First CREATE_IN_PROGRESS",
            "First CREATE_IN_PROGRESS Resource creation Initiated",
            "First CREATE_COMPLETE",
            "Second CREATE_IN_PROGRESS",
            "Second CREATE_IN_PROGRESS Resource creation Initiated",
            "Second CREATE_COMPLETE",
            "app CREATE_COMPLETE",
        ]
    );
    let resources = h.cf.list_stack_resources("app").await.unwrap();
    assert_eq!(resources.len(), 2);
    let first = h.cf.describe_stack_resource("app", "First").await.unwrap();
    assert_eq!(first.physical_resource_id.as_deref(), Some("First-1"));
    let by_physical = h.cf.describe_stack_resources(None, None, Some("Second-2")).await.unwrap();
    assert_eq!(by_physical[0].logical_resource_id, "Second");
    let exports = h.cf.list_exports().await.unwrap();
    assert_eq!(exports[0].name, "app-first");
    assert_eq!(h.cf.get_template(Some("app"), None).await.unwrap(), TWO);
}

#[tokio::test]
async fn a_failing_create_rolls_back() {
    let h = Harness::new();
    let template = "Resources:\n  A:\n    Type: Test::Fake::Thing\n  B:\n    Type: Test::Fake::Thing\n    DependsOn: A\n    Properties:\n      Fail: true\n  C:\n    Type: Test::Fake::Thing\n    DependsOn: B\n";
    let id = h.create("bad", template).await.unwrap();
    let stack = settled(&h.cf, "bad").await;
    assert_eq!(stack.status, "ROLLBACK_COMPLETE");
    assert!(h.live().is_empty(), "A was deleted");
    let events = h.events("bad").await;
    assert_eq!(events[events.len() - 8..], [
        "B CREATE_FAILED Resource handler returned message: \"boom\"",
        "C CREATE_FAILED Resource creation cancelled",
        "bad ROLLBACK_IN_PROGRESS The following resource(s) failed to create: [B]. Rollback requested by user.",
        "B DELETE_IN_PROGRESS",
        "B DELETE_COMPLETE",
        "A DELETE_IN_PROGRESS",
        "A DELETE_COMPLETE",
        "bad ROLLBACK_COMPLETE",
    ]);
    let err = h.update("bad", template).await.unwrap_err().to_string();
    assert_eq!(err, format!("Stack:{id} is in ROLLBACK_COMPLETE state and can not be updated."));
    h.cf.delete_stack("bad").await.unwrap();
    let deleted = settled(&h.cf, &id).await;
    assert_eq!(deleted.status, "DELETE_COMPLETE");
    assert!(deleted.deletion_time.is_some());
    assert_eq!(
        h.cf.describe_stacks(Some("bad")).await.unwrap_err().to_string(),
        "Stack with id bad does not exist"
    );
    assert!(h.cf.describe_stacks(None).await.unwrap().is_empty());
    assert_eq!(h.cf.list_stacks(&["DELETE_COMPLETE".into()]).await.unwrap().len(), 1);
    h.cf.delete_stack("never-existed").await.unwrap();
}

#[tokio::test]
async fn unsupported_types_fail_the_stack_and_do_nothing_keeps_it() {
    let h = Harness::new();
    let template = "Resources:\n  A:\n    Type: Test::Fake::Thing\n  Q:\n    Type: AWS::SQS::Queue\n";
    let mut input = create_input("q", template);
    input.on_failure = Some("DO_NOTHING".into());
    h.cf.create_stack(input).await.unwrap();
    let stack = settled(&h.cf, "q").await;
    assert_eq!(stack.status, "CREATE_FAILED");
    assert_eq!(stack.status_reason.as_deref(), Some("The following resource(s) failed to create: [Q]. "));
    let q = h.cf.describe_stack_resource("q", "Q").await.unwrap();
    assert_eq!(q.resource_status, "CREATE_FAILED");
    assert_eq!(
        q.resource_status_reason.as_deref(),
        Some("Unsupported resource type AWS::SQS::Queue: Alcove deploys Test::Fake::Thing")
    );
    assert_eq!(h.live(), vec!["A-1"], "DO_NOTHING keeps what was created");
    h.cf.delete_stack("q").await.unwrap();
    settled(&h.cf, &stack.stack_id).await;
    assert!(h.live().is_empty());
}

#[tokio::test]
async fn updates_keep_update_replace_add_and_remove() {
    let h = Harness::new();
    let v1 = "Resources:\n  Keep:\n    Type: Test::Fake::Thing\n  Edit:\n    Type: Test::Fake::Thing\n    Properties:\n      Size: 1\n  Swap:\n    Type: Test::Fake::Thing\n    Properties:\n      Name: a\n  Drop:\n    Type: Test::Fake::Thing\n";
    let v2 = "Resources:\n  Keep:\n    Type: Test::Fake::Thing\n  Edit:\n    Type: Test::Fake::Thing\n    Properties:\n      Size: 2\n  Swap:\n    Type: Test::Fake::Thing\n    Properties:\n      Name: b\n  User:\n    Type: Test::Fake::Thing\n    Properties:\n      Of: !Ref Swap\n";
    h.create("up", v1).await.unwrap();
    assert_eq!(settled(&h.cf, "up").await.status, "CREATE_COMPLETE");
    assert_eq!(h.update("up", v1).await.unwrap_err().to_string(), "No updates are to be performed.");
    h.world.lock().unwrap().log.clear();
    h.update("up", v2).await.unwrap();
    let stack = settled(&h.cf, "up").await;
    assert_eq!(stack.status, "UPDATE_COMPLETE");
    let log = h.world.lock().unwrap().log.clone();
    // The replacement is created first; the old one and the removed resource go at cleanup.
    assert_eq!(
        log,
        vec!["update Edit-2", "create Swap-5", "create User-6", "delete Swap-4", "delete Drop-1"]
    );
    assert_eq!(h.world.lock().unwrap().live["User-6"].1["Of"], "Swap-5");
    let events = h.events("up").await;
    assert!(events.contains(&"Swap UPDATE_IN_PROGRESS Requested update requires the creation of a new physical resource; hence creating one.".to_owned()));
    let cleanup = events.iter().position(|e| e == "up UPDATE_COMPLETE_CLEANUP_IN_PROGRESS").unwrap();
    assert!(events[cleanup..].contains(&"Drop DELETE_COMPLETE".to_owned()));
    assert_eq!(events.last().unwrap(), "up UPDATE_COMPLETE");
    let ids: Vec<String> =
        h.cf.list_stack_resources("up").await.unwrap().into_iter().map(|r| r.logical_resource_id).collect();
    assert_eq!(ids.len(), 4);
    assert!(!ids.contains(&"Drop".to_owned()));
}

#[tokio::test]
async fn a_failing_update_rolls_back_to_the_previous_template() {
    let h = Harness::new();
    let v1 = "Resources:\n  Swap:\n    Type: Test::Fake::Thing\n    Properties:\n      Name: a\n  Edit:\n    Type: Test::Fake::Thing\n    Properties:\n      Size: 1\n";
    let v2 = "Resources:\n  Swap:\n    Type: Test::Fake::Thing\n    Properties:\n      Name: b\n  Edit:\n    Type: Test::Fake::Thing\n    DependsOn: [Swap, New]\n    Properties:\n      Size: 2\n      FailUpdate: true\n  New:\n    Type: Test::Fake::Thing\n";
    h.create("rb", v1).await.unwrap();
    settled(&h.cf, "rb").await;
    let before = h.live();
    h.update("rb", v2).await.unwrap();
    let stack = settled(&h.cf, "rb").await;
    assert_eq!(stack.status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(stack.status_reason, None);
    assert_eq!(h.live(), before, "the original Swap is back and New is gone");
    assert_eq!(h.world.lock().unwrap().live["Edit-1"].1["Size"], 1);
    assert_eq!(h.cf.get_template(Some("rb"), None).await.unwrap(), v1);
    let events = h.events("rb").await;
    assert!(events.contains(
        &"rb UPDATE_ROLLBACK_IN_PROGRESS The following resource(s) failed to update: [Edit].".to_owned()
    ));
    assert!(events.contains(&"rb UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS".to_owned()));
    let swap = h.cf.describe_stack_resource("rb", "Swap").await.unwrap();
    assert_eq!(swap.physical_resource_id.as_deref(), Some("Swap-2"));
    // The stack can be updated again after the rollback.
    let v3 = v1.replace("Size: 1", "Size: 3");
    h.update("rb", &v3).await.unwrap();
    assert_eq!(settled(&h.cf, "rb").await.status, "UPDATE_COMPLETE");
}

#[tokio::test]
async fn a_restart_during_create_rolls_the_stack_back() {
    let h = Harness::new();
    let template = "Resources:\n  A:\n    Type: Test::Fake::Thing\n  B:\n    Type: Test::Fake::Thing\n    DependsOn: A\n    Properties:\n      Block: true\n";
    let id = h.create("cut", template).await.unwrap();
    while h.live().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The first engine's task is stuck inside B's create; a new engine takes over.
    let cf = h.reopen();
    let stack = settled(&cf, &id).await;
    assert_eq!(stack.status, "ROLLBACK_COMPLETE");
    assert!(h.live().is_empty());
    let events = h.events("cut").await;
    assert!(events.contains(
        &"cut ROLLBACK_IN_PROGRESS Alcove restarted during the operation. Rollback requested by user."
            .to_owned()
    ));
    assert!(events.contains(&"B CREATE_FAILED Alcove restarted during the operation".to_owned()));
}

#[tokio::test]
async fn a_restart_during_update_rolls_the_update_back() {
    let h = Harness::new();
    let v1 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n    Properties:\n      Size: 1\n";
    let v2 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n    Properties:\n      Size: 2\n  B:\n    Type: Test::Fake::Thing\n    DependsOn: A\n    Properties:\n      Block: true\n";
    h.create("cut", v1).await.unwrap();
    settled(&h.cf, "cut").await;
    h.update("cut", v2).await.unwrap();
    while h.world.lock().unwrap().live["A-1"].1["Size"] != 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cf = h.reopen();
    let stack = settled(&cf, "cut").await;
    assert_eq!(stack.status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(h.live(), vec!["A-1"]);
    assert_eq!(h.world.lock().unwrap().live["A-1"].1["Size"], 1);
    assert_eq!(cf.get_template(Some("cut"), None).await.unwrap(), v1);
}

#[tokio::test]
async fn exports_in_use_cannot_be_deleted_or_duplicated() {
    let h = Harness::new();
    let exporter = "Resources:\n  A:\n    Type: Test::Fake::Thing\nOutputs:\n  Out:\n    Value: !Ref A\n    Export:\n      Name: shared\n";
    let importer =
        "Resources:\n  B:\n    Type: Test::Fake::Thing\n    Properties:\n      From: !ImportValue shared\n";
    let exporter_id = h.create("exporter", exporter).await.unwrap();
    settled(&h.cf, "exporter").await;
    let importer_id = h.create("importer", importer).await.unwrap();
    assert_eq!(settled(&h.cf, "importer").await.status, "CREATE_COMPLETE");
    assert_eq!(h.world.lock().unwrap().live["B-2"].1["From"], "A-1");
    h.create("twin", exporter).await.unwrap();
    let twin = settled(&h.cf, "twin").await;
    assert_eq!(twin.status, "ROLLBACK_COMPLETE");
    assert!(h.events("twin").await.contains(
        &"twin ROLLBACK_IN_PROGRESS Export with name shared is already exported by stack exporter".to_owned()
    ));
    h.cf.delete_stack("exporter").await.unwrap();
    let stack = settled(&h.cf, &exporter_id).await;
    assert_eq!(stack.status, "DELETE_FAILED");
    assert_eq!(
        stack.status_reason.as_deref(),
        Some("Export shared cannot be deleted as it is in use by importer")
    );
    assert!(h.live().contains(&"A-1".to_owned()));
    let without = "Resources:\n  A:\n    Type: Test::Fake::Thing\n";
    let err = h.update("exporter", without).await.unwrap_err().to_string();
    assert!(err.contains("DELETE_FAILED state"), "{err}");
    h.cf.delete_stack("importer").await.unwrap();
    settled(&h.cf, &importer_id).await;
    h.cf.delete_stack("exporter").await.unwrap();
    assert_eq!(settled(&h.cf, &exporter_id).await.status, "DELETE_COMPLETE");
    assert!(h.cf.list_exports().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_update_cannot_remove_an_export_in_use() {
    let h = Harness::new();
    let exporter = "Resources:\n  A:\n    Type: Test::Fake::Thing\nOutputs:\n  Out:\n    Value: !Ref A\n    Export:\n      Name: shared\n";
    h.create("exporter", exporter).await.unwrap();
    settled(&h.cf, "exporter").await;
    h.create(
        "importer",
        "Resources:\n  B:\n    Type: Test::Fake::Thing\n    Properties:\n      From: !ImportValue shared\n",
    )
    .await
    .unwrap();
    settled(&h.cf, "importer").await;
    h.update("exporter", "Resources:\n  A:\n    Type: Test::Fake::Thing\n").await.unwrap();
    let stack = settled(&h.cf, "exporter").await;
    assert_eq!(stack.status, "UPDATE_ROLLBACK_COMPLETE");
    let events = h.events("exporter").await;
    assert!(events.contains(
        &"exporter UPDATE_ROLLBACK_IN_PROGRESS Export shared cannot be deleted as it is in use by importer"
            .to_owned()
    ));
    assert_eq!(h.cf.list_exports().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_delete_leaves_the_stack_delete_failed() {
    let h = Harness::new();
    let id = h
        .create(
            "stuck",
            "Resources:\n  A:\n    Type: Test::Fake::Thing\n    Properties:\n      FailDelete: true\n",
        )
        .await
        .unwrap();
    settled(&h.cf, "stuck").await;
    h.cf.delete_stack("stuck").await.unwrap();
    let stack = settled(&h.cf, &id).await;
    assert_eq!(stack.status, "DELETE_FAILED");
    assert_eq!(stack.status_reason.as_deref(), Some("The following resource(s) failed to delete: [A]. "));
    let a = h.cf.describe_stack_resource("stuck", "A").await.unwrap();
    assert_eq!(a.resource_status, "DELETE_FAILED");
    assert_eq!(a.resource_status_reason.as_deref(), Some("delete refused"));
}

#[tokio::test]
async fn change_sets_create_update_and_report_no_changes() {
    let h = Harness::new();
    let v1 = "Description: first\nResources:\n  A:\n    Type: Test::Fake::Thing\n    Properties:\n      Name: a\n  B:\n    Type: Test::Fake::Thing\n";
    let input = |name: &str, kind: Option<&str>, body: &str| CreateChangeSetInput {
        stack_name: "cs".into(),
        change_set_name: name.into(),
        change_set_type: kind.map(str::to_owned),
        template: TemplateInput::Body(body.into()),
        parameters: Vec::new(),
        capabilities: Vec::new(),
        tags: None,
        description: None,
        client_token: None,
    };
    let created = h.cf.create_change_set(input("first", Some("CREATE"), v1)).await.unwrap();
    assert!(created
        .change_set_id
        .starts_with("arn:aws:cloudformation:us-east-1:123456789012:changeSet/first/"));
    let stack = h.cf.describe_stacks(Some("cs")).await.unwrap().remove(0);
    assert_eq!(stack.status, "REVIEW_IN_PROGRESS");
    assert!(h.cf.list_stack_resources("cs").await.unwrap().is_empty());
    let described = h.cf.describe_change_set("first", Some("cs")).await.unwrap();
    assert_eq!(
        (described.status.as_str(), described.execution_status.as_str()),
        ("CREATE_COMPLETE", "AVAILABLE")
    );
    assert_eq!(described.changes.iter().map(|c| c.action.as_str()).collect::<Vec<_>>(), ["Add", "Add"]);
    h.cf.execute_change_set(&created.change_set_id, None).await.unwrap();
    assert_eq!(settled(&h.cf, "cs").await.status, "CREATE_COMPLETE");
    assert_eq!(settled(&h.cf, "cs").await.description.as_deref(), Some("first"));
    let executed = h.cf.describe_change_set(&created.change_set_id, None).await.unwrap();
    assert_eq!(executed.execution_status, "EXECUTE_COMPLETE");

    h.cf.create_change_set(input("same", None, v1)).await.unwrap();
    let same = h.cf.describe_change_set("same", Some("cs")).await.unwrap();
    assert_eq!(same.status, "FAILED");
    assert_eq!(
        same.status_reason.as_deref(),
        Some("The submitted information didn't contain changes. Submit different information to create a change set.")
    );
    assert_eq!(same.execution_status, "UNAVAILABLE");
    let err = h.cf.execute_change_set("same", Some("cs")).await.unwrap_err();
    assert!(matches!(err, CloudFormationError::InvalidChangeSetStatus(_)));

    let v2 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n    Properties:\n      Name: z\n  C:\n    Type: Test::Fake::Thing\n";
    let by_id = CreateChangeSetInput { stack_name: created.stack_id.clone(), ..input("second", None, v2) };
    h.cf.create_change_set(by_id).await.unwrap();
    let other = h.cf.create_change_set(input("third", None, v2)).await.unwrap();
    let second = h.cf.describe_change_set("second", Some("cs")).await.unwrap();
    let summary: Vec<(String, String, Option<String>, Vec<String>)> = second
        .changes
        .iter()
        .map(|c| {
            (
                c.action.clone(),
                c.logical_resource_id.clone(),
                c.replacement.clone(),
                c.changed_properties.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Modify".into(), "A".into(), Some("True".into()), vec!["Name".into()]),
            ("Add".into(), "C".into(), None, vec![]),
            ("Remove".into(), "B".into(), None, vec![]),
        ]
    );
    assert_eq!(
        h.cf.create_change_set(input("second", None, v2)).await.unwrap_err().to_string(),
        "ChangeSet [second] already exists"
    );
    h.cf.execute_change_set("second", Some("cs")).await.unwrap();
    assert_eq!(settled(&h.cf, "cs").await.status, "UPDATE_COMPLETE");
    let obsolete = h.cf.describe_change_set(&other.change_set_id, None).await.unwrap();
    assert_eq!(obsolete.execution_status, "OBSOLETE");
    // Executing one removes them all from the list; each stays readable by its ARN.
    assert!(h.cf.list_change_sets("cs").await.unwrap().is_empty());
    h.cf.delete_change_set("third", Some("cs")).await.unwrap();
    assert!(matches!(
        h.cf.describe_change_set("third", Some("cs")).await.unwrap_err(),
        CloudFormationError::ChangeSetNotFound(_)
    ));
}

#[tokio::test]
async fn a_review_stack_keeps_its_status_when_its_change_set_is_deleted() {
    let h = Harness::new();
    h.cf.create_change_set(CreateChangeSetInput {
        stack_name: "r".into(),
        change_set_name: "c".into(),
        change_set_type: Some("CREATE".into()),
        template: TemplateInput::Body("Resources:\n  A:\n    Type: Test::Fake::Thing\n".into()),
        parameters: Vec::new(),
        capabilities: Vec::new(),
        tags: None,
        description: None,
        client_token: None,
    })
    .await
    .unwrap();
    h.cf.delete_change_set("c", Some("r")).await.unwrap();
    assert_eq!(h.cf.describe_stacks(Some("r")).await.unwrap()[0].status, "REVIEW_IN_PROGRESS");
    let err = h.create("r", "Resources:\n  A:\n    Type: Test::Fake::Thing\n").await.unwrap_err();
    assert!(matches!(err, CloudFormationError::AlreadyExists(_)));
}

#[tokio::test]
async fn requests_are_validated_before_anything_runs() {
    let h = Harness::new();
    let ok = "Resources:\n  A:\n    Type: Test::Fake::Thing\n";
    assert!(h.create("1bad", ok).await.unwrap_err().to_string().contains("failed to satisfy constraint"));
    h.create("dup", ok).await.unwrap();
    assert_eq!(h.create("dup", ok).await.unwrap_err().to_string(), "Stack [dup] already exists");
    assert_eq!(h.update("ghost", ok).await.unwrap_err().to_string(), "Stack with id ghost does not exist");
    let iam = "Resources:\n  R:\n    Type: AWS::IAM::Role\n";
    let err = h.create("iam", iam).await.unwrap_err();
    assert!(matches!(err, CloudFormationError::InsufficientCapabilities(_)));
    assert_eq!(err.to_string(), "Requires capabilities : [CAPABILITY_IAM]");
    let named = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: x\n";
    let mut input = create_input("iam", named);
    input.capabilities = vec!["CAPABILITY_IAM".into()];
    assert_eq!(
        h.cf.create_stack(input).await.unwrap_err().to_string(),
        "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    );
    let summary = h.cf.validate_template(named).await.unwrap();
    assert_eq!(summary.capabilities, vec!["CAPABILITY_NAMED_IAM".to_owned()]);
    let params = "Parameters:\n  Need:\n    Type: String\nResources:\n  A:\n    Type: Test::Fake::Thing\n";
    assert_eq!(h.create("p", params).await.unwrap_err().to_string(), "Parameters: [Need] must have values");
    let cyclic = "Resources:\n  A:\n    Type: Test::Fake::Thing\n    DependsOn: B\n  B:\n    Type: Test::Fake::Thing\n    DependsOn: A\n";
    assert_eq!(
        h.create("c", cyclic).await.unwrap_err().to_string(),
        "Circular dependency between resources: [A, B]"
    );

    // A change set records a refused transform: made, FAILED with the reason, not executable.
    let include_set = CreateChangeSetInput {
        stack_name: "inc-cs".into(),
        change_set_name: "refused".into(),
        change_set_type: Some("CREATE".into()),
        template: TemplateInput::Body(
            "Transform: [AWS::Include]\nResources:\n  A:\n    Type: Test::Fake::Thing\n".into(),
        ),
        parameters: Vec::new(),
        capabilities: Vec::new(),
        tags: None,
        description: None,
        client_token: None,
    };
    h.cf.create_change_set(include_set).await.unwrap();
    let refused_set = h.cf.describe_change_set("refused", Some("inc-cs")).await.unwrap();
    assert_eq!(
        (refused_set.status.as_str(), refused_set.execution_status.as_str()),
        ("FAILED", "UNAVAILABLE")
    );
    assert_eq!(
        refused_set.status_reason.as_deref(),
        Some(
            "Transform AWS::Include is not supported by Alcove (only AWS::Serverless-2016-10-31 is applied)"
        )
    );
    assert!(refused_set.changes.is_empty());
    assert!(h.cf.execute_change_set("refused", Some("inc-cs")).await.is_err());
    let include = "Transform: [AWS::Include]\nResources:\n  A:\n    Type: Test::Fake::Thing\n";
    let refused =
        "Transform AWS::Include is not supported by Alcove (only AWS::Serverless-2016-10-31 is applied)";
    assert_eq!(h.cf.validate_template(include).await.unwrap_err().to_string(), refused);
    assert_eq!(h.create("inc", include).await.unwrap_err().to_string(), refused);
    let summary = h.cf.template_summary(Some(include), None).await.unwrap();
    assert_eq!(summary.declared_transforms, vec!["AWS::Include".to_owned()]);
    assert!(h.cf.describe_stacks(Some("1bad")).await.is_err());
}

#[tokio::test]
async fn conditions_drop_resources_and_no_value_drops_properties() {
    let h = Harness::new();
    let template = r#"
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
  Secret:
    Type: String
    NoEcho: true
    Default: hidden
Mappings:
  Sizes:
    dev: {Size: 1}
    prod: {Size: 3}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Always:
    Type: Test::Fake::Thing
    Properties:
      Size: !FindInMap [Sizes, !Ref Env, Size]
      Extra: !If [IsProd, big, !Ref AWS::NoValue]
      Zones: !GetAZs ""
  ProdOnly:
    Type: Test::Fake::Thing
    Condition: IsProd
Outputs:
  Prod:
    Condition: IsProd
    Value: !Ref ProdOnly
"#;
    let mut input = create_input("cond", template);
    input.parameters =
        vec![ParameterInput { key: "Env".into(), value: Some("dev".into()), use_previous_value: false }];
    h.cf.create_stack(input).await.unwrap();
    let stack = settled(&h.cf, "cond").await;
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert!(stack.outputs.is_empty());
    assert_eq!(stack.parameters.iter().find(|p| p.key == "Secret").unwrap().value, "****");
    let live = h.world.lock().unwrap().live.clone();
    assert_eq!(live.len(), 1);
    let properties = &live["Always-1"].1;
    assert_eq!(properties["Size"], 1);
    assert!(!properties.contains_key("Extra"));
    assert_eq!(properties["Zones"], serde_json::json!(["us-east-1a", "us-east-1b", "us-east-1c"]));
    h.cf.update_stack(UpdateStackInput {
        stack_name: "cond".into(),
        template: TemplateInput::UsePrevious,
        parameters: vec![
            ParameterInput { key: "Env".into(), value: Some("prod".into()), use_previous_value: false },
            ParameterInput { key: "Secret".into(), value: None, use_previous_value: true },
        ],
        capabilities: Vec::new(),
        tags: None,
        disable_rollback: false,
        client_request_token: None,
    })
    .await
    .unwrap();
    let stack = settled(&h.cf, "cond").await;
    assert_eq!(stack.status, "UPDATE_COMPLETE");
    assert_eq!(stack.outputs[0].value, "ProdOnly-2");
    assert_eq!(h.world.lock().unwrap().live["Always-1"].1["Extra"], "big");
}

#[tokio::test]
async fn deletion_policies_retain_and_on_failure_delete_removes_the_stack() {
    let h = Harness::new();
    let template = "Resources:\n  Kept:\n    Type: Test::Fake::Thing\n    DeletionPolicy: Retain\n  Gone:\n    Type: Test::Fake::Thing\n  OnCreate:\n    Type: Test::Fake::Thing\n    DeletionPolicy: RetainExceptOnCreate\n";
    let id = h.create("keep", template).await.unwrap();
    settled(&h.cf, "keep").await;
    h.cf.delete_stack("keep").await.unwrap();
    assert_eq!(settled(&h.cf, &id).await.status, "DELETE_COMPLETE");
    assert_eq!(h.live(), vec!["Kept-2", "OnCreate-3"]);
    assert!(h.events(&id).await.contains(&"Kept DELETE_SKIPPED".to_owned()));

    h.world.lock().unwrap().live.clear();
    let failing = format!("{template}  Bad:\n    Type: Test::Fake::Thing\n    DependsOn: [Kept, Gone, OnCreate]\n    Properties:\n      Fail: true\n");
    let mut input = create_input("doomed", &failing);
    input.on_failure = Some("DELETE".into());
    let id = h.cf.create_stack(input).await.unwrap();
    let stack = settled(&h.cf, &id).await;
    assert_eq!(stack.status, "DELETE_COMPLETE");
    assert!(h.events(&id).await.contains(
        &"doomed DELETE_IN_PROGRESS The following resource(s) failed to create: [Bad]. Delete requested by user.".to_owned()
    ));
    // Retain keeps the resource even when its creation is undone; RetainExceptOnCreate does not.
    assert_eq!(h.live().len(), 1);
    assert!(h.live()[0].starts_with("Kept-"));
}

#[tokio::test]
async fn a_resource_cannot_refer_to_one_its_conditions_drop() {
    let h = Harness::new();
    let base = "Parameters:\n  On:\n    Type: String\n    Default: 'no'\nConditions:\n  IsOn: !Equals [!Ref On, 'yes']\nResources:\n  Maybe:\n    Type: Test::Fake::Thing\n    Condition: IsOn\n";
    let direct =
        format!("{base}  User:\n    Type: Test::Fake::Thing\n    Properties:\n      Of: !Ref Maybe\n");
    assert_eq!(
        h.create("direct", &direct).await.unwrap_err().to_string(),
        "Template format error: Unresolved resource dependencies [Maybe] in the Resources block of the template"
    );
    let guarded = format!(
        "{base}  User:\n    Type: Test::Fake::Thing\n    Properties:\n      Of: !If [IsOn, !GetAtt Maybe.Arn, !Ref AWS::NoValue]\n"
    );
    h.create("guarded", &guarded).await.unwrap();
    assert_eq!(settled(&h.cf, "guarded").await.status, "CREATE_COMPLETE");
}

#[tokio::test]
async fn a_restart_during_delete_finishes_the_delete() {
    let h = Harness::new();
    let id = h.create("del", "Resources:\n  A:\n    Type: Test::Fake::Thing\n  B:\n    Type: Test::Fake::Thing\n    DependsOn: A\n").await.unwrap();
    settled(&h.cf, "del").await;
    h.world.lock().unwrap().block_deletes = true;
    h.cf.delete_stack("del").await.unwrap();
    while !h.events(&id).await.contains(&"B DELETE_IN_PROGRESS".to_owned()) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    h.world.lock().unwrap().block_deletes = false;
    let cf = h.reopen();
    assert_eq!(settled(&cf, &id).await.status, "DELETE_COMPLETE");
    assert!(h.live().is_empty());
}

#[tokio::test]
async fn a_missing_attribute_fails_the_resource_that_reads_it() {
    let h = Harness::new();
    let template = "Resources:\n  A:\n    Type: Test::Fake::Thing\n  B:\n    Type: Test::Fake::Thing\n    Properties:\n      X: !GetAtt A.Nope\n";
    h.create("att", template).await.unwrap();
    let stack = settled(&h.cf, "att").await;
    assert_eq!(stack.status, "ROLLBACK_COMPLETE");
    assert!(h.events("att").await.contains(
        &"B CREATE_FAILED Template error: resource A does not support attribute type Nope in Fn::GetAtt"
            .to_owned()
    ));
    let ids: Vec<String> =
        h.cf.describe_stack_events("att").await.unwrap().into_iter().map(|e| e.event_id).collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "event ids are unique");
}

#[tokio::test]
async fn settled_stacks_survive_a_restart_untouched() {
    let h = Harness::new();
    h.create("kept", TWO).await.unwrap();
    let before = settled(&h.cf, "kept").await;
    let log_before = h.world.lock().unwrap().log.len();
    let cf = h.reopen();
    let after = settled(&cf, "kept").await;
    assert_eq!((after.status.as_str(), after.outputs.clone()), ("CREATE_COMPLETE", before.outputs));
    assert_eq!(cf.list_stack_resources("kept").await.unwrap().len(), 2);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(h.world.lock().unwrap().log.len(), log_before, "nothing was called again");
    // An update through the new engine still sees the stored properties: changing the
    // parameter replaces First (Name changes) and updates Second, which reads its Arn.
    cf.update_stack(UpdateStackInput {
        stack_name: "kept".into(),
        template: TemplateInput::UsePrevious,
        parameters: vec![ParameterInput {
            key: "Suffix".into(),
            value: Some("two".into()),
            use_previous_value: false,
        }],
        capabilities: Vec::new(),
        tags: None,
        disable_rollback: false,
        client_request_token: None,
    })
    .await
    .unwrap();
    let updated = settled(&cf, "kept").await;
    assert_eq!(updated.status, "UPDATE_COMPLETE");
    assert_eq!(updated.outputs[0].value, "arn:fake:First-3");
    assert_eq!(h.world.lock().unwrap().live["Second-2"].1["Target"], "arn:fake:First-3");
}

#[tokio::test]
async fn change_sets_see_through_replacements_to_their_dependents() {
    let h = Harness::new();
    let v1 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n    Properties:\n      Name: a\n  B:\n    Type: Test::Fake::Thing\n    Properties:\n      Of: !Ref A\n";
    h.create("dep", v1).await.unwrap();
    settled(&h.cf, "dep").await;
    h.cf.create_change_set(CreateChangeSetInput {
        stack_name: "dep".into(),
        change_set_name: "rename".into(),
        change_set_type: None,
        template: TemplateInput::Body(v1.replace("Name: a", "Name: b")),
        parameters: Vec::new(),
        capabilities: Vec::new(),
        tags: None,
        description: None,
        client_token: None,
    })
    .await
    .unwrap();
    let changes = h.cf.describe_change_set("rename", Some("dep")).await.unwrap().changes;
    let b = changes.iter().find(|c| c.logical_resource_id == "B").expect("B changes because A is replaced");
    assert_eq!((b.action.as_str(), b.replacement.as_deref()), ("Modify", Some("False")));
    assert_eq!(b.changed_properties, vec!["Of".to_owned()]);
}

#[tokio::test]
async fn a_panicking_resource_type_settles_the_stack_failed() {
    let h = Harness::new();
    h.create("bug", "Resources:\n  A:\n    Type: Test::Fake::Thing\n    Properties:\n      Panic: true\n")
        .await
        .unwrap();
    let stack = settled(&h.cf, "bug").await;
    assert_eq!(
        (stack.status.as_str(), stack.status_reason.as_deref()),
        ("CREATE_FAILED", Some("Internal failure"))
    );
    h.cf.delete_stack("bug").await.unwrap();
    assert_eq!(settled(&h.cf, &stack.stack_id).await.status, "DELETE_COMPLETE");
}

#[tokio::test]
async fn an_update_that_only_adds_a_deletion_policy_is_recorded() {
    let h = Harness::new();
    let v1 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n";
    let id = h.create("pol", v1).await.unwrap();
    settled(&h.cf, "pol").await;
    let v2 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n    DeletionPolicy: Retain\n";
    h.update("pol", v2).await.unwrap();
    assert_eq!(settled(&h.cf, "pol").await.status, "UPDATE_COMPLETE");
    assert_eq!(h.world.lock().unwrap().log, vec!["create A-1"], "no resource was touched");
    h.cf.delete_stack("pol").await.unwrap();
    settled(&h.cf, &id).await;
    assert_eq!(h.live(), vec!["A-1"]);
}

#[tokio::test]
async fn a_retried_create_with_its_token_gets_the_same_stack() {
    let h = Harness::new();
    let ok = "Resources:\n  A:\n    Type: Test::Fake::Thing\n";
    let mut input = create_input("retry", ok);
    input.client_request_token = Some("token-1".into());
    let first = h.cf.create_stack(input.clone()).await.unwrap();
    assert_eq!(h.cf.create_stack(input.clone()).await.unwrap(), first);
    input.client_request_token = Some("token-2".into());
    assert!(matches!(h.cf.create_stack(input).await.unwrap_err(), CloudFormationError::AlreadyExists(_)));
    settled(&h.cf, "retry").await;
    assert_eq!(h.live().len(), 1);
    let events = h.cf.describe_stack_events("retry").await.unwrap();
    assert!(events.iter().all(|e| e.client_request_token.as_deref() == Some("token-1")));
}

#[tokio::test]
async fn an_update_makes_pending_change_sets_obsolete() {
    let h = Harness::new();
    let v1 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n";
    h.create("obs", v1).await.unwrap();
    settled(&h.cf, "obs").await;
    let v2 = "Resources:\n  A:\n    Type: Test::Fake::Thing\n  B:\n    Type: Test::Fake::Thing\n";
    let pending =
        h.cf.create_change_set(CreateChangeSetInput {
            stack_name: "obs".into(),
            change_set_name: "later".into(),
            change_set_type: None,
            template: TemplateInput::Body(v2.into()),
            parameters: Vec::new(),
            capabilities: Vec::new(),
            tags: None,
            description: None,
            client_token: None,
        })
        .await
        .unwrap();
    h.update("obs", v2).await.unwrap();
    settled(&h.cf, "obs").await;
    let change_set = h.cf.describe_change_set(&pending.change_set_id, None).await.unwrap();
    assert_eq!(change_set.execution_status, "OBSOLETE");
    let err = h.cf.execute_change_set(&pending.change_set_id, None).await.unwrap_err();
    assert!(matches!(err, CloudFormationError::InvalidChangeSetStatus(_)));
}

/// A SAM template whose only resource is not a SAM one: the translator passes it through
/// and drops `Transform` and `Globals`. Runs the real translator (`aws-sam-translator`).
const SAM: &str = "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Timeout: 3\nResources:\n  A:\n    Type: Test::Fake::Thing\n";

#[tokio::test]
async fn the_sam_transform_runs_before_the_engine_and_the_original_is_kept() {
    let h = Harness::new();
    assert_eq!(
        h.create("sam", SAM).await.unwrap_err().to_string(),
        "Requires capabilities : [CAPABILITY_AUTO_EXPAND]"
    );
    let mut input = create_input("sam", SAM);
    input.capabilities = vec!["CAPABILITY_AUTO_EXPAND".into()];
    h.cf.create_stack(input).await.unwrap();
    assert_eq!(settled(&h.cf, "sam").await.status, "CREATE_COMPLETE");
    assert_eq!(h.cf.get_template(Some("sam"), None).await.unwrap(), SAM);
    let processed = h.cf.get_template_stage(Some("sam"), None, Some("Processed")).await.unwrap();
    let processed: serde_json::Value = serde_json::from_str(&processed).unwrap();
    assert_eq!(processed, serde_json::json!({"Resources": {"A": {"Type": T}}}));
    assert!(h.cf.get_template_stage(Some("sam"), None, Some("Later")).await.is_err());
    let summary = h.cf.template_summary(None, Some("sam")).await.unwrap();
    assert_eq!(summary.declared_transforms, vec!["AWS::Serverless-2016-10-31".to_owned()]);
    let summary = h.cf.validate_template(SAM).await.unwrap();
    assert_eq!(summary.declared_transforms, vec!["AWS::Serverless-2016-10-31".to_owned()]);
}

#[tokio::test]
async fn the_translators_refusals_are_validation_errors_with_its_message() {
    let h = Harness::new();
    let per_tenant = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      InlineCode: x\n      TenancyConfig: {TenantIsolationMode: PER_TENANT}\n      FunctionUrlConfig: {AuthType: NONE}\n";
    assert_eq!(
        h.cf.validate_template(per_tenant).await.unwrap_err().to_string(),
        "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. Number of errors found: 1. Resource with id [Fn] is invalid. Function URL is not supported for functions enabled with tenancy configuration."
    );
    let missing = CloudFormation::open_with_types(
        &h.dir.path().join("other.db"),
        std::sync::Arc::new(NoServices),
        Settings { sam_python: "alcove-no-such-python".into(), ..settings() },
        Vec::new(),
    )
    .unwrap();
    let message = missing.validate_template(SAM).await.unwrap_err().to_string();
    assert!(message.contains("pip install aws-sam-translator"), "{message}");
}
