//! Item values and limits: number normalisation and precision, item size, key rules, sets,
//! nesting depth and the 1 MB page, each with DynamoDB's error.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use meridian_tests::*;

use crate::items::{get, setup};

#[tokio::test]
async fn t60_number_normalisation() {
    let (_server, c) = setup().await;
    let cases = [
        ("1.50", "1.5"),
        ("0100", "100"),
        ("100.0", "100"),
        ("0.0100", "0.01"),
        ("-007.250", "-7.25"),
        (
            "12345678901234567890123456789012345678",
            "12345678901234567890123456789012345678",
        ),
        ("-0.000123", "-0.000123"),
    ];
    for (i, (input, expected)) in cases.iter().enumerate() {
        let pk = format!("n{i}");
        c.put_item()
            .table_name("items")
            .item("pk", s(&pk))
            .item("v", n(input))
            .send()
            .await
            .unwrap();
        let got = get(&c, &pk).await.unwrap();
        assert_eq!(get_n(&got, "v"), Some(*expected), "input {input}");
    }
    // Number sets normalise members too, and "1.0" and "1" are the same member.
    c.put_item()
        .table_name("items")
        .item("pk", s("set"))
        .item("v", ns(&["1.0", "02"]))
        .send()
        .await
        .unwrap();
    let got = get(&c, "set").await.unwrap();
    assert_eq!(normalize(&got["v"]), ns(&["1", "2"]));
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("dupset"))
        .item("v", ns(&["1.0", "1"]))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t61_number_limits() {
    let (_server, c) = setup().await;
    let put = |v: &str| {
        c.put_item()
            .table_name("items")
            .item("pk", s("lim"))
            .item("v", n(v))
            .send()
    };
    // Accepted: 38 significant digits, the magnitude bounds.
    for ok in [
        "99999999999999999999999999999999999999",
        "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125",
        "1E-130",
        "-1E-130",
        "1000000000000000000000000000000000000000", // 1 significant digit
    ] {
        put(ok)
            .await
            .unwrap_or_else(|e| panic!("{ok} rejected: {e:?}"));
    }
    // Rejected: 39 significant digits, overflow, underflow, not a number.
    for bad in [
        "123456789012345678901234567890123456789",
        "1E+126",
        "1E-131",
        "abc",
        "",
        "1.2.3",
        "NaN",
        "Infinity",
    ] {
        expect_error(put(bad).await, "ValidationException");
    }
}

#[tokio::test]
async fn t70_item_size_limit() {
    let (_server, c) = setup().await;
    // The limit is 400 KB = 409,600 bytes of names plus values. "pk"+"k" + "data" = 7 bytes.
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("data", s(&"x".repeat(409_500 - 7)))
        .send()
        .await
        .unwrap();
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("data", s(&"x".repeat(409_601 - 7)))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // An update that would grow the item past the limit is rejected too.
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("k"))
        .update_expression("SET more = :v")
        .expression_attribute_values(":v", s(&"y".repeat(1000)))
        .send()
        .await;
    expect_error(r, "ValidationException");
    assert!(!get(&c, "k").await.unwrap().contains_key("more"));
}

#[tokio::test]
async fn t71_key_validation() {
    let server = Server::start().await;
    let c = server.client();
    create_composite_table(&c, "ckey").await;

    // Empty string or binary in a key.
    let r = c
        .put_item()
        .table_name("ckey")
        .item("pk", s(""))
        .item("sk", ni(1))
        .send()
        .await;
    expect_error(r, "ValidationException");
    create_table(&c, "bkey", ("id", ScalarAttributeType::B), None).await;
    let r = c
        .put_item()
        .table_name("bkey")
        .item("id", b(&[]))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // Wrong key type, missing key attribute, extra attribute in Key.
    let r = c
        .put_item()
        .table_name("ckey")
        .item("pk", s("a"))
        .item("sk", s("1"))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .put_item()
        .table_name("ckey")
        .item("pk", s("a"))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .get_item()
        .table_name("ckey")
        .key("pk", s("a"))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .get_item()
        .table_name("ckey")
        .key("pk", s("a"))
        .key("sk", ni(1))
        .key("extra", s("x"))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // Partition keys up to 2048 bytes, sort keys up to 1024 bytes.
    create_table(
        &c,
        "sk_s",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::S)),
    )
    .await;
    c.put_item()
        .table_name("sk_s")
        .item("pk", s(&"p".repeat(2048)))
        .item("sk", s(&"s".repeat(1024)))
        .send()
        .await
        .unwrap();
    let r = c
        .put_item()
        .table_name("sk_s")
        .item("pk", s(&"p".repeat(2049)))
        .item("sk", s("s"))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .put_item()
        .table_name("sk_s")
        .item("pk", s("p"))
        .item("sk", s(&"s".repeat(1025)))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t72_empty_and_duplicate_sets_are_rejected() {
    let (_server, c) = setup().await;
    for bad in [
        ss(&[]),
        ns(&[]),
        AttributeValue::Bs(vec![]),
        ss(&["a", "a"]),
    ] {
        let r = c
            .put_item()
            .table_name("items")
            .item("pk", s("k"))
            .item("set", bad.clone())
            .send()
            .await;
        expect_error(r, "ValidationException");
    }
    // Nested inside a map too.
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("m", m(&[("s", ss(&[]))]))
        .send()
        .await;
    expect_error(r, "ValidationException");
    assert!(get(&c, "k").await.is_none());
}

#[tokio::test]
async fn t73_nesting_depth_limit() {
    let (_server, c) = setup().await;
    // Nesting is limited to 32 levels. Whether the leaf counts as a level is not documented,
    // so test clearly on each side of the limit.
    let nest = |depth: usize| {
        let mut v = s("leaf");
        for _ in 0..depth {
            v = m(&[("d", v)]);
        }
        v
    };
    c.put_item()
        .table_name("items")
        .item("pk", s("deep"))
        .item("v", nest(31))
        .send()
        .await
        .unwrap();
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("deeper"))
        .item("v", nest(34))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t33_pages_stop_at_one_megabyte() {
    let server = Server::start().await;
    let c = server.client();
    create_composite_table(&c, "big").await;
    // Six items of ~300 KB: at most four fit in a 1 MB page (the last may cross the limit).
    let blob = "z".repeat(300_000);
    for i in 0..6 {
        c.put_item()
            .table_name("big")
            .item("pk", s("p"))
            .item("sk", ni(i))
            .item("data", s(&blob))
            .send()
            .await
            .unwrap();
    }

    let mut pages = 0;
    let mut total = 0;
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let r = c
            .scan()
            .table_name("big")
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(
            r.items().len() <= 4,
            "page of {} items exceeds 1 MB",
            r.items().len()
        );
        total += r.items().len();
        match r.last_evaluated_key() {
            Some(lek) => start = Some(lek.clone()),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(total, 6);
    assert!(pages >= 2, "1.8 MB came back in one page");

    let mut pages = 0;
    let mut total = 0;
    loop {
        let r = c
            .query()
            .table_name("big")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(
            r.items().len() <= 4,
            "page of {} items exceeds 1 MB",
            r.items().len()
        );
        total += r.items().len();
        match r.last_evaluated_key() {
            Some(lek) => start = Some(lek.clone()),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(total, 6);
    assert!(pages >= 2, "1.8 MB came back in one page");
}
