//! Expression attribute names and values of one request, and which of them the request's
//! expressions used.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use model::limits::{ATTRIBUTE_NAME_BYTES_MAX, EXPRESSION_VALUES_BYTES_MAX, PLACEHOLDER_BYTES_MAX};
use model::AttributeValue;
use serde_json::Value as Json;

use crate::error::ExprError;

/// The `ExpressionAttributeNames` and `ExpressionAttributeValues` of one request.
///
/// Every expression of the request is parsed against the same `Bindings`; each parse records
/// the placeholders it used, so that [`Bindings::check_unused`] can reject the ones no
/// expression used, as DynamoDB does. The record uses interior mutability so that parsing
/// takes `&Bindings`; a `Bindings` therefore belongs to one request on one thread.
#[derive(Debug, Default)]
pub struct Bindings {
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
    used_names: RefCell<BTreeSet<String>>,
    used_values: RefCell<BTreeSet<String>>,
}

impl Bindings {
    /// Bindings from a request's two maps (either may be empty).
    pub fn new(names: BTreeMap<String, String>, values: BTreeMap<String, AttributeValue>) -> Self {
        Bindings {
            names,
            values,
            ..Bindings::default()
        }
    }

    /// Bindings from a `HashMap` of names, as some wire types hold them.
    pub fn from_hash_map(
        names: HashMap<String, String>,
        values: BTreeMap<String, AttributeValue>,
    ) -> Self {
        Bindings::new(names.into_iter().collect(), values)
    }

    /// Bindings from the request's JSON members (absent members are `None`), with DynamoDB's
    /// checks and messages: present maps must not be empty, keys must be placeholders, values
    /// must be valid attribute values.
    pub fn from_json(names: Option<&Json>, values: Option<&Json>) -> Result<Self, ExprError> {
        let mut bindings = Bindings::default();
        if let Some(names) = names {
            let Json::Object(map) = names else {
                return Err(ExprError::serialization(
                    "Unexpected value where a map was expected for ExpressionAttributeNames",
                ));
            };
            if map.is_empty() {
                return Err(ExprError::validation(
                    "ExpressionAttributeNames must not be empty",
                ));
            }
            for (k, v) in map {
                let Json::String(v) = v else {
                    return Err(ExprError::serialization(
                        "Unexpected value where a string was expected for ExpressionAttributeNames",
                    ));
                };
                bindings.names.insert(k.clone(), v.clone());
            }
            bindings.validate_keys()?;
        }
        if let Some(values) = values {
            let Json::Object(map) = values else {
                return Err(ExprError::serialization(
                    "Unexpected value where a map was expected for ExpressionAttributeValues",
                ));
            };
            if map.is_empty() {
                return Err(ExprError::validation(
                    "ExpressionAttributeValues must not be empty",
                ));
            }
            for k in map.keys() {
                if !is_placeholder(k, ':') {
                    return Err(ExprError::validation(format!(
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""
                    )));
                }
            }
            for (k, v) in map {
                let value = AttributeValue::from_json(v).map_err(|e| match e.kind {
                    model::ValueErrorKind::Serialization => ExprError::from(e),
                    model::ValueErrorKind::Validation => ExprError::validation(format!(
                        "ExpressionAttributeValues contains invalid value: {} for key {k}",
                        e.message
                    )),
                })?;
                bindings.values.insert(k.clone(), value);
            }
            bindings.validate_keys()?;
        }
        Ok(bindings)
    }

    /// Bindings with no placeholders at all.
    pub fn empty() -> Self {
        Bindings::default()
    }

    /// The expression attribute names.
    pub fn names(&self) -> &BTreeMap<String, String> {
        &self.names
    }

    /// The expression attribute values.
    pub fn values(&self) -> &BTreeMap<String, AttributeValue> {
        &self.values
    }

    /// Checks the placeholders' own syntax (`#name`, `:value`: one or more of `[A-Za-z0-9_]`
    /// after the sigil), with DynamoDB's messages. Emptiness of the maps is the caller's check,
    /// because only it knows whether the parameter was sent at all.
    ///
    /// Also the limits on the maps' contents: a placeholder of at most
    /// [`PLACEHOLDER_BYTES_MAX`] bytes, a non-empty attribute name of at most
    /// [`ATTRIBUTE_NAME_BYTES_MAX`] bytes, and all substitution variables (names and values,
    /// keys included) together at most [`EXPRESSION_VALUES_BYTES_MAX`].
    pub fn validate_keys(&self) -> Result<(), ExprError> {
        for key in self.names.keys() {
            if key.len() > PLACEHOLDER_BYTES_MAX {
                return Err(ExprError::validation(format!(
                    "ExpressionAttributeNames contains invalid key: The expression attribute \
                     map contains a key that is too long; size of key: {}",
                    key.len()
                )));
            }
            if !is_placeholder(key, '#') {
                return Err(ExprError::validation(format!(
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""
                )));
            }
        }
        for (key, name) in &self.names {
            if name.is_empty() {
                return Err(ExprError::validation(format!(
                    "ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}"
                )));
            }
            if name.len() > ATTRIBUTE_NAME_BYTES_MAX {
                return Err(ExprError::validation(format!(
                    "1 validation error detected: Attribute name is too large, must be less than {} bytes",
                    ATTRIBUTE_NAME_BYTES_MAX + 1
                )));
            }
        }
        for key in self.values.keys() {
            if key.len() > PLACEHOLDER_BYTES_MAX {
                return Err(ExprError::validation(
                    "ExpressionAttributeValues contains invalid key: The expression attribute \
                     map contains a key that is too long;",
                ));
            }
            if !is_placeholder(key, ':') {
                return Err(ExprError::validation(format!(
                    "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""
                )));
            }
        }
        let names_bytes: usize = self.names.iter().map(|(k, v)| k.len() + v.len()).sum();
        let values_bytes: usize = self
            .values
            .iter()
            .map(|(k, v)| k.len() + model::size::value_size(v))
            .sum();
        let total = names_bytes + values_bytes;
        if total > EXPRESSION_VALUES_BYTES_MAX {
            return Err(ExprError::validation(format!(
                "Invalid ExpressionAttributeValues: the expression attribute names and values \
                 of a request may total at most {EXPRESSION_VALUES_BYTES_MAX} bytes; size: {total}"
            )));
        }
        Ok(())
    }

    /// Rejects names or values that no expression parsed so far used.
    pub fn check_unused(&self) -> Result<(), ExprError> {
        unused_error(
            "ExpressionAttributeNames",
            self.names.keys(),
            &self.used_names.borrow(),
        )?;
        unused_error(
            "ExpressionAttributeValues",
            self.values.keys(),
            &self.used_values.borrow(),
        )?;
        Ok(())
    }

    /// The name a `#placeholder` stands for.
    pub(crate) fn name(&self, placeholder: &str) -> Option<&str> {
        self.names.get(placeholder).map(String::as_str)
    }

    /// The value a `:placeholder` stands for.
    pub(crate) fn value(&self, placeholder: &str) -> Option<&AttributeValue> {
        self.values.get(placeholder)
    }

    /// Records the placeholders one successfully parsed expression used.
    pub(crate) fn mark_used(&self, names: &BTreeSet<String>, values: &BTreeSet<String>) {
        self.used_names.borrow_mut().extend(names.iter().cloned());
        self.used_values.borrow_mut().extend(values.iter().cloned());
    }
}

fn is_placeholder(key: &str, sigil: char) -> bool {
    let mut chars = key.chars();
    chars.next() == Some(sigil)
        && key.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// DynamoDB's error for placeholders that no expression used.
fn unused_error<'a>(
    parameter: &str,
    keys: impl Iterator<Item = &'a String>,
    used: &BTreeSet<String>,
) -> Result<(), ExprError> {
    let unused: Vec<&str> = keys
        .filter(|k| !used.contains(*k))
        .map(String::as_str)
        .collect();
    if unused.is_empty() {
        return Ok(());
    }
    Err(ExprError::validation(format!(
        "Value provided in {parameter} unused in expressions: keys: {{{}}}",
        unused.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_issue_10_placeholder_and_substitution_limits() {
        let check = |names: &[(&str, &str)], values: Vec<(String, AttributeValue)>| {
            let names = names
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Bindings::new(names, values.into_iter().collect())
                .validate_keys()
                .err()
                .map(|e| e.message)
        };
        let longest = format!("#{}", "a".repeat(PLACEHOLDER_BYTES_MAX - 1));
        assert_eq!(check(&[(&longest, "x")], vec![]), None);
        let too_long = format!("#{}", "a".repeat(PLACEHOLDER_BYTES_MAX));
        assert_eq!(
            check(&[(&too_long, "x")], vec![]).as_deref(),
            Some(
                "ExpressionAttributeNames contains invalid key: The expression attribute map \
                 contains a key that is too long; size of key: 256"
            )
        );
        let value_key = format!(":{}", "v".repeat(PLACEHOLDER_BYTES_MAX));
        assert!(check(&[], vec![(value_key, AttributeValue::Null)])
            .is_some_and(|m| m.contains("too long")));
        assert_eq!(
            check(&[("#a", "")], vec![]).as_deref(),
            Some(
                "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a"
            )
        );
        let huge_name = "n".repeat(ATTRIBUTE_NAME_BYTES_MAX + 1);
        assert!(check(&[("#a", &huge_name)], vec![])
            .is_some_and(|m| m.contains("Attribute name is too large")));
        let big = AttributeValue::S("z".repeat(EXPRESSION_VALUES_BYTES_MAX / 2));
        let values = vec![(":a".to_owned(), big.clone()), (":b".to_owned(), big)];
        assert!(check(&[], values).is_some_and(|m| m.contains("at most 2097152 bytes")));
    }

    #[test]
    fn t10_unused_messages() {
        let mut names = BTreeMap::new();
        names.insert("#a".to_string(), "a".to_string());
        names.insert("#b".to_string(), "b".to_string());
        let mut values = BTreeMap::new();
        values.insert(":v".to_string(), AttributeValue::Null);
        let b = Bindings::new(names, values);
        assert_eq!(
            b.check_unused().unwrap_err().message,
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"
        );
        b.mark_used(
            &["#a".to_string(), "#b".to_string()].into(),
            &BTreeSet::new(),
        );
        assert_eq!(
            b.check_unused().unwrap_err().message,
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"
        );
        b.mark_used(&BTreeSet::new(), &[":v".to_string()].into());
        assert!(b.check_unused().is_ok());
    }

    #[test]
    fn t10_from_json() {
        use serde_json::json;
        let err = |n: Option<Json>, v: Option<Json>| {
            Bindings::from_json(n.as_ref(), v.as_ref())
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            err(Some(json!({})), None),
            "ExpressionAttributeNames must not be empty"
        );
        assert_eq!(
            err(None, Some(json!({}))),
            "ExpressionAttributeValues must not be empty"
        );
        assert_eq!(
            err(Some(json!({"a": "a"})), Some(json!({}))),
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""
        );
        assert_eq!(
            err(None, Some(json!({":b": {"a": ""}, "b": {"S": "a"}}))),
            "ExpressionAttributeValues contains invalid key: Syntax error; key: \"b\""
        );
        assert_eq!(
            err(None, Some(json!({":b": {}}))),
            "ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes for key :b"
        );
        let b = Bindings::from_json(Some(&json!({"#a": "a"})), Some(&json!({":v": {"N": "1"}})))
            .expect("valid");
        assert_eq!(b.name("#a"), Some("a"));
        assert!(b.value(":v").is_some());
    }

    #[test]
    fn t10_key_syntax() {
        let mut names = BTreeMap::new();
        names.insert("a".to_string(), "a".to_string());
        let b = Bindings::new(names, BTreeMap::new());
        assert_eq!(
            b.validate_keys().unwrap_err().message,
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""
        );
        let mut values = BTreeMap::new();
        values.insert(":".to_string(), AttributeValue::Null);
        let b = Bindings::new(BTreeMap::new(), values);
        assert_eq!(
            b.validate_keys().unwrap_err().message,
            "ExpressionAttributeValues contains invalid key: Syntax error; key: \":\""
        );
    }
}
