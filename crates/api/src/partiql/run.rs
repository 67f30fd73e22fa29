//! Wire decoding and execution of ExecuteStatement, BatchExecuteStatement and
//! ExecuteTransaction.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use model::limits::{CLIENT_REQUEST_TOKEN_LEN_MAX, TRANSACT_SIZE_BYTES_MAX};
use model::size::item_size;
use model::{AttributeValue, Item, TableMeta, WireItem};
use table::{
    CancellationReason, Command, ItemGet, Outcome, PageOutput, TransactWrite, WriteKind,
    WriteResult,
};

use crate::capacity::{CapacityMode, Consumed, PerTable};
use crate::error::ApiError;
use crate::request::{json_body, propose};
use crate::validate::Violations;
use crate::wire::{self, parse_body, ItemList};
use crate::Region;

use super::ast::Statement;
use super::parser::parse;
use super::token;
use super::translate::{self, Params, ReadPlan, WritePlan};

const STATEMENT_BYTES_MAX: usize = 8192;
const NEXT_TOKEN_LEN_MAX: usize = 32768;
const BATCH_STATEMENTS_MAX: usize = 25;
const TRANSACT_STATEMENTS_MAX: usize = 100;
const PARAMETER_COUNT: &str = "Number of parameters in request and statement don't match.";
const DUPLICATE_ITEM: &str = "Duplicate primary key exists in table";
const EXISTS_ONLY_IN_TRANSACTIONS: &str =
    "EXISTS can only be used in ExecuteTransaction write requests.";
const BATCH_DUPLICATE_KEYS: &str = "Provided list of item keys contains duplicates";
const TRANSACTION_ONE_ITEM: &str =
    "Transaction request cannot include multiple operations on one item";

/// A translated statement of a batch, or why it failed (with its table once known).
type Translated<T> = Result<T, (ApiError, Option<String>)>;

/// A parsed statement with its parameters bound by position.
#[derive(Debug)]
struct Bound {
    statement: Statement,
    params: Vec<AttributeValue>,
}

impl Bound {
    fn params(&self) -> Params<'_> {
        Params(&self.params)
    }

    /// The table the statement names.
    fn table(&self) -> &str {
        match &self.statement {
            Statement::Select(s) | Statement::Exists(s) => &s.source.table,
            Statement::Insert(i) => &i.table,
            Statement::Update(u) => &u.source.table,
            Statement::Delete(d) => &d.source.table,
        }
    }
}

/// Checks the Statement and Parameters members of one statement; `prefix` is the member path
/// (`""` or `statements.1.member.`).
fn check_members(
    v: &mut Violations,
    prefix: &str,
    statement: Option<&String>,
    parameters: Option<&Vec<Value>>,
) -> Result<Vec<AttributeValue>, ApiError> {
    match statement {
        None => v.null(&format!("{prefix}statement")),
        Some(text) => v.length(
            &format!("{prefix}statement"),
            text,
            text.len(),
            1,
            STATEMENT_BYTES_MAX,
        ),
    }
    let Some(parameters) = parameters else {
        return Ok(Vec::new());
    };
    if parameters.is_empty() {
        v.length(&format!("{prefix}parameters"), "[]", 0, 1, usize::MAX);
    }
    Ok(parameters
        .iter()
        .map(AttributeValue::from_json)
        .collect::<Result<_, _>>()?)
}

fn bind(text: &str, params: Vec<AttributeValue>) -> Result<Bound, ApiError> {
    let parsed = parse(text)?;
    if parsed.parameters != params.len() {
        return Err(ApiError::validation(PARAMETER_COUNT));
    }
    Ok(Bound {
        statement: parsed.statement,
        params,
    })
}

fn load(region: &dyn Region, name: &str) -> Result<TableMeta, ApiError> {
    crate::tables::load(region, name)
}

// ---------------------------------------------------------------------------------------------
// ExecuteStatement

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExecuteWire {
    statement: Option<String>,
    parameters: Option<Vec<Value>>,
    consistent_read: Option<bool>,
    next_token: Option<String>,
    return_consumed_capacity: Option<String>,
    limit: Option<i64>,
    return_values_on_condition_check_failure: Option<String>,
}

/// A validated ExecuteStatement.
#[derive(Debug)]
pub struct ExecuteStatementRequest {
    bound: Bound,
    consistent: bool,
    limit: Option<usize>,
    next_token: Option<String>,
    capacity: CapacityMode,
    return_old: bool,
    /// Ties NextToken to the statement and parameters.
    digest: u64,
}

/// Decodes and validates ExecuteStatement; the statement is parsed here.
pub(crate) fn decode_execute(body: &[u8]) -> Result<ExecuteStatementRequest, ApiError> {
    let wire: ExecuteWire = parse_body(body)?;
    let mut v = Violations::new();
    let params = check_members(
        &mut v,
        "",
        wire.statement.as_ref(),
        wire.parameters.as_ref(),
    )?;
    if let Some(limit) = wire.limit {
        v.at_least("limit", limit, 1);
    }
    if let Some(token) = &wire.next_token {
        v.length("nextToken", token, token.len(), 1, NEXT_TOKEN_LEN_MAX);
    }
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    let return_old = wire::return_old_on_failure(
        &mut v,
        wire.return_values_on_condition_check_failure.as_deref(),
    );
    v.finish()?;
    let text = wire.statement.unwrap_or_default();
    let digest = crate::transact::request_digest(
        format!(
            "{text}\u{0}{}",
            serde_json::to_string(&wire.parameters).unwrap_or_default()
        )
        .as_bytes(),
    );
    Ok(ExecuteStatementRequest {
        bound: bind(&text, params)?,
        consistent: wire.consistent_read.unwrap_or(false),
        limit: wire.limit.and_then(|l| usize::try_from(l).ok()),
        next_token: wire.next_token,
        capacity,
        return_old,
        digest,
    })
}

/// One page of a SELECT, with what ConsumedCapacity needs.
struct Page {
    page: PageOutput,
    table: String,
    index: Option<(String, bool)>,
}

async fn read_page(
    region: &dyn Region,
    plan: ReadPlan,
    consistent: bool,
) -> Result<Page, ApiError> {
    let (table, index) = match &plan {
        ReadPlan::Query(q) => (q.table.clone(), q.index.clone()),
        ReadPlan::Scan(s) => (s.table.clone(), s.index.clone()),
    };
    let global = crate::index_views::check_read(region, &table, index.as_deref(), consistent)?;
    if consistent {
        region.linearize().await?;
    }
    let page = match &plan {
        ReadPlan::Query(input) => table::query(region.store(), input)??,
        ReadPlan::Scan(input) => table::scan(region.store(), input)??,
    };
    Ok(Page {
        page,
        table,
        index: index.zip(global),
    })
}

/// Proposes one write; an INSERT whose key exists is DynamoDB's DuplicateItemException
/// (unless the old item was asked for, which comes back with ConditionalCheckFailed).
async fn run_write(region: &dyn Region, plan: WritePlan) -> Result<WriteResult, ApiError> {
    let duplicate_is_error = plan.insert && !plan.write.return_old_on_condition_failure;
    match propose(region, &Command::Write(plan.write)).await {
        Ok(Outcome::Write(result)) => Ok(result),
        Ok(other) => Err(ApiError::internal(format_args!(
            "unexpected outcome {other:?}"
        ))),
        Err(ApiError::ConditionalCheckFailed { .. }) if duplicate_is_error => {
            Err(ApiError::DuplicateItem(DUPLICATE_ITEM.into()))
        }
        Err(e) => Err(e),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExecuteOutput<'a> {
    items: ItemList<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_key: Option<WireItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumed_capacity: Option<Consumed>,
}

/// Runs ExecuteStatement.
pub(crate) async fn execute(
    region: &dyn Region,
    req: ExecuteStatementRequest,
) -> Result<Vec<u8>, ApiError> {
    let bound = &req.bound;
    match &bound.statement {
        Statement::Select(select) => {
            let meta = load(region, bound.table())?;
            let start = req
                .next_token
                .as_deref()
                .map(|t| token::decode(t, req.digest))
                .transpose()?;
            let plan = translate::select(&meta, select, bound.params(), req.limit, start)?;
            let Page { page, table, index } = read_page(region, plan, req.consistent).await?;
            let next_token = page
                .last_evaluated_key
                .as_ref()
                .map(|k| token::encode(req.digest, k))
                .transpose()?;
            json_body(&ExecuteOutput {
                items: ItemList(&page.items),
                next_token,
                last_evaluated_key: page.last_evaluated_key.as_ref().map(WireItem),
                consumed_capacity: req.capacity.wanted().then(|| {
                    let consumed = Consumed::new(&table, req.capacity);
                    match &index {
                        Some((name, global)) => consumed.on_index(name, *global),
                        None => consumed,
                    }
                    .read_item(page.scanned_bytes, req.consistent)
                }),
            })
        }
        Statement::Exists(_) => Err(ApiError::validation(EXISTS_ONLY_IN_TRANSACTIONS)),
        statement => {
            let meta = load(region, bound.table())?;
            let plan = translate::write(&meta, statement, bound.params(), req.return_old)?;
            let returns = plan.write.return_values != table::ReturnValues::None;
            let result = run_write(region, plan).await?;
            let items: Vec<Item> = result.attributes.into_iter().filter(|_| returns).collect();
            json_body(&ExecuteOutput {
                items: ItemList(&items),
                next_token: None,
                last_evaluated_key: None,
                consumed_capacity: req.capacity.wanted().then(|| {
                    Consumed::new(&meta.name, req.capacity)
                        .write_item(result.old_size, result.new_size)
                }),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// BatchExecuteStatement

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchWire {
    statements: Option<Vec<BatchStatementWire>>,
    return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchStatementWire {
    statement: Option<String>,
    parameters: Option<Vec<Value>>,
    consistent_read: Option<bool>,
    return_values_on_condition_check_failure: Option<String>,
}

#[derive(Debug)]
struct BatchStatement {
    bound: Bound,
    consistent: bool,
    return_old: bool,
}

/// A validated BatchExecuteStatement: each statement parsed, or the error it answers with.
#[derive(Debug)]
pub struct BatchExecuteRequest {
    statements: Vec<Result<BatchStatement, ApiError>>,
    reads: bool,
    capacity: CapacityMode,
}

/// Decodes and validates BatchExecuteStatement. A statement that does not parse gets its own
/// error entry; reads and writes may not be mixed.
pub(crate) fn decode_batch(body: &[u8]) -> Result<BatchExecuteRequest, ApiError> {
    let wire: BatchWire = parse_body(body)?;
    let mut v = Violations::new();
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    let items = v.required_list("statements", wire.statements, BATCH_STATEMENTS_MAX);
    let mut checked = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let prefix = format!("statements.{}.member.", i + 1);
        let params = check_members(
            &mut v,
            &prefix,
            item.statement.as_ref(),
            item.parameters.as_ref(),
        )?;
        let return_old = wire::return_old_on_failure(
            &mut v,
            item.return_values_on_condition_check_failure.as_deref(),
        );
        checked.push((
            item.statement.unwrap_or_default(),
            params,
            item.consistent_read,
            return_old,
        ));
    }
    v.finish()?;
    let statements: Vec<Result<BatchStatement, ApiError>> = checked
        .into_iter()
        .map(|(text, params, consistent, return_old)| {
            let bound = bind(&text, params)?;
            if matches!(bound.statement, Statement::Exists(_)) {
                return Err(ApiError::validation(EXISTS_ONLY_IN_TRANSACTIONS));
            }
            Ok(BatchStatement {
                bound,
                consistent: consistent.unwrap_or(false),
                return_old,
            })
        })
        .collect();
    let kinds: Vec<bool> = statements
        .iter()
        .filter_map(|s| s.as_ref().ok().map(|s| s.bound.statement.is_read()))
        .collect();
    let reads = kinds.first().copied().unwrap_or(false);
    if kinds.iter().any(|&k| k != reads) {
        return Err(ApiError::validation(
            "Read and write requests together in the same batch is not supported.",
        ));
    }
    Ok(BatchExecuteRequest {
        statements,
        reads,
        capacity,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<BatchError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchError {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<Value>,
}

fn item_json(item: &Item) -> Option<Value> {
    serde_json::to_value(WireItem(item)).ok()
}

/// A statement's failure as its `Error` entry (BatchStatementErrorCodeEnum).
fn batch_error(error: &ApiError, table: Option<String>) -> BatchResponse {
    let code = match error {
        ApiError::Validation(_) | ApiError::Unsupported(_) | ApiError::Serialization(_) => {
            "ValidationError"
        }
        ApiError::ConditionalCheckFailed { .. } => "ConditionalCheckFailed",
        ApiError::DuplicateItem(_) => "DuplicateItem",
        ApiError::ResourceNotFound(_) => "ResourceNotFound",
        ApiError::ItemCollectionSizeLimitExceeded(_) => "ItemCollectionSizeLimitExceeded",
        ApiError::TransactionConflict(_) => "TransactionConflict",
        ApiError::ProvisionedThroughputExceeded(_) => "ProvisionedThroughputExceeded",
        ApiError::RequestLimitExceeded(_) => "RequestLimitExceeded",
        ApiError::Throttling(_) => "ThrottlingError",
        _ => "InternalServerError",
    };
    let item = match error {
        ApiError::ConditionalCheckFailed { item: Some(item) } => item_json(item),
        _ => None,
    };
    BatchResponse {
        error: Some(BatchError {
            code,
            message: error.client_message().into_owned(),
            item,
        }),
        table_name: table,
        item: None,
    }
}

/// The primary key of an item or key per the table's schema.
fn key_of(meta: &TableMeta, source: &Item) -> Item {
    meta.key_schema
        .attributes()
        .filter_map(|a| source.get(&a.name).map(|v| (a.name.clone(), v.clone())))
        .collect()
}

/// Runs BatchExecuteStatement: reads are local GetItems (one linearizable barrier if any asks
/// for ConsistentRead); writes are proposed one by one, each succeeding or failing alone.
pub(crate) async fn batch_execute(
    region: &dyn Region,
    req: BatchExecuteRequest,
) -> Result<Vec<u8>, ApiError> {
    const SINGLE: &str = "Only single item select is supported";
    let mut consumed = PerTable::default();
    let mut responses: Vec<BatchResponse> = Vec::with_capacity(req.statements.len());
    if req.reads {
        let mut gets: Vec<Translated<(ItemGet, bool)>> = Vec::new();
        for statement in &req.statements {
            gets.push(match statement {
                Err(e) => Err((e.clone(), None)),
                Ok(s) => {
                    let Statement::Select(select) = &s.bound.statement else {
                        return Err(ApiError::internal("a write in a read batch"));
                    };
                    load(region, s.bound.table())
                        .and_then(|meta| {
                            translate::single_item(&meta, select, s.bound.params(), SINGLE, SINGLE)
                        })
                        .map(|get| (get, s.consistent))
                        .map_err(|e| (e, Some(s.bound.table().to_owned())))
                }
            });
        }
        let targets: Vec<(&str, &Item)> = gets
            .iter()
            .filter_map(|g| g.as_ref().ok().map(|(g, _)| (g.table.as_str(), &g.key)))
            .collect();
        if crate::batch::has_duplicates(&targets) {
            return Err(ApiError::validation(BATCH_DUPLICATE_KEYS));
        }
        if gets.iter().any(|g| matches!(g, Ok((_, true)))) {
            region.linearize().await?;
        }
        for get in gets {
            responses.push(match get {
                Err((e, table)) => batch_error(&e, table),
                Ok((get, consistent)) => match table::get_item(region.store(), &get)? {
                    Err(rejection) => batch_error(&rejection.into(), Some(get.table)),
                    Ok(out) => {
                        if req.capacity.wanted() {
                            consumed
                                .entry(&get.table, req.capacity)
                                .add_read(out.size, consistent, false);
                        }
                        BatchResponse {
                            error: None,
                            item: out.item.as_ref().and_then(item_json),
                            table_name: Some(get.table),
                        }
                    }
                },
            });
        }
    } else {
        let mut plans: Vec<Translated<(WritePlan, Item)>> = Vec::new();
        for statement in &req.statements {
            plans.push(match statement {
                Err(e) => Err((e.clone(), None)),
                Ok(s) => load(region, s.bound.table())
                    .and_then(|meta| {
                        let plan = translate::write(
                            &meta,
                            &s.bound.statement,
                            s.bound.params(),
                            s.return_old,
                        )?;
                        let key = key_of(&meta, crate::batch::target_item(&plan.write.kind));
                        Ok((plan, key))
                    })
                    .map_err(|e| (e, Some(s.bound.table().to_owned()))),
            });
        }
        let targets: Vec<(&str, &Item)> = plans
            .iter()
            .filter_map(|p| {
                p.as_ref()
                    .ok()
                    .map(|(p, key)| (p.write.table.as_str(), key))
            })
            .collect();
        if crate::batch::has_duplicates(&targets) {
            return Err(ApiError::validation(BATCH_DUPLICATE_KEYS));
        }
        for plan in plans {
            responses.push(match plan {
                Err((e, table)) => batch_error(&e, table),
                Ok((plan, _)) => {
                    let table = plan.write.table.clone();
                    let returns = plan.write.return_values != table::ReturnValues::None;
                    match run_write(region, plan).await {
                        Err(e) => batch_error(&e, Some(table)),
                        Ok(result) => {
                            if req.capacity.wanted() {
                                consumed.entry(&table, req.capacity).add_write(
                                    result.old_size,
                                    result.new_size,
                                    false,
                                );
                            }
                            BatchResponse {
                                error: None,
                                item: result
                                    .attributes
                                    .as_ref()
                                    .filter(|_| returns)
                                    .and_then(item_json),
                                table_name: Some(table),
                            }
                        }
                    }
                }
            });
        }
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        responses: Vec<BatchResponse>,
        #[serde(skip_serializing_if = "Option::is_none")]
        consumed_capacity: Option<Vec<Consumed>>,
    }
    json_body(&Output {
        responses,
        consumed_capacity: req.capacity.wanted().then(|| consumed.into_vec()),
    })
}

// ---------------------------------------------------------------------------------------------
// ExecuteTransaction

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactionWire {
    transact_statements: Option<Vec<ParameterizedWire>>,
    client_request_token: Option<String>,
    return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterizedWire {
    statement: Option<String>,
    parameters: Option<Vec<Value>>,
    return_values_on_condition_check_failure: Option<String>,
}

/// A validated ExecuteTransaction.
#[derive(Debug)]
pub struct ExecuteTransactionRequest {
    statements: Vec<(Bound, bool)>,
    reads: bool,
    token: Option<(String, u64)>,
    capacity: CapacityMode,
}

/// Decodes and validates ExecuteTransaction: every statement must parse, and all must read
/// (SELECT) or all write (INSERT, UPDATE, DELETE, EXISTS).
pub(crate) fn decode_transaction(body: &[u8]) -> Result<ExecuteTransactionRequest, ApiError> {
    let wire: TransactionWire = parse_body(body)?;
    let mut v = Violations::new();
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    if let Some(token) = &wire.client_request_token {
        v.length(
            "clientRequestToken",
            token,
            token.chars().count(),
            1,
            CLIENT_REQUEST_TOKEN_LEN_MAX,
        );
    }
    let items = v.required_list(
        "transactStatements",
        wire.transact_statements,
        TRANSACT_STATEMENTS_MAX,
    );
    let mut checked = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let prefix = format!("transactStatements.{}.member.", i + 1);
        let params = check_members(
            &mut v,
            &prefix,
            item.statement.as_ref(),
            item.parameters.as_ref(),
        )?;
        let return_old = wire::return_old_on_failure(
            &mut v,
            item.return_values_on_condition_check_failure.as_deref(),
        );
        checked.push((item.statement.unwrap_or_default(), params, return_old));
    }
    v.finish()?;
    let mut statements = Vec::with_capacity(checked.len());
    for (text, params, return_old) in checked {
        statements.push((bind(&text, params)?, return_old));
    }
    let reads = statements
        .first()
        .is_some_and(|(b, _)| b.statement.is_read());
    if statements
        .iter()
        .any(|(b, _)| b.statement.is_read() != reads)
    {
        return Err(ApiError::validation(
            "ExecuteTransaction API does not support both read and write operations in the same request.",
        ));
    }
    Ok(ExecuteTransactionRequest {
        statements,
        reads,
        token: wire
            .client_request_token
            .map(|token| (token, crate::transact::request_digest(body))),
        capacity,
    })
}

/// Runs ExecuteTransaction through the TransactGetItems or TransactWriteItems command.
pub(crate) async fn execute_transaction(
    region: &dyn Region,
    req: ExecuteTransactionRequest,
) -> Result<Vec<u8>, ApiError> {
    let mut consumed = PerTable::default();
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        #[serde(skip_serializing_if = "Option::is_none")]
        responses: Option<Vec<Value>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        consumed_capacity: Option<Vec<Consumed>>,
    }
    if req.reads {
        let mut gets = Vec::with_capacity(req.statements.len());
        for (bound, _) in &req.statements {
            let Statement::Select(select) = &bound.statement else {
                return Err(ApiError::internal("a write in a read transaction"));
            };
            let meta = load(region, bound.table())?;
            gets.push(translate::single_item(
                &meta,
                select,
                bound.params(),
                "Select statements within ExecuteTransaction must specify the primary key in the where clause.",
                "Reads on indices are not supported within transactions.",
            )?);
        }
        let targets: Vec<(&str, &Item)> = gets.iter().map(|g| (g.table.as_str(), &g.key)).collect();
        if crate::batch::has_duplicates(&targets) {
            return Err(ApiError::validation(TRANSACTION_ONE_ITEM));
        }
        let tables: Vec<String> = gets.iter().map(|g| g.table.clone()).collect();
        let results = match propose(region, &Command::TransactGet(gets)).await? {
            Outcome::TransactGet(results) => results,
            other => {
                return Err(ApiError::internal(format_args!(
                    "unexpected outcome {other:?}"
                )))
            }
        };
        let mut responses = Vec::with_capacity(results.len());
        for (table, (item, size)) in tables.iter().zip(&results) {
            if req.capacity.wanted() {
                consumed
                    .entry(table, req.capacity)
                    .add_read(*size, true, true);
            }
            let mut entry = serde_json::Map::new();
            if let Some(item) = item.as_ref().and_then(item_json) {
                entry.insert("Item".into(), item);
            }
            responses.push(Value::Object(entry));
        }
        return json_body(&Output {
            responses: Some(responses),
            consumed_capacity: req.capacity.wanted().then(|| consumed.into_vec()),
        });
    }
    let mut plans = Vec::with_capacity(req.statements.len());
    for (bound, return_old) in &req.statements {
        let returning = match &bound.statement {
            Statement::Update(u) => u.returning.is_some(),
            Statement::Delete(d) => d.returning.is_some(),
            _ => false,
        };
        if returning {
            return Err(ApiError::validation(
                "RETURNING clause is not supported in ExecuteTransaction.",
            ));
        }
        let meta = load(region, bound.table())?;
        plans.push(translate::write(
            &meta,
            &bound.statement,
            bound.params(),
            *return_old,
        )?);
    }
    let size: usize = plans
        .iter()
        .map(|p| item_size(crate::batch::target_item(&p.write.kind)))
        .sum();
    if size > TRANSACT_SIZE_BYTES_MAX {
        return Err(ApiError::validation(
            "Transaction request size exceeds the maximum of 4 MB",
        ));
    }
    let inserts: Vec<bool> = plans.iter().map(|p| p.insert).collect();
    let shape: Vec<(String, bool)> = plans
        .iter()
        .map(|p| {
            let check = matches!(p.write.kind, WriteKind::ConditionCheck { .. });
            (p.write.table.clone(), check)
        })
        .collect();
    let actions: Vec<_> = plans.into_iter().map(|p| p.write).collect();
    crate::batch::check_distinct_targets(region, &actions, TRANSACTION_ONE_ITEM)?;
    let command = Command::TransactWrite(TransactWrite {
        token: req.token,
        now_ms: region.clock().now_ms(),
        actions,
    });
    let results = match propose(region, &command).await {
        Ok(Outcome::TransactWrite(results)) => results,
        Ok(other) => {
            return Err(ApiError::internal(format_args!(
                "unexpected outcome {other:?}"
            )))
        }
        Err(ApiError::TransactionCanceled(reasons)) => {
            return Err(ApiError::TransactionCanceled(duplicate_reasons(
                reasons, &inserts,
            )))
        }
        Err(e) => return Err(e),
    };
    if req.capacity.wanted() {
        for ((table, check), r) in shape.iter().zip(&results) {
            let entry = consumed.entry(table, req.capacity);
            if *check {
                entry.add_read(r.old_size, true, true);
            } else {
                entry.add_write(r.old_size, r.new_size, true);
            }
        }
    }
    json_body(&Output {
        responses: None,
        consumed_capacity: req.capacity.wanted().then(|| consumed.into_vec()),
    })
}

/// An INSERT whose `attribute_not_exists` failed found its key taken: DuplicateItem.
fn duplicate_reasons(
    reasons: Vec<CancellationReason>,
    inserts: &[bool],
) -> Vec<CancellationReason> {
    reasons
        .into_iter()
        .zip(inserts.iter().copied().chain(std::iter::repeat(false)))
        .map(|(reason, insert)| {
            if insert && reason.code == "ConditionalCheckFailed" && reason.item.is_none() {
                CancellationReason {
                    code: "DuplicateItem".into(),
                    message: Some(DUPLICATE_ITEM.into()),
                    item: None,
                }
            } else {
                reason
            }
        })
        .collect()
}
