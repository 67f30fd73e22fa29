//! DynamoDB's PartiQL operations: ExecuteStatement, BatchExecuteStatement and
//! ExecuteTransaction.
//!
//! A statement is tokenized (`lexer`), parsed into a typed AST (`parser`, `ast`) when the
//! request is decoded, and translated (`translate`) once the table's key schema is known into
//! the typed requests the rest of the API runs: a SELECT becomes a Query when its WHERE clause
//! pins the partition key with `=`, else a Scan with the clause as filter; INSERT, UPDATE and
//! DELETE become one conditional `ItemWrite` (INSERT: `attribute_not_exists` on the partition
//! key; UPDATE: `attribute_exists`, so neither creates nor overwrites by accident), proposed
//! through the region's log like PutItem/UpdateItem/DeleteItem. BatchExecuteStatement runs
//! each statement on its own and reports per-statement errors; ExecuteTransaction is one
//! `TransactWrite` (with the ClientRequestToken) or one `TransactGet` command.

mod ast;
mod lexer;
mod parser;
mod run;
mod token;
mod translate;

pub(crate) use run::{
    batch_execute, decode_batch, decode_execute, decode_transaction, execute, execute_transaction,
};
pub use run::{BatchExecuteRequest, ExecuteStatementRequest, ExecuteTransactionRequest};

use crate::error::ApiError;

/// DynamoDB's ValidationException for a statement that does not parse.
fn malformed(detail: impl std::fmt::Display) -> ApiError {
    ApiError::Validation(format!(
        "Statement wasn't well formed, can't be processed: {detail}"
    ))
}
