//! Attribute values and items, with DynamoDB's JSON wire form.
//!
//! Decoding reports DynamoDB's own error kinds: a JSON shape that cannot be a value is a
//! `SerializationException`, a well-formed but invalid value is a `ValidationException`.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value as Json;

use crate::limits::{ATTRIBUTE_NAME_BYTES_MAX, NESTING_DEPTH_MAX};
use crate::number::Number;

/// An item: attribute name to value.
pub type Item = BTreeMap<String, AttributeValue>;

/// One DynamoDB attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(BTreeMap<String, AttributeValue>),
    L(Vec<AttributeValue>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

impl AttributeValue {
    /// The wire type name (`S`, `N`, `SS`, …), as `attribute_type` names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }

    /// Decodes DynamoDB JSON (`{"S": "x"}`), validating as DynamoDB does.
    pub fn from_json(json: &Json) -> Result<Self, ValueError> {
        decode(json, 0)
    }

    /// A serializer for the DynamoDB JSON form.
    pub fn wire(&self) -> WireValue<'_> {
        WireValue(self)
    }

    /// The DynamoDB JSON form as a `serde_json::Value`.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self.wire()).unwrap_or(Json::Null)
    }
}

/// Why a JSON value is not an attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub kind: ValueErrorKind,
    pub message: String,
}

/// Which DynamoDB exception a [`ValueError`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueErrorKind {
    Serialization,
    Validation,
}

impl ValueError {
    fn serialization(message: impl Into<String>) -> Self {
        ValueError {
            kind: ValueErrorKind::Serialization,
            message: message.into(),
        }
    }
    fn validation(message: impl Into<String>) -> Self {
        ValueError {
            kind: ValueErrorKind::Validation,
            message: message.into(),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "list",
        Json::Object(_) => "structure",
    }
}

fn expect_str<'a>(json: &'a Json, what: &str) -> Result<&'a str, ValueError> {
    json.as_str().ok_or_else(|| {
        ValueError::serialization(format!(
            "Unexpected {} where a string was expected for {what}",
            json_kind(json)
        ))
    })
}

fn expect_array<'a>(json: &'a Json, what: &str) -> Result<&'a Vec<Json>, ValueError> {
    json.as_array().ok_or_else(|| {
        ValueError::serialization(format!(
            "Unexpected {} where a list was expected for {what}",
            json_kind(json)
        ))
    })
}

fn decode_number(text: &str) -> Result<Number, ValueError> {
    Number::parse(text).map_err(|e| ValueError::validation(e.to_string()))
}

fn decode_binary(text: &str) -> Result<Vec<u8>, ValueError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ValueError::serialization("Base64 encoded binary value is not valid"))
}

fn set_error(kind: &str) -> ValueError {
    ValueError::validation(format!(
        "One or more parameter values were invalid: An {kind} set  may not be empty"
    ))
}

fn duplicates_error<T: fmt::Debug>(items: &[T]) -> ValueError {
    ValueError::validation(format!(
        "One or more parameter values were invalid: Input collection {items:?} contains duplicates."
    ))
}

/// DynamoDB's message for a value nested [`NESTING_DEPTH_MAX`] levels or more.
pub const NESTING_DEPTH_MESSAGE: &str = "Nesting Levels have exceeded supported limits: \
     Attributes in the item have nested levels beyond supported limit";

/// How deeply `value` nests: 0 for a scalar or an empty map or list, else one more than its
/// deepest member. DynamoDB refuses [`NESTING_DEPTH_MAX`] or more (31 map-wraps around a
/// scalar are accepted, 32 are not).
pub fn nesting_depth(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::M(m) => m.values().map(|v| nesting_depth(v) + 1).max().unwrap_or(0),
        AttributeValue::L(l) => l.iter().map(|v| nesting_depth(v) + 1).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks an attribute name (of an item or of a map member): not empty, at most
/// [`ATTRIBUTE_NAME_BYTES_MAX`] bytes, with DynamoDB's messages.
pub fn check_attribute_name(name: &str) -> Result<(), ValueError> {
    if name.is_empty() {
        return Err(ValueError::validation(
            "One or more parameter values were invalid: Empty attribute name",
        ));
    }
    if name.len() > ATTRIBUTE_NAME_BYTES_MAX {
        return Err(ValueError::validation(format!(
            "1 validation error detected: Attribute name is too large, must be less than {} bytes",
            ATTRIBUTE_NAME_BYTES_MAX + 1
        )));
    }
    Ok(())
}

fn decode(json: &Json, depth: usize) -> Result<AttributeValue, ValueError> {
    if depth >= NESTING_DEPTH_MAX {
        return Err(ValueError::validation(NESTING_DEPTH_MESSAGE));
    }
    let Json::Object(map) = json else {
        return Err(ValueError::serialization(format!(
            "Unexpected {} where an AttributeValue structure was expected",
            json_kind(json)
        )));
    };
    let mut found: Option<(&str, &Json)> = None;
    for (k, v) in map {
        if v.is_null() {
            continue;
        }
        if !matches!(
            k.as_str(),
            "S" | "N" | "B" | "BOOL" | "NULL" | "M" | "L" | "SS" | "NS" | "BS"
        ) {
            return Err(ValueError::serialization(format!(
                "Unknown AttributeValue member: {k}"
            )));
        }
        if found.is_some() {
            return Err(ValueError::validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            ));
        }
        found = Some((k.as_str(), v));
    }
    let Some((tag, v)) = found else {
        return Err(ValueError::validation(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
        ));
    };
    Ok(match tag {
        "S" => AttributeValue::S(expect_str(v, "S")?.to_owned()),
        "N" => AttributeValue::N(decode_number(expect_str(v, "N")?)?),
        "B" => AttributeValue::B(decode_binary(expect_str(v, "B")?)?),
        "BOOL" => AttributeValue::Bool(
            v.as_bool()
                .ok_or_else(|| ValueError::serialization("Unexpected value where a boolean was expected for BOOL"))?,
        ),
        "NULL" => match v.as_bool() {
            Some(true) => AttributeValue::Null,
            Some(false) => {
                return Err(ValueError::validation(
                    "One or more parameter values were invalid: Null attribute value types must have the value of true",
                ))
            }
            None => return Err(ValueError::serialization("Unexpected value where a boolean was expected for NULL")),
        },
        "M" => {
            let Json::Object(entries) = v else {
                return Err(ValueError::serialization(format!(
                    "Unexpected {} where a map was expected for M",
                    json_kind(v)
                )));
            };
            let mut out = BTreeMap::new();
            for (k, e) in entries {
                check_attribute_name(k)?;
                out.insert(k.clone(), decode(e, depth + 1)?);
            }
            AttributeValue::M(out)
        }
        "L" => {
            let list = expect_array(v, "L")?;
            let mut out = Vec::with_capacity(list.len());
            for e in list {
                out.push(decode(e, depth + 1)?);
            }
            AttributeValue::L(out)
        }
        "SS" => {
            let list = expect_array(v, "SS")?;
            let mut out = Vec::with_capacity(list.len());
            for e in list {
                out.push(expect_str(e, "SS")?.to_owned());
            }
            if out.is_empty() {
                return Err(set_error("string"));
            }
            let mut sorted: Vec<&String> = out.iter().collect();
            sorted.sort();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return Err(duplicates_error(&out));
            }
            AttributeValue::Ss(out)
        }
        "NS" => {
            let list = expect_array(v, "NS")?;
            let mut out = Vec::with_capacity(list.len());
            for e in list {
                out.push(decode_number(expect_str(e, "NS")?)?);
            }
            if out.is_empty() {
                return Err(set_error("number"));
            }
            let mut sorted: Vec<&Number> = out.iter().collect();
            sorted.sort();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                let shown: Vec<String> = out.iter().map(ToString::to_string).collect();
                return Err(duplicates_error(&shown));
            }
            AttributeValue::Ns(out)
        }
        "BS" => {
            let list = expect_array(v, "BS")?;
            let mut out = Vec::with_capacity(list.len());
            for e in list {
                out.push(decode_binary(expect_str(e, "BS")?)?);
            }
            if out.is_empty() {
                return Err(set_error("binary"));
            }
            let mut sorted: Vec<&Vec<u8>> = out.iter().collect();
            sorted.sort();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return Err(ValueError::validation(
                    "One or more parameter values were invalid: Input collection contains duplicates.",
                ));
            }
            AttributeValue::Bs(out)
        }
        _ => unreachable!("tags are checked above"),
    })
}

/// Decodes a JSON object of attribute values (an item or a key).
pub fn item_from_json(json: &Json) -> Result<Item, ValueError> {
    let Json::Object(map) = json else {
        return Err(ValueError::serialization(format!(
            "Unexpected {} where a map of AttributeValues was expected",
            json_kind(json)
        )));
    };
    let mut item = Item::new();
    for (k, v) in map {
        check_attribute_name(k)?;
        item.insert(k.clone(), AttributeValue::from_json(v)?);
    }
    Ok(item)
}

/// Serializes an attribute value in DynamoDB JSON without building a `serde_json::Value`.
#[derive(Debug, Clone, Copy)]
pub struct WireValue<'a>(pub &'a AttributeValue);

/// Serializes an item in DynamoDB JSON.
#[derive(Debug, Clone, Copy)]
pub struct WireItem<'a>(pub &'a Item);

struct B64<'a>(&'a [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

struct Seq<I>(std::cell::RefCell<Option<I>>);

impl<I, T> Serialize for Seq<I>
where
    I: Iterator<Item = T>,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let iter = self.0.borrow_mut().take();
        let mut seq = s.serialize_seq(None)?;
        if let Some(iter) = iter {
            for e in iter {
                seq.serialize_element(&e)?;
            }
        }
        seq.end()
    }
}

fn seq<I: Iterator>(iter: I) -> Seq<I> {
    Seq(std::cell::RefCell::new(Some(iter)))
}

impl Serialize for WireValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self.0 {
            AttributeValue::S(v) => map.serialize_entry("S", v)?,
            AttributeValue::N(n) => map.serialize_entry("N", &n.to_string())?,
            AttributeValue::B(b) => map.serialize_entry("B", &B64(b))?,
            AttributeValue::Bool(b) => map.serialize_entry("BOOL", b)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::M(m) => map.serialize_entry("M", &WireItem(m))?,
            AttributeValue::L(l) => map.serialize_entry("L", &seq(l.iter().map(WireValue)))?,
            AttributeValue::Ss(v) => map.serialize_entry("SS", v)?,
            AttributeValue::Ns(v) => {
                map.serialize_entry("NS", &seq(v.iter().map(|n| n.to_string())))?
            }
            AttributeValue::Bs(v) => map.serialize_entry("BS", &seq(v.iter().map(|b| B64(b))))?,
        }
        map.end()
    }
}

impl Serialize for WireItem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &WireValue(v))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn t10_issue_10_attribute_names_and_nesting() {
        let err = |j: Json| item_from_json(&j).err().map(|e| (e.kind, e.message));
        let empty = err(json!({"": {"S": "x"}}));
        assert_eq!(
            empty,
            Some((
                ValueErrorKind::Validation,
                "One or more parameter values were invalid: Empty attribute name".into()
            ))
        );
        assert!(err(json!({"m": {"M": {"": {"S": "x"}}}})).is_some());
        let longest = "n".repeat(ATTRIBUTE_NAME_BYTES_MAX);
        assert_eq!(err(json!({ longest: {"S": "x"} })), None);
        let too_long = "n".repeat(ATTRIBUTE_NAME_BYTES_MAX + 1);
        let (kind, message) = err(json!({ too_long: {"S": "x"} }))
            .unwrap_or((ValueErrorKind::Serialization, String::new()));
        assert_eq!(kind, ValueErrorKind::Validation);
        assert!(
            message.ends_with("must be less than 65536 bytes"),
            "{message}"
        );
        // 31 maps around a scalar pass; 32 do not.
        let nest = |depth: usize| {
            let mut v = json!({"S": "leaf"});
            for _ in 0..depth {
                v = json!({"M": {"d": v}});
            }
            v
        };
        let deep = AttributeValue::from_json(&nest(31)).map(|v| nesting_depth(&v));
        assert_eq!(deep, Ok(31));
        assert_eq!(
            AttributeValue::from_json(&nest(32))
                .err()
                .map(|e| e.message),
            Some(NESTING_DEPTH_MESSAGE.to_owned())
        );
        assert_eq!(nesting_depth(&AttributeValue::M(BTreeMap::new())), 0);
    }

    #[test]
    fn t10_round_trips_every_type() {
        let j = json!({
            "s": {"S": "x"}, "n": {"N": "1.50"}, "b": {"B": "AAE="}, "t": {"BOOL": true}, "z": {"NULL": true},
            "m": {"M": {"a": {"L": [{"N": "1"}, {"SS": ["a", "b"]}]}}},
            "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AA=="]}
        });
        let item = item_from_json(&j).unwrap();
        let back = serde_json::to_value(WireItem(&item)).unwrap();
        assert_eq!(back["n"], json!({"N": "1.5"}));
        assert_eq!(back["m"], j["m"]);
        assert_eq!(item_from_json(&back).unwrap(), item);
    }

    #[test]
    fn t10_rejects_invalid_values() {
        let err = |j: Json| AttributeValue::from_json(&j).unwrap_err();
        assert_eq!(err(json!({})).kind, ValueErrorKind::Validation);
        assert_eq!(
            err(json!({"S": "a", "N": "1"})).kind,
            ValueErrorKind::Validation
        );
        assert_eq!(err(json!({"SS": []})).kind, ValueErrorKind::Validation);
        assert_eq!(
            err(json!({"SS": ["a", "a"]})).kind,
            ValueErrorKind::Validation
        );
        assert_eq!(
            err(json!({"NS": ["1", "1.0"]})).kind,
            ValueErrorKind::Validation
        );
        assert_eq!(err(json!({"N": "abc"})).kind, ValueErrorKind::Validation);
        assert_eq!(err(json!({"S": 1})).kind, ValueErrorKind::Serialization);
        assert_eq!(err(json!("x")).kind, ValueErrorKind::Serialization);
        assert_eq!(err(json!({"NULL": false})).kind, ValueErrorKind::Validation);
        let mut deep = json!({"S": "x"});
        for _ in 0..40 {
            deep = json!({"L": [deep]});
        }
        assert_eq!(err(deep).kind, ValueErrorKind::Validation);
    }
}
