//! The one error type of this crate, carrying DynamoDB's own message text.

use std::fmt;

/// Which expression parameter an error is about; DynamoDB names it in every message
/// (`Invalid ConditionExpression: …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpressionKind {
    /// `ConditionExpression` of PutItem, UpdateItem, DeleteItem and transactions.
    Condition,
    /// `FilterExpression` of Query and Scan.
    Filter,
    /// `KeyConditionExpression` of Query.
    KeyCondition,
    /// `ProjectionExpression` of GetItem, Query, Scan, BatchGetItem, TransactGetItems.
    Projection,
    /// `UpdateExpression` of UpdateItem.
    Update,
}

impl ExpressionKind {
    /// The request parameter's name, as DynamoDB's messages spell it.
    pub fn parameter(self) -> &'static str {
        match self {
            ExpressionKind::Condition => "ConditionExpression",
            ExpressionKind::Filter => "FilterExpression",
            ExpressionKind::KeyCondition => "KeyConditionExpression",
            ExpressionKind::Projection => "ProjectionExpression",
            ExpressionKind::Update => "UpdateExpression",
        }
    }
}

impl fmt::Display for ExpressionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.parameter())
    }
}

/// Which DynamoDB exception an [`ExprError`] becomes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `ValidationException`: every expression error, and invalid legacy parameters.
    Validation,
    /// `SerializationException`: a legacy parameter whose JSON shape is wrong.
    Serialization,
}

/// An expression that cannot be parsed, bound or evaluated. The message is DynamoDB's,
/// ready to be sent to the client as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// Which exception this becomes.
    pub kind: ErrorKind,
    /// DynamoDB's message text.
    pub message: String,
}

impl ExprError {
    /// A `ValidationException` with this exact message.
    pub fn validation(message: impl Into<String>) -> Self {
        ExprError {
            kind: ErrorKind::Validation,
            message: message.into(),
        }
    }

    /// A `SerializationException` with this exact message.
    pub fn serialization(message: impl Into<String>) -> Self {
        ExprError {
            kind: ErrorKind::Serialization,
            message: message.into(),
        }
    }

    /// A `ValidationException` about one expression: `Invalid {kind}: {detail}`.
    pub fn invalid(kind: ExpressionKind, detail: impl fmt::Display) -> Self {
        ExprError::validation(format!("Invalid {kind}: {detail}"))
    }

    /// Whether this is a `ValidationException`.
    pub fn is_validation(&self) -> bool {
        self.kind == ErrorKind::Validation
    }
}

impl From<model::ValueError> for ExprError {
    fn from(e: model::ValueError) -> Self {
        ExprError {
            kind: match e.kind {
                model::ValueErrorKind::Serialization => ErrorKind::Serialization,
                model::ValueErrorKind::Validation => ErrorKind::Validation,
            },
            message: e.message,
        }
    }
}

/// Runtime errors of update expressions, with DynamoDB's messages.
pub(crate) mod runtime {
    use super::ExprError;

    /// An operand of `+`, `-`, `list_append`, ADD or DELETE has the wrong type in the item.
    pub fn incorrect_type() -> ExprError {
        ExprError::validation("An operand in the update expression has an incorrect data type")
    }

    /// A path's parent does not exist, or is not a map/list.
    pub fn invalid_path() -> ExprError {
        ExprError::validation(
            "The document path provided in the update expression is invalid for update",
        )
    }

    /// A SET operand reads an attribute that the item does not have.
    pub fn missing_attribute() -> ExprError {
        ExprError::validation(
            "The provided expression refers to an attribute that does not exist in the item",
        )
    }
}
