//! Query and Scan: request validation (Select, Limit, segments, expression or legacy members),
//! then one page read from the local replica.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use model::limits::SCAN_TOTAL_SEGMENTS_MAX;
use model::{Item, WireItem};
use table::{PageOutput, QueryInput, ScanInput, Select};

use crate::capacity::{CapacityMode, Consumed};
use crate::error::ApiError;
use crate::exprs::{check_not_mixed, Binder, Names};
use crate::legacy::{self, FilterMember};
use crate::request::json_body;
use crate::validate::Violations;
use crate::wire::{self, optional_item, parse_body, ItemList};
use crate::Region;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PageWire {
    table_name: Option<String>,
    index_name: Option<String>,
    select: Option<String>,
    attributes_to_get: Option<Value>,
    limit: Option<i64>,
    consistent_read: Option<bool>,
    key_conditions: Option<Value>,
    query_filter: Option<Value>,
    scan_filter: Option<Value>,
    conditional_operator: Option<String>,
    scan_index_forward: Option<bool>,
    exclusive_start_key: Option<Value>,
    return_consumed_capacity: Option<String>,
    projection_expression: Option<String>,
    filter_expression: Option<String>,
    key_condition_expression: Option<String>,
    expression_attribute_names: Option<Names>,
    expression_attribute_values: Option<Value>,
    total_segments: Option<i64>,
    segment: Option<i64>,
}

/// A validated Query.
#[derive(Debug)]
pub struct QueryRequest {
    /// The read.
    pub input: QueryInput,
    /// ConsistentRead.
    pub consistent: bool,
    /// ReturnConsumedCapacity.
    pub capacity: CapacityMode,
    /// TableName as given (a name or a table ARN), which ConsumedCapacity echoes.
    pub table_shown: String,
}

/// A validated Scan.
#[derive(Debug)]
pub struct ScanRequest {
    /// The read.
    pub input: ScanInput,
    /// ConsistentRead.
    pub consistent: bool,
    /// ReturnConsumedCapacity.
    pub capacity: CapacityMode,
    /// TableName as given (a name or a table ARN), which ConsumedCapacity echoes.
    pub table_shown: String,
}

fn present(v: &Option<Value>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_null())
}

/// What Query and Scan share once validated.
struct Common {
    table: String,
    table_shown: String,
    select: Select,
    limit: Option<usize>,
    exclusive_start_key: Option<Item>,
    consistent: bool,
    capacity: CapacityMode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SelectWire {
    All,
    AllProjected,
    Specific,
    Count,
}

impl SelectWire {
    fn name(self) -> &'static str {
        match self {
            SelectWire::All => "ALL_ATTRIBUTES",
            SelectWire::AllProjected => "ALL_PROJECTED_ATTRIBUTES",
            SelectWire::Specific => "SPECIFIC_ATTRIBUTES",
            SelectWire::Count => "COUNT",
        }
    }
}

/// Validates the members Query and Scan share; `v` collects the violations.
fn common(v: &mut Violations, wire: &PageWire) -> Result<(Common, Option<SelectWire>), ApiError> {
    let table = v.table_name("tableName", wire.table_name.as_deref());
    if let Some(index) = &wire.index_name {
        v.length("indexName", index, index.len(), 3, 255);
    }
    let select = v.enumeration(
        "select",
        wire.select.as_deref(),
        &[
            ("SPECIFIC_ATTRIBUTES", SelectWire::Specific),
            ("COUNT", SelectWire::Count),
            ("ALL_ATTRIBUTES", SelectWire::All),
            ("ALL_PROJECTED_ATTRIBUTES", SelectWire::AllProjected),
        ],
        "SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES",
    );
    if let Some(limit) = wire.limit {
        v.at_least("limit", limit, 1);
    }
    let capacity = CapacityMode::parse(v, wire.return_consumed_capacity.as_deref());
    let exclusive_start_key = optional_item(wire.exclusive_start_key.as_ref())?;
    Ok((
        Common {
            table,
            table_shown: wire.table_name.clone().unwrap_or_default(),
            select: Select::AllAttributes,
            limit: wire.limit.and_then(|l| usize::try_from(l).ok()),
            exclusive_start_key,
            consistent: wire.consistent_read.unwrap_or(false),
            capacity,
        },
        select,
    ))
}

/// Checks Select against the projection and IndexName, with DynamoDB's rules.
fn resolve_select(
    select: Option<SelectWire>,
    wire: &PageWire,
    projection_member: Option<&str>,
) -> Result<Select, ApiError> {
    let on_index = wire.index_name.is_some();
    match (select, projection_member) {
        (None | Some(SelectWire::Specific), Some(_)) => Ok(Select::SpecificAttributes),
        (Some(SelectWire::Specific), None) => Err(ApiError::validation(
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        )),
        (Some(SelectWire::Count), Some(member)) => Err(ApiError::Validation(format!(
            "Cannot specify the {member} when choosing to get only the Count"
        ))),
        (Some(other), Some(member)) => Err(ApiError::Validation(format!(
            "Cannot specify the {member} when choosing to get {}",
            other.name()
        ))),
        (Some(SelectWire::AllProjected), None) if on_index => Ok(Select::AllProjectedAttributes),
        (Some(SelectWire::AllProjected), None) => Err(ApiError::validation(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        )),
        (Some(SelectWire::Count), None) => Ok(Select::Count),
        (None, None) if on_index => Ok(Select::AllProjectedAttributes),
        (None | Some(SelectWire::All), None) => Ok(Select::AllAttributes),
    }
}

/// Parsed expression members of a page read.
struct Parsed {
    key_conditions: Vec<expr::KeyPredicate>,
    filter: Option<expr::Condition>,
    projection: Option<Vec<expr::Path>>,
}

fn parse_expressions(wire: &PageWire, is_query: bool) -> Result<Parsed, ApiError> {
    let legacy_filter = if is_query {
        ("QueryFilter", present(&wire.query_filter))
    } else {
        ("ScanFilter", present(&wire.scan_filter))
    };
    check_not_mixed(
        &[
            ("AttributesToGet", present(&wire.attributes_to_get)),
            legacy_filter,
            ("ConditionalOperator", wire.conditional_operator.is_some()),
            // DynamoDB lets KeyConditions go with FilterExpression and ProjectionExpression;
            // only KeyConditionExpression conflicts with it.
            (
                "KeyConditions",
                is_query
                    && present(&wire.key_conditions)
                    && wire.key_condition_expression.is_some(),
            ),
        ],
        &[
            ("ProjectionExpression", wire.projection_expression.is_some()),
            ("FilterExpression", wire.filter_expression.is_some()),
            (
                "KeyConditionExpression",
                is_query && wire.key_condition_expression.is_some(),
            ),
        ],
    )?;
    let has_expression = wire.projection_expression.is_some()
        || wire.filter_expression.is_some()
        || (is_query && wire.key_condition_expression.is_some());
    let binder = Binder::new(
        wire.expression_attribute_names.clone(),
        wire.expression_attribute_values.as_ref(),
        has_expression,
    )?;
    let mut v = Violations::new();
    wire::conditional_operator(&mut v, wire.conditional_operator.as_deref());
    v.finish()?;
    let key_conditions = if !is_query {
        Vec::new()
    } else if let Some(text) = &wire.key_condition_expression {
        binder.key_condition(text)?
    } else if let Some(conditions) = wire.key_conditions.as_ref().filter(|v| !v.is_null()) {
        legacy::key_conditions(conditions)?
    } else {
        return Err(ApiError::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
        ));
    };
    let operator = wire.conditional_operator.as_deref();
    let filter = match &wire.filter_expression {
        Some(text) => binder.filter(Some(text))?,
        None if is_query => {
            legacy::filter(FilterMember::Query, wire.query_filter.as_ref(), operator)?
        }
        None => legacy::filter(FilterMember::Scan, wire.scan_filter.as_ref(), operator)?,
    };
    let projection = match &wire.projection_expression {
        Some(text) => binder.projection(Some(text))?,
        None => legacy::attributes_to_get(wire.attributes_to_get.as_ref())?,
    };
    binder.finish()?;
    Ok(Parsed {
        key_conditions,
        filter,
        projection,
    })
}

fn projection_member(wire: &PageWire) -> Option<&'static str> {
    if wire.projection_expression.is_some() {
        Some("ProjectionExpression")
    } else if present(&wire.attributes_to_get) {
        Some("AttributesToGet")
    } else {
        None
    }
}

/// Decodes and validates Query.
pub(crate) fn decode_query(body: &[u8]) -> Result<QueryRequest, ApiError> {
    let wire: PageWire = parse_body(body)?;
    let mut v = Violations::new();
    let (mut c, select) = common(&mut v, &wire)?;
    v.finish()?;
    c.select = resolve_select(select, &wire, projection_member(&wire))?;
    let parsed = parse_expressions(&wire, true)?;
    Ok(QueryRequest {
        input: QueryInput {
            table: c.table,
            key_conditions: parsed.key_conditions,
            filter: parsed.filter,
            projection: parsed.projection,
            select: c.select,
            limit: c.limit,
            exclusive_start_key: c.exclusive_start_key,
            forward: wire.scan_index_forward.unwrap_or(true),
            index: wire.index_name.clone(),
        },
        consistent: c.consistent,
        capacity: c.capacity,
        table_shown: c.table_shown,
    })
}

/// Decodes and validates Scan.
pub(crate) fn decode_scan(body: &[u8]) -> Result<ScanRequest, ApiError> {
    let wire: PageWire = parse_body(body)?;
    let mut v = Violations::new();
    let (mut c, select) = common(&mut v, &wire)?;
    if let Some(segment) = wire.segment {
        v.at_least("segment", segment, 0);
        v.at_most("segment", segment, i64::from(SCAN_TOTAL_SEGMENTS_MAX) - 1);
    }
    if let Some(total) = wire.total_segments {
        v.at_least("totalSegments", total, 1);
        v.at_most("totalSegments", total, i64::from(SCAN_TOTAL_SEGMENTS_MAX));
    }
    v.finish()?;
    let segment = match (wire.segment, wire.total_segments) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ))
        }
        (None, Some(_)) => {
            return Err(ApiError::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ))
        }
        (Some(segment), Some(total)) if segment >= total => {
            return Err(ApiError::Validation(format!(
                "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
            )))
        }
        (Some(segment), Some(total)) => {
            // Both are range-checked above, so they fit.
            Some((
                u32::try_from(segment).unwrap_or(0),
                u32::try_from(total).unwrap_or(1),
            ))
        }
    };
    c.select = resolve_select(select, &wire, projection_member(&wire))?;
    let parsed = parse_expressions(&wire, false)?;
    Ok(ScanRequest {
        input: ScanInput {
            table: c.table,
            filter: parsed.filter,
            projection: parsed.projection,
            select: c.select,
            limit: c.limit,
            exclusive_start_key: c.exclusive_start_key,
            segment,
            index: wire.index_name.clone(),
        },
        consistent: c.consistent,
        capacity: c.capacity,
        table_shown: c.table_shown,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PageOutputWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<ItemList<'a>>,
    count: usize,
    scanned_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_key: Option<WireItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumed_capacity: Option<Consumed>,
}

fn page_body(
    page: &PageOutput,
    select: Select,
    table: &str,
    consistent: bool,
    capacity: CapacityMode,
    index: Option<(&str, bool)>,
) -> Result<Vec<u8>, ApiError> {
    json_body(&PageOutputWire {
        items: (select != Select::Count).then_some(ItemList(&page.items)),
        count: page.count,
        scanned_count: page.scanned_count,
        last_evaluated_key: page.last_evaluated_key.as_ref().map(WireItem),
        consumed_capacity: capacity.report(|| {
            let consumed = Consumed::new(table, capacity);
            match index {
                Some((name, global)) => consumed.on_index(name, global),
                None => consumed,
            }
            .read_item(page.scanned_bytes, consistent)
        }),
    })
}

/// Runs Query.
pub(crate) async fn query(region: &dyn Region, req: QueryRequest) -> Result<Vec<u8>, ApiError> {
    let global = crate::index_views::check_read(
        region,
        &req.input.table,
        req.input.index.as_deref(),
        req.consistent,
    )?;
    if req.consistent {
        region.linearize().await?;
    }
    let page = table::query(region.store(), &req.input)??;
    page_body(
        &page,
        req.input.select,
        &req.table_shown,
        req.consistent,
        req.capacity,
        req.input.index.as_deref().zip(global),
    )
}

/// Runs Scan.
pub(crate) async fn scan(region: &dyn Region, req: ScanRequest) -> Result<Vec<u8>, ApiError> {
    let global = crate::index_views::check_read(
        region,
        &req.input.table,
        req.input.index.as_deref(),
        req.consistent,
    )?;
    if req.consistent {
        region.linearize().await?;
    }
    let page = table::scan(region.store(), &req.input)??;
    page_body(
        &page,
        req.input.select,
        &req.table_shown,
        req.consistent,
        req.capacity,
        req.input.index.as_deref().zip(global),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_error(body: serde_json::Value) -> String {
        match decode_scan(&serde_json::to_vec(&body).unwrap()) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("expected an error, got {r:?}"),
        }
    }

    #[test]
    fn t10_select_rules() {
        assert_eq!(
            scan_error(
                serde_json::json!({"TableName": "tbl", "Select": "ALL_ATTRIBUTES", "ProjectionExpression": "a"})
            ),
            "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"
        );
        assert_eq!(
            scan_error(
                serde_json::json!({"TableName": "tbl", "Select": "COUNT", "AttributesToGet": ["a"]})
            ),
            "Cannot specify the AttributesToGet when choosing to get only the Count"
        );
        assert_eq!(
            scan_error(serde_json::json!({"TableName": "tbl", "Select": "SPECIFIC_ATTRIBUTES"})),
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"
        );
        assert_eq!(
            scan_error(
                serde_json::json!({"TableName": "tbl", "Select": "ALL_PROJECTED_ATTRIBUTES"})
            ),
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"
        );
        assert_eq!(
            scan_error(serde_json::json!({"TableName": "tbl", "TotalSegments": 1_000_001, "Segment": 0})),
            "1 validation error detected: Value '1000001' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000"
        );
        let ok = decode_scan(br#"{"TableName": "tbl", "ProjectionExpression": "a"}"#).unwrap();
        assert_eq!(ok.input.select, Select::SpecificAttributes);
    }
}
