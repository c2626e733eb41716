// A per-tenant counter: one Node.js function in tenant isolation mode behind a REST API
// whose GET /counter maps the caller's x-tenant-id header to X-Amz-Tenant-Id.
//
// The stack is named by COUNTER_STACK (default TenantCounter). Its CounterUrl output is
// the stage URL on the endpoint the CDK CLI deploys to (AWS_ENDPOINT_URL), which is where
// Alcove serves it.
const path = require('path');
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const apigateway = require('aws-cdk-lib/aws-apigateway');

const app = new cdk.App();
const stack = new cdk.Stack(app, process.env.COUNTER_STACK || 'TenantCounter');

const counter = new lambda.Function(stack, 'Counter', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromAsset(path.join(__dirname, 'function')),
  tenancyConfig: lambda.TenancyConfig.PER_TENANT,
  timeout: cdk.Duration.seconds(10),
});

const api = new apigateway.RestApi(stack, 'Api', { deployOptions: { stageName: 'prod' } });
api.root.addResource('counter').addMethod(
  'GET',
  new apigateway.LambdaIntegration(counter, {
    requestParameters: {
      'integration.request.header.X-Amz-Tenant-Id': 'method.request.header.x-tenant-id',
    },
  }),
  { requestParameters: { 'method.request.header.x-tenant-id': true } },
);

const endpoint = (process.env.AWS_ENDPOINT_URL || 'http://127.0.0.1:9000').replace(/\/+$/, '');
new cdk.CfnOutput(stack, 'CounterUrl', {
  value: `${endpoint}/restapis/${api.restApiId}/${api.deploymentStage.stageName}/_user_request_/counter`,
});
new cdk.CfnOutput(stack, 'FunctionName', { value: counter.functionName });
