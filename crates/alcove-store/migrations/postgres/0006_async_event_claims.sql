-- Schema version 6, written for PostgreSQL: the node that took an async event. NULL
-- while no node holds it; an event held by a node that is no longer in the cluster may be
-- taken by another.
ALTER TABLE async_events ADD COLUMN claimed_by TEXT;
