//! ExecuteStatement's NextToken: the page's LastEvaluatedKey, tied to the statement and
//! parameters it was read with (a digest), hex-encoded JSON. Nothing is stored per token.

use serde_json::{json, Value};

use model::{item_from_json, Item, WireItem};

use super::ApiError;

const INVALID: &str = "Invalid NextToken";
const MISMATCH: &str = "NextToken does not match request";

/// The token that continues a read after `last_key`.
pub(crate) fn encode(digest: u64, last_key: &Item) -> Result<String, ApiError> {
    let body = json!({ "v": 1, "h": format!("{digest:016x}"), "k": WireItem(last_key) });
    let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

/// The exclusive start key a token carries, if it was issued for this statement.
pub(crate) fn decode(token: &str, digest: u64) -> Result<Item, ApiError> {
    let invalid = || ApiError::validation(INVALID);
    if !token.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if body.get("v") != Some(&json!(1)) {
        return Err(invalid());
    }
    if body.get("h").and_then(Value::as_str) != Some(format!("{digest:016x}").as_str()) {
        return Err(ApiError::validation(MISMATCH));
    }
    let key = body.get("k").ok_or_else(invalid)?;
    item_from_json(key).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::AttributeValue;

    #[test]
    fn round_trip_and_mismatch() {
        let mut key = Item::new();
        key.insert("pk".into(), AttributeValue::S("a\"b".into()));
        let token = encode(7, &key).unwrap();
        assert_eq!(decode(&token, 7).unwrap(), key);
        assert_eq!(decode(&token, 8).unwrap_err().to_string(), MISMATCH);
        assert_eq!(decode("zz", 7).unwrap_err().to_string(), INVALID);
        assert_eq!(decode("abc", 7).unwrap_err().to_string(), INVALID);
        assert_eq!(decode("7b7d", 7).unwrap_err().to_string(), INVALID);
    }
}
