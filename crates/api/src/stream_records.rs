//! One DynamoDB Streams record as GetRecords returns it, rendered from a change-log record by
//! the stream's view type: eventID, eventName, eventVersion 1.1, eventSource, awsRegion,
//! `dynamodb` (ApproximateCreationDateTime, Keys, NewImage/OldImage, SequenceNumber,
//! SizeBytes, StreamViewType) and, for a TTL delete, userIdentity.

use serde::Serialize;
use serde_json::{json, Map, Value};

use model::size::item_size;
use model::{AttributeValue, Item, StreamViewType, WireItem};
use table::ChangeRecord;

use crate::streams::sequence_number;

/// One stream record as DynamoDB Streams shapes it, with its SizeBytes.
pub(crate) struct Rendered {
    pub(crate) json: Value,
    pub(crate) size_bytes: usize,
}

/// `userIdentity` of a record written by the service (a TTL delete). The GetRecords wire
/// names its members `PrincipalId` and `Type` (the Streams API model, which every SDK
/// parses); Lambda's event format shows the same as `principalId` and `type`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Identity {
    #[serde(rename = "Type")]
    kind: &'static str,
    principal_id: &'static str,
}

/// Renders a change record for a stream of `view_type` in `region`.
pub(crate) fn render_record(
    record: &ChangeRecord,
    view_type: StreamViewType,
    region: &str,
) -> Rendered {
    let event_name = match (&record.old, &record.new) {
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (_, None) => "REMOVE",
    };
    let (new, old) = match view_type {
        StreamViewType::KeysOnly => (None, None),
        StreamViewType::NewImage => (record.new.as_ref(), None),
        StreamViewType::OldImage => (None, record.old.as_ref()),
        StreamViewType::NewAndOldImages => (record.new.as_ref(), record.old.as_ref()),
    };
    let size_bytes =
        item_size(&record.keys) + new.map(item_size).unwrap_or(0) + old.map(item_size).unwrap_or(0);
    let mut data = Map::new();
    data.insert(
        "ApproximateCreationDateTime".into(),
        json!(record.applied_ms.div_euclid(1000)),
    );
    data.insert("Keys".into(), item_json(&record.keys));
    if let Some(new) = new {
        data.insert("NewImage".into(), item_json(new));
    }
    if let Some(old) = old {
        data.insert("OldImage".into(), item_json(old));
    }
    data.insert("SequenceNumber".into(), json!(sequence_number(record.seq)));
    data.insert("SizeBytes".into(), json!(size_bytes));
    data.insert("StreamViewType".into(), json!(view_type.as_str()));
    let mut json = json!({
        "eventID": event_id(record),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": data,
    });
    if record.by_service {
        json["userIdentity"] = json!(Identity {
            kind: "Service",
            principal_id: "dynamodb.amazonaws.com",
        });
    }
    Rendered { json, size_bytes }
}

/// Whether a change record shows a change a consumer can see. DynamoDB writes no stream
/// record for a write that leaves the item as it was: a PutItem of an identical item, an
/// UpdateItem that sets the values it already has, a delete of an absent item. The change log
/// keeps such records (replication and tombstones need every version); the stream skips them.
pub(crate) fn is_visible_change(record: &ChangeRecord) -> bool {
    match (&record.old, &record.new) {
        (None, None) => false,
        (Some(old), Some(new)) => !same_item(old, new),
        _ => true,
    }
}

/// Item equality as DynamoDB sees it: sets are unordered.
fn same_item(a: &Item, b: &Item) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
}

fn same_value(a: &AttributeValue, b: &AttributeValue) -> bool {
    fn same_set<T: Ord + Clone>(a: &[T], b: &[T]) -> bool {
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }
    match (a, b) {
        (AttributeValue::Ss(x), AttributeValue::Ss(y)) => same_set(x, y),
        (AttributeValue::Ns(x), AttributeValue::Ns(y)) => same_set(x, y),
        (AttributeValue::Bs(x), AttributeValue::Bs(y)) => same_set(x, y),
        (AttributeValue::M(x), AttributeValue::M(y)) => same_item(x, y),
        (AttributeValue::L(x), AttributeValue::L(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        _ => a == b,
    }
}

fn item_json(item: &Item) -> Value {
    serde_json::to_value(WireItem(item)).unwrap_or(Value::Null)
}

/// A stable eventID: the same record always has the same id (32 hex digits, as DynamoDB's).
fn event_id(record: &ChangeRecord) -> String {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&record.seq.to_be_bytes());
    hasher.update(&record.version.timestamp.0.to_be_bytes());
    hasher.update(record.version.region.as_bytes());
    format!(
        "{:016x}{:08x}{:08x}",
        record.version.timestamp.0,
        hasher.finalize(),
        record.seq as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{AttributeValue as V, Timestamp, Version};

    fn record(old: Option<Item>, new: Option<Item>, by_service: bool) -> ChangeRecord {
        let mut keys = Item::new();
        keys.insert("pk".into(), V::S("a".into()));
        ChangeRecord {
            seq: 7,
            keys,
            old,
            new,
            version: Version::new(Timestamp(99), "us-east-1"),
            applied_ms: 1_700_000_000_999,
            by_service,
        }
    }

    fn item(v: &str) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), V::S("a".into()));
        item.insert("v".into(), V::S(v.into()));
        item
    }

    #[test]
    fn t10_record_shapes_per_view_type() {
        let modify = record(Some(item("old")), Some(item("new")), false);
        let r = render_record(&modify, StreamViewType::NewAndOldImages, "us-east-1").json;
        assert_eq!(r["eventName"], "MODIFY");
        assert_eq!(r["eventVersion"], "1.1");
        assert_eq!(r["eventSource"], "aws:dynamodb");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["dynamodb"]["SequenceNumber"], "000000000000000000007");
        assert_eq!(r["dynamodb"]["ApproximateCreationDateTime"], 1_700_000_000);
        assert_eq!(r["dynamodb"]["Keys"], json!({"pk": {"S": "a"}}));
        assert_eq!(r["dynamodb"]["NewImage"]["v"], json!({"S": "new"}));
        assert_eq!(r["dynamodb"]["OldImage"]["v"], json!({"S": "old"}));
        assert_eq!(r["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
        assert!(r.get("userIdentity").is_none());
        assert_eq!(r["eventID"].as_str().unwrap().len(), 32);

        let r = render_record(&modify, StreamViewType::KeysOnly, "us-east-1").json;
        assert!(r["dynamodb"].get("NewImage").is_none());
        assert!(r["dynamodb"].get("OldImage").is_none());
        let r = render_record(&modify, StreamViewType::NewImage, "us-east-1").json;
        assert!(r["dynamodb"].get("NewImage").is_some());
        assert!(r["dynamodb"].get("OldImage").is_none());
        let r = render_record(&modify, StreamViewType::OldImage, "us-east-1").json;
        assert!(r["dynamodb"].get("NewImage").is_none());
        assert!(r["dynamodb"].get("OldImage").is_some());

        let insert = record(None, Some(item("new")), false);
        let r = render_record(&insert, StreamViewType::NewAndOldImages, "us-east-1").json;
        assert_eq!(r["eventName"], "INSERT");
        assert!(r["dynamodb"].get("OldImage").is_none());

        assert!(is_visible_change(&modify));
        assert!(is_visible_change(&insert));

        let expire = record(Some(item("old")), None, true);
        let r = render_record(&expire, StreamViewType::NewAndOldImages, "us-east-1").json;
        assert_eq!(r["eventName"], "REMOVE");
        assert_eq!(
            r["userIdentity"],
            json!({"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"})
        );
    }

    #[test]
    fn t10_unchanged_items_are_not_visible_changes() {
        let same = record(Some(item("v")), Some(item("v")), false);
        assert!(!is_visible_change(&same));
        assert!(!is_visible_change(&record(None, None, false)));
        let mut a = item("v");
        a.insert("s".into(), V::Ss(vec!["x".into(), "y".into()]));
        let mut b = item("v");
        b.insert("s".into(), V::Ss(vec!["y".into(), "x".into()]));
        assert!(!is_visible_change(&record(Some(a.clone()), Some(b), false)));
        let mut c = item("v");
        c.insert("s".into(), V::Ss(vec!["x".into()]));
        assert!(is_visible_change(&record(Some(a), Some(c), false)));
        let mut l1 = item("v");
        l1.insert("l".into(), V::L(vec![V::S("x".into()), V::S("y".into())]));
        let mut l2 = item("v");
        l2.insert("l".into(), V::L(vec![V::S("y".into()), V::S("x".into())]));
        assert!(
            is_visible_change(&record(Some(l1), Some(l2), false)),
            "lists keep their order"
        );
    }
}
