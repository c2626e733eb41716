-- Schema version 1 of the shared code packages, SQLite's dialect. A SQLite store keeps
-- packages as files in the data directory and never opens this schema; the step exists so
-- both dialects describe the same schema version.
CREATE TABLE packages (
    sha256 TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE TABLE chunks (
    sha256 TEXT NOT NULL REFERENCES packages(sha256) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (sha256, idx)
);
