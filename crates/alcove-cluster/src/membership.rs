//! Who is in the cluster: one `nodes` row per node, with a lease the node renews by
//! heartbeat. Leases are judged by PostgreSQL's clock, never a node's own, so nodes with
//! skewed clocks still agree on who is live. Each node keeps the last list it read and
//! answers placement from it, so an invoke costs no database round trip; the list is at
//! most one heartbeat old.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use alcove_sql::{Database, Location, Migration, Migrations, SqlError, Tx};

/// The cluster's schema on PostgreSQL (the SQLite steps exist because every store's steps
/// do; a SQLite store is a cluster of one and never joins).
static MIGRATIONS: Migrations = Migrations {
    schema: "cluster",
    steps: &[Migration {
        sqlite: "CREATE TABLE nodes (id TEXT PRIMARY KEY, address TEXT NOT NULL, version TEXT NOT NULL,
                 started_ms INTEGER NOT NULL, lease_until_ms INTEGER NOT NULL, draining INTEGER NOT NULL DEFAULT 0);",
        postgres: "CREATE TABLE nodes (id TEXT PRIMARY KEY, address TEXT NOT NULL, version TEXT NOT NULL,
                   started_ms BIGINT NOT NULL, lease_until_ms BIGINT NOT NULL, draining BIGINT NOT NULL DEFAULT 0);",
    }, Migration {
        // The secret nodes present to each other when one forwards work to another: only
        // holders of the store's credentials can read it.
        sqlite: "CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
        postgres: "CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
    }],
    legacy_table: None,
};

/// PostgreSQL's clock in milliseconds since the epoch.
const NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("a cluster needs a shared PostgreSQL store (--store postgres://...)")]
    NotShared,
    #[error(transparent)]
    Migration(#[from] alcove_sql::MigrationError),
    #[error(transparent)]
    Database(#[from] SqlError),
}

#[derive(Debug, Clone)]
pub struct MembershipSettings {
    /// This node's name in the cluster; a fresh one per start when absent.
    pub node_id: Option<String>,
    /// Where other nodes reach this node's API (`http://host:port`).
    pub address: String,
    /// How long a node stays a member without renewing.
    pub lease: Duration,
    /// How often the lease is renewed and the member list read.
    pub heartbeat: Duration,
}

/// One node as the `nodes` table has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub address: String,
    pub version: String,
    pub started_ms: i64,
    pub lease_until_ms: i64,
    /// Draining nodes finish their work but are given no new keys.
    pub draining: bool,
    /// Whether the lease was current when the row was read.
    pub live: bool,
}

impl AsRef<str> for Member {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

/// This node's membership: joined on creation, renewed in the background until dropped or
/// [`Membership::leave`] is called.
pub struct Membership {
    db: Database,
    me: String,
    settings: MembershipSettings,
    view: RwLock<Arc<Vec<Member>>>,
    secret: String,
}

impl Membership {
    pub async fn join(
        location: &Location,
        settings: MembershipSettings,
    ) -> Result<Arc<Membership>, MembershipError> {
        if !location.is_shared() {
            return Err(MembershipError::NotShared);
        }
        let (db, _) = Database::open(location, "cluster.db", &MIGRATIONS).await?;
        let me = settings
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        let candidate = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let secret = db
            .write(move |tx: &dyn Tx| {
                tx.execute(
                    "INSERT INTO secrets (name, value) VALUES ('forwarding', ?1) ON CONFLICT (name) DO NOTHING",
                    &[&candidate],
                )?;
                tx.query_one("SELECT value FROM secrets WHERE name = 'forwarding'", &[])?.get::<String>(0)
            })
            .await?;
        let membership = Arc::new(Membership { db, me, settings, view: RwLock::default(), secret });
        membership.renew().await?;
        let weak = Arc::downgrade(&membership);
        let period = membership.settings.heartbeat;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(membership) = weak.upgrade() else { return };
                if let Err(e) = membership.renew().await {
                    tracing::warn!(error = %e, "renewing the cluster lease failed; other nodes drop this one if it stays failing");
                }
            }
        });
        Ok(membership)
    }

    /// Opens the membership table without joining, for operator commands.
    pub async fn observe(location: &Location) -> Result<Database, MembershipError> {
        if !location.is_shared() {
            return Err(MembershipError::NotShared);
        }
        Ok(Database::open(location, "cluster.db", &MIGRATIONS).await?.0)
    }

    pub fn node_id(&self) -> &str {
        &self.me
    }

    pub fn address(&self) -> &str {
        &self.settings.address
    }

    /// The secret every node of this cluster shares, presented on forwarded work.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The members that may take `key`, best first: live, not draining, ranked by
    /// rendezvous hashing (see [`crate::placement`]).
    pub fn ranking(&self, key: &str) -> Vec<Member> {
        let live = self.live();
        let open: Vec<&Member> = live.iter().filter(|m| !m.draining).collect();
        crate::placement::rank(key, &open).into_iter().map(|m| (*m).clone()).collect()
    }

    /// The live members as last read (this node included while its lease holds).
    pub fn live(&self) -> Arc<Vec<Member>> {
        self.view.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Renews this node's lease (re-joining if its row is gone) and reads the members.
    pub async fn renew(&self) -> Result<Arc<Vec<Member>>, MembershipError> {
        let me = self.me.clone();
        let address = self.settings.address.clone();
        let lease_ms = self.settings.lease.as_millis() as i64;
        let members = self
            .db
            .write(move |tx: &dyn Tx| {
                let renewed = tx.execute(
                    &format!("UPDATE nodes SET lease_until_ms = {NOW_MS} + ?2, address = ?3 WHERE id = ?1"),
                    &[&me, &lease_ms, &address],
                )?;
                if renewed == 0 {
                    tx.execute(
                        &format!(
                            "INSERT INTO nodes (id, address, version, started_ms, lease_until_ms)
                             VALUES (?1, ?2, ?3, {NOW_MS}, {NOW_MS} + ?4)"
                        ),
                        &[&me, &address, &env!("CARGO_PKG_VERSION"), &lease_ms],
                    )?;
                }
                list(tx)
            })
            .await?;
        let live: Arc<Vec<Member>> = Arc::new(members.into_iter().filter(|m| m.live).collect());
        *self.view.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = live.clone();
        Ok(live)
    }

    /// Leaves the cluster now rather than when the lease lapses.
    pub async fn leave(&self) -> Result<(), MembershipError> {
        let me = self.me.clone();
        self.db.write(move |tx: &dyn Tx| tx.execute("DELETE FROM nodes WHERE id = ?1", &[&me])).await?;
        Ok(())
    }
}

/// Every node row, live or not, ordered by name.
pub fn list(tx: &dyn Tx) -> Result<Vec<Member>, SqlError> {
    tx.query(
        &format!(
            "SELECT id, address, version, started_ms, lease_until_ms, draining, lease_until_ms > {NOW_MS}
             FROM nodes ORDER BY id"
        ),
        &[],
    )?
    .iter()
    .map(|row| {
        Ok(Member {
            id: row.get(0)?,
            address: row.get(1)?,
            version: row.get(2)?,
            started_ms: row.get(3)?,
            lease_until_ms: row.get(4)?,
            draining: row.get(5)?,
            live: row.get(6)?,
        })
    })
    .collect()
}

/// Marks a node draining (or not): it keeps its lease but is given no new keys.
pub fn set_draining(tx: &dyn Tx, node: &str, draining: bool) -> Result<bool, SqlError> {
    Ok(tx.execute("UPDATE nodes SET draining = ?2 WHERE id = ?1", &[&node, &draining])? == 1)
}
