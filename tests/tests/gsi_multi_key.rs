//! Global secondary indexes with multi-attribute keys (up to four HASH and four RANGE
//! KeySchema elements): CreateTable and UpdateTable validation, DescribeTable, which items are
//! indexed, Query's left-to-right rules and order, pagination, backfill, Scan and deletion.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, KeyType,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

use crate::indexes::projection;

type Row = HashMap<String, AttributeValue>;

/// A GSI keyed by `hash` then `range` attribute names, in that order.
fn multi_gsi(
    name: &str,
    hash: &[&str],
    range: &[&str],
    kind: ProjectionType,
) -> GlobalSecondaryIndex {
    let mut b = GlobalSecondaryIndex::builder()
        .index_name(name)
        .projection(projection(kind, &[]));
    for h in hash {
        b = b.key_schema(key_elem(h, KeyType::Hash));
    }
    for r in range {
        b = b.key_schema(key_elem(r, KeyType::Range));
    }
    b.build().unwrap()
}

/// Table `matches` (matchId S) with GSI `by_bracket` (tournamentId S, region S | round S,
/// bracket S, seq N; ALL) and GSI `by_player` (player N | matchDate S; KEYS_ONLY).
async fn create_matches(c: &Client) {
    c.create_table()
        .table_name("matches")
        .attribute_definitions(attr_def("matchId", ScalarAttributeType::S))
        .attribute_definitions(attr_def("tournamentId", ScalarAttributeType::S))
        .attribute_definitions(attr_def("region", ScalarAttributeType::S))
        .attribute_definitions(attr_def("round", ScalarAttributeType::S))
        .attribute_definitions(attr_def("bracket", ScalarAttributeType::S))
        .attribute_definitions(attr_def("seq", ScalarAttributeType::N))
        .attribute_definitions(attr_def("player", ScalarAttributeType::N))
        .attribute_definitions(attr_def("matchDate", ScalarAttributeType::S))
        .key_schema(key_elem("matchId", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(multi_gsi(
            "by_bracket",
            &["tournamentId", "region"],
            &["round", "bracket", "seq"],
            ProjectionType::All,
        ))
        .global_secondary_indexes(multi_gsi(
            "by_player",
            &["player"],
            &["matchDate", "round"],
            ProjectionType::KeysOnly,
        ))
        .send()
        .await
        .unwrap();
    wait_active(c, "matches").await;
}

fn game(id: &str, t: &str, region: &str, round: &str, bracket: &str, seq: i64) -> Row {
    item(&[
        ("matchId", s(id)),
        ("tournamentId", s(t)),
        ("region", s(region)),
        ("round", s(round)),
        ("bracket", s(bracket)),
        ("seq", ni(seq)),
        ("player", ni(101)),
        ("matchDate", s(&format!("2024-01-{:02}", seq))),
        ("score", s("3-1")),
    ])
}

async fn load(c: &Client) {
    let rows = [
        game("m1", "W24", "NA", "QUARTER", "UPPER", 1),
        game("m2", "W24", "NA", "QUARTER", "UPPER", 2),
        game("m3", "W24", "NA", "QUARTER", "LOWER", 3),
        game("m4", "W24", "NA", "SEMI", "UPPER", 10),
        game("m5", "W24", "NA", "SEMI", "UPPER", 9),
        game("m6", "W24", "NA", "FINAL", "UPPER", 20),
        game("m7", "W24", "EU", "SEMI", "UPPER", 4),
        game("m8", "S24", "NA", "SEMI", "UPPER", 5),
    ];
    for row in rows {
        c.put_item()
            .table_name("matches")
            .set_item(Some(row))
            .send()
            .await
            .unwrap();
    }
    // Missing a sort attribute (bracket) and a partition attribute (region): in no
    // by_bracket query or scan.
    let mut partial = game("p1", "W24", "NA", "SEMI", "UPPER", 11);
    partial.remove("bracket");
    c.put_item()
        .table_name("matches")
        .set_item(Some(partial))
        .send()
        .await
        .unwrap();
    let mut partial = game("p2", "W24", "NA", "SEMI", "UPPER", 12);
    partial.remove("region");
    c.put_item()
        .table_name("matches")
        .set_item(Some(partial))
        .send()
        .await
        .unwrap();
}

fn ids(items: &[Row]) -> Vec<String> {
    items
        .iter()
        .map(|i| get_s(i, "matchId").unwrap().to_owned())
        .collect()
}

/// Every page of a Query on `by_bracket`, with `limit` per page; the ids in order.
async fn query_all(
    c: &Client,
    condition: &str,
    values: &[(&str, AttributeValue)],
    forward: bool,
    limit: Option<i32>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut start: Option<Row> = None;
    loop {
        let mut q = c
            .query()
            .table_name("matches")
            .index_name("by_bracket")
            .key_condition_expression(condition)
            .expression_attribute_names("#r", "region")
            .scan_index_forward(forward)
            .set_limit(limit)
            .set_exclusive_start_key(start.take());
        for (k, v) in values {
            q = q.expression_attribute_values(*k, v.clone());
        }
        let r = q.send().await.unwrap();
        out.extend(ids(r.items()));
        match r.last_evaluated_key() {
            Some(key) => {
                // The table key and every index key attribute.
                let mut names: Vec<&str> = key.keys().map(String::as_str).collect();
                names.sort_unstable();
                assert_eq!(
                    names,
                    [
                        "bracket",
                        "matchId",
                        "region",
                        "round",
                        "seq",
                        "tournamentId"
                    ]
                );
                start = Some(key.clone());
            }
            None => return out,
        }
    }
}

const PK: &str = "tournamentId = :t AND #r = :r";

fn pk_values() -> Vec<(&'static str, AttributeValue)> {
    vec![(":t", s("W24")), (":r", s("NA"))]
}

async fn query_ids(
    c: &Client,
    condition: &str,
    extra: &[(&'static str, AttributeValue)],
) -> Vec<String> {
    let mut q = c
        .query()
        .table_name("matches")
        .index_name("by_bracket")
        .key_condition_expression(condition)
        .expression_attribute_names("#r", "region");
    for (k, v) in pk_values().iter().chain(extra) {
        q = q.expression_attribute_values(*k, v.clone());
    }
    ids(q.send().await.unwrap().items())
}

async fn query_error(
    c: &Client,
    condition: &str,
    extra: &[(&'static str, AttributeValue)],
) -> String {
    let mut q = c
        .query()
        .table_name("matches")
        .index_name("by_bracket")
        .key_condition_expression(condition)
        .expression_attribute_names("#r", "region");
    for (k, v) in pk_values().iter().chain(extra) {
        q = q.expression_attribute_values(*k, v.clone());
    }
    expect_error(q.send().await, "ValidationException")
}

#[tokio::test]
async fn t01_create_describe_and_query_left_to_right() {
    let server = Server::start().await;
    let c = server.client();
    create_matches(&c).await;
    load(&c).await;

    // --- DescribeTable lists every KeySchema element in order
    let desc = c
        .describe_table()
        .table_name("matches")
        .send()
        .await
        .unwrap();
    let table = desc.table().unwrap();
    let by_bracket = table
        .global_secondary_indexes()
        .iter()
        .find(|g| g.index_name() == Some("by_bracket"))
        .unwrap();
    let keys: Vec<(&str, &str)> = by_bracket
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("tournamentId", "HASH"),
            ("region", "HASH"),
            ("round", "RANGE"),
            ("bracket", "RANGE"),
            ("seq", "RANGE")
        ]
    );
    // Eight items have every by_bracket key attribute; the two partial ones are not indexed.
    assert_eq!(by_bracket.item_count(), Some(8));

    // --- equality on every partition attribute: sorted by round, bracket, seq (N)
    assert_eq!(
        query_ids(&c, PK, &[]).await,
        ["m6", "m3", "m1", "m2", "m5", "m4"]
    );
    // --- prefixes of the sort attributes, then a range on the next one
    let semi = [(":rd", s("SEMI"))];
    assert_eq!(
        query_ids(&c, &format!("{PK} AND round = :rd"), &semi).await,
        ["m5", "m4"]
    );
    assert_eq!(
        query_ids(
            &c,
            &format!("{PK} AND round = :rd AND bracket = :b"),
            &[(":rd", s("QUARTER")), (":b", s("UPPER"))]
        )
        .await,
        ["m1", "m2"]
    );
    assert_eq!(
        query_ids(
            &c,
            &format!("seq = :q AND bracket = :b AND round = :rd AND {PK}"),
            &[(":rd", s("QUARTER")), (":b", s("UPPER")), (":q", ni(2))]
        )
        .await,
        ["m2"]
    );
    assert_eq!(
        query_ids(&c, &format!("{PK} AND round > :rd"), &[(":rd", s("FINAL"))]).await,
        ["m3", "m1", "m2", "m5", "m4"]
    );
    assert_eq!(
        query_ids(
            &c,
            &format!("{PK} AND begins_with(round, :p)"),
            &[(":p", s("S"))]
        )
        .await,
        ["m5", "m4"]
    );
    assert_eq!(
        query_ids(
            &c,
            &format!("{PK} AND round = :rd AND bracket BETWEEN :lo AND :hi"),
            &[(":rd", s("QUARTER")), (":lo", s("A")), (":hi", s("M"))]
        )
        .await,
        ["m3"]
    );
    assert_eq!(
        query_ids(
            &c,
            &format!("{PK} AND round = :rd AND bracket = :b AND seq >= :q"),
            &[(":rd", s("SEMI")), (":b", s("UPPER")), (":q", ni(10))]
        )
        .await,
        ["m4"]
    );
    // A filter on a non-key attribute is fine.
    let r = c
        .query()
        .table_name("matches")
        .index_name("by_bracket")
        .key_condition_expression("tournamentId = :t AND #r = :r")
        .filter_expression("score = :s")
        .expression_attribute_names("#r", "region")
        .expression_attribute_values(":t", s("W24"))
        .expression_attribute_values(":r", s("EU"))
        .expression_attribute_values(":s", s("3-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(ids(r.items()), ["m7"]);

    // --- a single partition attribute with a multi-attribute sort key (KEYS_ONLY)
    let r = c
        .query()
        .table_name("matches")
        .index_name("by_player")
        .key_condition_expression("player = :p AND matchDate = :d")
        .expression_attribute_values(":p", ni(101))
        .expression_attribute_values(":d", s("2024-01-09"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.items().len(), 1);
    let mut attrs: Vec<&str> = r.items()[0].keys().map(String::as_str).collect();
    attrs.sort_unstable();
    assert_eq!(attrs, ["matchDate", "matchId", "player", "round"]);
}

#[tokio::test]
async fn t02_invalid_key_conditions_are_refused() {
    let server = Server::start().await;
    let c = server.client();
    create_matches(&c).await;
    let missed = |name: &str| format!("Query condition missed key schema element: {name}");
    // Equality on every partition attribute is required.
    let r = c
        .query()
        .table_name("matches")
        .index_name("by_bracket")
        .key_condition_expression("tournamentId = :t")
        .expression_attribute_values(":t", s("W24"))
        .send()
        .await;
    assert_eq!(expect_error(r, "ValidationException"), missed("region"));
    assert_eq!(
        query_error(&c, "tournamentId = :t AND #r > :r", &[]).await,
        "Query key condition not supported"
    );
    // Sort attributes left to right, no skipping.
    assert_eq!(
        query_error(&c, &format!("{PK} AND bracket = :b"), &[(":b", s("UPPER"))]).await,
        missed("round")
    );
    assert_eq!(
        query_error(
            &c,
            &format!("{PK} AND round = :rd AND seq = :q"),
            &[(":rd", s("SEMI")), (":q", ni(1))]
        )
        .await,
        missed("bracket")
    );
    // A range condition must be the last one.
    assert_eq!(
        query_error(
            &c,
            &format!("{PK} AND round > :rd AND bracket = :b"),
            &[(":rd", s("SEMI")), (":b", s("UPPER"))]
        )
        .await,
        "Query key condition not supported"
    );
    assert_eq!(
        query_error(
            &c,
            &format!("{PK} AND begins_with(round, :rd) AND bracket = :b"),
            &[(":rd", s("S")), (":b", s("UPPER"))]
        )
        .await,
        "Query key condition not supported"
    );
    // Types as declared; no filter on an index key attribute.
    assert_eq!(
        query_error(&c, &format!("{PK} AND round = :rd"), &[(":rd", ni(1))]).await,
        "One or more parameter values were invalid: Condition parameter type does not match schema type"
    );
    let r = c
        .query()
        .table_name("matches")
        .index_name("by_bracket")
        .key_condition_expression("tournamentId = :t AND #r = :r")
        .filter_expression("bracket = :b")
        .expression_attribute_names("#r", "region")
        .expression_attribute_values(":t", s("W24"))
        .expression_attribute_values(":r", s("NA"))
        .expression_attribute_values(":b", s("UPPER"))
        .send()
        .await;
    assert_eq!(
        expect_error(r, "ValidationException"),
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: bracket"
    );
    // A base table keeps its two-condition limit.
    create_simple_table(&c, "plain").await;
    let r = c
        .query()
        .table_name("plain")
        .key_condition_expression("pk = :a AND x = :a AND y = :a")
        .expression_attribute_values(":a", s("v"))
        .send()
        .await;
    assert_eq!(
        expect_error(r, "ValidationException"),
        "Conditions can be of length 1 or 2 only"
    );
    // A present key attribute of the wrong type refuses the write.
    let mut bad = game("bad", "W24", "NA", "SEMI", "UPPER", 1);
    bad.insert("seq".into(), s("one"));
    let r = c
        .put_item()
        .table_name("matches")
        .set_item(Some(bad))
        .send()
        .await;
    assert_eq!(
        expect_error(r, "ValidationException"),
        "One or more parameter values were invalid: Type mismatch for Index Key seq Expected: N Actual: S IndexName: by_bracket"
    );
}

#[tokio::test]
async fn t03_pagination_scan_and_sparse_updates() {
    let server = Server::start().await;
    let c = server.client();
    create_matches(&c).await;
    load(&c).await;
    let values: Vec<(&str, AttributeValue)> = vec![(":t", s("W24")), (":r", s("NA"))];
    let cond = PK;
    for forward in [true, false] {
        let whole = query_all(&c, cond, &values, forward, None).await;
        assert_eq!(whole.len(), 6);
        for limit in [1, 2, 4] {
            assert_eq!(
                query_all(&c, cond, &values, forward, Some(limit)).await,
                whole,
                "limit {limit} forward {forward}"
            );
        }
    }
    let mut v = values.clone();
    v.push((":rd", s("QUARTER")));
    assert_eq!(
        query_all(&c, &format!("{cond} AND round = :rd"), &v, true, Some(1)).await,
        ["m3", "m1", "m2"]
    );

    // --- Scan of the index: every complete item once, across segments and pages
    let mut seen = Vec::new();
    for segment in 0..2 {
        let mut start = None;
        loop {
            let r = c
                .scan()
                .table_name("matches")
                .index_name("by_bracket")
                .segment(segment)
                .total_segments(2)
                .limit(3)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap();
            seen.extend(ids(r.items()));
            match r.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => break,
            }
        }
    }
    seen.sort();
    assert_eq!(seen, ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]);

    // --- completing an item indexes it; removing a key attribute takes it out
    c.update_item()
        .table_name("matches")
        .key("matchId", s("p1"))
        .update_expression("SET bracket = :b")
        .expression_attribute_values(":b", s("UPPER"))
        .send()
        .await
        .unwrap();
    let mut v = values.clone();
    v.push((":rd", s("SEMI")));
    assert_eq!(
        query_all(&c, &format!("{cond} AND round = :rd"), &v, true, None).await,
        ["m5", "m4", "p1"]
    );
    c.update_item()
        .table_name("matches")
        .key("matchId", s("m4"))
        .update_expression("REMOVE seq")
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_all(&c, &format!("{cond} AND round = :rd"), &v, true, None).await,
        ["m5", "p1"]
    );
}

fn create_action(name: &str, hash: &[&str], range: &[&str]) -> GlobalSecondaryIndexUpdate {
    let mut b = CreateGlobalSecondaryIndexAction::builder()
        .index_name(name)
        .projection(projection(ProjectionType::All, &[]));
    for h in hash {
        b = b.key_schema(key_elem(h, KeyType::Hash));
    }
    for r in range {
        b = b.key_schema(key_elem(r, KeyType::Range));
    }
    GlobalSecondaryIndexUpdate::builder()
        .create(b.build().unwrap())
        .build()
}

#[tokio::test]
async fn t04_update_table_backfills_and_deletes_a_multi_attribute_index() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "orgs").await;
    for i in 0..300i64 {
        let mut row = item(&[
            ("pk", s(&format!("e{i:03}"))),
            ("org", s(if i % 2 == 0 { "acme" } else { "globex" })),
            ("dept", ni(i % 3)),
            ("team", s(&format!("t{}", i % 4))),
        ]);
        if i % 10 == 0 {
            row.remove("team");
        }
        c.put_item()
            .table_name("orgs")
            .set_item(Some(row))
            .send()
            .await
            .unwrap();
    }
    c.update_table()
        .table_name("orgs")
        .attribute_definitions(attr_def("org", ScalarAttributeType::S))
        .attribute_definitions(attr_def("dept", ScalarAttributeType::N))
        .attribute_definitions(attr_def("team", ScalarAttributeType::S))
        .global_secondary_index_updates(create_action("by_team", &["org", "dept"], &["team", "pk"]))
        .send()
        .await
        .unwrap();
    wait_active(&c, "orgs").await;
    // Items 0..300 with org acme (even i), dept 0 (i % 3 == 0): i % 6 == 0, minus the ones
    // without a team (i % 10 == 0), sorted by team then pk.
    let mut want: Vec<(String, String)> = (0..300i64)
        .filter(|i| i % 6 == 0 && i % 10 != 0)
        .map(|i| (format!("t{}", i % 4), format!("e{i:03}")))
        .collect();
    want.sort();
    let want: Vec<String> = want.into_iter().map(|(_, pk)| pk).collect();
    let mut got = Vec::new();
    let mut start = None;
    loop {
        let r = c
            .query()
            .table_name("orgs")
            .index_name("by_team")
            .key_condition_expression("org = :o AND dept = :d")
            .expression_attribute_values(":o", s("acme"))
            .expression_attribute_values(":d", ni(0))
            .limit(7)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        got.extend(r.items().iter().map(|i| get_s(i, "pk").unwrap().to_owned()));
        match r.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    assert_eq!(got, want);
    let desc = c.describe_table().table_name("orgs").send().await.unwrap();
    let gsi = &desc.table().unwrap().global_secondary_indexes()[0];
    assert_eq!(gsi.item_count(), Some(270));
    assert_eq!(gsi.key_schema().len(), 4);

    // --- validation of a new index's key schema
    let attempt = |update: GlobalSecondaryIndexUpdate| {
        c.update_table()
            .table_name("orgs")
            .attribute_definitions(attr_def("org", ScalarAttributeType::S))
            .attribute_definitions(attr_def("dept", ScalarAttributeType::N))
            .attribute_definitions(attr_def("team", ScalarAttributeType::S))
            .global_secondary_index_updates(update)
            .send()
    };
    let msg = expect_error(
        attempt(create_action("bad", &["org", "org"], &[])).await,
        "ValidationException",
    );
    assert!(
        msg.contains("Duplicate attribute name in KeySchema"),
        "{msg}"
    );

    // --- DeleteIndex drops it
    c.update_table()
        .table_name("orgs")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("by_team")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "orgs").await;
    let desc = c.describe_table().table_name("orgs").send().await.unwrap();
    assert!(desc.table().unwrap().global_secondary_indexes().is_empty());
}

#[tokio::test]
async fn t05_key_schema_validation() {
    let server = Server::start().await;
    let c = server.client();
    let create = |gsi: GlobalSecondaryIndex, defs: &[(&str, ScalarAttributeType)]| {
        let mut b = c
            .create_table()
            .table_name("val")
            .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
            .key_schema(key_elem("pk", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
            .global_secondary_indexes(gsi);
        for (name, ty) in defs {
            b = b.attribute_definitions(attr_def(name, ty.clone()));
        }
        b.send()
    };
    let defs = |names: &[&'static str]| -> Vec<(&'static str, ScalarAttributeType)> {
        names.iter().map(|n| (*n, ScalarAttributeType::S)).collect()
    };
    let five = ["a", "b", "c", "d", "e"];
    let msg = expect_error(
        create(
            multi_gsi("gsi", &five, &[], ProjectionType::All),
            &defs(&five),
        )
        .await,
        "ValidationException",
    );
    assert_eq!(
        msg,
        "One or more parameter values were invalid: Number of HASH KeySchemaElements exceeds the limit of 4 for index: gsi"
    );
    let msg = expect_error(
        create(
            multi_gsi(
                "gsi",
                &["a"],
                &["b", "c", "d", "e", "f"],
                ProjectionType::All,
            ),
            &defs(&["a", "b", "c", "d", "e", "f"]),
        )
        .await,
        "ValidationException",
    );
    assert_eq!(
        msg,
        "One or more parameter values were invalid: Number of RANGE KeySchemaElements exceeds the limit of 4 for index: gsi"
    );
    // More than 8 elements fails the shape check.
    let nine = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let msg = expect_error(
        create(
            multi_gsi("gsi", &nine[..4], &nine[4..], ProjectionType::All),
            &defs(&nine),
        )
        .await,
        "ValidationException",
    );
    assert!(
        msg.contains("Member must have length less than or equal to 8"),
        "{msg}"
    );
    // HASH elements first.
    let interleaved = GlobalSecondaryIndex::builder()
        .index_name("gsi")
        .key_schema(key_elem("a", KeyType::Hash))
        .key_schema(key_elem("b", KeyType::Range))
        .key_schema(key_elem("c", KeyType::Hash))
        .projection(projection(ProjectionType::All, &[]))
        .build()
        .unwrap();
    assert_eq!(
        expect_error(
            create(interleaved, &defs(&["a", "b", "c"])).await,
            "ValidationException"
        ),
        "Invalid KeySchema: A HASH KeySchemaElement cannot follow a RANGE KeySchemaElement"
    );
    assert_eq!(
        expect_error(
            create(
                multi_gsi("gsi", &[], &["a", "b"], ProjectionType::All),
                &defs(&["a", "b"])
            )
            .await,
            "ValidationException"
        ),
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
    );
    let msg = expect_error(
        create(
            multi_gsi("gsi", &["a", "b"], &["a"], ProjectionType::All),
            &defs(&["a", "b"]),
        )
        .await,
        "ValidationException",
    );
    assert_eq!(
        msg,
        "One or more parameter values were invalid: Duplicate attribute name in KeySchema for index: gsi. Attribute: a"
    );
    let msg = expect_error(
        create(
            multi_gsi("gsi", &["a", "b"], &[], ProjectionType::All),
            &defs(&["a"]),
        )
        .await,
        "ValidationException",
    );
    assert!(
        msg.starts_with("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions"),
        "{msg}"
    );
    // Local secondary indexes stay single-attribute.
    let r = c
        .create_table()
        .table_name("val")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("l", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .local_secondary_indexes(
            aws_sdk_dynamodb::types::LocalSecondaryIndex::builder()
                .index_name("lsi")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("sk", KeyType::Range))
                .key_schema(key_elem("l", KeyType::Range))
                .projection(projection(ProjectionType::All, &[]))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(
        msg.contains("Member must have length less than or equal to 2"),
        "{msg}"
    );
    // The largest key, 4 + 4 of mixed types, is accepted and queryable.
    let all = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut b = c
        .create_table()
        .table_name("val")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(multi_gsi(
            "gsi",
            &all[..4],
            &all[4..],
            ProjectionType::KeysOnly,
        ));
    for (i, name) in all.iter().enumerate() {
        let ty = [
            ScalarAttributeType::S,
            ScalarAttributeType::N,
            ScalarAttributeType::B,
        ][i % 3]
            .clone();
        b = b.attribute_definitions(attr_def(name, ty));
    }
    b.send().await.unwrap();
    wait_active(&c, "val").await;
    let value = |i: usize, x: i64| match i % 3 {
        0 => s(&format!("s{x}")),
        1 => ni(x),
        _ => aws_sdk_dynamodb::types::AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
            vec![x as u8],
        )),
    };
    for x in 0..3i64 {
        let mut row = item(&[("pk", s(&format!("k{x}")))]);
        for (i, name) in all.iter().enumerate() {
            row.insert((*name).to_owned(), value(i, if i < 4 { 0 } else { 2 - x }));
        }
        c.put_item()
            .table_name("val")
            .set_item(Some(row))
            .send()
            .await
            .unwrap();
    }
    let mut q = c
        .query()
        .table_name("val")
        .index_name("gsi")
        .key_condition_expression(
            "a = :a AND b = :b AND c = :c AND d = :d AND e = :e AND f = :f AND g = :g AND h > :h",
        );
    for (i, name) in all.iter().enumerate() {
        let x = if i < 4 {
            0
        } else if i < 7 {
            1
        } else {
            0
        };
        q = q.expression_attribute_values(format!(":{name}"), value(i, x));
    }
    let r = q.send().await.unwrap();
    let got: Vec<&str> = r.items().iter().map(|i| get_s(i, "pk").unwrap()).collect();
    assert_eq!(got, ["k1"]);
}

/// Polls region client `c` until the by_bracket query for (W24, NA) answers `want`.
async fn wait_query(
    c: &Client,
    index: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
    want: &[&str],
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let mut q = c
            .query()
            .table_name("matches")
            .index_name(index)
            .key_condition_expression(condition);
        if condition.contains("#r") {
            q = q.expression_attribute_names("#r", "region");
        }
        for (k, v) in values {
            q = q.expression_attribute_values(*k, v.clone());
        }
        // The index may not exist yet in that region: keep polling until it answers.
        if let Ok(r) = q.send().await {
            if ids(r.items()) == want {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{index}: {:?}",
                ids(r.items())
            );
        } else {
            assert!(
                std::time::Instant::now() < deadline,
                "{index} never became queryable"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t06_global_table_replicates_multi_attribute_indexes() {
    let lab = Lab::start(&["us-east-1", "eu-west-1"]).await;
    let (east, west) = (lab.client(0), lab.client(1));
    create_matches(&east).await;
    east.update_table()
        .table_name("matches")
        .replica_updates(
            aws_sdk_dynamodb::types::ReplicationGroupUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateReplicationGroupMemberAction::builder()
                        .region_name(&lab.regions[1].name)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The replica's description carries the same multi-attribute key schema.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        if let Ok(d) = west.describe_table().table_name("matches").send().await {
            let t = d.table().unwrap();
            if let Some(g) = t
                .global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == Some("by_bracket"))
            {
                assert_eq!(g.key_schema().len(), 5);
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no replica in eu-west-1"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Writes in either region are indexed in both.
    load(&east).await;
    let pk = pk_values();
    wait_query(
        &west,
        "by_bracket",
        PK,
        &pk,
        &["m6", "m3", "m1", "m2", "m5", "m4"],
    )
    .await;
    west.put_item()
        .table_name("matches")
        .set_item(Some(game("w1", "W24", "NA", "FINAL", "LOWER", 30)))
        .send()
        .await
        .unwrap();
    wait_query(
        &east,
        "by_bracket",
        PK,
        &pk,
        &["w1", "m6", "m3", "m1", "m2", "m5", "m4"],
    )
    .await;

    // A multi-attribute index added by UpdateTable reaches the replica, backfilled.
    east.update_table()
        .table_name("matches")
        .global_secondary_index_updates(create_action(
            "by_score",
            &["score", "tournamentId"],
            &["seq"],
        ))
        .attribute_definitions(attr_def("score", ScalarAttributeType::S))
        .attribute_definitions(attr_def("tournamentId", ScalarAttributeType::S))
        .attribute_definitions(attr_def("seq", ScalarAttributeType::N))
        .send()
        .await
        .unwrap();
    let values = [(":s", s("3-1")), (":t", s("W24")), (":q", ni(10))];
    let cond = "score = :s AND tournamentId = :t AND seq >= :q";
    wait_query(
        &east,
        "by_score",
        cond,
        &values,
        &["m4", "p1", "p2", "m6", "w1"],
    )
    .await;
    wait_query(
        &west,
        "by_score",
        cond,
        &values,
        &["m4", "p1", "p2", "m6", "w1"],
    )
    .await;
}
