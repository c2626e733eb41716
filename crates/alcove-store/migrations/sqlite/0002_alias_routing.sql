-- Schema version 2: weighted aliases. `routing` is the alias's additional version and its
-- weight as JSON ({"version": 2, "weight": 0.3}), NULL for an alias with one version.
ALTER TABLE aliases ADD COLUMN routing TEXT;
