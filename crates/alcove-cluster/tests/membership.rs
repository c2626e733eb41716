//! Membership on a real PostgreSQL (skipped without `ALCOVE_TEST_POSTGRES`).

use std::time::Duration;

use alcove_cluster::{rank, Membership, MembershipSettings};
use alcove_sql::{scratch_database, Location, TEST_POSTGRES};

fn settings(id: &str, lease_ms: u64) -> MembershipSettings {
    MembershipSettings {
        node_id: Some(id.into()),
        address: format!("http://{id}.invalid"),
        lease: Duration::from_millis(lease_ms),
        heartbeat: Duration::from_millis(lease_ms / 3),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_see_each_other_and_a_silent_node_drops_out() {
    let Ok(url) = std::env::var(TEST_POSTGRES) else { return };
    let location = scratch_database(&url).await.unwrap();
    let a = Membership::join(&location, settings("a", 900)).await.unwrap();
    let b = Membership::join(&location, settings("b", 900)).await.unwrap();
    let c = Membership::join(&location, settings("c", 900)).await.unwrap();
    let ids = |m: &Membership| m.live().iter().map(|n| n.id.clone()).collect::<Vec<_>>();
    a.renew().await.unwrap();
    assert_eq!(ids(&a), ["a", "b", "c"]);
    // Every node ranks a key the same.
    let key = "f:1/BlueTenant";
    assert_eq!(rank(key, &a.live())[0].id, rank(key, &b.renew().await.unwrap())[0].id);
    // c stops renewing (dropped: its heartbeat task ends): out once its lease lapses.
    drop(c);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ids(&a), ["a", "b"]);
    // b leaves at once.
    b.leave().await.unwrap();
    assert_eq!(a.renew().await.unwrap().iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a"]);
}

#[tokio::test]
async fn a_cluster_needs_postgres() {
    let refused = Membership::join(&Location::Memory, settings("x", 900)).await.err().unwrap();
    assert!(refused.to_string().contains("PostgreSQL"), "{refused}");
}
