// The seed's experiment: module state lives as long as the execution environment, and
// each tenant has its own environments, so each tenant counts on its own.
let counter = 0;

export const handler = async (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ counter: counter++, tenantId: context.tenantId }),
});
