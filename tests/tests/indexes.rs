//! Secondary indexes (GSI and LSI) through Query and Scan: projections, sparse indexes,
//! pagination, maintenance on update and delete, ItemCollectionMetrics, DescribeTable
//! statistics, and the reads DynamoDB refuses. Helpers shared with `index_backfill` and
//! `index_validation` live here.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, GlobalSecondaryIndex, IndexStatus, KeyType, LocalSecondaryIndex,
    Projection, ProjectionType, PutRequest, ReturnItemCollectionMetrics, ScalarAttributeType,
    Select, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

#[tokio::test]
async fn t40_global_secondary_index() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("gsi")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("team", ScalarAttributeType::S))
        .attribute_definitions(attr_def("score", ScalarAttributeType::N))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_team")
                .key_schema(key_elem("team", KeyType::Hash))
                .key_schema(key_elem("score", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("team_keys")
                .key_schema(key_elem("team", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "gsi").await;
    for (pk, team, score) in [
        ("a", "red", 30),
        ("b", "red", 10),
        ("c", "blue", 5),
        ("d", "red", 20),
    ] {
        c.put_item()
            .table_name("gsi")
            .item("pk", s(pk))
            .item("team", s(team))
            .item("score", ni(score))
            .item("extra", s("e"))
            .send()
            .await
            .unwrap();
    }
    // Sparse: no index key, not in the index.
    c.put_item()
        .table_name("gsi")
        .item("pk", s("e"))
        .item("extra", s("e"))
        .send()
        .await
        .unwrap();

    let red = |c: &Client| {
        c.query()
            .table_name("gsi")
            .index_name("by_team")
            .key_condition_expression("team = :t")
            .expression_attribute_values(":t", s("red"))
            .send()
    };
    let r = red(&c).await.unwrap();
    let pks: Vec<&str> = r.items().iter().map(|i| get_s(i, "pk").unwrap()).collect();
    assert_eq!(pks, ["b", "d", "a"], "ordered by score");
    assert_eq!(r.items()[0].get("extra"), Some(&s("e")), "ALL projection");

    let r = c
        .scan()
        .table_name("gsi")
        .index_name("by_team")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.count(),
        4,
        "the item without index keys is not in the index"
    );

    // KEYS_ONLY: table key plus index key only.
    let r = c
        .query()
        .table_name("gsi")
        .index_name("team_keys")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("blue"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.items(), &[item(&[("pk", s("c")), ("team", s("blue"))])]);

    // Index maintenance on update and delete.
    c.update_item()
        .table_name("gsi")
        .key("pk", s("a"))
        .update_expression("SET team = :b")
        .expression_attribute_values(":b", s("blue"))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("gsi")
        .key("pk", s("b"))
        .send()
        .await
        .unwrap();
    let r = red(&c).await.unwrap();
    let pks: Vec<&str> = r.items().iter().map(|i| get_s(i, "pk").unwrap()).collect();
    assert_eq!(pks, ["d"]);

    // Strongly consistent reads are not supported on a GSI; unknown indexes are rejected.
    let r = c
        .query()
        .table_name("gsi")
        .index_name("by_team")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("red"))
        .consistent_read(true)
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .query()
        .table_name("gsi")
        .index_name("nosuch")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("red"))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // An index key attribute must have the declared type.
    let r = c
        .put_item()
        .table_name("gsi")
        .item("pk", s("x"))
        .item("team", ni(1))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t41_local_secondary_index() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("lsi")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("rank", ScalarAttributeType::N))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_rank")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("rank", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "lsi").await;
    for (sk, rank) in [("a", 3), ("b", 1), ("c", 2)] {
        c.put_item()
            .table_name("lsi")
            .item("pk", s("p"))
            .item("sk", s(sk))
            .item("rank", ni(rank))
            .send()
            .await
            .unwrap();
    }
    c.put_item()
        .table_name("lsi")
        .item("pk", s("p"))
        .item("sk", s("norank"))
        .send()
        .await
        .unwrap();
    let r = c
        .query()
        .table_name("lsi")
        .index_name("by_rank")
        .key_condition_expression("pk = :p AND #r >= :lo")
        .expression_attribute_names("#r", "rank")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":lo", ni(2))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = r.items().iter().map(|i| get_s(i, "sk").unwrap()).collect();
    assert_eq!(got, ["c", "a"]);

    // Paginating an index query: the LastEvaluatedKey holds table and index keys.
    let r = c
        .query()
        .table_name("lsi")
        .index_name("by_rank")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .limit(1)
        .send()
        .await
        .unwrap();
    let lek = r.last_evaluated_key().unwrap();
    assert_eq!(
        lek,
        &item(&[("pk", s("p")), ("sk", s("b")), ("rank", ni(1))])
    );
    let r = c
        .query()
        .table_name("lsi")
        .index_name("by_rank")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .set_exclusive_start_key(Some(lek.clone()))
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = r.items().iter().map(|i| get_s(i, "sk").unwrap()).collect();
    assert_eq!(got, ["c", "a"]);
}

// ---------------------------------------------------------------------------------------------
// A single-table design: users, orders and order lines in one table, with an inverted GSI,
// a sparse status GSI (INCLUDE projection) and an LSI by date (KEYS_ONLY).

pub(crate) type Row = HashMap<String, AttributeValue>;

pub(crate) fn gsi(
    name: &str,
    hash: &str,
    range: Option<&str>,
    projection: Projection,
) -> GlobalSecondaryIndex {
    let mut b = GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_elem(hash, KeyType::Hash))
        .projection(projection);
    if let Some(range) = range {
        b = b.key_schema(key_elem(range, KeyType::Range));
    }
    b.build().unwrap()
}

pub(crate) fn projection(kind: ProjectionType, include: &[&str]) -> Projection {
    let mut b = Projection::builder().projection_type(kind);
    for a in include {
        b = b.non_key_attributes(*a);
    }
    b.build()
}

pub(crate) async fn create_app_table(c: &Client) {
    c.create_table()
        .table_name("app")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("gsi1pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("gsi1sk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("status", ScalarAttributeType::S))
        .attribute_definitions(attr_def("created", ScalarAttributeType::N))
        .attribute_definitions(attr_def("date", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(gsi(
            "gsi1",
            "gsi1pk",
            Some("gsi1sk"),
            projection(ProjectionType::All, &[]),
        ))
        .global_secondary_indexes(gsi(
            "by_status",
            "status",
            Some("created"),
            projection(ProjectionType::Include, &["total"]),
        ))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_date")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("date", KeyType::Range))
                .projection(projection(ProjectionType::KeysOnly, &[]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(c, "app").await;
}

fn user(id: usize) -> Row {
    item(&[
        ("pk", s(&format!("USER#{id}"))),
        ("sk", s("PROFILE")),
        ("gsi1pk", s(&format!("EMAIL#u{id}@example.com"))),
        ("gsi1sk", s(&format!("USER#{id}"))),
        ("name", s(&format!("user {id}"))),
    ])
}

pub(crate) fn order(user: usize, id: usize) -> Row {
    let status = ["PENDING", "SHIPPED", "DELIVERED"][id % 3];
    item(&[
        ("pk", s(&format!("USER#{user}"))),
        ("sk", s(&format!("ORDER#{id:04}"))),
        ("gsi1pk", s(&format!("ORDER#{id:04}"))),
        ("gsi1sk", s(&format!("USER#{user}"))),
        ("status", s(status)),
        ("created", ni(1000 + id as i64)),
        ("date", s(&format!("2026-11-{:02}", 1 + id % 28))),
        ("total", ni(10 * id as i64)),
        ("note", s("leave at the door")),
    ])
}

/// Order lines have no status and no date: absent from by_status and by_date.
fn line(order: usize, n: usize) -> Row {
    item(&[
        ("pk", s(&format!("ORDER#{order:04}"))),
        ("sk", s(&format!("LINE#{n}"))),
        ("gsi1pk", s(&format!("ORDER#{order:04}"))),
        ("gsi1sk", s(&format!("LINE#{n}"))),
        ("sku", s(&format!("sku-{n}"))),
    ])
}

pub(crate) async fn put_all(c: &Client, table: &str, rows: Vec<Row>) {
    for chunk in rows.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|r| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(r.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let mut pending = Some(HashMap::from([(table.to_owned(), requests)]));
        while let Some(items) = pending.take() {
            let r = c
                .batch_write_item()
                .set_request_items(Some(items))
                .send()
                .await
                .unwrap();
            pending = r.unprocessed_items().filter(|u| !u.is_empty()).cloned();
        }
    }
}

/// Every item of a table or index, by paginated Scan.
pub(crate) async fn scan_all(c: &Client, table: &str, index: Option<&str>) -> Vec<Row> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let r = c
            .scan()
            .table_name(table)
            .set_index_name(index.map(str::to_owned))
            .limit(97)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        out.extend(r.items().iter().cloned());
        match r.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return out,
        }
    }
}

pub(crate) fn project(row: &Row, keep: &[&str]) -> Row {
    row.iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn sort_rows(rows: &mut [Row]) {
    rows.sort_by_key(|r| format!("{:?}/{:?}", r.get("pk"), r.get("sk")));
}

#[tokio::test]
async fn t42_single_table_design() {
    let server = Server::start().await;
    let c = server.client();
    // --- a table of users, orders and order lines
    create_app_table(&c).await;
    let mut rows = Vec::new();
    for u in 0..10 {
        rows.push(user(u));
    }
    for o in 0..60 {
        rows.push(order(o % 10, o));
        for n in 0..2 {
            rows.push(line(o, n));
        }
    }
    put_all(&c, "app", rows.clone()).await;

    // --- GSI lookups: a user by email, an order's lines and owner
    let r = c
        .query()
        .table_name("app")
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :e")
        .expression_attribute_values(":e", s("EMAIL#u3@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.items(), &[user(3)]);
    let r = c
        .query()
        .table_name("app")
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :o AND begins_with(gsi1sk, :l)")
        .expression_attribute_values(":o", s("ORDER#0007"))
        .expression_attribute_values(":l", s("LINE#"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.items(), &[line(7, 0), line(7, 1)]);

    // --- sparse status index, INCLUDE projection, pages of 7
    // `status` and `date` are reserved words: expression names throughout.
    let mut q = c
        .query()
        .table_name("app")
        .index_name("by_status")
        .key_condition_expression("#s = :s AND created BETWEEN :lo AND :hi")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("SHIPPED"))
        .expression_attribute_values(":lo", ni(1010))
        .expression_attribute_values(":hi", ni(1040))
        .scan_index_forward(false)
        .limit(4);
    let mut got = Vec::new();
    loop {
        let r = q.clone().send().await.unwrap();
        for it in r.items() {
            got.push(get_n(it, "created").unwrap().to_owned());
            assert_eq!(
                it.keys()
                    .map(String::as_str)
                    .collect::<std::collections::BTreeSet<_>>(),
                ["created", "pk", "sk", "status", "total"].into(),
                "INCLUDE projection: keys plus total"
            );
        }
        match r.last_evaluated_key() {
            Some(key) => {
                assert_eq!(key.len(), 4, "table key and index key: {key:?}");
                q = q.set_exclusive_start_key(Some(key.clone()));
            }
            None => break,
        }
    }
    let want: Vec<String> = (10..=40)
        .rev()
        .filter(|o| o % 3 == 1)
        .map(|o| (1000 + o).to_string())
        .collect();
    assert_eq!(got, want);

    // --- every page of a GSI query, Limit 7
    let mut all_shipped = Vec::new();
    let mut start: Option<Row> = None;
    let mut pages = 0;
    loop {
        let r = c
            .query()
            .table_name("app")
            .index_name("by_status")
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", s("SHIPPED"))
            .limit(7)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        all_shipped.extend(r.items().iter().cloned());
        match r.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    assert_eq!(all_shipped.len(), 20);
    assert_eq!(pages, 3, "20 items in pages of 7");
    let created: Vec<i64> = all_shipped
        .iter()
        .map(|i| get_n(i, "created").unwrap().parse().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] < w[1]), "{created:?}");

    // --- LSI: consistent query, KEYS_ONLY, fetching the rest from the table
    let r = c
        .query()
        .table_name("app")
        .index_name("by_date")
        .key_condition_expression("pk = :u AND #d >= :d")
        .expression_attribute_names("#d", "date")
        .expression_attribute_values(":u", s("USER#2"))
        .expression_attribute_values(":d", s("2026-11-10"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let dates: Vec<&str> = r
        .items()
        .iter()
        .map(|i| get_s(i, "date").unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2026-11-13", "2026-11-15", "2026-11-23", "2026-11-25"],
        "orders 12, 42, 22 and 52 of user 2, in date order"
    );
    assert_eq!(r.items()[0].len(), 3, "KEYS_ONLY: pk, sk, date");
    let r = c
        .query()
        .table_name("app")
        .index_name("by_date")
        .key_condition_expression("pk = :u AND #d >= :d")
        .expression_attribute_names("#d", "date")
        .expression_attribute_values(":u", s("USER#2"))
        .expression_attribute_values(":d", s("2026-11-10"))
        .select(Select::AllAttributes)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.items(),
        &[order(2, 12), order(2, 42), order(2, 22), order(2, 52)]
    );
    let r = c
        .query()
        .table_name("app")
        .index_name("by_date")
        .key_condition_expression("pk = :u")
        .expression_attribute_values(":u", s("USER#2"))
        .projection_expression("sk, note")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.items(),
        &[item(&[
            ("sk", s("ORDER#0002")),
            ("note", s("leave at the door"))
        ])],
        "the earliest date of user 2's orders"
    );

    // --- ReturnItemCollectionMetrics on a table with an LSI
    let r = c
        .put_item()
        .table_name("app")
        .set_item(Some(order(2, 99)))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    let metrics = r.item_collection_metrics().expect("ItemCollectionMetrics");
    assert_eq!(
        metrics.item_collection_key(),
        Some(&item(&[("pk", s("USER#2"))]))
    );
    assert_eq!(metrics.size_estimate_range_gb(), &[0.0, 1.0]);

    // --- updates move items between index partitions; deletes remove them
    c.update_item()
        .table_name("app")
        .key("pk", s("USER#1"))
        .key("sk", s("ORDER#0001"))
        .update_expression("SET #s = :d REMOVE #dt")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#dt", "date")
        .expression_attribute_values(":d", s("DELIVERED"))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("app")
        .key("pk", s("USER#4"))
        .key("sk", s("ORDER#0004"))
        .send()
        .await
        .unwrap();

    // --- each index equals the projection of the table's items that have its keys
    let table = scan_all(&c, "app", None).await;
    let check = |index_rows: Vec<Row>, keys: &[&str], keep: Option<&[&str]>| {
        let mut want: Vec<Row> = table
            .iter()
            .filter(|r| keys.iter().all(|k| r.contains_key(*k)))
            .map(|r| match keep {
                Some(keep) => project(r, keep),
                None => r.clone(),
            })
            .collect();
        let mut got = index_rows;
        sort_rows(&mut want);
        sort_rows(&mut got);
        assert_eq!(got, want, "index over {keys:?}");
    };
    check(
        scan_all(&c, "app", Some("gsi1")).await,
        &["gsi1pk", "gsi1sk"],
        None,
    );
    check(
        scan_all(&c, "app", Some("by_status")).await,
        &["status", "created"],
        Some(&["pk", "sk", "status", "created", "total"]),
    );
    check(
        scan_all(&c, "app", Some("by_date")).await,
        &["date"],
        Some(&["pk", "sk", "date"]),
    );

    // --- DescribeTable reports each index's ItemCount and size
    let desc = c.describe_table().table_name("app").send().await.unwrap();
    let t = desc.table().unwrap();
    let by_status = t
        .global_secondary_indexes()
        .iter()
        .find(|g| g.index_name() == Some("by_status"))
        .unwrap();
    assert_eq!(by_status.item_count(), Some(60), "61 orders, one deleted");
    assert!(by_status.index_size_bytes().unwrap() > 0);
    assert_eq!(by_status.index_status(), Some(&IndexStatus::Active));
    let by_date = &t.local_secondary_indexes()[0];
    assert_eq!(
        by_date.item_count(),
        Some(59),
        "one deleted, one lost its date"
    );

    // --- ConsistentRead on a GSI, Select ALL_ATTRIBUTES on an INCLUDE GSI
    let r = c
        .scan()
        .table_name("app")
        .index_name("gsi1")
        .consistent_read(true)
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .query()
        .table_name("app")
        .index_name("by_status")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("SHIPPED"))
        .select(Select::AllAttributes)
        .send()
        .await;
    expect_error(r, "ValidationException");
}
