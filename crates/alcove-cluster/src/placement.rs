//! Rendezvous (highest-random-weight) hashing: each node's weight for a key is a hash of
//! (node, key); the key belongs to the node of highest weight, then spills in falling
//! weight order. Every node with the same member list computes the same ranking, and
//! when a node leaves, only the keys it ranked first move (each to its own runner-up).

use sha2::{Digest, Sha256};

/// The weight of `node` for `key`: the first 8 bytes of SHA-256 over both, length-prefixed
/// so no two (node, key) pairs hash the same bytes.
fn weight(node: &str, key: &str) -> u64 {
    let mut hash = Sha256::new();
    hash.update((node.len() as u64).to_be_bytes());
    hash.update(node.as_bytes());
    hash.update(key.as_bytes());
    let digest = hash.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 is 32 bytes"))
}

/// `nodes` ordered for `key`, owner first. Ties (never seen in practice) fall back to the
/// node name, so the order is total and the same everywhere.
pub fn rank<'a, N: AsRef<str>>(key: &str, nodes: &'a [N]) -> Vec<&'a N> {
    let mut ranked: Vec<(u64, &N)> = nodes.iter().map(|n| (weight(n.as_ref(), key), n)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.as_ref().cmp(b.1.as_ref())));
    ranked.into_iter().map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner<'a>(key: &str, nodes: &'a [&'a str]) -> &'a str {
        rank(key, nodes)[0]
    }

    #[test]
    fn every_node_computes_the_same_owner_whatever_the_member_order() {
        let a = ["n1", "n2", "n3"];
        let b = ["n3", "n1", "n2"];
        for tenant in 0..200 {
            let key = format!("f:1/tenant-{tenant}");
            assert_eq!(owner(&key, &a), owner(&key, &b));
        }
    }

    #[test]
    fn keys_spread_over_the_nodes() {
        let nodes = ["n1", "n2", "n3"];
        let mut counts = [0usize; 3];
        for tenant in 0..3000 {
            let key = format!("f:$LATEST/t{tenant}");
            counts[nodes.iter().position(|n| *n == owner(&key, &nodes)).unwrap()] += 1;
        }
        for count in counts {
            assert!((800..1200).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn a_leaving_node_moves_only_its_own_keys() {
        let before = ["n1", "n2", "n3", "n4"];
        let after = ["n1", "n2", "n4"];
        for tenant in 0..1000 {
            let key = format!("f:2/t{tenant}");
            let was = owner(&key, &before);
            let now = owner(&key, &after);
            if was == "n3" {
                // Its keys go to their runner-up.
                assert_eq!(now, *rank(&key, &before)[1]);
            } else {
                assert_eq!(was, now, "key {key} moved though its owner stayed");
            }
        }
    }
}
