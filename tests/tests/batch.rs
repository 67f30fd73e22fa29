//! BatchGetItem and BatchWriteItem: multi-table batches, limits, duplicate keys, projections.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, ReturnConsumedCapacity,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

type Item = HashMap<String, AttributeValue>;

fn put(item: Item) -> WriteRequest {
    WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
        .build()
}

fn del(key: Item) -> WriteRequest {
    WriteRequest::builder()
        .delete_request(DeleteRequest::builder().set_key(Some(key)).build().unwrap())
        .build()
}

fn keys_of(keys: Vec<Item>) -> KeysAndAttributes {
    KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .build()
        .unwrap()
}

async fn setup() -> (Server, Client) {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "tba").await;
    create_composite_table(&c, "tbb").await;
    (server, c)
}

#[tokio::test]
async fn t10_batch_write_then_batch_get() {
    let (_server, c) = setup().await;
    let writes: Vec<WriteRequest> = (0..25)
        .map(|i| put(item(&[("pk", s(&format!("k{i}"))), ("v", ni(i))])))
        .collect();
    let r = c
        .batch_write_item()
        .request_items("tba", writes)
        .send()
        .await
        .unwrap();
    assert!(
        r.unprocessed_items().is_none_or(HashMap::is_empty),
        "{:?}",
        r.unprocessed_items()
    );

    let keys: Vec<Item> = (0..25)
        .map(|i| item(&[("pk", s(&format!("k{i}")))]))
        .collect();
    let r = c
        .batch_get_item()
        .request_items("tba", keys_of(keys))
        .send()
        .await
        .unwrap();
    assert!(r.unprocessed_keys().is_none_or(HashMap::is_empty));
    let got = &r.responses().unwrap()["tba"];
    assert_eq!(got.len(), 25);
    let vs: BTreeSet<i64> = got
        .iter()
        .map(|i| get_n(i, "v").unwrap().parse().unwrap())
        .collect();
    assert_eq!(vs, (0..25).collect());
}

#[tokio::test]
async fn t11_multi_table_puts_and_deletes() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("tba")
        .item("pk", s("old"))
        .send()
        .await
        .unwrap();
    c.put_item()
        .table_name("tbb")
        .item("pk", s("x"))
        .item("sk", ni(1))
        .send()
        .await
        .unwrap();

    c.batch_write_item()
        .request_items(
            "tba",
            vec![
                put(item(&[("pk", s("new"))])),
                del(item(&[("pk", s("old"))])),
            ],
        )
        .request_items(
            "tbb",
            vec![
                put(item(&[("pk", s("x")), ("sk", ni(2)), ("v", s("two"))])),
                del(item(&[("pk", s("x")), ("sk", ni(1))])),
                // Deleting a missing item is not an error.
                del(item(&[("pk", s("x")), ("sk", ni(99))])),
            ],
        )
        .send()
        .await
        .unwrap();

    let r = c
        .batch_get_item()
        .request_items(
            "tba",
            keys_of(vec![item(&[("pk", s("new"))]), item(&[("pk", s("old"))])]),
        )
        .request_items(
            "tbb",
            KeysAndAttributes::builder()
                .keys(item(&[("pk", s("x")), ("sk", ni(1))]))
                .keys(item(&[("pk", s("x")), ("sk", ni(2))]))
                .projection_expression("#v")
                .expression_attribute_names("#v", "v")
                .consistent_read(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let responses = r.responses().unwrap();
    assert_eq!(
        responses["tba"],
        vec![item(&[("pk", s("new"))])],
        "missing keys are simply absent"
    );
    assert_eq!(responses["tbb"], vec![item(&[("v", s("two"))])]);
}

#[tokio::test]
async fn t20_batch_limits() {
    let (_server, c) = setup().await;
    // 26 write requests.
    let writes: Vec<WriteRequest> = (0..26)
        .map(|i| put(item(&[("pk", s(&format!("k{i}")))])))
        .collect();
    expect_error(
        c.batch_write_item()
            .request_items("tba", writes)
            .send()
            .await,
        "ValidationException",
    );
    // 26 across two tables.
    let wa: Vec<WriteRequest> = (0..13)
        .map(|i| put(item(&[("pk", s(&format!("k{i}")))])))
        .collect();
    let wb: Vec<WriteRequest> = (0..13)
        .map(|i| put(item(&[("pk", s("p")), ("sk", ni(i))])))
        .collect();
    expect_error(
        c.batch_write_item()
            .request_items("tba", wa)
            .request_items("tbb", wb)
            .send()
            .await,
        "ValidationException",
    );
    // Nothing was written.
    let r = c.scan().table_name("tba").send().await.unwrap();
    assert_eq!(r.count(), 0);

    // 100 keys is fine, 101 is not.
    let keys: Vec<Item> = (0..100)
        .map(|i| item(&[("pk", s(&format!("k{i}")))]))
        .collect();
    let r = c
        .batch_get_item()
        .request_items("tba", keys_of(keys))
        .send()
        .await
        .unwrap();
    assert!(r.responses().unwrap().get("tba").is_none_or(Vec::is_empty));
    let keys: Vec<Item> = (0..101)
        .map(|i| item(&[("pk", s(&format!("k{i}")))]))
        .collect();
    expect_error(
        c.batch_get_item()
            .request_items("tba", keys_of(keys))
            .send()
            .await,
        "ValidationException",
    );

    // Empty request.
    expect_error(
        c.batch_write_item()
            .set_request_items(Some(HashMap::new()))
            .send()
            .await,
        "ValidationException",
    );
    expect_error(
        c.batch_get_item()
            .set_request_items(Some(HashMap::new()))
            .send()
            .await,
        "ValidationException",
    );
}

#[tokio::test]
async fn t21_duplicate_keys_are_rejected() {
    let (_server, c) = setup().await;
    let r = c
        .batch_write_item()
        .request_items(
            "tba",
            vec![
                put(item(&[("pk", s("k")), ("v", ni(1))])),
                put(item(&[("pk", s("k")), ("v", ni(2))])),
            ],
        )
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .batch_write_item()
        .request_items(
            "tba",
            vec![put(item(&[("pk", s("k"))])), del(item(&[("pk", s("k"))]))],
        )
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .batch_get_item()
        .request_items(
            "tba",
            keys_of(vec![item(&[("pk", s("k"))]), item(&[("pk", s("k"))])]),
        )
        .send()
        .await;
    expect_error(r, "ValidationException");
    assert!(c
        .get_item()
        .table_name("tba")
        .key("pk", s("k"))
        .send()
        .await
        .unwrap()
        .item()
        .is_none());
}

#[tokio::test]
async fn t22_invalid_requests_reject_the_whole_batch() {
    let (_server, c) = setup().await;
    // One bad item (wrong key type) fails the batch; the good one is not written.
    let r = c
        .batch_write_item()
        .request_items(
            "tba",
            vec![put(item(&[("pk", s("good"))])), put(item(&[("pk", ni(1))]))],
        )
        .send()
        .await;
    expect_error(r, "ValidationException");
    // An item over 400 KB.
    let r = c
        .batch_write_item()
        .request_items(
            "tba",
            vec![
                put(item(&[("pk", s("good"))])),
                put(item(&[("pk", s("huge")), ("d", s(&"x".repeat(410_000)))])),
            ],
        )
        .send()
        .await;
    expect_error(r, "ValidationException");
    assert!(c
        .get_item()
        .table_name("tba")
        .key("pk", s("good"))
        .send()
        .await
        .unwrap()
        .item()
        .is_none());

    // A missing table.
    let r = c
        .batch_write_item()
        .request_items("nosuch", vec![put(item(&[("pk", s("k"))]))])
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
    let r = c
        .batch_get_item()
        .request_items("nosuch", keys_of(vec![item(&[("pk", s("k"))])]))
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
}

#[tokio::test]
async fn t30_batch_consumed_capacity() {
    let (_server, c) = setup().await;
    let r = c
        .batch_write_item()
        .request_items(
            "tba",
            vec![put(item(&[("pk", s("1"))])), put(item(&[("pk", s("2"))]))],
        )
        .request_items("tbb", vec![put(item(&[("pk", s("1")), ("sk", ni(1))]))])
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let mut per_table: Vec<(String, f64)> = r
        .consumed_capacity()
        .iter()
        .map(|cc| {
            (
                cc.table_name().unwrap().to_owned(),
                cc.capacity_units().unwrap(),
            )
        })
        .collect();
    per_table.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        per_table,
        vec![("tba".to_owned(), 2.0), ("tbb".to_owned(), 1.0)]
    );

    let r = c
        .batch_get_item()
        .request_items(
            "tba",
            keys_of(vec![item(&[("pk", s("1"))]), item(&[("pk", s("2"))])]),
        )
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let cc = r.consumed_capacity();
    assert_eq!(cc.len(), 1);
    assert_eq!(cc[0].table_name(), Some("tba"));
    // Eventually consistent by default: 0.5 per small item.
    assert_eq!(cc[0].capacity_units(), Some(1.0));
}

#[tokio::test]
async fn t31_batch_get_stops_at_sixteen_megabytes() {
    let (_server, c) = setup().await;
    // 60 items of ~300 KB = 18 MB: over BatchGetItem's 16 MB response limit, so the first
    // call must leave some keys in UnprocessedKeys, and retrying them returns the rest.
    let blob = "q".repeat(300_000);
    for i in 0..60 {
        c.put_item()
            .table_name("tba")
            .item("pk", s(&format!("k{i}")))
            .item("d", s(&blob))
            .send()
            .await
            .unwrap();
    }
    let mut pending: Vec<Item> = (0..60)
        .map(|i| item(&[("pk", s(&format!("k{i}")))]))
        .collect();
    let mut got = BTreeSet::new();
    let mut calls = 0;
    while !pending.is_empty() {
        calls += 1;
        assert!(calls <= 60, "BatchGetItem keeps returning UnprocessedKeys");
        let r = c
            .batch_get_item()
            .request_items("tba", keys_of(pending.clone()))
            .send()
            .await
            .unwrap();
        let returned = r.responses().unwrap().get("tba").map_or(0, Vec::len);
        assert!(returned > 0, "a BatchGetItem call returned no item");
        for i in r.responses().unwrap().get("tba").into_iter().flatten() {
            assert!(
                got.insert(get_s(i, "pk").unwrap().to_owned()),
                "returned twice"
            );
        }
        pending = r
            .unprocessed_keys()
            .and_then(|u| u.get("tba"))
            .map(|k| k.keys().to_vec())
            .unwrap_or_default();
    }
    assert_eq!(got.len(), 60);
    assert!(calls >= 2, "18 MB came back from one BatchGetItem");
}
