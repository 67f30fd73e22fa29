//! Shared pieces of the JSON wire format: decoding a body into a request struct, attribute
//! values and items, and the enum members several operations share.

use serde::de::DeserializeOwned;
use serde_json::Value;

use model::{item_from_json, Item};
use table::ReturnValues;

use crate::error::ApiError;
use crate::validate::Violations;

/// Decodes a request body. An empty body reads as `{}` (the CLI sends nothing for some
/// operations); anything that is not a JSON object, or has a member of the wrong JSON type, is
/// a SerializationException.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let body: &[u8] = match start {
        None => b"{}",
        Some(i) if body[i] == b'{' => body,
        Some(_) => {
            return Err(ApiError::Serialization(
                "Start of list or scalar found where a structure was expected".into(),
            ))
        }
    };
    serde_json::from_slice(body).map_err(|e| ApiError::Serialization(serde_message(&e)))
}

/// A serde_json error without its position, which names our structs rather than the client's.
fn serde_message(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => format!("Invalid JSON in request body: {e}"),
        Category::Data | Category::Io => format!("Unexpected value in request body: {e}"),
    }
}

/// Decodes a required item-shaped member (`Item`, `Key`), recording `null` when absent.
pub(crate) fn required_item(
    v: &mut Violations,
    field: &str,
    json: Option<&Value>,
) -> Result<Item, ApiError> {
    match json {
        None | Some(Value::Null) => {
            v.null(field);
            Ok(Item::new())
        }
        Some(json) => Ok(item_from_json(json)?),
    }
}

/// Decodes an optional item-shaped member (`ExclusiveStartKey`).
pub(crate) fn optional_item(json: Option<&Value>) -> Result<Option<Item>, ApiError> {
    match json {
        None | Some(Value::Null) => Ok(None),
        Some(json) => Ok(Some(item_from_json(json)?)),
    }
}

/// ReturnValues, all five allowed (UpdateItem).
pub(crate) fn return_values(v: &mut Violations, value: Option<&str>) -> ReturnValues {
    v.enumeration(
        "returnValues",
        value,
        &[
            ("NONE", ReturnValues::None),
            ("ALL_OLD", ReturnValues::AllOld),
            ("UPDATED_OLD", ReturnValues::UpdatedOld),
            ("ALL_NEW", ReturnValues::AllNew),
            ("UPDATED_NEW", ReturnValues::UpdatedNew),
        ],
        "ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW",
    )
    .unwrap_or_default()
}

/// ReturnValues for PutItem and DeleteItem, which only allow NONE and ALL_OLD: checked once
/// the request's constraint violations are reported, as DynamoDB orders them.
pub(crate) fn return_values_old_only(parsed: ReturnValues) -> Result<ReturnValues, ApiError> {
    match parsed {
        ReturnValues::None | ReturnValues::AllOld => Ok(parsed),
        _ => Err(ApiError::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        )),
    }
}

/// ReturnValuesOnConditionCheckFailure: whether ALL_OLD was asked for.
pub(crate) fn return_old_on_failure(v: &mut Violations, value: Option<&str>) -> bool {
    v.enumeration(
        "returnValuesOnConditionCheckFailure",
        value,
        &[("ALL_OLD", true), ("NONE", false)],
        "ALL_OLD, NONE",
    )
    .unwrap_or(false)
}

/// ReturnItemCollectionMetrics: whether SIZE was asked for (metrics are returned for tables
/// with local secondary indexes).
pub(crate) fn return_item_collection_metrics(v: &mut Violations, value: Option<&str>) -> bool {
    v.enumeration(
        "returnItemCollectionMetrics",
        value,
        &[("SIZE", true), ("NONE", false)],
        "SIZE, NONE",
    )
    .unwrap_or(false)
}

/// Validates a ConditionalOperator member (legacy parameters).
pub(crate) fn conditional_operator(v: &mut Violations, value: Option<&str>) {
    let _ = v.enumeration(
        "conditionalOperator",
        value,
        &[("AND", ()), ("OR", ())],
        "AND, OR",
    );
}

/// Serializes a list of items in DynamoDB JSON.
pub(crate) struct ItemList<'a>(pub(crate) &'a [Item]);

impl serde::Serialize for ItemList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(model::WireItem))
    }
}

/// Writes `json` as a short quoted rendering for a violation message.
pub(crate) fn shown(json: &impl serde::Serialize) -> String {
    serde_json::to_string(json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Probe {
        table_name: Option<String>,
        limit: Option<i64>,
    }

    #[test]
    fn t10_body_shapes() {
        let p: Probe = parse_body(b"").unwrap();
        assert!(p.table_name.is_none());
        let p: Probe =
            parse_body(br#" {"TableName": "t", "Extra": [1, 2], "Limit": null}"#).unwrap();
        assert_eq!(p.table_name.as_deref(), Some("t"));
        assert!(p.limit.is_none());
        for bad in [
            &b"[1]"[..],
            b"{",
            b"{\"TableName\": 1}",
            b"\"x\"",
            b"{\"Limit\": \"1\"}",
        ] {
            match parse_body::<Probe>(bad) {
                Err(ApiError::Serialization(_)) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn t10_return_values() {
        let mut v = Violations::new();
        assert_eq!(
            return_values_old_only(return_values(&mut v, Some("ALL_OLD"))).unwrap(),
            ReturnValues::AllOld
        );
        assert!(return_values_old_only(return_values(&mut v, Some("ALL_NEW"))).is_err());
        assert!(v.is_empty());
        let _ = return_values(&mut v, Some("SOME"));
        assert!(v.finish().is_err());
    }
}
