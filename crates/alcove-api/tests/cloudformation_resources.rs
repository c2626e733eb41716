//! CloudFormation's resource types driven against the real application: each create,
//! update and delete goes through `InProcessServices` and the full router, and what it
//! did is read back through the services' own APIs, as a client would.

use std::sync::Arc;
use std::time::Duration;

use alcove_api::{router, AccountConfig, AppState, InProcessServices};
use alcove_async::Dispatcher;
use alcove_cloudformation::resource::{Context, Provisioned, ResourceError, ResourceType};
use alcove_cloudformation::resources::all;
use alcove_cloudformation::services::{Service, ServiceRequest, Services};
use alcove_envs::{Manager, ManagerSettings, RuntimeSettings};
use alcove_store::{CodeStore, SqlStore};
use axum::http::Method;
use serde_json::{json, Value};

async fn state(dir: &std::path::Path, services: Arc<InProcessServices>) -> AppState {
    let store = Arc::new(SqlStore::open_in_memory().await.unwrap());
    let code = CodeStore::open(dir.join("code")).unwrap();
    let envs = Manager::new(ManagerSettings {
        runtimes: RuntimeSettings {
            node: "node".into(),
            node_bootstrap: dir.join("bootstrap.mjs"),
            python: "python3".into(),
            region: "us-east-1".into(),
            sandbox: None,
            function_access: None,
        },
        logs_root: dir.to_path_buf(),
        log_store: alcove_envs::LogStore::open(&dir.join("logs.db"), Default::default()).unwrap(),
        idle_timeout: Duration::from_secs(60),
        max_environments: 1,
        tenant_isolation_unavailable: None,
        account_concurrency: 1000,
        queue_wait: Duration::ZERO,
        log_limits: Default::default(),
    });
    let events =
        Dispatcher::start(store.clone(), store.clone(), code.clone(), envs.clone(), Default::default());
    AppState {
        store,
        code,
        account: AccountConfig::default(),
        envs,
        events,
        prices: Arc::new(alcove_core::PriceTable::default_table()),
        throttles: Default::default(),
        authorizer_cache: Default::default(),
        // Functions settle after a while, as on AWS: the types must wait for them.
        state_transition_delay: Duration::from_millis(150),
        cloudformation: alcove_cloudformation::CloudFormation::open(
            &dir.join("stacks.db"),
            services.clone(),
            alcove_cloudformation::Settings {
                region: "us-east-1".into(),
                account_id: "000000000000".into(),
                sam_python: "python3".into(),
            },
        )
        .unwrap(),
        services,
        objects: alcove_s3::ObjectStore::open(&dir.join("s3")).unwrap(),
        parameters: alcove_ssm::ParameterStore::open(&dir.join("ssm")).unwrap(),
        auth: alcove_api::auth::AuthState::open(alcove_api::auth::Mode::None, &dir.join("auth")).unwrap(),
        cluster: None,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    services: Arc<InProcessServices>,
    types: Vec<Box<dyn ResourceType>>,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let services = InProcessServices::new("us-east-1");
        services.attach(router(state(dir.path(), services.clone()).await));
        Fixture { _dir: dir, services, types: all() }
    }

    fn context<'a>(&'a self, logical_id: &'a str) -> Context<'a> {
        Context {
            services: self.services.as_ref(),
            region: "us-east-1",
            account_id: "000000000000",
            stack_name: "teststack",
            stack_id: "arn:aws:cloudformation:us-east-1:000000000000:stack/teststack/1",
            logical_id,
            claim: None,
        }
    }

    fn kind(&self, name: &str) -> &dyn ResourceType {
        self.types.iter().find(|t| t.type_name() == name).unwrap().as_ref()
    }

    async fn create(&self, kind: &str, properties: &Value) -> Result<Provisioned, ResourceError> {
        self.kind(kind).create(&self.context("Res"), properties.as_object().unwrap()).await
    }

    async fn update(&self, kind: &str, current: &Provisioned, old: &Value, new: &Value) -> Provisioned {
        let (old, new) = (old.as_object().unwrap(), new.as_object().unwrap());
        self.kind(kind).update(&self.context("Res"), current, old, new).await.unwrap()
    }

    async fn delete(&self, kind: &str, current: &Provisioned, properties: &Value) {
        self.kind(kind).delete(&self.context("Res"), current, properties.as_object().unwrap()).await.unwrap()
    }

    async fn get(&self, service: Service, path: &str) -> (u16, Value) {
        let response = self.services.call(ServiceRequest::empty(service, Method::GET, path)).await;
        (response.status, response.json())
    }

    async fn logs(&self, operation: &str, body: Value) -> Value {
        let request = ServiceRequest::json(Service::Logs, Method::POST, "/", &body)
            .with_header("x-amz-target", &format!("Logs_20140328.{operation}"));
        let mut request = request;
        request.headers.retain(|(n, _)| n != "content-type");
        let request = request.with_header("content-type", "application/x-amz-json-1.1");
        self.services.call(request).await.json()
    }

    async fn ssm(&self, operation: &str, body: Value) -> (u16, Value) {
        let mut request = ServiceRequest::json(Service::Ssm, Method::POST, "/", &body);
        request.headers = vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amz-target".into(), format!("AmazonSSM.{operation}")),
        ];
        let response = self.services.call(request).await;
        (response.status, response.json())
    }
}

const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

fn function(timeout: u32, source: &str, tags: Value, concurrency: Option<u32>) -> Value {
    let mut p = json!({
        "FunctionName": "cfn-fn", "Runtime": "python3.12", "Handler": "index.handler", "Role": ROLE,
        "Timeout": timeout, "Environment": {"Variables": {"STAGE": format!("t{timeout}")}},
        "Code": {"ZipFile": source}, "Tags": tags,
    });
    if let Some(n) = concurrency {
        p["ReservedConcurrentExecutions"] = json!(n);
    }
    p
}

#[tokio::test]
async fn a_function_is_created_updated_in_place_and_deleted() {
    let f = Fixture::new().await;
    let mut props =
        function(10, "def handler(e, c):\n    return 1\n", json!([{"Key": "team", "Value": "a"}]), Some(5));
    props["TenancyConfig"] = json!({"TenantIsolationMode": "PER_TENANT"});
    let created = f.create("AWS::Lambda::Function", &props).await.unwrap();
    assert_eq!(created.physical_id, "cfn-fn");
    assert_eq!(created.attributes["Arn"], "arn:aws:lambda:us-east-1:000000000000:function:cfn-fn");

    let (status, config) = f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/configuration").await;
    assert_eq!(status, 200);
    assert_eq!(
        (config["State"].as_str(), config["LastUpdateStatus"].as_str()),
        (Some("Active"), Some("Successful"))
    );
    assert_eq!(config["Timeout"], 10);
    assert_eq!(config["TenancyConfig"], json!({"TenantIsolationMode": "PER_TENANT"}));
    assert_eq!(config["Environment"]["Variables"]["STAGE"], "t10");
    let first_sha = config["CodeSha256"].clone();
    let (_, concurrency) = f.get(Service::Lambda, "/2019-09-30/functions/cfn-fn/concurrency").await;
    assert_eq!(concurrency["ReservedConcurrentExecutions"], 5);
    let tags_path = "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Acfn-fn";
    assert_eq!(f.get(Service::Lambda, tags_path).await.1["Tags"], json!({"team": "a"}));

    let mut new =
        function(20, "def handler(e, c):\n    return 2\n", json!([{"Key": "owner", "Value": "b"}]), None);
    new["TenancyConfig"] = props["TenancyConfig"].clone();
    assert!(!f.kind("AWS::Lambda::Function").replaces_on_change("Code"));
    let updated = f.update("AWS::Lambda::Function", &created, &props, &new).await;
    assert_eq!(updated.physical_id, "cfn-fn");
    let (_, config) = f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/configuration").await;
    assert_eq!(config["Timeout"], 20);
    assert_eq!(config["TenancyConfig"], json!({"TenantIsolationMode": "PER_TENANT"}));
    assert_eq!(config["Environment"]["Variables"]["STAGE"], "t20");
    assert_ne!(config["CodeSha256"], first_sha, "the inline code was replaced");
    assert_eq!(f.get(Service::Lambda, tags_path).await.1["Tags"], json!({"owner": "b"}));
    let (_, concurrency) = f.get(Service::Lambda, "/2019-09-30/functions/cfn-fn/concurrency").await;
    assert_eq!(concurrency.get("ReservedConcurrentExecutions"), None, "{concurrency}");

    f.delete("AWS::Lambda::Function", &updated, &new).await;
    let (status, _) = f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/configuration").await;
    assert_eq!(status, 404);
    // Deleting what is already gone succeeds.
    f.delete("AWS::Lambda::Function", &updated, &new).await;
}

#[tokio::test]
async fn a_function_without_a_name_gets_the_stacks_generated_one() {
    let f = Fixture::new().await;
    let mut props = function(3, "def handler(e, c): pass", json!([]), None);
    props.as_object_mut().unwrap().remove("FunctionName");
    let created = f.create("AWS::Lambda::Function", &props).await.unwrap();
    assert!(created.physical_id.starts_with("teststack-Res-"), "{}", created.physical_id);
    assert_eq!(created.physical_id.len(), "teststack-Res-".len() + 12);
    let path = format!("/2015-03-31/functions/{}/configuration", created.physical_id);
    assert_eq!(f.get(Service::Lambda, &path).await.0, 200);
}

#[tokio::test]
async fn a_refused_create_reports_the_services_message_and_handler_error_code() {
    let f = Fixture::new().await;
    let mut props = function(3, "x", json!([]), None);
    props["Runtime"] = json!("cobol85");
    props["Code"] = json!({"S3Bucket": "bucket", "S3Key": "k"});
    let error = f.create("AWS::Lambda::Function", &props).await.unwrap_err();
    let ResourceError::Service(message) = error else { panic!("{error:?}") };
    assert!(message.starts_with("Resource handler returned message: \""), "{message}");
    assert!(message.contains("cobol85"), "{message}");
    assert!(message.contains("(Service: Lambda, Status Code: 400, Request ID: "), "{message}");
    assert!(message.ends_with("HandlerErrorCode: InvalidRequest)"), "{message}");

    let created = f.create("AWS::Lambda::Function", &function(3, "x", json!([]), None)).await.unwrap();
    let again = f.create("AWS::Lambda::Function", &function(3, "x", json!([]), None)).await.unwrap_err();
    assert!(again.to_string().ends_with("HandlerErrorCode: AlreadyExists)"), "{again}");
    assert_eq!(created.physical_id, "cfn-fn");

    let missing = f.create("AWS::Lambda::Function", &json!({"Runtime": "python3.12"})).await.unwrap_err();
    assert!(matches!(missing, ResourceError::InvalidProperties(_)), "{missing:?}");
}

#[tokio::test]
async fn versions_aliases_permissions_and_event_invoke_configs_follow_their_function() {
    let f = Fixture::new().await;
    let props = function(3, "def handler(e, c): pass", json!([]), None);
    f.create("AWS::Lambda::Function", &props).await.unwrap();

    let version_props = json!({"FunctionName": "cfn-fn", "Description": "first"});
    let version = f.create("AWS::Lambda::Version", &version_props).await.unwrap();
    assert_eq!(version.physical_id, "arn:aws:lambda:us-east-1:000000000000:function:cfn-fn:1");
    assert_eq!(version.attributes["Version"], "1");

    let alias_props = json!({"FunctionName": "cfn-fn", "Name": "live", "FunctionVersion": "1"});
    let alias = f.create("AWS::Lambda::Alias", &alias_props).await.unwrap();
    assert_eq!(alias.physical_id, "arn:aws:lambda:us-east-1:000000000000:function:cfn-fn:live");
    assert_eq!(alias.attributes["AliasArn"], json!(alias.physical_id));
    let new_alias =
        json!({"FunctionName": "cfn-fn", "Name": "live", "FunctionVersion": "$LATEST", "Description": "now"});
    f.update("AWS::Lambda::Alias", &alias, &alias_props, &new_alias).await;
    let (_, got) = f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/aliases/live").await;
    assert_eq!(
        (got["FunctionVersion"].as_str(), got["Description"].as_str()),
        (Some("$LATEST"), Some("now"))
    );

    let permission_props = json!({"FunctionName": "cfn-fn", "Action": "lambda:InvokeFunction",
        "Principal": "apigateway.amazonaws.com"});
    let permission = f.create("AWS::Lambda::Permission", &permission_props).await.unwrap();
    let (_, policy) = f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/policy").await;
    let policy: Value = serde_json::from_str(policy["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Sid"], permission.attributes["Id"]);
    assert_eq!(permission.physical_id, format!("cfn-fn|{}", permission.attributes["Id"].as_str().unwrap()));

    let config_props = json!({"FunctionName": "cfn-fn", "Qualifier": "$LATEST", "MaximumRetryAttempts": 1});
    let config = f.create("AWS::Lambda::EventInvokeConfig", &config_props).await.unwrap();
    let config_path = "/2019-09-25/functions/cfn-fn/event-invoke-config?Qualifier=%24LATEST";
    assert_eq!(f.get(Service::Lambda, config_path).await.1["MaximumRetryAttempts"], 1);
    let new_config = json!({"FunctionName": "cfn-fn", "Qualifier": "$LATEST", "MaximumRetryAttempts": 2});
    f.update("AWS::Lambda::EventInvokeConfig", &config, &config_props, &new_config).await;
    assert_eq!(f.get(Service::Lambda, config_path).await.1["MaximumRetryAttempts"], 2);

    f.delete("AWS::Lambda::EventInvokeConfig", &config, &new_config).await;
    assert_eq!(f.get(Service::Lambda, config_path).await.0, 404);
    f.delete("AWS::Lambda::Permission", &permission, &permission_props).await;
    assert_eq!(f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/policy").await.0, 404);
    f.delete("AWS::Lambda::Alias", &alias, &new_alias).await;
    assert_eq!(f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/aliases/live").await.0, 404);
    f.delete("AWS::Lambda::Version", &version, &version_props).await;
    let (status, _) = f.get(Service::Lambda, "/2015-03-31/functions/cfn-fn/configuration?Qualifier=1").await;
    assert_eq!(status, 404);
}

fn openapi(paths: Value) -> Value {
    json!({"openapi": "3.0.1", "info": {"title": "from-body", "version": "1"}, "paths": paths})
}

fn proxy_get() -> Value {
    json!({"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
        "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:cfn-fn/invocations"}}})
}

#[tokio::test]
async fn a_rest_api_imports_its_body_and_reimports_a_changed_one() {
    let f = Fixture::new().await;
    let props = json!({"Name": "cfn-api", "Body": openapi(json!({"/items": proxy_get()}))});
    let api = f.create("AWS::ApiGateway::RestApi", &props).await.unwrap();
    let (_, got) = f.get(Service::ApiGateway, &format!("/restapis/{}", api.physical_id)).await;
    assert_eq!(got["name"], "cfn-api", "Name overrides the definition's title");
    assert_eq!(api.attributes["RootResourceId"], got["rootResourceId"]);
    let resources_path = format!("/restapis/{}/resources", api.physical_id);
    let paths = |v: &Value| -> Vec<String> {
        let mut p: Vec<String> =
            v["item"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap().to_owned()).collect();
        p.sort();
        p
    };
    assert_eq!(paths(&f.get(Service::ApiGateway, &resources_path).await.1), ["/", "/items"]);

    let new = json!({"Name": "cfn-api", "Body": openapi(json!({"/orders": proxy_get()}))});
    let updated = f.update("AWS::ApiGateway::RestApi", &api, &props, &new).await;
    assert_eq!(updated.physical_id, api.physical_id);
    assert_eq!(paths(&f.get(Service::ApiGateway, &resources_path).await.1), ["/", "/orders"]);

    f.delete("AWS::ApiGateway::RestApi", &updated, &new).await;
    assert_eq!(f.get(Service::ApiGateway, &format!("/restapis/{}", api.physical_id)).await.0, 404);
}

#[tokio::test]
async fn resources_methods_deployments_and_stages_build_an_api() {
    let f = Fixture::new().await;
    let api_props = json!({"Name": "plain", "EndpointConfiguration": {"Types": ["REGIONAL"]}});
    let api = f.create("AWS::ApiGateway::RestApi", &api_props).await.unwrap();
    let root = api.attributes["RootResourceId"].as_str().unwrap().to_owned();
    let resource_props = json!({"RestApiId": api.physical_id, "ParentId": root, "PathPart": "items"});
    let resource = f.create("AWS::ApiGateway::Resource", &resource_props).await.unwrap();
    assert_eq!(resource.attributes["ResourceId"], json!(resource.physical_id));

    let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:cfn-fn/invocations";
    let method_props = json!({
        "RestApiId": api.physical_id, "ResourceId": resource.physical_id, "HttpMethod": "GET",
        "AuthorizationType": "NONE",
        "RequestParameters": {"method.request.header.x-tenant-id": true},
        "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri,
            "RequestParameters": {"integration.request.header.X-Amz-Tenant-Id": "method.request.header.x-tenant-id"}}
    });
    let method = f.create("AWS::ApiGateway::Method", &method_props).await.unwrap();
    let integration_path =
        format!("/restapis/{}/resources/{}/methods/GET/integration", api.physical_id, resource.physical_id);
    let (status, integration) = f.get(Service::ApiGateway, &integration_path).await;
    assert_eq!(status, 200);
    assert_eq!(
        integration["requestParameters"],
        json!({"integration.request.header.X-Amz-Tenant-Id": "method.request.header.x-tenant-id"})
    );
    assert_eq!(integration["type"], "AWS_PROXY");

    // An in-place update moves the method to another verb.
    let mut post = method_props.clone();
    post["HttpMethod"] = json!("POST");
    f.update("AWS::ApiGateway::Method", &method, &method_props, &post).await;
    let post_path = format!("/restapis/{}/resources/{}/methods/POST", api.physical_id, resource.physical_id);
    assert_eq!(f.get(Service::ApiGateway, &post_path).await.0, 200);
    assert_eq!(f.get(Service::ApiGateway, &integration_path).await.0, 404);

    let deployment_props = json!({"RestApiId": api.physical_id, "StageName": "prod", "Description": "d",
        "StageDescription": {"ThrottlingBurstLimit": 7, "MethodSettings": [
            {"ResourcePath": "/~1items", "HttpMethod": "POST", "MetricsEnabled": true}]}});
    let deployment = f.create("AWS::ApiGateway::Deployment", &deployment_props).await.unwrap();
    let prod = format!("/restapis/{}/stages/prod", api.physical_id);
    let (_, prod_stage) = f.get(Service::ApiGateway, &prod).await;
    assert_eq!(prod_stage["deploymentId"], json!(deployment.physical_id));
    assert_eq!(prod_stage["methodSettings"]["*/*"]["throttlingBurstLimit"], json!(7));
    assert_eq!(prod_stage["methodSettings"]["/items/POST"]["metricsEnabled"], json!(true));

    let stage_props = json!({"RestApiId": api.physical_id, "StageName": "dev", "DeploymentId": deployment.physical_id,
        "Variables": {"v": "1"},
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 3}]});
    let stage = f.create("AWS::ApiGateway::Stage", &stage_props).await.unwrap();
    assert_eq!(stage.physical_id, "dev");
    let dev = format!("/restapis/{}/stages/dev", api.physical_id);
    let (_, created) = f.get(Service::ApiGateway, &dev).await;
    assert_eq!(created["methodSettings"]["*/*"]["throttlingRateLimit"], json!(3.0));
    let mut new_stage = stage_props.clone();
    new_stage["Variables"] = json!({"v": "2"});
    new_stage["MethodSettings"] =
        json!([{"ResourcePath": "/~1items", "HttpMethod": "POST", "ThrottlingBurstLimit": 1}]);
    // Dates are in seconds: let one pass so a recreated stage would show.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    f.update("AWS::ApiGateway::Stage", &stage, &stage_props, &new_stage).await;
    let (_, updated) = f.get(Service::ApiGateway, &dev).await;
    assert_eq!(updated["variables"], json!({"v": "2"}));
    assert_eq!(updated["createdDate"], created["createdDate"], "updated in place, not recreated");
    let keys: Vec<&String> = updated["methodSettings"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["/items/POST"]);
    assert_eq!(updated["methodSettings"]["/items/POST"]["throttlingBurstLimit"], json!(1));

    f.delete("AWS::ApiGateway::Stage", &stage, &new_stage).await;
    assert_eq!(f.get(Service::ApiGateway, &dev).await.0, 404);
    f.delete("AWS::ApiGateway::Deployment", &deployment, &deployment_props).await;
    assert_eq!(f.get(Service::ApiGateway, &prod).await.0, 404, "the deployment's own stage goes with it");
    let deployment_path = format!("/restapis/{}/deployments/{}", api.physical_id, deployment.physical_id);
    assert_eq!(f.get(Service::ApiGateway, &deployment_path).await.0, 404);
    f.delete("AWS::ApiGateway::Method", &method, &post).await;
    assert_eq!(f.get(Service::ApiGateway, &post_path).await.0, 404);
    f.delete("AWS::ApiGateway::Resource", &resource, &resource_props).await;
    f.delete("AWS::ApiGateway::RestApi", &api, &api_props).await;

    // Without a definition, nothing can be renamed in place.
    let api = f.create("AWS::ApiGateway::RestApi", &api_props).await.unwrap();
    let renamed = json!({"Name": "other", "EndpointConfiguration": {"Types": ["REGIONAL"]}});
    let refused = f
        .kind("AWS::ApiGateway::RestApi")
        .update(&f.context("Res"), &api, api_props.as_object().unwrap(), renamed.as_object().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(refused, ResourceError::InvalidProperties(_)), "{refused:?}");
}

#[tokio::test]
async fn a_log_group_keeps_its_retention() {
    let f = Fixture::new().await;
    let props = json!({"LogGroupName": "/cfn/group", "RetentionInDays": 7});
    let group = f.create("AWS::Logs::LogGroup", &props).await.unwrap();
    assert_eq!(group.attributes["Arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/cfn/group:*");
    let describe = || f.logs("DescribeLogGroups", json!({"logGroupNamePrefix": "/cfn/"}));
    assert_eq!(describe().await["logGroups"][0]["retentionInDays"], 7);
    let new = json!({"LogGroupName": "/cfn/group", "RetentionInDays": 14});
    f.update("AWS::Logs::LogGroup", &group, &props, &new).await;
    assert_eq!(describe().await["logGroups"][0]["retentionInDays"], 14);
    let unset = json!({"LogGroupName": "/cfn/group"});
    f.update("AWS::Logs::LogGroup", &group, &new, &unset).await;
    assert_eq!(describe().await["logGroups"][0].get("retentionInDays"), None);
    f.delete("AWS::Logs::LogGroup", &group, &unset).await;
    assert_eq!(describe().await["logGroups"], json!([]));
    f.delete("AWS::Logs::LogGroup", &group, &unset).await;
}

#[tokio::test]
async fn an_ssm_parameter_is_put_overwritten_and_deleted() {
    let f = Fixture::new().await;
    let get = |name: &'static str| f.ssm("GetParameter", json!({"Name": name}));
    let props = json!({"Name": "/cdk-bootstrap/q/version", "Type": "String", "Value": "33"});
    let parameter = f.create("AWS::SSM::Parameter", &props).await.unwrap();
    assert_eq!(parameter.physical_id, "/cdk-bootstrap/q/version");
    assert_eq!(
        (parameter.attributes["Type"].clone(), parameter.attributes["Value"].clone()),
        (json!("String"), json!("33"))
    );
    let (_, got) = get("/cdk-bootstrap/q/version").await;
    assert_eq!(
        (got["Parameter"]["Value"].clone(), got["Parameter"]["Version"].clone()),
        (json!("33"), json!(1))
    );
    let taken = f.create("AWS::SSM::Parameter", &props).await.unwrap_err();
    assert!(taken.to_string().contains("HandlerErrorCode: AlreadyExists"), "{taken}");
    let new =
        json!({"Name": "/cdk-bootstrap/q/version", "Type": "String", "Value": "34", "Description": "d"});
    let updated = f.update("AWS::SSM::Parameter", &parameter, &props, &new).await;
    assert_eq!(updated.attributes["Value"], "34");
    let (_, got) = get("/cdk-bootstrap/q/version").await;
    assert_eq!(
        (got["Parameter"]["Value"].clone(), got["Parameter"]["Version"].clone()),
        (json!("34"), json!(2))
    );
    f.delete("AWS::SSM::Parameter", &parameter, &new).await;
    assert_eq!(get("/cdk-bootstrap/q/version").await.0, 400);
    f.delete("AWS::SSM::Parameter", &parameter, &new).await;
}

#[tokio::test]
async fn iam_roles_are_recorded_with_aws_shaped_ids() {
    let f = Fixture::new().await;
    let props =
        json!({"Path": "/service/", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}});
    let role = f.create("AWS::IAM::Role", &props).await.unwrap();
    assert!(role.physical_id.starts_with("teststack-Res-"), "{}", role.physical_id);
    assert_eq!(
        role.attributes["Arn"],
        json!(format!("arn:aws:iam::000000000000:role/service/{}", role.physical_id))
    );
    let id = role.attributes["RoleId"].as_str().unwrap();
    assert!(
        id.starts_with("AROA")
            && id.len() == 21
            && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{id}"
    );
    assert!(f.kind("AWS::IAM::Role").replaces_on_change("RoleName"));
    let mut described = props.clone();
    described["Description"] = json!("d");
    let updated = f.update("AWS::IAM::Role", &role, &props, &described).await;
    assert_eq!(updated, role, "an in-place update keeps the role's ids");
    let missing = f.create("AWS::IAM::Role", &json!({"RoleName": "r"})).await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        "Model validation failed (#: required key [AssumeRolePolicyDocument] not found)"
    );

    let policy = f
        .create(
            "AWS::IAM::ManagedPolicy",
            &json!({"ManagedPolicyName": "p", "PolicyDocument": {"Statement": []}}),
        )
        .await
        .unwrap();
    assert_eq!(policy.physical_id, "arn:aws:iam::000000000000:policy/p");
}

#[tokio::test]
async fn calls_made_before_the_router_is_attached_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let services = InProcessServices::new("eu-west-1");
    let waiting = {
        let services = services.clone();
        tokio::spawn(async move {
            services.call(ServiceRequest::empty(Service::Lambda, Method::GET, "/2015-03-31/functions")).await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    services.attach(router(state(dir.path(), services.clone()).await));
    let response = waiting.await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["Functions"], json!([]));
    // The region comes from the signature's credential scope.
    let context = Context {
        services: services.as_ref(),
        region: "eu-west-1",
        account_id: "000000000000",
        stack_name: "s",
        stack_id: "arn:aws:cloudformation:eu-west-1:000000000000:stack/s/1",
        logical_id: "Fn",
        claim: None,
    };
    let props = function(3, "def handler(e, c): pass", json!([]), None);
    let created = all()
        .into_iter()
        .find(|t| t.type_name() == "AWS::Lambda::Function")
        .unwrap()
        .create(&context, props.as_object().unwrap())
        .await
        .unwrap();
    assert_eq!(created.attributes["Arn"], "arn:aws:lambda:eu-west-1:000000000000:function:cfn-fn");
}
