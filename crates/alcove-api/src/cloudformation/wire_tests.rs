//! Golden documents: each result shape as botocore's `query` parser reads it.

use alcove_cloudformation::model;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::wire::*;

fn at(seconds: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 2, 3, seconds).unwrap() + chrono::Duration::milliseconds(567)
}

fn xml<T: Serialize>(root: &str, value: &T) -> String {
    quick_xml::se::to_string_with_root(root, value).unwrap()
}

const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:000000000000:stack/s/1";

#[test]
fn a_stack_nests_parameters_outputs_and_tags_as_members() {
    let stack = model::Stack {
        stack_id: STACK_ID.into(),
        stack_name: "s".into(),
        change_set_id: None,
        description: Some("a <demo>".into()),
        parameters: vec![model::StackParameter {
            key: "Env".into(),
            value: "prod".into(),
            resolved_value: None,
        }],
        creation_time: at(4),
        last_updated_time: Some(at(5)),
        deletion_time: None,
        status: "CREATE_COMPLETE".into(),
        status_reason: None,
        disable_rollback: false,
        capabilities: vec!["CAPABILITY_IAM".into()],
        outputs: vec![model::Output {
            key: "Url".into(),
            value: "http://x/prod".into(),
            description: None,
            export_name: Some("url".into()),
        }],
        tags: vec![model::Tag { key: "team".into(), value: "core".into() }],
    };
    let result = StacksResult { stacks: vec![Stack::from(stack)].into() };
    assert_eq!(
        xml("DescribeStacksResult", &result),
        "<DescribeStacksResult><Stacks><member>\
         <StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/s/1</StackId><StackName>s</StackName>\
         <Description>a &lt;demo&gt;</Description>\
         <Parameters><member><ParameterKey>Env</ParameterKey><ParameterValue>prod</ParameterValue></member></Parameters>\
         <CreationTime>2026-12-01T02:03:04.567Z</CreationTime><LastUpdatedTime>2026-12-01T02:03:05.567Z</LastUpdatedTime>\
         <StackStatus>CREATE_COMPLETE</StackStatus><DisableRollback>false</DisableRollback>\
         <NotificationARNs/>\
         <Capabilities><member>CAPABILITY_IAM</member></Capabilities>\
         <Outputs><member><OutputKey>Url</OutputKey><OutputValue>http://x/prod</OutputValue><ExportName>url</ExportName></member></Outputs>\
         <Tags><member><Key>team</Key><Value>core</Value></member></Tags>\
         <EnableTerminationProtection>false</EnableTerminationProtection>\
         <DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation>\
         </member></Stacks></DescribeStacksResult>"
    );
}

#[test]
fn an_empty_list_is_an_empty_element() {
    let result = StacksResult { stacks: Vec::<Stack>::new().into() };
    assert_eq!(
        xml("DescribeStacksResult", &result),
        "<DescribeStacksResult><Stacks/></DescribeStacksResult>"
    );
}

fn resource() -> model::StackResource {
    model::StackResource {
        stack_id: STACK_ID.into(),
        stack_name: "s".into(),
        logical_resource_id: "Fn".into(),
        physical_resource_id: Some("s-Fn-ABC".into()),
        resource_type: "AWS::Lambda::Function".into(),
        last_updated_timestamp: at(6),
        resource_status: "CREATE_COMPLETE".into(),
        resource_status_reason: None,
        description: None,
        metadata: Some("{\"a\":1}".into()),
    }
}

#[test]
fn each_resource_shape_names_its_time_as_the_model_does() {
    let detail = StackResourceDetailResult { stack_resource_detail: resource().into() };
    assert_eq!(
        xml("DescribeStackResourceResult", &detail),
        "<DescribeStackResourceResult><StackResourceDetail><StackName>s</StackName>\
         <StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/s/1</StackId>\
         <LogicalResourceId>Fn</LogicalResourceId><PhysicalResourceId>s-Fn-ABC</PhysicalResourceId>\
         <ResourceType>AWS::Lambda::Function</ResourceType>\
         <LastUpdatedTimestamp>2026-12-01T02:03:06.567Z</LastUpdatedTimestamp>\
         <ResourceStatus>CREATE_COMPLETE</ResourceStatus><Metadata>{\"a\":1}</Metadata>\
         <DriftInformation><StackResourceDriftStatus>NOT_CHECKED</StackResourceDriftStatus></DriftInformation>\
         </StackResourceDetail></DescribeStackResourceResult>"
    );
    let listed = StackResourcesResult { stack_resources: vec![StackResource::from(resource())].into() };
    let text = xml("DescribeStackResourcesResult", &listed);
    assert!(text.contains("<StackResources><member><StackName>s</StackName>"), "{text}");
    assert!(text.contains("<Timestamp>2026-12-01T02:03:06.567Z</Timestamp>"), "{text}");
    assert!(!text.contains("Metadata"), "{text}");
    let summaries = StackResourceSummariesResult {
        stack_resource_summaries: vec![StackResourceSummary::from(resource())].into(),
    };
    let text = xml("ListStackResourcesResult", &summaries);
    assert!(text.starts_with(
        "<ListStackResourcesResult><StackResourceSummaries><member><LogicalResourceId>Fn</LogicalResourceId>"
    ));
    assert!(text.contains("<LastUpdatedTimestamp>2026-12-01T02:03:06.567Z</LastUpdatedTimestamp>"), "{text}");
    assert!(!text.contains("StackId"), "{text}");
}

#[test]
fn a_stack_event_keeps_its_optional_members_only_when_set() {
    let event = model::StackEvent {
        stack_id: STACK_ID.into(),
        event_id: "e-1".into(),
        stack_name: "s".into(),
        logical_resource_id: "s".into(),
        physical_resource_id: Some(STACK_ID.into()),
        resource_type: "AWS::CloudFormation::Stack".into(),
        timestamp: at(7),
        resource_status: "CREATE_IN_PROGRESS".into(),
        resource_status_reason: Some("User Initiated".into()),
        resource_properties: None,
        client_request_token: None,
    };
    assert_eq!(
        xml("DescribeStackEventsResult", &StackEventsResult { stack_events: vec![StackEvent::from(event)].into() }),
        "<DescribeStackEventsResult><StackEvents><member>\
         <StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/s/1</StackId><EventId>e-1</EventId>\
         <StackName>s</StackName><LogicalResourceId>s</LogicalResourceId>\
         <PhysicalResourceId>arn:aws:cloudformation:us-east-1:000000000000:stack/s/1</PhysicalResourceId>\
         <ResourceType>AWS::CloudFormation::Stack</ResourceType><Timestamp>2026-12-01T02:03:07.567Z</Timestamp>\
         <ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus><ResourceStatusReason>User Initiated</ResourceStatusReason>\
         </member></StackEvents></DescribeStackEventsResult>"
    );
}

#[test]
fn a_change_set_nests_resource_changes_and_their_details() {
    let change_set = model::ChangeSet {
        change_set_id: "arn:cs".into(),
        change_set_name: "cs".into(),
        stack_id: STACK_ID.into(),
        stack_name: "s".into(),
        description: None,
        parameters: vec![],
        creation_time: at(8),
        status: "CREATE_COMPLETE".into(),
        status_reason: None,
        execution_status: "AVAILABLE".into(),
        capabilities: vec![],
        tags: vec![],
        changes: vec![model::ResourceChange {
            action: "Modify".into(),
            logical_resource_id: "Fn".into(),
            physical_resource_id: Some("s-Fn-ABC".into()),
            resource_type: "AWS::Lambda::Function".into(),
            replacement: Some("False".into()),
            scope: vec!["Properties".into()],
            changed_properties: vec!["MemorySize".into()],
        }],
    };
    assert_eq!(
        xml("DescribeChangeSetResult", &DescribeChangeSetResult::from(change_set)),
        "<DescribeChangeSetResult><ChangeSetName>cs</ChangeSetName><ChangeSetId>arn:cs</ChangeSetId>\
         <StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/s/1</StackId><StackName>s</StackName>\
         <CreationTime>2026-12-01T02:03:08.567Z</CreationTime><ExecutionStatus>AVAILABLE</ExecutionStatus>\
         <Status>CREATE_COMPLETE</Status><NotificationARNs/><Tags/>\
         <Changes><member><Type>Resource</Type><ResourceChange><Action>Modify</Action>\
         <LogicalResourceId>Fn</LogicalResourceId><PhysicalResourceId>s-Fn-ABC</PhysicalResourceId>\
         <ResourceType>AWS::Lambda::Function</ResourceType><Replacement>False</Replacement>\
         <Scope><member>Properties</member></Scope>\
         <Details><member><Target><Attribute>Properties</Attribute><Name>MemorySize</Name>\
         <RequiresRecreation>Never</RequiresRecreation></Target><Evaluation>Static</Evaluation>\
         <ChangeSource>DirectModification</ChangeSource></member></Details>\
         </ResourceChange></member></Changes>\
         <IncludeNestedStacks>false</IncludeNestedStacks></DescribeChangeSetResult>"
    );
}

fn summary() -> model::TemplateSummary {
    model::TemplateSummary {
        description: Some("demo".into()),
        parameters: vec![model::ParameterDeclaration {
            key: "Env".into(),
            default_value: Some("dev".into()),
            parameter_type: "String".into(),
            no_echo: false,
            description: None,
            allowed_values: vec!["dev".into(), "prod".into()],
        }],
        capabilities: vec![],
        capabilities_reason: None,
        resource_types: vec!["AWS::Lambda::Function".into()],
        version: Some("2010-09-09".into()),
        declared_transforms: vec![],
        metadata: None,
    }
}

#[test]
fn validate_template_and_get_template_summary_declare_parameters_differently() {
    assert_eq!(
        xml("ValidateTemplateResult", &ValidateTemplateResult::from(summary())),
        "<ValidateTemplateResult><Parameters><member><ParameterKey>Env</ParameterKey>\
         <DefaultValue>dev</DefaultValue><NoEcho>false</NoEcho></member></Parameters>\
         <Description>demo</Description></ValidateTemplateResult>"
    );
    assert_eq!(
        xml("GetTemplateSummaryResult", &TemplateSummaryResult::from(summary())),
        "<GetTemplateSummaryResult><Parameters><member><ParameterKey>Env</ParameterKey>\
         <DefaultValue>dev</DefaultValue><ParameterType>String</ParameterType><NoEcho>false</NoEcho>\
         <ParameterConstraints><AllowedValues><member>dev</member><member>prod</member></AllowedValues>\
         </ParameterConstraints></member></Parameters><Description>demo</Description>\
         <ResourceTypes><member>AWS::Lambda::Function</member></ResourceTypes><Version>2010-09-09</Version>\
         </GetTemplateSummaryResult>"
    );
}

#[test]
fn the_small_results_name_their_members_as_the_model_does() {
    let created = model::ChangeSetCreated { change_set_id: "arn:cs".into(), stack_id: STACK_ID.into() };
    assert_eq!(
        xml("CreateChangeSetResult", &CreateChangeSetResult::from(created)),
        "<CreateChangeSetResult><Id>arn:cs</Id>\
         <StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/s/1</StackId></CreateChangeSetResult>"
    );
    let template = GetTemplateResult {
        template_body: "Resources:\n  A: {Type: \"X\"} # & more".into(),
        stages_available: vec!["Original", "Processed"].into(),
    };
    assert_eq!(
        xml("GetTemplateResult", &template),
        "<GetTemplateResult><TemplateBody>Resources:\n  A: {Type: \"X\"} # &amp; more</TemplateBody>\
         <StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable></GetTemplateResult>"
    );
    let export = model::Export { exporting_stack_id: STACK_ID.into(), name: "url".into(), value: "v".into() };
    assert_eq!(
        xml("ListExportsResult", &ExportsResult { exports: vec![Export::from(export)].into() }),
        "<ListExportsResult><Exports><member>\
         <ExportingStackId>arn:aws:cloudformation:us-east-1:000000000000:stack/s/1</ExportingStackId>\
         <Name>url</Name><Value>v</Value></member></Exports></ListExportsResult>"
    );
}
