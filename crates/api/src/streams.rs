//! The DynamoDB Streams API (`X-Amz-Target: DynamoDBStreams_20120810.<Op>`, on the same
//! endpoint as DynamoDB): ListStreams, DescribeStream, GetShardIterator and GetRecords over a
//! table's change log.
//!
//! The model: a stream is the slice of the table's change log that was written while it was
//! enabled (`table::stream::stream_bounds`), served as one shard. An earlier stream of the
//! table stays readable by its ARN for 24 hours after it was disabled. A record's SequenceNumber
//! is its change-log sequence number, zero-padded to 21 digits, so sequence numbers increase
//! in apply order and a consumer sees every change once, in the order the region applied it.
//! A shard iterator is an opaque string (`<stream ARN>|1|<hex>`, as DynamoDB's look) that
//! carries the position, its creation time (iterators expire after 15 minutes) and a
//! checksum, so a mangled iterator is refused instead of read from a wrong position.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use model::limits::{
    GET_RECORDS_BYTES_MAX, GET_RECORDS_LIMIT_MAX, LIST_STREAMS_LIMIT_MAX, SHARD_ITERATOR_TTL_MS,
};
use model::{StreamSpec, StreamViewType, TableMeta};

use crate::describe::epoch_seconds;
use crate::error::ApiError;
use crate::request::json_body;
use crate::stream_records::{is_visible_change, render_record};
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

/// The `X-Amz-Target` prefix of every DynamoDB Streams operation.
pub const STREAMS_TARGET_PREFIX: &str = "DynamoDBStreams_20120810.";

/// Digits of a SequenceNumber (DynamoDB's are 21 digits and more).
const SEQUENCE_NUMBER_DIGITS: usize = 21;
/// Longest ShardIterator DynamoDB Streams accepts.
const SHARD_ITERATOR_LEN_MAX: usize = 2048;
/// Version of the shard iterator's encoding (the `|1|` in it).
const ITERATOR_FORMAT: &str = "1";
/// Length bounds of a StreamArn member (the Streams API model's constraint).
const STREAM_ARN_LEN_MIN: usize = 37;
const STREAM_ARN_LEN_MAX: usize = 1024;
/// Length bounds of a ShardId member.
const SHARD_ID_LEN_MIN: usize = 28;
const SHARD_ID_LEN_MAX: usize = 65;
/// Length bounds of a SequenceNumber member.
const SEQUENCE_NUMBER_LEN_MIN: usize = 21;
const SEQUENCE_NUMBER_LEN_MAX: usize = 40;
/// Most shards one DescribeStream returns.
const DESCRIBE_STREAM_LIMIT_MAX: i64 = 100;

/// One DynamoDB Streams operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOperation {
    /// `DescribeStream`.
    DescribeStream,
    /// `GetRecords`.
    GetRecords,
    /// `GetShardIterator`.
    GetShardIterator,
    /// `ListStreams`.
    ListStreams,
}

impl StreamOperation {
    /// Every operation.
    pub const ALL: &'static [StreamOperation] = &[
        StreamOperation::DescribeStream,
        StreamOperation::GetRecords,
        StreamOperation::GetShardIterator,
        StreamOperation::ListStreams,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            StreamOperation::DescribeStream => "DescribeStream",
            StreamOperation::GetRecords => "GetRecords",
            StreamOperation::GetShardIterator => "GetShardIterator",
            StreamOperation::ListStreams => "ListStreams",
        }
    }

    /// Parses an `X-Amz-Target` value (`DynamoDBStreams_20120810.GetRecords`).
    pub fn from_target(target: &str) -> Option<StreamOperation> {
        let name = target.strip_prefix(STREAMS_TARGET_PREFIX)?;
        StreamOperation::ALL
            .iter()
            .copied()
            .find(|op| op.name() == name)
    }
}

/// Decodes and runs one Streams request; returns the JSON body of the 200 response.
pub async fn run(
    region: &dyn Region,
    op: StreamOperation,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    match op {
        StreamOperation::ListStreams => list_streams(region, parse_body(body)?),
        StreamOperation::DescribeStream => describe_stream(region, parse_body(body)?),
        StreamOperation::GetShardIterator => get_shard_iterator(region, parse_body(body)?),
        StreamOperation::GetRecords => get_records(region, parse_body(body)?),
    }
}

/// Decodes a StreamSpecification: `Some(Some(view type))` enables a stream,
/// `Some(None)` disables it, `None` leaves it alone.
pub(crate) fn stream_spec(
    spec: Option<&crate::tables::StreamSpecificationWire>,
) -> Result<Option<Option<StreamViewType>>, ApiError> {
    let Some(spec) = spec else {
        return Ok(None);
    };
    let mut v = Violations::new();
    if spec.stream_enabled.is_none() {
        v.null("streamSpecification.streamEnabled");
    }
    let view_type = v.enumeration(
        "streamSpecification.streamViewType",
        spec.stream_view_type.as_deref(),
        &[
            ("NEW_IMAGE", StreamViewType::NewImage),
            ("OLD_IMAGE", StreamViewType::OldImage),
            ("NEW_AND_OLD_IMAGES", StreamViewType::NewAndOldImages),
            ("KEYS_ONLY", StreamViewType::KeysOnly),
        ],
        "NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY",
    );
    v.finish()?;
    match (spec.stream_enabled, view_type) {
        (Some(true), Some(view_type)) => Ok(Some(Some(view_type))),
        (Some(true), None) => Err(ApiError::validation(
            "One or more parameter values were invalid: You must specify a StreamViewType when enabling a stream",
        )),
        // A view type with StreamEnabled = false is ignored.
        (_, _) => Ok(Some(None)),
    }
}

/// DynamoDB's refusals of a stream change, against the table as this replica has it (apply
/// checks the same against the committed state).
pub(crate) fn check_stream_change(meta: &TableMeta, enable: bool) -> Result<(), ApiError> {
    match (enable, meta.stream_enabled()) {
        (true, true) => Err(ApiError::validation(format!(
            "Table already has an enabled stream: TableName: {}",
            meta.name
        ))),
        (false, false) => Err(ApiError::validation(format!(
            "Table has no stream to disable: TableName: {}",
            meta.name
        ))),
        _ => Ok(()),
    }
}

/// Enables (with a view type) or disables a table's stream through the region's log.
pub(crate) async fn set_stream(
    region: &dyn Region,
    table: String,
    enable: Option<StreamViewType>,
) -> Result<TableMeta, ApiError> {
    let command = table::Command::SetStream(table::StreamUpdate {
        table,
        enable,
        now_ms: region.clock().now_ms(),
    });
    crate::tables::expect_table(crate::request::propose(region, &command).await?)
}

/// A stream's ARN split into its table and label.
fn parse_stream_arn(arn: &str) -> Option<(&str, &str)> {
    let (table_arn, label) = arn.split_once("/stream/")?;
    let name = crate::validate::table_name_of_arn(table_arn)?;
    (!label.is_empty()).then_some((name, label))
}

/// Checks a StreamArn member's length.
fn check_stream_arn(v: &mut Violations, field: &str, arn: Option<&String>) {
    if let Some(arn) = arn {
        let len = arn.chars().count();
        v.length(field, arn, len, STREAM_ARN_LEN_MIN, STREAM_ARN_LEN_MAX);
    }
}

/// Checks a ShardId member's length.
fn check_shard_id(v: &mut Violations, field: &str, shard: Option<&String>) {
    if let Some(shard) = shard {
        let len = shard.chars().count();
        v.length(field, shard, len, SHARD_ID_LEN_MIN, SHARD_ID_LEN_MAX);
    }
}

fn stream_not_found(arn: &str) -> ApiError {
    ApiError::ResourceNotFound(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

/// The table and the stream (its current one, or an earlier one still kept) named by `arn`.
fn stream_table(region: &dyn Region, arn: &str) -> Result<(TableMeta, StreamSpec), ApiError> {
    let (name, _) = parse_stream_arn(arn).ok_or_else(|| stream_not_found(arn))?;
    let meta = table::load_table(region.store(), name)?.ok_or_else(|| stream_not_found(arn))?;
    let spec = meta
        .stream
        .as_ref()
        .and_then(|current| current.all().find(|s| meta.arn_of_stream(s) == arn))
        .cloned()
        .ok_or_else(|| stream_not_found(arn))?;
    Ok((meta, spec))
}

/// The ShardId of a stream: one shard per stream, named as DynamoDB names shards.
fn shard_id(meta: &TableMeta, spec: &StreamSpec) -> String {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(meta.id.as_bytes());
    hasher.update(spec.label.as_bytes());
    format!(
        "shardId-{:020}-{:08x}",
        spec.created_ms.max(0),
        hasher.finalize()
    )
}

/// A SequenceNumber as DynamoDB Streams writes it.
pub(crate) fn sequence_number(seq: u64) -> String {
    format!("{seq:0width$}", width = SEQUENCE_NUMBER_DIGITS)
}

/// Where a stream's records are: the sequence numbers it covers and what is still kept.
#[derive(Debug, Clone, Copy)]
struct Extent {
    /// First sequence number of the stream.
    start: u64,
    /// Last sequence number written so far (of a closed stream: its last one); `start - 1`
    /// when the stream has no record yet.
    last: u64,
    /// The oldest sequence number still kept: anything below it has been trimmed.
    horizon: u64,
    /// Whether the stream is disabled (its shard is closed).
    closed: bool,
}

fn extent(region: &dyn Region, meta: &TableMeta, spec: &StreamSpec) -> Result<Extent, ApiError> {
    let store = region.store();
    let (start, last) = table::stream::stream_bounds(store, meta, spec)?;
    let horizon = match table::changes::first_change(store, &meta.id)? {
        Some(record) => record.seq,
        None => table::changes::last_seq(store, &meta.id)? + 1,
    };
    Ok(Extent {
        start,
        last: last.max(start - 1),
        horizon: horizon.max(start),
        closed: !spec.enabled,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListStreamsWire {
    table_name: Option<String>,
    limit: Option<i64>,
    exclusive_start_stream_arn: Option<String>,
}

fn list_streams(region: &dyn Region, wire: ListStreamsWire) -> Result<Vec<u8>, ApiError> {
    let mut v = Violations::new();
    if let Some(limit) = wire.limit {
        v.at_least("limit", limit, 1);
        v.at_most("limit", limit, LIST_STREAMS_LIMIT_MAX as i64);
    }
    let table_name = wire
        .table_name
        .as_deref()
        .map(|name| v.table_name("tableName", Some(name)));
    check_stream_arn(
        &mut v,
        "exclusiveStartStreamArn",
        wire.exclusive_start_stream_arn.as_ref(),
    );
    v.finish()?;
    let limit = wire
        .limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(LIST_STREAMS_LIMIT_MAX);
    let names = match &table_name {
        Some(name) => {
            crate::tables::load(region, name)?;
            vec![name.clone()]
        }
        None => table::list_tables(region.store())?,
    };
    let mut streams = Vec::new();
    for name in names {
        let Some(meta) = table::load_table(region.store(), &name)? else {
            continue;
        };
        for spec in meta.stream.iter().flat_map(StreamSpec::all) {
            streams.push((
                meta.arn_of_stream(spec),
                meta.name.clone(),
                spec.label.clone(),
            ));
        }
    }
    // Streams in ARN order (table name, then label: creation order), and a page starts after
    // ExclusiveStartStreamArn in that order, as ListTables does with its start name: a start
    // ARN whose stream (or table) is gone since the last page still continues where that
    // page ended instead of starting over.
    streams.sort_by(|a, b| a.0.cmp(&b.0));
    let start = match &wire.exclusive_start_stream_arn {
        Some(after) => streams.partition_point(|(arn, _, _)| arn <= after),
        None => 0,
    };
    let rest = &streams[start.min(streams.len())..];
    let page = &rest[..rest.len().min(limit)];
    let mut out = Map::new();
    out.insert(
        "Streams".into(),
        page.iter()
            .map(|(arn, table, label)| {
                json!({"StreamArn": arn, "TableName": table, "StreamLabel": label})
            })
            .collect(),
    );
    if rest.len() > page.len() {
        if let Some((arn, _, _)) = page.last() {
            out.insert("LastEvaluatedStreamArn".into(), json!(arn));
        }
    }
    json_body(&out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeStreamWire {
    stream_arn: Option<String>,
    limit: Option<i64>,
    exclusive_start_shard_id: Option<String>,
    shard_filter: Option<ShardFilterWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShardFilterWire {
    #[serde(rename = "Type")]
    kind: Option<String>,
    shard_id: Option<String>,
}

/// The only ShardFilter type: the children of one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChildShards;

fn describe_stream(region: &dyn Region, wire: DescribeStreamWire) -> Result<Vec<u8>, ApiError> {
    let mut v = Violations::new();
    let arn = v.required("streamArn", &wire.stream_arn).cloned();
    check_stream_arn(&mut v, "streamArn", arn.as_ref());
    if let Some(limit) = wire.limit {
        v.at_least("limit", limit, 1);
        v.at_most("limit", limit, DESCRIBE_STREAM_LIMIT_MAX);
    }
    check_shard_id(
        &mut v,
        "exclusiveStartShardId",
        wire.exclusive_start_shard_id.as_ref(),
    );
    let mut children_of = None;
    if let Some(filter) = &wire.shard_filter {
        let kind = v.enumeration(
            "shardFilter.type",
            filter.kind.as_deref(),
            &[("CHILD_SHARDS", ChildShards)],
            "CHILD_SHARDS",
        );
        check_shard_id(&mut v, "shardFilter.shardId", filter.shard_id.as_ref());
        if kind.is_some() {
            // A CHILD_SHARDS filter names the parent whose children it asks for.
            children_of = v.required("shardFilter.shardId", &filter.shard_id).cloned();
        }
    }
    v.finish()?;
    let arn = arn.unwrap_or_default();
    let (meta, spec) = stream_table(region, &arn)?;
    let ext = extent(region, &meta, &spec)?;
    let shard = shard_id(&meta, &spec);
    if let Some(parent) = &children_of {
        if *parent != shard {
            return Err(shard_not_found(parent));
        }
    }
    let mut range = Map::new();
    range.insert(
        "StartingSequenceNumber".into(),
        json!(sequence_number(ext.horizon.min(ext.last.max(ext.start)))),
    );
    if ext.closed {
        range.insert(
            "EndingSequenceNumber".into(),
            json!(sequence_number(ext.last.max(ext.start))),
        );
    }
    // Shards are listed in ShardId order (their ids begin with the creation time), and a
    // page starts after ExclusiveStartShardId in that order, whether or not that shard still
    // exists. The one shard of a stream has no parent, so no shard is a child of it.
    let after_start = wire
        .exclusive_start_shard_id
        .as_deref()
        .is_none_or(|start| shard.as_str() > start);
    let shards: Vec<Value> = if after_start && children_of.is_none() {
        vec![json!({"ShardId": shard, "SequenceNumberRange": range})]
    } else {
        Vec::new()
    };
    let key_schema: Vec<Value> = meta
        .key_schema
        .attributes()
        .enumerate()
        .map(|(i, a)| {
            json!({"AttributeName": a.name, "KeyType": if i == 0 { "HASH" } else { "RANGE" }})
        })
        .collect();
    json_body(&json!({
        "StreamDescription": {
            "StreamArn": arn,
            "StreamLabel": spec.label,
            "StreamStatus": if spec.enabled { "ENABLED" } else { "DISABLED" },
            "StreamViewType": spec.view_type.as_str(),
            "CreationRequestDateTime": epoch_seconds(spec.created_ms),
            "TableName": meta.name,
            "KeySchema": key_schema,
            "Shards": shards,
        }
    }))
}

/// A decoded shard iterator.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShardIterator {
    arn: String,
    /// The sequence number of the next record to read.
    position: u64,
    created_ms: i64,
}

impl ShardIterator {
    fn checksum(arn: &str, position: u64, created_ms: i64) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(arn.as_bytes());
        hasher.update(&position.to_be_bytes());
        hasher.update(&created_ms.to_be_bytes());
        hasher.finalize()
    }

    fn encode(&self) -> String {
        let crc = Self::checksum(&self.arn, self.position, self.created_ms);
        format!(
            "{}|{ITERATOR_FORMAT}|{:016x}{:016x}{:08x}",
            self.arn, self.position, self.created_ms as u64, crc
        )
    }

    fn decode(text: &str) -> Option<ShardIterator> {
        let (rest, payload) = text.rsplit_once('|')?;
        let (arn, format) = rest.rsplit_once('|')?;
        if format != ITERATOR_FORMAT || payload.len() != 40 || !payload.is_ascii() {
            return None;
        }
        let position = u64::from_str_radix(&payload[..16], 16).ok()?;
        let created_ms = u64::from_str_radix(&payload[16..32], 16).ok()? as i64;
        let crc = u32::from_str_radix(&payload[32..], 16).ok()?;
        (crc == Self::checksum(arn, position, created_ms)).then(|| ShardIterator {
            arn: arn.to_owned(),
            position,
            created_ms,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetShardIteratorWire {
    stream_arn: Option<String>,
    shard_id: Option<String>,
    shard_iterator_type: Option<String>,
    sequence_number: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IteratorType {
    TrimHorizon,
    Latest,
    AtSequenceNumber,
    AfterSequenceNumber,
}

fn get_shard_iterator(
    region: &dyn Region,
    wire: GetShardIteratorWire,
) -> Result<Vec<u8>, ApiError> {
    let mut v = Violations::new();
    let arn = v.required("streamArn", &wire.stream_arn).cloned();
    check_stream_arn(&mut v, "streamArn", arn.as_ref());
    let shard = v.required("shardId", &wire.shard_id).cloned();
    check_shard_id(&mut v, "shardId", shard.as_ref());
    if wire.shard_iterator_type.is_none() {
        v.null("shardIteratorType");
    }
    let kind = v.enumeration(
        "shardIteratorType",
        wire.shard_iterator_type.as_deref(),
        &[
            ("TRIM_HORIZON", IteratorType::TrimHorizon),
            ("LATEST", IteratorType::Latest),
            ("AT_SEQUENCE_NUMBER", IteratorType::AtSequenceNumber),
            ("AFTER_SEQUENCE_NUMBER", IteratorType::AfterSequenceNumber),
        ],
        "TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER",
    );
    if let Some(text) = &wire.sequence_number {
        v.length(
            "sequenceNumber",
            text,
            text.chars().count(),
            SEQUENCE_NUMBER_LEN_MIN,
            SEQUENCE_NUMBER_LEN_MAX,
        );
    }
    v.finish()?;
    let (arn, shard) = (arn.unwrap_or_default(), shard.unwrap_or_default());
    let kind = kind.unwrap_or(IteratorType::TrimHorizon);
    let (meta, spec) = stream_table(region, &arn)?;
    if shard != shard_id(&meta, &spec) {
        return Err(shard_not_found(&shard));
    }
    let ext = extent(region, &meta, &spec)?;
    let sequence = match (kind, &wire.sequence_number) {
        (IteratorType::AtSequenceNumber | IteratorType::AfterSequenceNumber, None) => {
            return Err(ApiError::validation(
                "A SequenceNumber is required for the AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER iterator types",
            ))
        }
        (IteratorType::TrimHorizon | IteratorType::Latest, Some(_)) => {
            return Err(ApiError::validation(
                "A SequenceNumber may only be given for the AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER iterator types",
            ))
        }
        (_, Some(text)) => Some(parse_sequence_number(text)?),
        (_, None) => None,
    };
    let position = match (kind, sequence) {
        (IteratorType::TrimHorizon, _) => ext.horizon,
        (IteratorType::Latest, _) => ext.last + 1,
        (IteratorType::AtSequenceNumber, Some(seq)) => seq,
        (IteratorType::AfterSequenceNumber, Some(seq)) => seq.saturating_add(1),
        (_, None) => ext.horizon,
    };
    if let Some(seq) = sequence {
        if seq < ext.start || seq > ext.last {
            return Err(ApiError::validation(format!(
                "Invalid SequenceNumber: {} is not in shard {shard}",
                sequence_number(seq)
            )));
        }
        if seq < ext.horizon {
            return Err(trimmed());
        }
    }
    let iterator = ShardIterator {
        arn,
        position,
        created_ms: region.clock().now_ms(),
    };
    json_body(&json!({"ShardIterator": iterator.encode()}))
}

fn shard_not_found(shard: &str) -> ApiError {
    ApiError::ResourceNotFound(format!(
        "Requested resource not found: Shard does not exist: {shard}"
    ))
}

fn parse_sequence_number(text: &str) -> Result<u64, ApiError> {
    let digits_ok =
        !text.is_empty() && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_digit());
    digits_ok
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| ApiError::validation(format!("Invalid SequenceNumber: {text}")))
}

fn trimmed() -> ApiError {
    ApiError::TrimmedDataAccess(
        "The operation attempted to read past the oldest stream record in a shard".into(),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsWire {
    shard_iterator: Option<String>,
    limit: Option<i64>,
}

fn get_records(region: &dyn Region, wire: GetRecordsWire) -> Result<Vec<u8>, ApiError> {
    let mut v = Violations::new();
    let text = v.required("shardIterator", &wire.shard_iterator).cloned();
    if let Some(text) = &text {
        v.length("shardIterator", text, text.len(), 1, SHARD_ITERATOR_LEN_MAX);
    }
    if let Some(limit) = wire.limit {
        v.at_least("limit", limit, 1);
        v.at_most("limit", limit, GET_RECORDS_LIMIT_MAX as i64);
    }
    v.finish()?;
    let text = text.unwrap_or_default();
    let iterator = ShardIterator::decode(&text)
        .ok_or_else(|| ApiError::validation("Invalid ShardIterator"))?;
    let now_ms = region.clock().now_ms();
    if now_ms - iterator.created_ms > SHARD_ITERATOR_TTL_MS {
        return Err(ApiError::ExpiredIterator(
            "Iterator expired. The iterator was created more than 15 minutes ago".into(),
        ));
    }
    let (meta, spec) = stream_table(region, &iterator.arn)?;
    let ext = extent(region, &meta, &spec)?;
    if iterator.position < ext.horizon {
        return Err(trimmed());
    }
    let limit = wire
        .limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(GET_RECORDS_LIMIT_MAX);
    let mut records = Vec::new();
    let mut next = iterator.position;
    let mut bytes = 0;
    if next <= ext.last {
        let wanted = limit.min((ext.last - next + 1) as usize);
        for record in table::read_changes(region.store(), &meta.id, next, wanted)? {
            // Sequence numbers are dense: a gap is a commit not yet fully visible to this
            // read (or a trim racing it). Stop before it; the next call reads on from here,
            // so nothing is skipped.
            if record.seq > ext.last || record.seq != next {
                break;
            }
            // A write that left the item as it was (an identical PutItem, an UpdateItem that
            // set the values the item had, a delete of an absent item) changes nothing a
            // consumer can see: DynamoDB writes no stream record for it. It is logged for
            // replication and tombstone bookkeeping, not streamed.
            if !is_visible_change(&record) {
                next = record.seq + 1;
                continue;
            }
            let rendered = render_record(&record, spec.view_type, region.region_name());
            bytes += rendered.size_bytes;
            if bytes > GET_RECORDS_BYTES_MAX && !records.is_empty() {
                break;
            }
            next = record.seq + 1;
            records.push(rendered.json);
        }
    }
    let mut out = Map::new();
    out.insert("Records".into(), Value::Array(records));
    // A closed shard read to its end has no next iterator: the consumer is done with it.
    if !(ext.closed && next > ext.last) {
        let next_iterator = ShardIterator {
            arn: iterator.arn,
            position: next,
            created_ms: now_ms,
        };
        out.insert("NextShardIterator".into(), json!(next_iterator.encode()));
    }
    json_body(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_targets() {
        for op in StreamOperation::ALL {
            let target = format!("DynamoDBStreams_20120810.{}", op.name());
            assert_eq!(StreamOperation::from_target(&target), Some(*op));
        }
        assert_eq!(
            StreamOperation::from_target("DynamoDB_20120810.GetRecords"),
            None
        );
        assert_eq!(
            StreamOperation::from_target("DynamoDBStreams_20120810.PutItem"),
            None
        );
    }

    #[test]
    fn t10_iterator_round_trip_and_tamper() {
        let it = ShardIterator {
            arn: "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"
                .into(),
            position: 42,
            created_ms: 1_700_000_000_123,
        };
        let text = it.encode();
        assert!(text.starts_with(&it.arn));
        assert_eq!(ShardIterator::decode(&text), Some(it.clone()));
        let tampered = text.replace("|1|00000000000000", "|1|00000000000001");
        assert_eq!(ShardIterator::decode(&tampered), None);
        assert_eq!(ShardIterator::decode("nonsense"), None);
        assert_eq!(ShardIterator::decode(&text[..text.len() - 1]), None);
    }

    #[test]
    fn t10_stream_arn_parts() {
        assert_eq!(
            parse_stream_arn(
                "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"
            ),
            Some(("t", "2026-01-01T00:00:00.000"))
        );
        assert_eq!(
            parse_stream_arn("arn:aws:dynamodb:us-east-1:000000000000:table/t"),
            None
        );
    }
}
