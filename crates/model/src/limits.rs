//! Every limit Meridian enforces, named once, with its unit in the name.

/// Largest item: 400 KB, names and values together, measured as DynamoDB measures it.
pub const ITEM_SIZE_BYTES_MAX: usize = 400 * 1024;
/// Largest partition key value.
pub const PARTITION_KEY_BYTES_MAX: usize = 2048;
/// Largest sort key value.
pub const SORT_KEY_BYTES_MAX: usize = 1024;
/// Nesting of lists and maps in one attribute value: DynamoDB accepts 31 levels of maps or
/// lists around a value and refuses 32 (see `model::nesting_depth`).
pub const NESTING_DEPTH_MAX: usize = 32;
/// Significant digits of a number.
pub const NUMBER_PRECISION_DIGITS_MAX: usize = 38;
/// Largest decimal exponent in `0.d × 10^e` form (magnitude below 10^126).
pub const NUMBER_EXPONENT_MAX: i32 = 126;
/// Smallest decimal exponent in `0.d × 10^e` form (magnitude at least 10^-130).
pub const NUMBER_EXPONENT_MIN: i32 = -129;
/// Table name length bounds.
pub const TABLE_NAME_LEN_MIN: usize = 3;
/// Table name length bounds.
pub const TABLE_NAME_LEN_MAX: usize = 255;
/// Attribute names of key attributes.
pub const KEY_ATTRIBUTE_NAME_BYTES_MAX: usize = 255;
/// Attribute names in general.
pub const ATTRIBUTE_NAME_BYTES_MAX: usize = 65535;
/// Data read by one Query or Scan page before it stops with a LastEvaluatedKey.
pub const PAGE_SIZE_BYTES_MAX: usize = 1024 * 1024;
/// Keys in one BatchGetItem.
pub const BATCH_GET_KEYS_MAX: usize = 100;
/// Response size of one BatchGetItem before the rest goes to UnprocessedKeys.
pub const BATCH_GET_RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Requests in one BatchWriteItem.
pub const BATCH_WRITE_REQUESTS_MAX: usize = 25;
/// Request size of one BatchWriteItem.
pub const BATCH_WRITE_REQUEST_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Actions in one TransactWriteItems or TransactGetItems.
pub const TRANSACT_ACTIONS_MAX: usize = 100;
/// Aggregate item size of one transaction.
pub const TRANSACT_SIZE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// How long a ClientRequestToken stays idempotent.
pub const TRANSACT_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
/// Length of a ClientRequestToken.
pub const CLIENT_REQUEST_TOKEN_LEN_MAX: usize = 36;
/// Length of any one expression string.
pub const EXPRESSION_BYTES_MAX: usize = 4096;
/// Length of an expression attribute name or value placeholder.
pub const PLACEHOLDER_BYTES_MAX: usize = 255;
/// Size of all substitution variables of one request: ExpressionAttributeNames and
/// ExpressionAttributeValues, placeholders included (DynamoDB: 2 MB).
pub const EXPRESSION_VALUES_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Largest HTTP request body accepted.
pub const REQUEST_BODY_BYTES_MAX: usize = 16 * 1024 * 1024 + 64 * 1024;
/// Tables listed by one ListTables page.
pub const LIST_TABLES_LIMIT_MAX: usize = 100;
/// Tags on one table.
pub const TAGS_PER_RESOURCE_MAX: usize = 50;
/// Tag key length.
pub const TAG_KEY_LEN_MAX: usize = 128;
/// Tag value length.
pub const TAG_VALUE_LEN_MAX: usize = 256;
/// Bytes per read capacity unit (strongly consistent).
pub const READ_UNIT_BYTES: usize = 4 * 1024;
/// Bytes per write capacity unit.
pub const WRITE_UNIT_BYTES: usize = 1024;
/// Segments of a parallel Scan.
pub const SCAN_TOTAL_SEGMENTS_MAX: u32 = 1_000_000;
/// Account-level limits reported by DescribeLimits.
pub const ACCOUNT_READ_CAPACITY_MAX: u64 = 80_000;
/// Account-level limits reported by DescribeLimits.
pub const TABLE_READ_CAPACITY_MAX: u64 = 40_000;
/// How long stream records are kept (DynamoDB Streams: 24 hours).
pub const STREAM_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Most item changes in one cross-region replication batch.
pub const REPLICATION_BATCH_CHANGES_MAX: usize = 256;
/// Most bytes of items in one cross-region replication batch.
pub const REPLICATION_BATCH_BYTES_MAX: usize = 4 * 1024 * 1024;
/// How long a shard iterator stays usable (DynamoDB Streams: 15 minutes).
pub const SHARD_ITERATOR_TTL_MS: i64 = 15 * 60 * 1000;
/// Most records one GetRecords returns (DynamoDB Streams' Limit maximum).
pub const GET_RECORDS_LIMIT_MAX: usize = 1000;
/// Most bytes of records one GetRecords returns (DynamoDB Streams: 1 MB).
pub const GET_RECORDS_BYTES_MAX: usize = 1024 * 1024;
/// Most streams one ListStreams returns (its Limit maximum).
pub const LIST_STREAMS_LIMIT_MAX: usize = 100;
/// Longest TimeToLive AttributeName.
pub const TTL_ATTRIBUTE_NAME_BYTES_MAX: usize = 255;
/// Default interval between two TTL sweeps on a region leader.
pub const TTL_SWEEP_INTERVAL_MS_DEFAULT: u64 = 5_000;
/// Most expired items one TTL delete command carries: bounded work per log entry.
pub const TTL_DELETES_PER_COMMAND_MAX: usize = 256;
/// Most items a TTL sweep examines in one synchronous chunk of its scan (it yields to the
/// runtime between chunks).
pub const TTL_SCAN_ITEMS_PER_CHUNK_MAX: usize = 10_000;
/// Global secondary indexes per table.
pub const GLOBAL_INDEXES_MAX: usize = 20;
/// Local secondary indexes per table.
pub const LOCAL_INDEXES_MAX: usize = 5;
/// Projected non-key attributes across all of a table's secondary indexes.
pub const PROJECTED_ATTRIBUTES_MAX: usize = 100;
/// Length of an index name.
pub const INDEX_NAME_LEN_MIN: usize = 3;
/// Length of an index name.
pub const INDEX_NAME_LEN_MAX: usize = 255;
/// An item collection (the items sharing a partition key in a table with local secondary
/// indexes, with their index entries) may not exceed 10 GB.
pub const ITEM_COLLECTION_BYTES_MAX: u64 = 10 * 1024 * 1024 * 1024;
/// Items one backfill command copies into a new index: bounded work per log entry.
pub const INDEX_BACKFILL_ITEMS_PER_COMMAND: usize = 256;
