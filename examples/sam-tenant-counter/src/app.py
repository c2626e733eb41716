"""The seed's experiment: module state lives as long as the execution environment, and
each tenant has its own environments, so each tenant counts on its own."""

import json

counter = 0


def handler(event, context):
    global counter
    body = {"counter": counter, "tenantId": context.tenant_id}
    counter += 1
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
