//! Engine and read tests over a real (temporary) store.

use std::collections::BTreeMap;

use expr::Bindings;
use model::{
    AttributeValue as V, BillingMode, Item, KeyAttribute, KeySchema, ProvisionedThroughput,
    ScalarType, TableMeta, TableStatus,
};
use storage::{ApplyView, Store, WriteSet};

use crate::*;

pub(crate) fn store() -> Store {
    Store::open(None, 8 * 1024 * 1024).unwrap()
}

pub(crate) fn apply(store: &Store, command: Command) -> Outcome {
    let mut writes = WriteSet::new();
    let outcome = {
        let mut view = ApplyView::new(store, &mut writes);
        let payload = command.encode().unwrap();
        Outcome::decode(
            &Engine::new("us-east-1")
                .apply_payload(&mut view, &payload, 1_700_000_000_000)
                .unwrap(),
        )
        .unwrap()
    };
    store.commit(writes).unwrap();
    outcome
}

pub(crate) fn meta(name: &str, sort: Option<ScalarType>) -> TableMeta {
    TableMeta {
        name: name.into(),
        id: uuid::Uuid::new_v4(),
        region: "us-east-1".into(),
        key_schema: KeySchema {
            partition_rest: Vec::new(),
            sort_rest: Vec::new(),
            partition: KeyAttribute {
                name: "pk".into(),
                scalar: ScalarType::S,
            },
            sort: sort.map(|scalar| KeyAttribute {
                name: "sk".into(),
                scalar,
            }),
        },
        attribute_definitions: vec![("pk".into(), ScalarType::S)],
        billing_mode: BillingMode::PayPerRequest,
        billing_mode_updated_ms: None,
        provisioned: ProvisionedThroughput {
            read_capacity_units: 0,
            write_capacity_units: 0,
            last_increase_ms: None,
            last_decrease_ms: None,
            decreases_today: 0,
        },
        tags: BTreeMap::new(),
        deletion_protection: false,
        table_class: "STANDARD".into(),
        created_ms: 0,
        status: TableStatus::Active,
        global_indexes: Vec::new(),
        local_indexes: Vec::new(),
        stream: None,
        ttl: None,
        replicas: Vec::new(),
        global_table_version: None,
    }
}

pub(crate) fn s(x: &str) -> V {
    V::S(x.into())
}

pub(crate) fn n(x: &str) -> V {
    V::N(model::Number::parse(x).unwrap())
}

pub(crate) fn item(pairs: &[(&str, V)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub(crate) fn put(table: &str, it: Item) -> Command {
    Command::Write(ItemWrite {
        table: table.into(),
        kind: WriteKind::Put { item: it },
        condition: None,
        return_values: ReturnValues::AllOld,
        return_old_on_condition_failure: true,
    })
}

pub(crate) fn bind(values: &[(&str, V)]) -> Bindings {
    let values: BTreeMap<String, V> = values
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Bindings::new(BTreeMap::new(), values)
}

#[test]
fn t10_put_get_condition_update_delete() {
    let store = store();
    let m = meta("t", None);
    assert!(matches!(
        apply(&store, Command::CreateTable(m.clone())),
        Outcome::Table(_)
    ));
    assert!(matches!(
        apply(&store, Command::CreateTable(m)),
        Outcome::Rejected(Rejection::ResourceInUse(_))
    ));

    let first = item(&[("pk", s("a")), ("v", n("1"))]);
    assert_eq!(
        apply(&store, put("t", first.clone())),
        Outcome::Write(WriteResult {
            attributes: None,
            old_size: 0,
            new_size: 6
        })
    );

    // A failed condition returns the old item and changes nothing.
    let b = bind(&[]);
    let mut write = ItemWrite {
        table: "t".into(),
        kind: WriteKind::Put {
            item: item(&[("pk", s("a"))]),
        },
        condition: Some(expr::parse_condition("attribute_not_exists(pk)", &b).unwrap()),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: true,
    };
    assert_eq!(
        apply(&store, Command::Write(write.clone())),
        Outcome::Rejected(Rejection::ConditionalCheckFailed {
            item: Some(first.clone())
        })
    );
    write.return_old_on_condition_failure = false;
    assert_eq!(
        apply(&store, Command::Write(write)),
        Outcome::Rejected(Rejection::ConditionalCheckFailed { item: None })
    );

    let b = bind(&[(":one", n("1"))]);
    let update = Command::Write(ItemWrite {
        table: "t".into(),
        kind: WriteKind::Update {
            key: item(&[("pk", s("a"))]),
            update: Some(expr::parse_update("SET v = v + :one", &b).unwrap()),
        },
        condition: None,
        return_values: ReturnValues::UpdatedNew,
        return_old_on_condition_failure: false,
    });
    let Outcome::Write(result) = apply(&store, update) else {
        panic!()
    };
    assert_eq!(result.attributes, Some(item(&[("v", n("2"))])));

    let b = bind(&[]);
    let key_update = Command::Write(ItemWrite {
        table: "t".into(),
        kind: WriteKind::Update {
            key: item(&[("pk", s("a"))]),
            update: Some(expr::parse_update("SET pk = v", &b).unwrap()),
        },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    });
    assert!(
        matches!(apply(&store, key_update), Outcome::Rejected(Rejection::Validation(m)) if m.contains("part of the key"))
    );

    let got = get_item(
        &store,
        &ItemGet {
            table: "t".into(),
            key: item(&[("pk", s("a"))]),
            projection: None,
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(got.item, Some(item(&[("pk", s("a")), ("v", n("2"))])));
    let meta = load_table(&store, "t").unwrap().unwrap();
    assert_eq!(table_stats(&store, &meta).unwrap().item_count, 1);

    let delete = Command::Write(ItemWrite {
        table: "t".into(),
        kind: WriteKind::Delete {
            key: item(&[("pk", s("a"))]),
        },
        condition: None,
        return_values: ReturnValues::AllOld,
        return_old_on_condition_failure: false,
    });
    let Outcome::Write(result) = apply(&store, delete) else {
        panic!()
    };
    assert_eq!(
        result.attributes,
        Some(item(&[("pk", s("a")), ("v", n("2"))]))
    );
    assert_eq!(table_stats(&store, &meta).unwrap(), TableStats::default());
}

#[test]
fn t10_key_validation() {
    let store = store();
    apply(&store, Command::CreateTable(meta("t", Some(ScalarType::N))));
    let cases = [
        (item(&[("pk", s("a"))]), "Missing the key sk"),
        (
            item(&[("pk", n("1")), ("sk", n("1"))]),
            "Type mismatch for key pk",
        ),
        (item(&[("pk", s("")), ("sk", n("1"))]), "empty string value"),
    ];
    for (it, message) in cases {
        match apply(&store, put("t", it)) {
            Outcome::Rejected(Rejection::Validation(m)) => assert!(m.contains(message), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    let missing = apply(&store, put("nope", item(&[("pk", s("a"))])));
    assert!(matches!(
        missing,
        Outcome::Rejected(Rejection::ResourceNotFound(_))
    ));
}

pub(crate) fn query_input(predicates: Vec<expr::KeyPredicate>) -> QueryInput {
    QueryInput {
        table: "q".into(),
        key_conditions: predicates,
        filter: None,
        projection: None,
        select: Select::AllAttributes,
        limit: None,
        exclusive_start_key: None,
        forward: true,
        index: None,
    }
}

fn sort_keys(page: &PageOutput) -> Vec<String> {
    page.items
        .iter()
        .map(|i| match &i["sk"] {
            V::N(x) => x.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn t20_query_orders_numbers_and_paginates() {
    let store = store();
    apply(&store, Command::CreateTable(meta("q", Some(ScalarType::N))));
    for x in ["10", "-5", "2.5", "0", "100", "-0.5"] {
        apply(&store, put("q", item(&[("pk", s("p")), ("sk", n(x))])));
    }
    apply(
        &store,
        put("q", item(&[("pk", s("other")), ("sk", n("1"))])),
    );
    let b = bind(&[(":p", s("p")), (":lo", n("0")), (":hi", n("10"))]);
    let all = expr::parse_key_condition("pk = :p", &b).unwrap();
    let page = query(&store, &query_input(all.clone())).unwrap().unwrap();
    assert_eq!(sort_keys(&page), ["-5", "-0.5", "0", "2.5", "10", "100"]);

    let between = expr::parse_key_condition("pk = :p AND sk BETWEEN :lo AND :hi", &b).unwrap();
    let mut input = query_input(between);
    input.forward = false;
    let page = query(&store, &input).unwrap().unwrap();
    assert_eq!(sort_keys(&page), ["10", "2.5", "0"]);

    // Pages of two, following LastEvaluatedKey, see every item once.
    let mut input = query_input(all);
    input.limit = Some(2);
    let mut seen = Vec::new();
    loop {
        let page = query(&store, &input).unwrap().unwrap();
        seen.extend(sort_keys(&page));
        match page.last_evaluated_key {
            Some(key) => input.exclusive_start_key = Some(key),
            None => break,
        }
    }
    assert_eq!(seen, ["-5", "-0.5", "0", "2.5", "10", "100"]);

    // A page that stops exactly at Limit carries a LastEvaluatedKey, as DynamoDB's does; the
    // page after it is empty and final.
    input.exclusive_start_key = None;
    input.limit = Some(6);
    let page = query(&store, &input).unwrap().unwrap();
    assert_eq!(page.count, 6);
    input.exclusive_start_key = page.last_evaluated_key;
    assert!(input.exclusive_start_key.is_some());
    let page = query(&store, &input).unwrap().unwrap();
    assert_eq!((page.count, page.last_evaluated_key), (0, None));
}

#[test]
fn t20_query_begins_with_on_strings() {
    let store = store();
    apply(&store, Command::CreateTable(meta("q", Some(ScalarType::S))));
    for x in ["a", "ab", "abc", "abd", "b", "a\u{0}z"] {
        apply(&store, put("q", item(&[("pk", s("p")), ("sk", s(x))])));
    }
    let b = bind(&[(":p", s("p")), (":pre", s("ab"))]);
    let predicates = expr::parse_key_condition("pk = :p AND begins_with(sk, :pre)", &b).unwrap();
    let page = query(&store, &query_input(predicates)).unwrap().unwrap();
    let got: Vec<&V> = page.items.iter().map(|i| &i["sk"]).collect();
    assert_eq!(got, [&s("ab"), &s("abc"), &s("abd")]);
}

#[test]
fn t20_scan_segments_partition_the_table() {
    let store = store();
    apply(&store, Command::CreateTable(meta("t", None)));
    for i in 0..200 {
        apply(&store, put("t", item(&[("pk", s(&format!("k{i}")))])));
    }
    let mut total = 0;
    for segment in 0..4 {
        let input = ScanInput {
            table: "t".into(),
            filter: None,
            projection: None,
            select: Select::Count,
            limit: None,
            exclusive_start_key: None,
            segment: Some((segment, 4)),
            index: None,
        };
        let page = scan(&store, &input).unwrap().unwrap();
        assert!(page.count > 10, "segment {segment} got {}", page.count);
        total += page.count;
    }
    assert_eq!(total, 200);
}

fn transact(token: Option<(&str, u64)>, actions: Vec<ItemWrite>) -> Command {
    Command::TransactWrite(TransactWrite {
        token: token.map(|(t, d)| (t.to_string(), d)),
        now_ms: 1_000,
        actions,
    })
}

#[test]
fn t30_transactions_are_atomic_and_idempotent() {
    let store = store();
    apply(&store, Command::CreateTable(meta("t", None)));
    apply(&store, put("t", item(&[("pk", s("exists"))])));
    let b = bind(&[]);
    let plain = |pk: &str| ItemWrite {
        table: "t".into(),
        kind: WriteKind::Put {
            item: item(&[("pk", s(pk))]),
        },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    };
    let mut guarded = plain("exists");
    guarded.condition = Some(expr::parse_condition("attribute_not_exists(pk)", &b).unwrap());
    match apply(&store, transact(None, vec![plain("new"), guarded])) {
        Outcome::Rejected(Rejection::TransactionCanceled(reasons)) => {
            let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
            assert_eq!(codes, ["None", "ConditionalCheckFailed"]);
        }
        other => panic!("{other:?}"),
    }
    let get = ItemGet {
        table: "t".into(),
        key: item(&[("pk", s("new"))]),
        projection: None,
    };
    assert_eq!(get_item(&store, &get).unwrap().unwrap().item, None);

    let first = apply(&store, transact(Some(("tok", 7)), vec![plain("new")]));
    assert!(matches!(first, Outcome::TransactWrite(_)));
    assert_eq!(
        apply(&store, transact(Some(("tok", 7)), vec![plain("new")])),
        first
    );
    assert!(matches!(
        apply(&store, transact(Some(("tok", 8)), vec![plain("new")])),
        Outcome::Rejected(Rejection::IdempotentParameterMismatch(_))
    ));
}

#[test]
fn t31_expired_tokens_are_forgotten() {
    let store = store();
    apply(&store, Command::CreateTable(meta("t", None)));
    let write = |token: &str, now_ms: i64| {
        Command::TransactWrite(TransactWrite {
            token: Some((token.to_string(), 1)),
            now_ms,
            actions: vec![ItemWrite {
                table: "t".into(),
                kind: WriteKind::Put {
                    item: item(&[("pk", s(token))]),
                },
                condition: None,
                return_values: ReturnValues::None,
                return_old_on_condition_failure: false,
            }],
        })
    };
    apply(&store, write("old", 1_000));
    let tokens = |store: &Store| store.scan_prefix(storage::Space::Tokens, b"").count();
    assert_eq!(tokens(&store), 2, "the record and its expiry entry");
    // Eleven minutes later another token's write forgets the expired one.
    apply(&store, write("new", 1_000 + 11 * 60 * 1000));
    let left: Vec<Vec<u8>> = store
        .scan_prefix(storage::Space::Tokens, b"")
        .map(|e| e.unwrap().0)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.iter().any(|k| k == b"new"));
    assert!(!left.iter().any(|k| k == b"old"));
}

#[test]
fn t30_delete_table_drops_items() {
    let store = store();
    apply(&store, Command::CreateTable(meta("t", None)));
    apply(&store, put("t", item(&[("pk", s("a"))])));
    assert!(matches!(
        apply(&store, Command::DeleteTable { name: "t".into() }),
        Outcome::Table(_)
    ));
    apply(&store, Command::CreateTable(meta("t", None)));
    let get = ItemGet {
        table: "t".into(),
        key: item(&[("pk", s("a"))]),
        projection: None,
    };
    assert_eq!(get_item(&store, &get).unwrap().unwrap().item, None);
    assert_eq!(list_tables(&store).unwrap(), ["t"]);
}

#[test]
fn t10_removing_from_a_missing_item_does_not_create_it() {
    let store = store();
    apply(&store, Command::CreateTable(meta("t", None)));
    let b = bind(&[(":s", V::Ss(vec!["x".into()]))]);
    let update = |text: &str, pk: &str| {
        Command::Write(ItemWrite {
            table: "t".into(),
            kind: WriteKind::Update {
                key: item(&[("pk", s(pk))]),
                update: Some(expr::parse_update(text, &b).unwrap()),
            },
            condition: None,
            return_values: ReturnValues::AllNew,
            return_old_on_condition_failure: false,
        })
    };
    let get = |pk: &str| {
        get_item(
            &store,
            &ItemGet {
                table: "t".into(),
                key: item(&[("pk", s(pk))]),
                projection: None,
            },
        )
        .unwrap()
        .unwrap()
        .item
    };
    for text in ["REMOVE a", "DELETE a :s", "REMOVE a DELETE b :s"] {
        let Outcome::Write(result) = apply(&store, update(text, "gone")) else {
            panic!("{text}")
        };
        assert_eq!(result.attributes, None, "{text}");
        assert_eq!(result.new_size, 0, "{text}");
        assert_eq!(get("gone"), None, "{text}");
    }
    let meta = load_table(&store, "t").unwrap().unwrap();
    assert_eq!(table_stats(&store, &meta).unwrap().item_count, 0);
    // Anything that adds creates the item, even alongside a REMOVE.
    apply(&store, update("REMOVE a ADD b :s", "made"));
    assert_eq!(
        get("made"),
        Some(item(&[("pk", s("made")), ("b", V::Ss(vec!["x".into()]))]))
    );
    // An existing item keeps its key after a REMOVE.
    apply(&store, update("REMOVE b", "made"));
    assert_eq!(get("made"), Some(item(&[("pk", s("made"))])));
}
