-- Schema version 1: the schema Alcove created before schema versions, statement for statement.
-- Every statement is IF NOT EXISTS: a database from before versions (user_version 0, created
-- by these same statements on every start) is adopted by running this file over it, which
-- adds only the tables an older release lacked. Never edit a released migration: add one.
CREATE TABLE IF NOT EXISTS functions (
    name                 TEXT PRIMARY KEY,
    latest               TEXT NOT NULL,
    last_version         INTEGER NOT NULL DEFAULT 0,
    reserved_concurrency INTEGER
);
CREATE TABLE IF NOT EXISTS versions (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version  INTEGER NOT NULL,
    config   TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    function    TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
CREATE TABLE IF NOT EXISTS async_events (
    id              TEXT PRIMARY KEY,
    function        TEXT NOT NULL,
    version         TEXT NOT NULL,
    qualifier       TEXT,
    tenant          TEXT,
    payload         BLOB NOT NULL,
    client_context  TEXT,
    attempts        INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    enqueued_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS async_events_due ON async_events (next_attempt_ms);
CREATE TABLE IF NOT EXISTS usage (
    function     TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    hour         INTEGER NOT NULL,
    architecture TEXT NOT NULL,
    memory_mb    INTEGER NOT NULL,
    invocations  INTEGER NOT NULL,
    errors       INTEGER NOT NULL,
    throttles    INTEGER NOT NULL,
    cold_starts  INTEGER NOT NULL,
    init_ms      REAL NOT NULL,
    duration_ms  REAL NOT NULL,
    billed_ms    INTEGER NOT NULL,
    PRIMARY KEY (function, tenant, hour, architecture, memory_mb)
);
CREATE TABLE IF NOT EXISTS event_invoke_configs (
    function  TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    config    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS policy_statements (
    function     TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier    TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    statement    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier, statement_id)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id        TEXT PRIMARY KEY,
    function  TEXT NOT NULL,
    failed_ms INTEGER NOT NULL,
    letter    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_function ON dead_letters (function, failed_ms);
CREATE TABLE IF NOT EXISTS tenant_limits (
    function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    limits   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rest_apis (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rest_api_deployments (
    api     TEXT NOT NULL REFERENCES rest_apis(id) ON DELETE CASCADE,
    id      TEXT NOT NULL,
    created INTEGER NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (api, id)
);
CREATE TABLE IF NOT EXISTS rest_api_stages (
    api        TEXT NOT NULL REFERENCES rest_apis(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    deployment TEXT NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (api, name),
    FOREIGN KEY (api, deployment) REFERENCES rest_api_deployments(api, id)
);
