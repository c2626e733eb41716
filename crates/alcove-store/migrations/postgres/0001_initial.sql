-- Schema version 1, written for PostgreSQL: the tables of the SQLite schema version 1 with
-- the same names, keys and constraints. PostgreSQL stores never existed before schema
-- versions, so there is nothing to adopt and every statement is a plain CREATE. Types:
-- SQLite INTEGER is BIGINT, REAL is DOUBLE PRECISION, BLOB is BYTEA; JSON documents stay
-- TEXT. Tables are unqualified: they go in the schema the connection's search_path names.
-- Never edit a released migration: add one.
CREATE TABLE functions (
    name                 TEXT PRIMARY KEY,
    latest               TEXT NOT NULL,
    last_version         BIGINT NOT NULL DEFAULT 0,
    reserved_concurrency BIGINT
);
CREATE TABLE versions (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version  BIGINT NOT NULL,
    config   TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE aliases (
    function    TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
CREATE TABLE async_events (
    id              TEXT PRIMARY KEY,
    function        TEXT NOT NULL,
    version         TEXT NOT NULL,
    qualifier       TEXT,
    tenant          TEXT,
    payload         BYTEA NOT NULL,
    client_context  TEXT,
    attempts        BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    enqueued_ms     BIGINT NOT NULL
);
CREATE INDEX async_events_due ON async_events (next_attempt_ms);
CREATE TABLE usage (
    function     TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    hour         BIGINT NOT NULL,
    architecture TEXT NOT NULL,
    memory_mb    BIGINT NOT NULL,
    invocations  BIGINT NOT NULL,
    errors       BIGINT NOT NULL,
    throttles    BIGINT NOT NULL,
    cold_starts  BIGINT NOT NULL,
    init_ms      DOUBLE PRECISION NOT NULL,
    duration_ms  DOUBLE PRECISION NOT NULL,
    billed_ms    BIGINT NOT NULL,
    PRIMARY KEY (function, tenant, hour, architecture, memory_mb)
);
CREATE TABLE event_invoke_configs (
    function  TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    config    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
-- Statements are listed in the order they were added. SQLite keeps that order in the
-- implicit rowid; PostgreSQL has none, so `rowid` is an explicit column here and the same
-- `ORDER BY rowid` works in both dialects.
CREATE TABLE policy_statements (
    function     TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier    TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    statement    TEXT NOT NULL,
    rowid        BIGSERIAL,
    PRIMARY KEY (function, qualifier, statement_id)
);
CREATE TABLE dead_letters (
    id        TEXT PRIMARY KEY,
    function  TEXT NOT NULL,
    failed_ms BIGINT NOT NULL,
    letter    TEXT NOT NULL
);
CREATE INDEX dead_letters_by_function ON dead_letters (function, failed_ms);
CREATE TABLE tenant_limits (
    function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    limits   TEXT NOT NULL
);
CREATE TABLE rest_apis (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE rest_api_deployments (
    api     TEXT NOT NULL REFERENCES rest_apis(id) ON DELETE CASCADE,
    id      TEXT NOT NULL,
    created BIGINT NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (api, id)
);
CREATE TABLE rest_api_stages (
    api        TEXT NOT NULL REFERENCES rest_apis(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    deployment TEXT NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (api, name),
    FOREIGN KEY (api, deployment) REFERENCES rest_api_deployments(api, id)
);
