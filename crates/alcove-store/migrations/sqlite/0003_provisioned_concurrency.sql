-- Schema version 3: provisioned concurrency configurations, one per published version or
-- alias of a function; they go with their function.
CREATE TABLE provisioned_concurrency (
    function      TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier     TEXT NOT NULL,
    requested     INTEGER NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
