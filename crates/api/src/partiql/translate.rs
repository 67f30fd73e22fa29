//! From a parsed statement, its parameters and the table's schema to the typed requests the
//! rest of the API runs: `table::QueryInput`/`ScanInput` for SELECT, `ItemGet` for single-item
//! reads in batches and transactions, `ItemWrite` for INSERT/UPDATE/DELETE/EXISTS. Conditions,
//! updates and projections are built directly as `expr` ASTs, so evaluation is the same engine
//! the expression API uses.

use std::collections::BTreeMap;

use expr::{
    AddAction, Comparator, Condition, DeleteAction, KeyOp, KeyPredicate, Operand, Path,
    PathElement, SetAction, SetOperand, SetValue, UpdateExpr,
};
use model::{AttributeValue, Item, KeySchema, TableMeta};
use table::{
    ItemGet, ItemWrite, QueryInput, ReturnValues, ScanInput, Select as SelectKind, WriteKind,
};

use super::ast::{
    ArithOp, Delete, Expr, Insert, IsType, Literal, PathExpr, Returning, Select, Statement, Step,
    Update, UpdateAction,
};
use super::ApiError;

const INCOMPLETE_KEY: &str =
    "Where clause does not contain a mandatory equality on all key attributes";

/// The `Parameters` of a statement, in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a>(pub(crate) &'a [AttributeValue]);

/// A SELECT as a page read.
#[derive(Debug)]
pub(crate) enum ReadPlan {
    Query(QueryInput),
    Scan(ScanInput),
}

/// An INSERT, UPDATE, DELETE or EXISTS as one conditional write.
#[derive(Debug, Clone)]
pub(crate) struct WritePlan {
    pub(crate) write: ItemWrite,
    /// An INSERT, whose failed condition means the key exists (DuplicateItem).
    pub(crate) insert: bool,
}

fn path_of(p: &PathExpr) -> Path {
    Path(
        p.0.iter()
            .map(|step| match step {
                Step::Name(name) => PathElement::Attribute(name.clone()),
                Step::Index(i) => PathElement::Index(*i),
            })
            .collect(),
    )
}

fn shown_path(p: &PathExpr) -> String {
    let mut out = String::new();
    for (i, step) in p.0.iter().enumerate() {
        match step {
            Step::Name(name) if i == 0 => out.push_str(name),
            Step::Name(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// A short description of an expression for messages.
fn shown(e: &Expr) -> String {
    match e {
        Expr::Path(p) => shown_path(p),
        Expr::Call(name, _) => name.clone(),
        Expr::Arith(ArithOp::Plus, ..) => "+".into(),
        Expr::Arith(ArithOp::Minus, ..) => "-".into(),
        Expr::Compare(op, ..) => op.symbol().into(),
        Expr::And(..) => "AND".into(),
        Expr::Or(..) => "OR".into(),
        Expr::Not(..) => "NOT".into(),
        Expr::Between { .. } => "BETWEEN".into(),
        Expr::In { .. } => "IN".into(),
        Expr::Is { .. } => "IS".into(),
        Expr::Literal(_) | Expr::Param(_) => "literal".into(),
        Expr::Struct(_) => "struct".into(),
        Expr::List(_) => "list".into(),
        Expr::Bag(_) => "bag".into(),
    }
}

fn is_constant(e: &Expr) -> bool {
    matches!(e, Expr::Literal(l) if *l != Literal::Missing)
        || matches!(
            e,
            Expr::Param(_) | Expr::Struct(_) | Expr::List(_) | Expr::Bag(_)
        )
}

impl Params<'_> {
    fn param(&self, index: usize) -> Result<AttributeValue, ApiError> {
        self.0.get(index).cloned().ok_or_else(|| {
            ApiError::validation("Number of parameters in request and statement don't match.")
        })
    }

    /// A constant expression's value: a literal, a parameter, or a struct, list or bag of them.
    pub(crate) fn value(&self, e: &Expr, under: &str) -> Result<AttributeValue, ApiError> {
        match e {
            Expr::Literal(Literal::Str(s)) => Ok(AttributeValue::S(s.clone())),
            Expr::Literal(Literal::Num(n)) => {
                Ok(AttributeValue::from_json(&serde_json::json!({ "N": n }))?)
            }
            Expr::Literal(Literal::Bool(b)) => Ok(AttributeValue::Bool(*b)),
            Expr::Literal(Literal::Null) => Ok(AttributeValue::Null),
            Expr::Literal(Literal::Missing) => Err(ApiError::validation(
                "MISSING must be compared using IS operator",
            )),
            Expr::Param(i) => self.param(*i),
            Expr::Struct(fields) => Ok(AttributeValue::M(self.fields(fields, under)?)),
            Expr::List(items) => Ok(AttributeValue::L(
                items
                    .iter()
                    .map(|item| self.value(item, under))
                    .collect::<Result<_, _>>()?,
            )),
            Expr::Bag(items) => self.bag(items, under),
            other => Err(ApiError::Validation(format!(
                "Unsupported data type: {} under key {under}",
                shown(other)
            ))),
        }
    }

    fn fields(
        &self,
        fields: &[(String, Expr)],
        under: &str,
    ) -> Result<BTreeMap<String, AttributeValue>, ApiError> {
        let mut map = BTreeMap::new();
        for (name, e) in fields {
            let value = self.value(e, name)?;
            if map.insert(name.clone(), value).is_some() {
                return Err(ApiError::Validation(format!(
                    "Duplicate keys in tuple. Key: {name} under {under}"
                )));
            }
        }
        Ok(map)
    }

    fn bag(&self, items: &[Expr], under: &str) -> Result<AttributeValue, ApiError> {
        let values: Vec<AttributeValue> = items
            .iter()
            .map(|item| self.value(item, under))
            .collect::<Result<_, _>>()?;
        let mixed = || {
            ApiError::validation(
                "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags",
            )
        };
        let json = match values.first() {
            None => return Err(ApiError::validation("Empty bags are not supported")),
            Some(AttributeValue::S(_)) => {
                let strings = values
                    .iter()
                    .map(|v| match v {
                        AttributeValue::S(s) => Ok(serde_json::Value::String(s.clone())),
                        _ => Err(mixed()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                serde_json::json!({ "SS": strings })
            }
            Some(AttributeValue::N(_)) => {
                let numbers = values
                    .iter()
                    .map(|v| match v {
                        AttributeValue::N(n) => Ok(serde_json::Value::String(n.to_string())),
                        _ => Err(mixed()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                serde_json::json!({ "NS": numbers })
            }
            Some(AttributeValue::B(_)) => {
                let mut blobs = Vec::with_capacity(values.len());
                for v in values {
                    match v {
                        AttributeValue::B(b) if !blobs.contains(&b) => blobs.push(b),
                        AttributeValue::B(_) => {
                            return Err(ApiError::validation(
                                "One or more parameter values were invalid: Input collection contains duplicates",
                            ))
                        }
                        _ => return Err(mixed()),
                    }
                }
                return Ok(AttributeValue::Bs(blobs));
            }
            Some(_) => return Err(mixed()),
        };
        Ok(AttributeValue::from_json(&json)?)
    }

    fn operand(&self, e: &Expr) -> Result<Operand, ApiError> {
        match e {
            Expr::Path(p) => Ok(Operand::Path(path_of(p))),
            Expr::Call(name, args) if name == "size" => match args.as_slice() {
                [arg] => Ok(Operand::Size(Box::new(self.operand(arg)?))),
                _ => Err(ApiError::validation(
                    "Incorrect number of operands for operator or function; operator or function: size, number of operands: 1",
                )),
            },
            e if is_constant(e) => Ok(Operand::Value(self.value(e, "condition")?)),
            other => Err(ApiError::Validation(format!(
                "Unsupported operator in Condition Expression. Operator: {}",
                shown(other)
            ))),
        }
    }

    fn two_args<'e>(name: &str, args: &'e [Expr]) -> Result<(&'e Expr, &'e Expr), ApiError> {
        match args {
            [a, b] => Ok((a, b)),
            _ => Err(ApiError::Validation(format!(
                "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: 2"
            ))),
        }
    }

    fn path_arg<'e>(name: &str, e: &'e Expr) -> Result<&'e PathExpr, ApiError> {
        match e {
            Expr::Path(p) => Ok(p),
            _ => Err(ApiError::Validation(format!(
                "Invalid operand; the first operand of {name} must be a document path"
            ))),
        }
    }

    /// A WHERE clause (or the part of it that is not the key) as a condition.
    pub(crate) fn condition(&self, e: &Expr) -> Result<Condition, ApiError> {
        Ok(match e {
            Expr::Compare(op, left, right) => Condition::Compare {
                op: *op,
                left: self.operand(left)?,
                right: self.operand(right)?,
            },
            Expr::And(a, b) => {
                Condition::And(Box::new(self.condition(a)?), Box::new(self.condition(b)?))
            }
            Expr::Or(a, b) => {
                Condition::Or(Box::new(self.condition(a)?), Box::new(self.condition(b)?))
            }
            Expr::Not(inner) => Condition::Not(Box::new(self.condition(inner)?)),
            Expr::Between {
                operand,
                low,
                high,
                negated,
            } => negate(
                *negated,
                Condition::Between {
                    operand: self.operand(operand)?,
                    low: self.operand(low)?,
                    high: self.operand(high)?,
                },
            ),
            Expr::In {
                operand,
                list,
                negated,
            } => {
                if list.is_empty() || list.len() > expr::IN_OPERANDS_MAX {
                    return Err(ApiError::validation(
                        "IN operator must have a left hand argument of type Variable Reference and right hand argument of type Seq with at least one member",
                    ));
                }
                negate(
                    *negated,
                    Condition::In {
                        operand: self.operand(operand)?,
                        list: list
                            .iter()
                            .map(|item| self.operand(item))
                            .collect::<Result<_, _>>()?,
                    },
                )
            }
            Expr::Is {
                operand,
                test,
                negated,
            } => {
                let Expr::Path(p) = operand.as_ref() else {
                    return Err(ApiError::validation(
                        "The left hand side argument to IS must be a Variable Reference, Literal, or Path",
                    ));
                };
                let path = path_of(p);
                match (test, test.dynamo_type()) {
                    (IsType::Missing, _) | (_, None) if *negated => {
                        Condition::AttributeExists(path)
                    }
                    (IsType::Missing, _) | (_, None) => Condition::AttributeNotExists(path),
                    (_, Some(type_name)) => negate(
                        *negated,
                        Condition::AttributeType {
                            operand: Operand::Path(path),
                            type_name: Operand::Value(AttributeValue::S(type_name.into())),
                        },
                    ),
                }
            }
            Expr::Call(name, args) => match name.as_str() {
                "begins_with" => {
                    let (a, b) = Self::two_args(name, args)?;
                    Condition::BeginsWith {
                        operand: self.operand(a)?,
                        prefix: self.operand(b)?,
                    }
                }
                "contains" => {
                    let (a, b) = Self::two_args(name, args)?;
                    Condition::Contains {
                        operand: self.operand(a)?,
                        element: self.operand(b)?,
                    }
                }
                "attribute_type" => {
                    let (a, b) = Self::two_args(name, args)?;
                    Condition::AttributeType {
                        operand: self.operand(a)?,
                        type_name: self.operand(b)?,
                    }
                }
                "attribute_exists" | "attribute_not_exists" => {
                    let [arg] = args.as_slice() else {
                        return Err(ApiError::Validation(format!(
                            "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: 1"
                        )));
                    };
                    let path = path_of(Self::path_arg(name, arg)?);
                    if name == "attribute_exists" {
                        Condition::AttributeExists(path)
                    } else {
                        Condition::AttributeNotExists(path)
                    }
                }
                other => {
                    return Err(ApiError::Validation(format!(
                        "Unrecognized function: {other}"
                    )))
                }
            },
            _ => {
                return Err(ApiError::validation(
                    "WHERE clause must contain an expression that resolves to a boolean",
                ))
            }
        })
    }

    fn all(&self, parts: &[&Expr]) -> Result<Option<Condition>, ApiError> {
        let mut out: Option<Condition> = None;
        for part in parts {
            let c = self.condition(part)?;
            out = Some(match out {
                None => c,
                Some(prev) => Condition::And(Box::new(prev), Box::new(c)),
            });
        }
        Ok(out)
    }
}

fn negate(negated: bool, c: Condition) -> Condition {
    if negated {
        Condition::Not(Box::new(c))
    } else {
        c
    }
}

/// The conjuncts of a WHERE clause (its top-level ANDs).
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::And(a, b) => {
            let mut out = conjuncts(a);
            out.extend(conjuncts(b));
            out
        }
        other => vec![other],
    }
}

/// `attr op constant` (or the reverse) on a top-level attribute: the attribute, the operator
/// as if the attribute were on the left, and the constant.
fn simple_comparison(e: &Expr) -> Option<(&str, Comparator, &Expr)> {
    let Expr::Compare(op, left, right) = e else {
        return None;
    };
    match (left.as_ref(), right.as_ref()) {
        (Expr::Path(p), c) if is_constant(c) => Some((p.top_level()?, *op, c)),
        (c, Expr::Path(p)) if is_constant(c) => Some((p.top_level()?, op.flipped(), c)),
        _ => None,
    }
}

fn first_attributes<'e>(e: &'e Expr, out: &mut Vec<&'e str>) {
    match e {
        Expr::Path(p) => out.extend(p.first()),
        Expr::Literal(_) | Expr::Param(_) => {}
        Expr::Struct(fields) => fields.iter().for_each(|(_, v)| first_attributes(v, out)),
        Expr::List(items) | Expr::Bag(items) | Expr::Call(_, items) => {
            items.iter().for_each(|i| first_attributes(i, out));
        }
        Expr::Compare(_, a, b) | Expr::Arith(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            first_attributes(a, out);
            first_attributes(b, out);
        }
        Expr::Not(a) => first_attributes(a, out),
        Expr::Between {
            operand, low, high, ..
        } => {
            for x in [operand, low, high] {
                first_attributes(x, out);
            }
        }
        Expr::In { operand, list, .. } => {
            first_attributes(operand, out);
            list.iter().for_each(|i| first_attributes(i, out));
        }
        Expr::Is { operand, .. } => first_attributes(operand, out),
    }
}

fn check_key_type(schema: &KeySchema, name: &str, value: &AttributeValue) -> Result<(), ApiError> {
    if !matches!(
        value,
        AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
    ) {
        return Err(ApiError::Validation(format!(
            "Key value must be of type S, N, or B. Key name: {name}, Key type: {}",
            value.type_name()
        )));
    }
    let scalar = schema
        .attributes()
        .find(|a| a.name == name)
        .map(|a| a.scalar);
    if scalar.is_some_and(|s| !s.matches(value)) {
        return Err(ApiError::Validation(format!(
            "Key attribute's data type should match its data type in table's schema: Key {name}"
        )));
    }
    Ok(())
}

/// The primary key a data-manipulation WHERE clause names with an equality on every key
/// attribute, and the rest of the clause as a condition.
fn item_key(
    schema: &KeySchema,
    filter: Option<&Expr>,
    params: Params<'_>,
) -> Result<(Item, Vec<Expr>), ApiError> {
    let filter = filter.ok_or_else(|| ApiError::validation(INCOMPLETE_KEY))?;
    let mut key = Item::new();
    let mut rest = Vec::new();
    for part in conjuncts(filter) {
        match simple_comparison(part) {
            Some((name, Comparator::Eq, c)) if schema.is_key_attribute(name) => {
                let value = params.value(c, name)?;
                check_key_type(schema, name, &value)?;
                match key.get(name) {
                    Some(existing) if *existing != value => {
                        return Err(ApiError::Validation(format!(
                            "Multiple conditions on same key {name}. Only single item Update/Insert/Delete are supported"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        key.insert(name.to_owned(), value);
                    }
                }
            }
            _ => rest.push(part.clone()),
        }
    }
    if schema.attributes().any(|a| !key.contains_key(&a.name)) {
        return Err(ApiError::validation(INCOMPLETE_KEY));
    }
    Ok((key, rest))
}

fn projection(s: &Select) -> Option<Vec<Path>> {
    s.projection
        .as_ref()
        .map(|paths| paths.iter().map(path_of).collect())
}

/// A SELECT (ExecuteStatement) as a Query when the WHERE clause pins the partition key with an
/// equality (of the table, or of the index read), else as a Scan with the clause as filter.
pub(crate) fn select(
    meta: &TableMeta,
    s: &Select,
    params: Params<'_>,
    limit: Option<usize>,
    exclusive_start_key: Option<Item>,
) -> Result<ReadPlan, ApiError> {
    let schema = match &s.source.index {
        None => &meta.key_schema,
        Some(name) => {
            &meta
                .index(name)
                .ok_or_else(|| {
                    ApiError::Validation(format!(
                        "The table does not have the specified index: {name}"
                    ))
                })?
                .key_schema
        }
    };
    let projection = projection(s);
    let select = match (&projection, &s.source.index) {
        (Some(_), _) => SelectKind::SpecificAttributes,
        (None, Some(_)) => SelectKind::AllProjectedAttributes,
        (None, None) => SelectKind::AllAttributes,
    };
    let mut forward = true;
    for (path, desc) in &s.order_by {
        let name = path.top_level().filter(|n| schema.is_key_attribute(n));
        let Some(_) = name else {
            return Err(ApiError::Validation(format!(
                "Variable reference {} in ORDER BY clause must be part of the primary key",
                shown_path(path)
            )));
        };
        forward = !desc;
    }
    if let Some(filter) = &s.filter {
        let parts = conjuncts(filter);
        let partition = parts.iter().position(|p| {
            matches!(simple_comparison(p), Some((name, Comparator::Eq, _)) if name == schema.partition.name)
        });
        if let Some(partition) = partition {
            let sort_name = schema.sort.as_ref().map(|s| s.name.as_str());
            let sort = parts.iter().enumerate().position(|(i, p)| {
                i != partition && sort_name.is_some_and(|name| sort_predicate(p, name))
            });
            let mut rest = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                if i != partition && Some(i) != sort {
                    rest.push(*part);
                }
            }
            let mut names = Vec::new();
            rest.iter().for_each(|p| first_attributes(p, &mut names));
            if !names.iter().any(|n| schema.is_key_attribute(n)) {
                let mut key_conditions = vec![KeyPredicate {
                    attribute: schema.partition.name.clone(),
                    op: KeyOp::Eq(key_value(parts[partition], params)?),
                }];
                if let (Some(i), Some(name)) = (sort, sort_name) {
                    key_conditions.push(KeyPredicate {
                        attribute: name.to_owned(),
                        op: sort_op(parts[i], params)?,
                    });
                }
                return Ok(ReadPlan::Query(QueryInput {
                    table: meta.name.clone(),
                    key_conditions,
                    filter: params.all(&rest)?,
                    projection,
                    select,
                    limit,
                    exclusive_start_key,
                    forward,
                    index: s.source.index.clone(),
                }));
            }
        }
    }
    if !s.order_by.is_empty() {
        return Err(ApiError::validation(if s.filter.is_none() {
            "Must have WHERE clause in the statement when using ORDER BY clause."
        } else {
            "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause."
        }));
    }
    Ok(ReadPlan::Scan(ScanInput {
        table: meta.name.clone(),
        filter: s.filter.as_ref().map(|f| params.condition(f)).transpose()?,
        projection,
        select,
        limit,
        exclusive_start_key,
        segment: None,
        index: s.source.index.clone(),
    }))
}

fn key_value(e: &Expr, params: Params<'_>) -> Result<AttributeValue, ApiError> {
    match simple_comparison(e) {
        Some((name, _, c)) => params.value(c, name),
        None => Err(ApiError::internal("not a key comparison")),
    }
}

/// Whether a conjunct can be a Query's sort key condition on `name`.
fn sort_predicate(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Compare(..) => {
            matches!(simple_comparison(e), Some((n, op, _)) if n == name && op != Comparator::Ne)
        }
        Expr::Between {
            operand,
            low,
            high,
            negated: false,
        } => {
            matches!(operand.as_ref(), Expr::Path(p) if p.top_level() == Some(name))
                && is_constant(low)
                && is_constant(high)
        }
        Expr::Call(f, args) if f == "begins_with" => matches!(
            args.as_slice(),
            [Expr::Path(p), c] if p.top_level() == Some(name) && is_constant(c)
        ),
        _ => false,
    }
}

fn sort_op(e: &Expr, params: Params<'_>) -> Result<KeyOp, ApiError> {
    match e {
        Expr::Between { low, high, .. } => Ok(KeyOp::Between(
            params.value(low, "sort key")?,
            params.value(high, "sort key")?,
        )),
        Expr::Call(_, args) => match args.as_slice() {
            [_, c] => Ok(KeyOp::BeginsWith(params.value(c, "sort key")?)),
            _ => Err(ApiError::internal("begins_with arity")),
        },
        _ => {
            let Some((name, op, c)) = simple_comparison(e) else {
                return Err(ApiError::internal("not a sort key comparison"));
            };
            let v = params.value(c, name)?;
            Ok(match op {
                Comparator::Eq => KeyOp::Eq(v),
                Comparator::Lt => KeyOp::Lt(v),
                Comparator::Le => KeyOp::Le(v),
                Comparator::Gt => KeyOp::Gt(v),
                Comparator::Ge => KeyOp::Ge(v),
                Comparator::Ne => return Err(ApiError::internal("<> is not a key condition")),
            })
        }
    }
}

/// A SELECT that must read exactly one item by its full primary key, with nothing else in
/// the WHERE clause (BatchExecuteStatement, ExecuteTransaction); `refusal` is the message
/// when it does not.
pub(crate) fn single_item(
    meta: &TableMeta,
    s: &Select,
    params: Params<'_>,
    refusal: &str,
    index_refusal: &str,
) -> Result<ItemGet, ApiError> {
    if s.source.index.is_some() {
        return Err(ApiError::validation(index_refusal));
    }
    match item_key(&meta.key_schema, s.filter.as_ref(), params) {
        Ok((key, rest)) if rest.is_empty() => Ok(ItemGet {
            table: meta.name.clone(),
            key,
            projection: projection(s),
        }),
        Ok(_) => Err(ApiError::validation(refusal)),
        Err(ApiError::Validation(m)) if m == INCOMPLETE_KEY => Err(ApiError::validation(refusal)),
        Err(e) => Err(e),
    }
}

fn no_index(index: Option<&String>) -> Result<(), ApiError> {
    match index {
        Some(_) => Err(ApiError::validation(
            "This operation is not supported on an index",
        )),
        None => Ok(()),
    }
}

/// An INSERT, UPDATE, DELETE or EXISTS as a conditional write of one item.
pub(crate) fn write(
    meta: &TableMeta,
    statement: &Statement,
    params: Params<'_>,
    return_old_on_condition_failure: bool,
) -> Result<WritePlan, ApiError> {
    let schema = &meta.key_schema;
    let partition = Path::attribute(schema.partition.name.clone());
    let (kind, condition, return_values, insert) = match statement {
        Statement::Insert(Insert {
            value, returning, ..
        }) => {
            if returning.is_some() {
                return Err(ApiError::validation("RETURNING is not supported in INSERT"));
            }
            let Expr::Struct(fields) = value else {
                return Err(ApiError::validation(
                    "Unsupported format in item expression. Please use struct format {...} to express item values for insert statement.",
                ));
            };
            let item = params.fields(fields, "item")?;
            for attribute in schema.attributes() {
                match item.get(&attribute.name) {
                    None => {
                        return Err(ApiError::Validation(format!(
                            "Key attribute should be present in the item: Key {}",
                            attribute.name
                        )))
                    }
                    Some(v) if !attribute.scalar.matches(v) => {
                        return Err(ApiError::Validation(format!(
                            "Key attribute's data type should match its data type in table's schema: Key {}",
                            attribute.name
                        )))
                    }
                    Some(_) => {}
                }
            }
            (
                WriteKind::Put { item },
                Some(Condition::AttributeNotExists(partition)),
                ReturnValues::None,
                true,
            )
        }
        Statement::Update(Update {
            source,
            actions,
            filter,
            returning,
        }) => {
            no_index(source.index.as_ref())?;
            let update = update_expr(actions, params)?;
            let (key, rest) = item_key(schema, filter.as_ref(), params)?;
            let rest: Vec<&Expr> = rest.iter().collect();
            let exists = Condition::AttributeExists(partition);
            let condition = match params.all(&rest)? {
                None => exists,
                Some(c) => Condition::And(Box::new(exists), Box::new(c)),
            };
            let return_values = match returning {
                None => ReturnValues::None,
                Some(Returning::AllOld) => ReturnValues::AllOld,
                Some(Returning::AllNew) => ReturnValues::AllNew,
                Some(Returning::ModifiedOld) => ReturnValues::UpdatedOld,
                Some(Returning::ModifiedNew) => ReturnValues::UpdatedNew,
            };
            (
                WriteKind::Update {
                    key,
                    update: Some(update),
                },
                Some(condition),
                return_values,
                false,
            )
        }
        Statement::Delete(Delete {
            source,
            filter,
            returning,
        }) => {
            no_index(source.index.as_ref())?;
            let (key, rest) = item_key(schema, filter.as_ref(), params)?;
            let rest: Vec<&Expr> = rest.iter().collect();
            let return_values = match returning {
                None => ReturnValues::None,
                Some(Returning::AllOld) => ReturnValues::AllOld,
                Some(other) => {
                    return Err(ApiError::Validation(format!(
                        "Invalid returning clause: RETURNING {}. Only RETURNING ALL OLD * is allowed in DELETE statements.",
                        other.shown()
                    )))
                }
            };
            (
                WriteKind::Delete { key },
                params.all(&rest)?,
                return_values,
                false,
            )
        }
        Statement::Exists(s) => {
            const SINGLE: &str =
                "EXISTS() must contain a single item read with additional condition";
            if s.source.index.is_some() {
                return Err(ApiError::validation(
                    "Operations on indices are not supported in transactions",
                ));
            }
            let (key, rest) = match item_key(schema, s.filter.as_ref(), params) {
                Err(ApiError::Validation(m)) if m == INCOMPLETE_KEY => {
                    return Err(ApiError::validation(SINGLE))
                }
                other => other?,
            };
            let rest: Vec<&Expr> = rest.iter().collect();
            let Some(rest) = params.all(&rest)? else {
                return Err(ApiError::validation(SINGLE));
            };
            // EXISTS needs the item itself, not only the condition.
            let condition = Condition::And(
                Box::new(Condition::AttributeExists(partition)),
                Box::new(rest),
            );
            (
                WriteKind::ConditionCheck { key },
                Some(condition),
                ReturnValues::None,
                false,
            )
        }
        Statement::Select(_) => return Err(ApiError::internal("a SELECT is not a write")),
    };
    Ok(WritePlan {
        write: ItemWrite {
            table: meta.name.clone(),
            kind,
            condition,
            return_values,
            return_old_on_condition_failure,
        },
        insert,
    })
}

/// UPDATE's SET and REMOVE clauses as an update expression. `SET a = set_add(a, <<...>>)` and
/// `set_delete` are DynamoDB's ADD and DELETE of set elements.
fn update_expr(actions: &[UpdateAction], params: Params<'_>) -> Result<UpdateExpr, ApiError> {
    let mut update = UpdateExpr::default();
    for action in actions {
        match action {
            UpdateAction::Remove(p) => update.remove.push(path_of(p)),
            UpdateAction::Set(target, Expr::Call(name, args))
                if name == "set_add" || name == "set_delete" =>
            {
                let upper = name.trim_start_matches("set_").to_ascii_uppercase();
                let [first, second] = args.as_slice() else {
                    return Err(ApiError::Validation(format!(
                        "SET_{upper} must have exactly two arguments"
                    )));
                };
                if !matches!(first, Expr::Path(p) if p == target) {
                    return Err(ApiError::Validation(format!(
                        "The first argument to SET_{upper} must equal the assignment value"
                    )));
                }
                let value = params.value(second, &shown_path(target))?;
                if !matches!(
                    value,
                    AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
                ) {
                    return Err(ApiError::Validation(format!(
                        "The second argument to SET_{upper} must be a value with type SET"
                    )));
                }
                let path = path_of(target);
                if name == "set_add" {
                    update.add.push(AddAction { path, value });
                } else {
                    update.delete.push(DeleteAction { path, value });
                }
            }
            UpdateAction::Set(target, value) => {
                let value = match value {
                    Expr::Arith(op, a, b) => {
                        let (a, b) = (set_operand(a, params)?, set_operand(b, params)?);
                        match op {
                            ArithOp::Plus => SetValue::Plus(a, b),
                            ArithOp::Minus => SetValue::Minus(a, b),
                        }
                    }
                    other => SetValue::Operand(set_operand(other, params)?),
                };
                update.set.push(SetAction {
                    path: path_of(target),
                    value,
                });
            }
        }
    }
    Ok(update)
}

fn set_operand(e: &Expr, params: Params<'_>) -> Result<SetOperand, ApiError> {
    match e {
        Expr::Path(p) => Ok(SetOperand::Path(path_of(p))),
        Expr::Call(name, args) if name == "if_not_exists" => {
            let (a, b) = Params::two_args(name, args)?;
            let Expr::Path(p) = a else {
                return Err(ApiError::validation(
                    "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists",
                ));
            };
            Ok(SetOperand::IfNotExists(
                path_of(p),
                Box::new(set_operand(b, params)?),
            ))
        }
        Expr::Call(name, args) if name == "list_append" => {
            let (a, b) = Params::two_args(name, args)?;
            Ok(SetOperand::ListAppend(
                Box::new(set_operand(a, params)?),
                Box::new(set_operand(b, params)?),
            ))
        }
        Expr::Call(name, _) => Err(ApiError::Validation(format!(
            "Unrecognized function: {name}"
        ))),
        e if is_constant(e) => Ok(SetOperand::Value(params.value(e, "update")?)),
        other => Err(ApiError::Validation(format!(
            "Unsupported operator in Update Expression. Operator: {}",
            shown(other)
        ))),
    }
}
