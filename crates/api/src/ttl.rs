//! Time to live: UpdateTimeToLive and DescribeTimeToLive, and the sweep that deletes expired
//! items (run by the region leader's background task, and on demand by
//! `POST /_meridian/ttl/sweep`).
//!
//! The sweep reads the local replica for expired items and proposes their deletion through
//! the region's log as [`table::Command::ExpireItems`], which checks each item again with the
//! log entry's clock: an item renewed in between survives. The same pass proposes
//! `TrimChanges` for tables whose stream has records past the 24-hour retention.

use serde::Deserialize;
use serde_json::json;

use model::limits::{
    STREAM_RETENTION_MS, TTL_ATTRIBUTE_NAME_BYTES_MAX, TTL_DELETES_PER_COMMAND_MAX,
    TTL_SCAN_ITEMS_PER_CHUNK_MAX,
};
use table::{Command, ExpireBatch, Outcome, TtlUpdate};

use crate::error::ApiError;
use crate::request::{json_body, propose};
use crate::tables::{expect_table, load};
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

/// The admin path that runs a sweep now and answers once its deletes are committed.
pub const TTL_SWEEP_PATH: &str = "/_meridian/ttl/sweep";

/// A validated UpdateTimeToLive.
#[derive(Debug)]
pub struct UpdateTtl {
    name: String,
    attribute: String,
    enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateTtlWire {
    table_name: Option<String>,
    time_to_live_specification: Option<SpecWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SpecWire {
    enabled: Option<bool>,
    attribute_name: Option<String>,
}

/// Decodes UpdateTimeToLive.
pub(crate) fn decode_update(body: &[u8]) -> Result<UpdateTtl, ApiError> {
    let wire: UpdateTtlWire = parse_body(body)?;
    let mut v = Violations::new();
    let name = v.table_name("tableName", wire.table_name.as_deref());
    let (mut enabled, mut attribute) = (false, String::new());
    match &wire.time_to_live_specification {
        None => v.null("timeToLiveSpecification"),
        Some(spec) => {
            match spec.enabled {
                None => v.null("timeToLiveSpecification.enabled"),
                Some(e) => enabled = e,
            }
            match &spec.attribute_name {
                None => v.null("timeToLiveSpecification.attributeName"),
                Some(a) => {
                    v.length(
                        "timeToLiveSpecification.attributeName",
                        a,
                        a.len(),
                        1,
                        TTL_ATTRIBUTE_NAME_BYTES_MAX,
                    );
                    attribute = a.clone();
                }
            }
        }
    }
    v.finish()?;
    Ok(UpdateTtl {
        name,
        attribute,
        enabled,
    })
}

/// Runs UpdateTimeToLive.
pub(crate) async fn update(region: &dyn Region, req: UpdateTtl) -> Result<Vec<u8>, ApiError> {
    let command = Command::SetTimeToLive(TtlUpdate {
        table: req.name,
        attribute: req.attribute.clone(),
        enabled: req.enabled,
    });
    let meta = expect_table(propose(region, &command).await?)?;
    // Every replica of a global table has the same setting.
    if let Some(replicator) = region.replication().filter(|_| meta.is_global()) {
        replicator.announce(&meta);
    }
    json_body(&json!({
        "TimeToLiveSpecification": {"Enabled": req.enabled, "AttributeName": req.attribute}
    }))
}

/// Runs DescribeTimeToLive (the request is only a table name).
pub(crate) fn describe(region: &dyn Region, name: &str) -> Result<Vec<u8>, ApiError> {
    let meta = load(region, name)?;
    let description = match meta.ttl.as_ref().filter(|t| t.enabled) {
        Some(ttl) => json!({"TimeToLiveStatus": "ENABLED", "AttributeName": ttl.attribute}),
        None => json!({"TimeToLiveStatus": "DISABLED"}),
    };
    json_body(&json!({ "TimeToLiveDescription": description }))
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Items deleted because their time to live had passed.
    pub expired: u64,
    /// Tables whose change log was trimmed.
    pub trimmed_tables: u64,
}

/// One sweep over every table: deletes expired items and trims stream records past their
/// retention. Returns once every proposed command has committed.
pub async fn sweep(region: &dyn Region) -> Result<SweepReport, ApiError> {
    let mut report = SweepReport::default();
    let now_ms = region.clock().now_ms();
    for name in table::list_tables(region.store())? {
        let Some(meta) = table::load_table(region.store(), &name)? else {
            continue;
        };
        // The whole table, a chunk of items at a time, yielding in between so one large
        // table does not hold a worker thread.
        let mut after = None;
        while table::ttl::ttl_attribute(&meta).is_some() {
            let scan = table::ttl::expired_keys(
                region.store(),
                &meta,
                now_ms,
                after.take(),
                TTL_SCAN_ITEMS_PER_CHUNK_MAX,
            )?;
            for chunk in scan.keys.chunks(TTL_DELETES_PER_COMMAND_MAX) {
                let command = Command::ExpireItems(ExpireBatch {
                    table: meta.name.clone(),
                    table_id: meta.id,
                    keys: chunk.to_vec(),
                });
                if let Outcome::Expired(n) = propose(region, &command).await? {
                    report.expired += n;
                }
            }
            match scan.resume_after {
                Some(key) => after = Some(key),
                None => break,
            }
            tokio::task::yield_now().await;
        }
        if meta.stream.is_some() {
            let oldest = table::changes::first_change(region.store(), &meta.id)?;
            if oldest.is_some_and(|r| now_ms - r.applied_ms >= STREAM_RETENTION_MS) {
                let command = Command::TrimChanges {
                    table: meta.name.clone(),
                };
                propose(region, &command).await?;
                report.trimmed_tables += 1;
            }
        }
    }
    if report.expired > 0 {
        tracing::debug!(expired = report.expired, "ttl sweep");
    }
    Ok(report)
}

/// Runs a sweep for the admin endpoint; the body reports what it did.
pub(crate) async fn sweep_now(region: &dyn Region) -> Result<Vec<u8>, ApiError> {
    let report = sweep(region).await?;
    json_body(&json!({"Expired": report.expired, "TrimmedTables": report.trimmed_tables}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<UpdateTtl, ApiError>) -> String {
        match r {
            Err(ApiError::Validation(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn t10_update_validation() {
        let ok = decode_update(
            br#"{"TableName":"ttl","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}}"#,
        )
        .unwrap();
        assert!(ok.enabled);
        assert_eq!(ok.attribute, "exp");
        assert!(message(decode_update(br#"{"TableName":"ttl"}"#)).contains(
            "'timeToLiveSpecification' failed to satisfy constraint: Member must not be null"
        ));
        assert!(message(decode_update(
            br#"{"TableName":"ttl","TimeToLiveSpecification":{"Enabled":true}}"#
        ))
        .contains("timeToLiveSpecification.attributeName"));
        assert!(message(decode_update(
            br#"{"TableName":"ttl","TimeToLiveSpecification":{"AttributeName":"a"}}"#
        ))
        .contains("timeToLiveSpecification.enabled"));
        assert!(message(decode_update(
            br#"{"TableName":"ttl","TimeToLiveSpecification":{"Enabled":false,"AttributeName":""}}"#
        ))
        .contains("Member must have length greater than or equal to 1"));
    }
}
