-- Schema version 5: API Gateway API keys and usage plans, and the quota each key has used.
-- A key's value is unique: the data plane looks keys up by the value a client sends. A
-- plan is one JSON document (its stages, limits and the ids of the keys it admits). The
-- quota row counts one key's requests under one plan in the period starting at
-- `period_start`; a request in a later period starts the count again.
CREATE TABLE api_keys (
    id    TEXT PRIMARY KEY,
    value TEXT NOT NULL UNIQUE,
    doc   TEXT NOT NULL
);
CREATE TABLE usage_plans (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE usage_plan_quota (
    plan         TEXT NOT NULL REFERENCES usage_plans(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    used         INTEGER NOT NULL,
    PRIMARY KEY (plan, key)
);
