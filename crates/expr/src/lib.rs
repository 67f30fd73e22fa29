//! DynamoDB's expression language for Meridian: condition, filter, key-condition, update and
//! projection expressions, and the legacy parameters they replaced (`Expected`,
//! `AttributeUpdates`, `KeyConditions`, `QueryFilter`/`ScanFilter`, `AttributesToGet`).
//!
//! Each parser binds `#name` and `:value` placeholders from the request's [`Bindings`] while it
//! parses, so the trees it returns hold attribute names and constant values directly; they
//! derive serde so that write commands can carry them through the Raft log. Evaluation
//! ([`Condition::evaluate`], [`UpdateExpr::apply`], [`project`]) is deterministic, so every
//! replica computes the same outcome. Every error carries DynamoDB's own message.
//!
//! This crate is pure: no I/O, no async, no clock. It depends only on `model` among Meridian's
//! crates, and must not depend on sled, openraft, hyper or any layer above it.

#![warn(missing_docs)]

mod apply;
pub mod ast;
pub mod bindings;
mod condition;
pub mod error;
pub mod eval;
pub mod key_condition;
pub mod legacy;
mod lexer;
mod parser;
pub mod path;
pub mod projection;
pub mod render;
pub mod reserved;
mod update;

#[cfg(test)]
mod tests;

pub use ast::{
    AddAction, Comparator, Condition, DeleteAction, Operand, SetAction, SetOperand, SetValue,
    UpdateExpr,
};
pub use bindings::Bindings;
pub use condition::IN_OPERANDS_MAX;
pub use error::{ErrorKind, ExprError, ExpressionKind};
pub use key_condition::{KeyOp, KeyPredicate};
pub use parser::{NESTING_DEPTH_MAX, PATH_ELEMENTS_MAX};
pub use path::{Path, PathElement};
pub use projection::project;
pub use render::Rendered;

use parser::Parser;

/// Parses a `ConditionExpression`.
pub fn parse_condition(text: &str, bindings: &Bindings) -> Result<Condition, ExprError> {
    parse_condition_as(ExpressionKind::Condition, text, bindings)
}

/// Parses a `FilterExpression` (same language as conditions; messages name the filter).
pub fn parse_filter(text: &str, bindings: &Bindings) -> Result<Condition, ExprError> {
    parse_condition_as(ExpressionKind::Filter, text, bindings)
}

/// Parses a condition-language expression whose messages name `kind`.
pub fn parse_condition_as(
    kind: ExpressionKind,
    text: &str,
    bindings: &Bindings,
) -> Result<Condition, ExprError> {
    Parser::new(text, kind, bindings)?.parse_condition_expression()
}

/// Parses an `UpdateExpression`.
pub fn parse_update(text: &str, bindings: &Bindings) -> Result<UpdateExpr, ExprError> {
    Parser::new(text, ExpressionKind::Update, bindings)?.parse_update_expression()
}

/// Parses a `ProjectionExpression` into its paths, in the order written.
pub fn parse_projection(text: &str, bindings: &Bindings) -> Result<Vec<Path>, ExprError> {
    Parser::new(text, ExpressionKind::Projection, bindings)?.parse_projection_expression()
}

/// Parses a `KeyConditionExpression` into one or two predicates on top-level attributes.
/// Matching them to the key schema (and the errors for a wrong key) is the caller's part.
pub fn parse_key_condition(
    text: &str,
    bindings: &Bindings,
) -> Result<Vec<KeyPredicate>, ExprError> {
    let cond = parse_condition_as(ExpressionKind::KeyCondition, text, bindings)?;
    key_condition::to_predicates(&cond)
}
