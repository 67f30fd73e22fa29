//! Glue between request members and the `expr` crate: one set of placeholder bindings per
//! request (or per transaction action), shared by all its expressions and checked for unused
//! placeholders at the end; and the rule that a request uses either expression parameters or
//! the legacy ones, never both.

use std::collections::BTreeMap;

use serde_json::Value;

use expr::{Bindings, Condition, ExprError, KeyPredicate, Path, UpdateExpr};
use model::item_from_json;

use crate::error::ApiError;

/// ExpressionAttributeNames as decoded from the wire.
pub(crate) type Names = BTreeMap<String, String>;

impl From<ExprError> for ApiError {
    fn from(error: ExprError) -> Self {
        match error.kind {
            expr::ErrorKind::Serialization => ApiError::Serialization(error.message),
            expr::ErrorKind::Validation => ApiError::Validation(error.message),
        }
    }
}

/// The placeholders of one request, while its expressions are parsed.
#[derive(Debug)]
pub(crate) struct Binder {
    bindings: Bindings,
}

impl Binder {
    /// Binds ExpressionAttributeNames and ExpressionAttributeValues. Either given without any
    /// expression in the request is DynamoDB's "can only be specified when using expressions";
    /// an empty map is "must not be empty".
    pub(crate) fn new(
        names: Option<Names>,
        values: Option<&Value>,
        has_expression: bool,
    ) -> Result<Binder, ApiError> {
        let values = values.filter(|v| !v.is_null());
        if !has_expression {
            if names.is_some() {
                return Err(ApiError::validation(
                    "ExpressionAttributeNames can only be specified when using expressions",
                ));
            }
            if values.is_some() {
                return Err(ApiError::validation(
                    "ExpressionAttributeValues can only be specified when using expressions",
                ));
            }
        }
        if names.as_ref().is_some_and(BTreeMap::is_empty) {
            return Err(ApiError::validation(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        let values = match values {
            Some(json) => {
                let values = item_from_json(json)?;
                if values.is_empty() {
                    return Err(ApiError::validation(
                        "ExpressionAttributeValues must not be empty",
                    ));
                }
                values
            }
            None => BTreeMap::new(),
        };
        let bindings = Bindings::new(names.unwrap_or_default(), values);
        bindings.validate_keys()?;
        Ok(Binder { bindings })
    }

    /// Parses a ConditionExpression, if given.
    pub(crate) fn condition(&self, text: Option<&str>) -> Result<Option<Condition>, ApiError> {
        Ok(text
            .map(|t| expr::parse_condition(t, &self.bindings))
            .transpose()?)
    }

    /// Parses a FilterExpression, if given.
    pub(crate) fn filter(&self, text: Option<&str>) -> Result<Option<Condition>, ApiError> {
        Ok(text
            .map(|t| expr::parse_filter(t, &self.bindings))
            .transpose()?)
    }

    /// Parses an UpdateExpression, if given.
    pub(crate) fn update(&self, text: Option<&str>) -> Result<Option<UpdateExpr>, ApiError> {
        Ok(text
            .map(|t| expr::parse_update(t, &self.bindings))
            .transpose()?)
    }

    /// Parses a ProjectionExpression, if given.
    pub(crate) fn projection(&self, text: Option<&str>) -> Result<Option<Vec<Path>>, ApiError> {
        Ok(text
            .map(|t| expr::parse_projection(t, &self.bindings))
            .transpose()?)
    }

    /// Parses a KeyConditionExpression.
    pub(crate) fn key_condition(&self, text: &str) -> Result<Vec<KeyPredicate>, ApiError> {
        Ok(expr::parse_key_condition(text, &self.bindings)?)
    }

    /// Ends parsing: every placeholder must have been used.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        Ok(self.bindings.check_unused()?)
    }
}

/// DynamoDB's rule against mixing: each list names the members of one kind and whether the
/// request has them.
pub(crate) fn check_not_mixed(
    legacy: &[(&str, bool)],
    expressions: &[(&str, bool)],
) -> Result<(), ApiError> {
    let present = |list: &[(&str, bool)]| -> Vec<String> {
        list.iter()
            .filter(|(_, has)| *has)
            .map(|(name, _)| (*name).to_owned())
            .collect()
    };
    let legacy = present(legacy);
    let expressions = present(expressions);
    if legacy.is_empty() || expressions.is_empty() {
        return Ok(());
    }
    Err(ApiError::Validation(format!(
        "Can not use both expression and non-expression parameters in the same request: \
         Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
        legacy.join(", "),
        expressions.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_mixing_message() {
        assert!(check_not_mixed(
            &[("AttributesToGet", false)],
            &[("ProjectionExpression", true)]
        )
        .is_ok());
        let err = check_not_mixed(
            &[("AttributesToGet", true), ("QueryFilter", false)],
            &[("ProjectionExpression", true)],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
        );
    }

    #[test]
    fn t10_placeholders_need_expressions() {
        let values = serde_json::json!({":v": {"S": "x"}});
        let err = Binder::new(None, Some(&values), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ExpressionAttributeValues can only be specified when using expressions"
        );
        let err = Binder::new(Some(Names::new()), None, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ExpressionAttributeNames must not be empty"
        );
    }
}
