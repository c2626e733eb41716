-- Schema version 6: the node that took an async event, on a store several nodes share.
-- NULL while no node holds it; an event held by a node that is no longer in the cluster
-- may be taken by another. A SQLite store has one node and leaves it NULL.
ALTER TABLE async_events ADD COLUMN claimed_by TEXT;
