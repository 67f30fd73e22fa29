//! A table's DynamoDB stream over its change log: enabling and disabling it (deterministic,
//! in apply), and the bounds of the records that belong to the current stream.
//!
//! A stream is the slice `[start_seq, end_seq]` of the table's change log. Enabling a stream
//! starts it at the next sequence number, so a re-enabled stream (a new label, a new ARN)
//! never shows the records of the one before; disabling it closes the slice at the last
//! record written while it was enabled.

use model::limits::STREAM_RETENTION_MS;
use model::{StreamSpec, TableMeta};
use storage::ApplyView;

use crate::catalog::{put_table, view_table};
use crate::changes;
use crate::command::{Outcome, StreamUpdate};
use crate::error::{Rejection, TableError};

/// Applies UpdateTable's StreamSpecification, with DynamoDB's rejections.
pub(crate) fn set_stream(
    view: &mut ApplyView<'_>,
    update: &StreamUpdate,
) -> Result<Outcome, TableError> {
    let Some(mut meta) = view_table(view, &update.table)? else {
        return Ok(Outcome::Rejected(Rejection::table_not_found(&update.table)));
    };
    let last = changes::view_last_seq(view, &meta.id)?;
    match update.enable {
        Some(view_type) => {
            if meta.stream_enabled() {
                return Ok(Outcome::Rejected(Rejection::validation(format!(
                    "Table already has an enabled stream: TableName: {}",
                    meta.name
                ))));
            }
            let mut stream = StreamSpec::new(view_type, update.now_ms, last + 1);
            if let Some(mut old) = meta.stream.take() {
                let mut previous = std::mem::take(&mut old.previous);
                previous.push(old);
                // An earlier stream stays readable for the retention period after it was
                // disabled; by then its records are trimmed too.
                previous.retain(|p| {
                    p.disabled_ms
                        .is_some_and(|d| update.now_ms - d < STREAM_RETENTION_MS)
                });
                stream.previous = previous;
            }
            meta.stream = Some(stream);
        }
        None => {
            let Some(stream) = meta.stream.as_mut().filter(|s| s.enabled) else {
                return Ok(Outcome::Rejected(Rejection::validation(format!(
                    "Table has no stream to disable: TableName: {}",
                    meta.name
                ))));
            };
            stream.enabled = false;
            stream.end_seq = Some(last);
            stream.disabled_ms = Some(update.now_ms);
        }
    }
    put_table(view, &meta)?;
    Ok(Outcome::Table(meta))
}

/// Fits the stream of a table being created to this replica's change log: a replica created
/// from another region's description carries that region's sequence numbers, which mean
/// nothing here. The stream starts at the next local record and has no earlier streams.
pub(crate) fn rebase(view: &mut ApplyView<'_>, meta: &mut TableMeta) -> Result<(), TableError> {
    if let Some(stream) = meta.stream.as_mut() {
        let last = changes::view_last_seq(view, &meta.id)?;
        stream.start_seq = last + 1;
        stream.end_seq = (!stream.enabled).then_some(last);
        stream.previous.clear();
    }
    Ok(())
}

/// The stream of a new table: its change log is empty, so the stream starts at 1.
pub fn initial_stream(view_type: model::StreamViewType, created_ms: i64) -> StreamSpec {
    StreamSpec::new(view_type, created_ms, 1)
}

/// The sequence numbers `stream` (one of `meta`'s streams) covers so far: from its first to
/// the last record written while it was enabled.
pub fn stream_bounds(
    store: &storage::Store,
    meta: &TableMeta,
    stream: &StreamSpec,
) -> Result<(u64, u64), TableError> {
    let last = match stream.end_seq {
        Some(end) => end,
        None => changes::last_seq(store, &meta.id)?,
    };
    Ok((stream.start_seq, last))
}
