//! Time to live: the table setting, the expiry rule, finding expired items (for the sweeper,
//! outside apply) and deleting them (in apply, re-checked against the log entry's clock).
//!
//! An item is expired when its TTL attribute is a Number of epoch seconds at or before now,
//! and not more than five years before now (DynamoDB ignores such old values, which are
//! usually milliseconds or mistakes). A missing attribute or any other type never expires.
//! Expired items stay readable until the sweeper's delete commits, as in DynamoDB.

use std::ops::Bound;

use model::{AttributeValue, Item, Number, TableMeta, TtlSpec, Version};
use storage::{ApplyView, Space, Store};

use crate::catalog::{put_table, view_table};
use crate::command::{ExpireBatch, Outcome, TtlUpdate};
use crate::engine::{tick, write_state, Engine, StateChange};
use crate::error::{Rejection, TableError};
use crate::key::{decode_item, key_item, key_of_request};

/// How far in the past a TTL value may be and still expire the item (five years).
pub const TTL_MAX_AGE_SECONDS: i64 = 5 * 365 * 24 * 60 * 60;

/// Whether `item` is expired at `now_ms` under TTL attribute `attribute`.
pub fn is_expired(item: &Item, attribute: &str, now_ms: i64) -> bool {
    let Some(AttributeValue::N(value)) = item.get(attribute) else {
        return false;
    };
    let now_s = now_ms.div_euclid(1000);
    let now = Number::from_i64(now_s);
    let oldest = Number::from_i64(now_s - TTL_MAX_AGE_SECONDS);
    *value <= now && *value >= oldest
}

/// The TTL attribute of `meta`, if TTL is enabled.
pub fn ttl_attribute(meta: &TableMeta) -> Option<&str> {
    meta.ttl
        .as_ref()
        .filter(|t| t.enabled)
        .map(|t| t.attribute.as_str())
}

/// Applies UpdateTimeToLive with DynamoDB's rules: enabling an enabled TTL (whatever the
/// attribute) or disabling a disabled one is refused.
pub(crate) fn set_ttl(view: &mut ApplyView<'_>, update: &TtlUpdate) -> Result<Outcome, TableError> {
    let Some(mut meta) = view_table(view, &update.table)? else {
        return Ok(Outcome::Rejected(Rejection::table_not_found(&update.table)));
    };
    let enabled = meta.ttl.as_ref().is_some_and(|t| t.enabled);
    match (enabled, update.enabled) {
        (true, true) => {
            return Ok(Outcome::Rejected(Rejection::validation(
                "TimeToLive is already enabled",
            )))
        }
        (false, false) => {
            return Ok(Outcome::Rejected(Rejection::validation(
                "TimeToLive is already disabled",
            )))
        }
        (true, false) => {
            if let Some(current) = meta
                .ttl
                .as_ref()
                .filter(|t| t.attribute != update.attribute)
            {
                return Ok(Outcome::Rejected(Rejection::validation(format!(
                    "TimeToLive is active on a different AttributeName: current AttributeName is {}",
                    current.attribute
                ))));
            }
        }
        (false, true) => {}
    }
    meta.ttl = Some(TtlSpec {
        attribute: update.attribute.clone(),
        enabled: update.enabled,
    });
    put_table(view, &meta)?;
    Ok(Outcome::Table(meta))
}

/// One chunk of a TTL scan: the expired items found and where to resume.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpiredScan {
    /// Primary keys of the expired items found.
    pub keys: Vec<Item>,
    /// The storage key to resume after, if the table has more items to examine.
    pub resume_after: Option<Vec<u8>>,
}

/// Examines up to `scan_max` items of `meta`'s table after storage key `after` (from the
/// start if None) and returns the keys of those expired at `now_ms`. Reads the local store
/// (the sweeper runs outside apply; apply checks again).
pub fn expired_keys(
    store: &Store,
    meta: &TableMeta,
    now_ms: i64,
    after: Option<Vec<u8>>,
    scan_max: usize,
) -> Result<ExpiredScan, TableError> {
    let Some(attribute) = ttl_attribute(meta) else {
        return Ok(ExpiredScan::default());
    };
    let prefix = storage::keys::table_prefix(&meta.id);
    let upper = storage::keys::prefix_range(&prefix).1;
    let lower = match after {
        Some(key) => Bound::Excluded(key),
        None => Bound::Included(prefix),
    };
    let mut out = ExpiredScan::default();
    let mut examined = 0;
    for entry in store.range(Space::Items, lower, upper, false) {
        let (key, bytes) = entry?;
        let item = decode_item(&bytes)?;
        if is_expired(&item, attribute, now_ms) {
            out.keys.push(key_item(&meta.key_schema, &item));
        }
        examined += 1;
        if examined >= scan_max {
            out.resume_after = Some(key);
            break;
        }
    }
    Ok(out)
}

impl Engine {
    /// Deletes each item of the batch that is still expired by the entry's clock, as the
    /// service: the change record says so (`by_service`), which Streams shows as
    /// `userIdentity`.
    pub(crate) fn expire_items(
        &self,
        view: &mut ApplyView<'_>,
        batch: &ExpireBatch,
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        let Some(meta) = view_table(view, &batch.table)? else {
            return Ok(Outcome::Expired(0));
        };
        let Some(attribute) = ttl_attribute(&meta).map(str::to_owned) else {
            return Ok(Outcome::Expired(0));
        };
        if meta.id != batch.table_id {
            return Ok(Outcome::Expired(0));
        }
        let mut deleted = 0;
        for key in &batch.keys {
            let Ok(key) = key_of_request(&meta.key_schema, key) else {
                continue;
            };
            let storage_key = key.storage_key(&meta);
            let Some(bytes) = view.get(Space::Items, &storage_key)? else {
                continue;
            };
            let old = decode_item(&bytes)?;
            if !is_expired(&old, &attribute, wall_ms) {
                continue;
            }
            let version = Version::new(tick(view, wall_ms)?, self.region().to_owned());
            write_state(
                view,
                &StateChange {
                    meta: &meta,
                    storage_key: &storage_key,
                    keys: None,
                    old: Some(&old),
                    new: None,
                    version: &version,
                    wall_ms,
                    by_service: true,
                },
            )?;
            deleted += 1;
        }
        Ok(Outcome::Expired(deleted))
    }
}
