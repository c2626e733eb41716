-- Schema version 1 of the shared code packages (schema `code`), written for PostgreSQL:
-- every package uploaded to any node, by SHA-256 of its bytes, cut into chunks so no
-- single value approaches PostgreSQL's 1 GB field limit and a read streams row by row.
-- A package's row and its chunks are written in one transaction: a reader never sees
-- part of a package.
CREATE TABLE packages (
    sha256 TEXT PRIMARY KEY,
    size   BIGINT NOT NULL,
    chunks BIGINT NOT NULL
);
CREATE TABLE chunks (
    sha256 TEXT NOT NULL REFERENCES packages(sha256) ON DELETE CASCADE,
    idx    BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (sha256, idx)
);
