-- Schema version 4, written for PostgreSQL: function URLs, recursion settings and code
-- signing configurations. A URL belongs to one (function, qualifier) and its id names it
-- server-wide (the data plane looks URLs up by the id in the request's host name or path).
-- A function uses at most one code signing configuration; a configuration in use cannot be
-- deleted.
CREATE TABLE function_urls (
    function  TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    url_id    TEXT NOT NULL UNIQUE,
    config    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE recursion_configs (
    function       TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    recursive_loop TEXT NOT NULL
);
CREATE TABLE code_signing_configs (
    id     TEXT PRIMARY KEY,
    config TEXT NOT NULL
);
CREATE TABLE function_code_signing (
    function  TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    config_id TEXT NOT NULL REFERENCES code_signing_configs(id)
);
CREATE INDEX function_code_signing_by_config ON function_code_signing (config_id, function);
