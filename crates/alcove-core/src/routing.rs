//! Weighted alias routing: an alias may send a share of its invokes to one additional
//! published version (`RoutingConfig.AdditionalVersionWeights`). Which version an invoke
//! runs is decided per invoke, from one uniform random draw, by [`pick_version`]: a pure
//! function, so the rule is tested without randomness, and the draw is made by
//! [`random_draw`] at the one place an invoke is resolved.

use serde::{Deserialize, Serialize};

use crate::function::Version;

/// The second version of a weighted alias and the share of invokes it gets (0.0..=1.0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdditionalVersion {
    pub version: u64,
    pub weight: f64,
}

/// The version an invoke of an alias runs: the additional version when `draw` (uniform
/// in `[0, 1)`) falls below its weight, else the alias's primary version.
pub fn pick_version(primary: Version, additional: Option<AdditionalVersion>, draw: f64) -> Version {
    match additional {
        Some(extra) if draw < extra.weight => Version::Published(extra.version),
        _ => primary,
    }
}

/// A uniform draw in `[0, 1)` from the operating system's randomness (53 random bits).
pub fn random_draw() -> f64 {
    let bits = u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().expect("8 bytes"));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: Version = Version::Published(1);

    fn extra(weight: f64) -> Option<AdditionalVersion> {
        Some(AdditionalVersion { version: 2, weight })
    }

    #[test]
    fn without_routing_the_primary_always_runs() {
        for draw in [0.0, 0.5, 0.999_999] {
            assert_eq!(pick_version(PRIMARY, None, draw), PRIMARY);
        }
    }

    #[test]
    fn draws_below_the_weight_run_the_additional_version() {
        assert_eq!(pick_version(PRIMARY, extra(0.3), 0.0), Version::Published(2));
        assert_eq!(pick_version(PRIMARY, extra(0.3), 0.299_999), Version::Published(2));
        assert_eq!(pick_version(PRIMARY, extra(0.3), 0.3), PRIMARY);
        assert_eq!(pick_version(PRIMARY, extra(0.3), 0.95), PRIMARY);
    }

    #[test]
    fn weights_at_the_bounds_route_all_or_nothing() {
        for draw in [0.0, 0.5, 0.999_999] {
            assert_eq!(pick_version(PRIMARY, extra(0.0), draw), PRIMARY);
            assert_eq!(pick_version(PRIMARY, extra(1.0), draw), Version::Published(2));
        }
    }

    #[test]
    fn draws_are_in_the_unit_interval_and_vary() {
        let draws: Vec<f64> = (0..1000).map(|_| random_draw()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let below_half = draws.iter().filter(|d| **d < 0.5).count();
        // Binomial(1000, 0.5): 350..650 is over 9 standard deviations wide.
        assert!((350..650).contains(&below_half), "{below_half} of 1000 draws below 0.5");
    }
}
