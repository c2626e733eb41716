//! Tenant ids arrive in `X-Amz-Tenant-Id` on Invoke, in the Runtime API's headers and in
//! the native API's paths; `TenantId::parse` is the only way to make one.

use alcove_core::TenantId;

use crate::support::text;

#[test]
fn tenant_id() {
    bolero::check!().for_each(|input: &[u8]| {
        let Some(value) = text(input) else { return };
        if let Ok(id) = TenantId::parse(value) {
            // An accepted id is the input unchanged, within the documented bounds and
            // alphabet: nothing is trimmed, decoded or normalised on the way.
            assert_eq!(id.as_str(), value);
            let len = value.chars().count();
            assert!((1..=TenantId::MAX_LEN).contains(&len));
            assert!(value.chars().all(|c| c.is_ascii_alphanumeric() || "._:/=+-@ ".contains(c)), "{value:?}");
        }
    });
}
