//! Query and Scan: key conditions, ordering, pagination, Select, filters, parallel scan, the
//! 1 MB page limit. Secondary indexes are in `indexes.rs`.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType, Select};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

type Item = HashMap<String, AttributeValue>;
/// A sort key condition, its numeric values, and the sort keys it selects.
type KeyCase<'a> = (&'a str, Vec<(&'a str, i64)>, Vec<String>);

/// Table "qry" (pk S, sk N) with partition "p" holding sk 1..=20 (v = sk*10) and partition
/// "other" holding sk 1..=3.
async fn setup() -> (Server, Client) {
    let server = Server::start().await;
    let c = server.client();
    create_composite_table(&c, "qry").await;
    for i in 1..=20 {
        c.put_item()
            .table_name("qry")
            .item("pk", s("p"))
            .item("sk", ni(i))
            .item("v", ni(i * 10))
            .item("even", AttributeValue::Bool(i % 2 == 0))
            .send()
            .await
            .unwrap();
    }
    for i in 1..=3 {
        c.put_item()
            .table_name("qry")
            .item("pk", s("other"))
            .item("sk", ni(i))
            .send()
            .await
            .unwrap();
    }
    (server, c)
}

fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| get_n(i, "sk").expect("sk").to_owned())
        .collect()
}

fn range(lo: i64, hi: i64) -> Vec<String> {
    (lo..=hi).map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn t10_query_returns_partition_in_sort_key_order() {
    let (_server, c) = setup().await;
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sks(r.items()),
        range(1, 20),
        "numeric, not lexicographic, order"
    );
    assert_eq!(r.count(), 20);
    assert_eq!(r.scanned_count(), 20);
    assert!(r.last_evaluated_key().is_none());

    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let mut desc = range(1, 20);
    desc.reverse();
    assert_eq!(sks(r.items()), desc);

    // A partition with no items.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("empty"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.count(), 0);
    assert!(r.items().is_empty());
}

#[tokio::test]
async fn t11_sort_key_operators() {
    let (_server, c) = setup().await;
    let cases: Vec<KeyCase<'_>> = vec![
        ("sk = :a", vec![(":a", 5)], range(5, 5)),
        ("sk < :a", vec![(":a", 5)], range(1, 4)),
        ("sk <= :a", vec![(":a", 5)], range(1, 5)),
        ("sk > :a", vec![(":a", 15)], range(16, 20)),
        ("sk >= :a", vec![(":a", 15)], range(15, 20)),
        (
            "sk BETWEEN :a AND :b",
            vec![(":a", 5), (":b", 8)],
            range(5, 8),
        ),
        (
            "sk BETWEEN :a AND :b",
            vec![(":a", 8), (":b", 8)],
            range(8, 8),
        ),
        ("sk > :a", vec![(":a", 20)], vec![]),
    ];
    for (cond, values, expected) in cases {
        let mut q = c
            .query()
            .table_name("qry")
            .key_condition_expression(format!("pk = :p AND {cond}"))
            .expression_attribute_values(":p", s("p"));
        for (name, v) in values {
            q = q.expression_attribute_values(name, ni(v));
        }
        let r = q.send().await.unwrap_or_else(|e| panic!("{cond}: {e:?}"));
        assert_eq!(sks(r.items()), expected, "{cond}");
    }

    // Condition written the other way round and with parentheses.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("(sk >= :a) AND (#k = :p)")
        .expression_attribute_names("#k", "pk")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":a", ni(19))
        .send()
        .await
        .unwrap();
    assert_eq!(sks(r.items()), range(19, 20));

    // BETWEEN with the bounds reversed is a validation error.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p AND sk BETWEEN :a AND :b")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":a", ni(8))
        .expression_attribute_values(":b", ni(5))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t12_begins_with_and_string_order() {
    let server = Server::start().await;
    let c = server.client();
    create_table(
        &c,
        "qstr",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::S)),
    )
    .await;
    // Strings sort by their UTF-8 bytes: "B" < "Z" < "a" < "aa" < "ab" < "abc" < "b" < "~" <
    // "é" < U+FF61 < U+1F600 (UTF-16 order would put the emoji before U+FF61).
    let expected = [
        "B", "Z", "a", "aa", "ab", "abc", "b", "~", "é", "\u{ff61}", "😀",
    ];
    for v in expected.iter().rev() {
        c.put_item()
            .table_name("qstr")
            .item("pk", s("p"))
            .item("sk", s(v))
            .send()
            .await
            .unwrap();
    }
    let all = c
        .query()
        .table_name("qstr")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = all
        .items()
        .iter()
        .map(|i| get_s(i, "sk").unwrap())
        .collect();
    assert_eq!(got, expected);

    let r = c
        .query()
        .table_name("qstr")
        .key_condition_expression("pk = :p AND begins_with(sk, :pre)")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":pre", s("a"))
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = r.items().iter().map(|i| get_s(i, "sk").unwrap()).collect();
    assert_eq!(got, ["a", "aa", "ab", "abc"]);

    // begins_with is not allowed on a number sort key.
    create_composite_table(&c, "qry").await;
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p AND begins_with(sk, :pre)")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":pre", ni(1))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t13_number_and_binary_sort_orders() {
    let server = Server::start().await;
    let c = server.client();
    create_composite_table(&c, "qnum").await;
    let numbers = [
        "-100",
        "-5",
        "-1.5",
        "-0.25",
        "0",
        "0.001",
        "2",
        "10",
        "100",
        "1000000000000",
    ];
    for v in numbers.iter().rev() {
        c.put_item()
            .table_name("qnum")
            .item("pk", s("p"))
            .item("sk", n(v))
            .send()
            .await
            .unwrap();
    }
    let r = c
        .query()
        .table_name("qnum")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap();
    assert_eq!(sks(r.items()), numbers);

    create_table(
        &c,
        "qbin",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::B)),
    )
    .await;
    let binaries: [&[u8]; 6] = [&[0x00], &[0x01], &[0x7f], &[0x80], &[0xff], &[0xff, 0x00]];
    for v in binaries.iter().rev() {
        c.put_item()
            .table_name("qbin")
            .item("pk", s("p"))
            .item("sk", b(v))
            .send()
            .await
            .unwrap();
    }
    let r = c
        .query()
        .table_name("qbin")
        .key_condition_expression("pk = :p AND sk >= :lo")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":lo", b(&[0x01]))
        .send()
        .await
        .unwrap();
    let got: Vec<Vec<u8>> = r
        .items()
        .iter()
        .map(|i| i["sk"].as_b().unwrap().as_ref().to_vec())
        .collect();
    let want: Vec<Vec<u8>> = binaries[1..].iter().map(|v| v.to_vec()).collect();
    assert_eq!(got, want, "binary keys order by unsigned bytes");
}

/// Pages through a query with `limit`, checking each page, and returns all items.
async fn query_pages(c: &Client, limit: i32, forward: bool) -> Vec<Item> {
    let mut all = Vec::new();
    let mut start: Option<Item> = None;
    for _ in 0..50 {
        let r = c
            .query()
            .table_name("qry")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .limit(limit)
            .scan_index_forward(forward)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        assert!(r.items().len() <= limit as usize);
        all.extend(r.items().iter().cloned());
        match r.last_evaluated_key() {
            Some(lek) => {
                let last = r
                    .items()
                    .last()
                    .expect("a page with a LastEvaluatedKey has items");
                assert_eq!(
                    lek,
                    &item(&[("pk", last["pk"].clone()), ("sk", last["sk"].clone())])
                );
                start = Some(lek.clone());
            }
            None => return all,
        }
    }
    panic!("pagination did not end");
}

#[tokio::test]
async fn t20_query_pagination() {
    let (_server, c) = setup().await;
    assert_eq!(sks(&query_pages(&c, 7, true).await), range(1, 20));
    assert_eq!(sks(&query_pages(&c, 5, true).await), range(1, 20));
    let mut desc = range(1, 20);
    desc.reverse();
    assert_eq!(sks(&query_pages(&c, 3, false).await), desc);

    // ExclusiveStartKey resumes strictly after the given key.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .exclusive_start_key("pk", s("p"))
        .exclusive_start_key("sk", ni(10))
        .send()
        .await
        .unwrap();
    assert_eq!(sks(r.items()), range(11, 20));

    // Limit must be positive.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .limit(0)
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t21_select_count_and_filters() {
    let (_server, c) = setup().await;
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(r.count(), 20);
    assert_eq!(r.scanned_count(), 20);
    assert!(r.items().is_empty(), "COUNT returns no items");

    // The filter applies after the read: Count counts matches, ScannedCount what was read.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .filter_expression("v > :x")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":x", ni(100))
        .send()
        .await
        .unwrap();
    assert_eq!(sks(r.items()), range(11, 20));
    assert_eq!(r.count(), 10);
    assert_eq!(r.scanned_count(), 20);

    // Limit bounds the items read, before the filter.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .filter_expression("even = :t")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .limit(5)
        .send()
        .await
        .unwrap();
    assert_eq!(sks(r.items()), vec!["2", "4"]);
    assert_eq!(r.count(), 2);
    assert_eq!(r.scanned_count(), 5);
    assert!(r.last_evaluated_key().is_some());

    // COUNT with a filter.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .filter_expression("even = :t")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!((r.count(), r.scanned_count()), (10, 20));

    // A query filter may not name key attributes.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .filter_expression("sk > :x")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":x", ni(3))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t22_key_condition_validation() {
    let (_server, c) = setup().await;
    let bad: Vec<(&str, Vec<(&str, AttributeValue)>)> = vec![
        ("sk = :n", vec![(":n", ni(1))]),  // no partition key
        ("v = :n", vec![(":n", ni(1))]),   // not a key
        ("pk < :p", vec![(":p", s("p"))]), // partition key needs =
        ("pk = :p OR sk = :n", vec![(":p", s("p")), (":n", ni(1))]), // OR
        (
            "pk = :p AND sk > :n AND sk < :n",
            vec![(":p", s("p")), (":n", ni(1))],
        ), // two on sk
        ("pk = :p AND v = :n", vec![(":p", s("p")), (":n", ni(1))]), // non-key
        ("pk = :n", vec![(":n", ni(1))]),  // wrong type
        ("pk = :p AND sk <> :n", vec![(":p", s("p")), (":n", ni(1))]), // <> not allowed
    ];
    for (cond, values) in bad {
        let mut q = c.query().table_name("qry").key_condition_expression(cond);
        for (k, v) in values {
            q = q.expression_attribute_values(k, v);
        }
        let r = q.send().await;
        let code = match &r {
            Ok(_) => "<ok>".to_owned(),
            Err(e) => error_code(e),
        };
        assert_eq!(code, "ValidationException", "{cond}: {r:?}");
    }
    // No key condition at all.
    expect_error(
        c.query().table_name("qry").send().await,
        "ValidationException",
    );
}

#[tokio::test]
async fn t23_projection_and_select() {
    let (_server, c) = setup().await;
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p AND sk <= :n")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":n", ni(2))
        .projection_expression("sk, v")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.items(),
        &[
            item(&[("sk", ni(1)), ("v", ni(10))]),
            item(&[("sk", ni(2)), ("v", ni(20))])
        ]
    );

    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p AND sk = :n")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":n", ni(2))
        .select(Select::SpecificAttributes)
        .projection_expression("v")
        .send()
        .await
        .unwrap();
    assert_eq!(r.items(), &[item(&[("v", ni(20))])]);

    // ALL_ATTRIBUTES together with a projection is contradictory.
    let r = c
        .query()
        .table_name("qry")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .select(Select::AllAttributes)
        .projection_expression("v")
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t24_query_and_scan_consumed_capacity() {
    let (_server, c) = setup().await;
    // Reads are charged on the total size of the items read, rounded up to 4 KB: 20 small
    // items are one unit strongly consistent and half a unit eventually consistent.
    for (consistent, expected) in [(true, 1.0), (false, 0.5)] {
        let r = c
            .query()
            .table_name("qry")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .consistent_read(consistent)
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        let cc = r.consumed_capacity().expect("ConsumedCapacity");
        assert_eq!(cc.table_name(), Some("qry"));
        assert_eq!(
            cc.capacity_units(),
            Some(expected),
            "Query, consistent={consistent}"
        );
    }
    let r = c
        .scan()
        .table_name("qry")
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.consumed_capacity().and_then(|cc| cc.capacity_units()),
        Some(0.5),
        "Scan"
    );
}

/// Scans with the given segment (if any) and page size, returning every item.
async fn scan_all(
    c: &Client,
    table: &str,
    segment: Option<(i32, i32)>,
    limit: Option<i32>,
) -> Vec<Item> {
    let mut all = Vec::new();
    let mut start: Option<Item> = None;
    for _ in 0..1000 {
        let r = c
            .scan()
            .table_name(table)
            .set_segment(segment.map(|s| s.0))
            .set_total_segments(segment.map(|s| s.1))
            .set_limit(limit)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        if let Some(limit) = limit {
            assert!(r.items().len() <= limit as usize);
        }
        assert_eq!(r.count() as usize, r.items().len());
        all.extend(r.items().iter().cloned());
        match r.last_evaluated_key() {
            Some(lek) => start = Some(lek.clone()),
            None => return all,
        }
    }
    panic!("scan pagination did not end");
}

fn keys(items: &[Item]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|i| {
            (
                get_s(i, "pk").unwrap().to_owned(),
                get_n(i, "sk").unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn t30_scan_with_pagination() {
    let (_server, c) = setup().await;
    let whole = scan_all(&c, "qry", None, None).await;
    assert_eq!(whole.len(), 23);
    let expected: BTreeSet<(String, String)> = keys(&whole).into_iter().collect();
    assert_eq!(expected.len(), 23);

    let paged = scan_all(&c, "qry", None, Some(4)).await;
    let paged_keys = keys(&paged);
    assert_eq!(paged_keys.len(), 23, "no item twice");
    let paged_set: BTreeSet<_> = paged_keys.into_iter().collect();
    assert_eq!(paged_set, expected);
}

#[tokio::test]
async fn t31_parallel_scan_covers_every_item_once() {
    let server = Server::start().await;
    let c = server.client();
    create_composite_table(&c, "pscan").await;
    let mut puts = Vec::new();
    for i in 0..200 {
        puts.push(
            aws_sdk_dynamodb::types::WriteRequest::builder()
                .put_request(
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .item("pk", s(&format!("part{}", i % 37)))
                        .item("sk", ni(i))
                        .build()
                        .unwrap(),
                )
                .build(),
        );
    }
    for chunk in puts.chunks(25) {
        let r = c
            .batch_write_item()
            .request_items("pscan", chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert!(r.unprocessed_items().is_none_or(HashMap::is_empty));
    }
    for total in [1, 3, 4, 7] {
        let mut seen = Vec::new();
        for segment in 0..total {
            seen.extend(keys(
                &scan_all(&c, "pscan", Some((segment, total)), Some(9)).await,
            ));
        }
        assert_eq!(
            seen.len(),
            200,
            "TotalSegments={total}: every item exactly once"
        );
        let set: BTreeSet<_> = seen.into_iter().collect();
        assert_eq!(set.len(), 200, "TotalSegments={total}: no duplicates");
    }

    for (segment, total) in [
        (Some(4), Some(4)),
        (Some(-1), Some(4)),
        (Some(0), None),
        (None, Some(2)),
        (Some(0), Some(0)),
        (Some(0), Some(1_000_001)),
    ] {
        let r = c
            .scan()
            .table_name("pscan")
            .set_segment(segment)
            .set_total_segments(total)
            .send()
            .await;
        let code = match &r {
            Ok(_) => "<ok>".to_owned(),
            Err(e) => error_code(e),
        };
        assert_eq!(
            code, "ValidationException",
            "Segment={segment:?} TotalSegments={total:?}"
        );
    }
}

#[tokio::test]
async fn t32_scan_filter_and_count() {
    let (_server, c) = setup().await;
    let r = c
        .scan()
        .table_name("qry")
        .filter_expression("attribute_exists(v) AND v BETWEEN :lo AND :hi")
        .expression_attribute_values(":lo", ni(50))
        .expression_attribute_values(":hi", ni(70))
        .send()
        .await
        .unwrap();
    let mut got = sks(r.items());
    got.sort_by_key(|v| v.parse::<i64>().unwrap());
    assert_eq!(got, range(5, 7));
    assert_eq!(r.count(), 3);
    assert_eq!(r.scanned_count(), 23);

    let r = c
        .scan()
        .table_name("qry")
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(r.count(), 23);
    assert!(r.items().is_empty());

    // Unlike a query filter, a scan filter may name key attributes.
    let r = c
        .scan()
        .table_name("qry")
        .filter_expression("pk = :o")
        .expression_attribute_values(":o", s("other"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.count(), 3);

    let r = c.scan().table_name("missing").send().await;
    expect_error(r, "ResourceNotFoundException");
}
