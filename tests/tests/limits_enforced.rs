//! Issue 10: limits DynamoDB enforces that Meridian declared but did not enforce, each refused
//! with DynamoDB's ValidationException and message: attribute names (empty, over 64 KB),
//! placeholders over 255 bytes, empty names in ExpressionAttributeNames, substitution
//! variables over 2 MB, key sizes in Query, and nesting depth (items, values, updates).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use meridian_tests::*;

use crate::items::setup;

fn nest(depth: usize) -> AttributeValue {
    let mut v = s("leaf");
    for _ in 0..depth {
        v = m(&[("d", v)]);
    }
    v
}

#[tokio::test]
async fn t74_issue_10_attribute_names() {
    let (_server, c) = setup().await;
    eprintln!("--- an empty attribute name, at the top and in a map");
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("a"))
        .item("", s("x"))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(msg.contains("Empty attribute name"), "{msg}");
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("a"))
        .item("doc", m(&[("", s("x"))]))
        .send()
        .await;
    expect_error(r, "ValidationException");

    eprintln!("--- 65,535 bytes is the longest name; 65,536 is refused");
    let longest = "n".repeat(65_535);
    c.put_item()
        .table_name("items")
        .item("pk", s("a"))
        .item(&longest, s("x"))
        .send()
        .await
        .unwrap();
    let too_long = "n".repeat(65_536);
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("b"))
        .item(&too_long, s("x"))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(
        msg.contains("Attribute name is too large, must be less than 65536 bytes"),
        "{msg}"
    );
    eprintln!("--- the same through ExpressionAttributeNames");
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("a"))
        .update_expression("SET #n = :v")
        .expression_attribute_names("#n", &too_long)
        .expression_attribute_values(":v", s("x"))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(msg.contains("Attribute name is too large"), "{msg}");
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("a"))
        .update_expression("SET #n = :v")
        .expression_attribute_names("#n", "")
        .expression_attribute_values(":v", s("x"))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert_eq!(
        msg,
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #n"
    );
}

#[tokio::test]
async fn t75_issue_10_placeholders_and_substitution_size() {
    let (_server, c) = setup().await;
    eprintln!("--- placeholders of 255 bytes pass, 256 do not");
    let name_ok = format!("#{}", "a".repeat(254));
    let value_ok = format!(":{}", "v".repeat(254));
    c.update_item()
        .table_name("items")
        .key("pk", s("p"))
        .update_expression(format!("SET {name_ok} = {value_ok}"))
        .expression_attribute_names(&name_ok, "x")
        .expression_attribute_values(&value_ok, s("y"))
        .send()
        .await
        .unwrap();
    let name_long = format!("#{}", "a".repeat(255));
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("p"))
        .update_expression("SET #x = :v")
        .expression_attribute_names(&name_long, "x")
        .expression_attribute_values(":v", s("y"))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert_eq!(
        msg,
        "ExpressionAttributeNames contains invalid key: The expression attribute map contains \
         a key that is too long; size of key: 256"
    );
    let value_long = format!(":{}", "v".repeat(255));
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("p"))
        .update_expression("SET x = :v")
        .expression_attribute_values(&value_long, s("y"))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(msg.contains("contains a key that is too long"), "{msg}");

    eprintln!("--- ExpressionAttributeValues over 2 MB in all");
    let big = "z".repeat(300 * 1024);
    let mut values: HashMap<String, AttributeValue> = HashMap::new();
    let mut clauses = Vec::new();
    for i in 0..8 {
        values.insert(format!(":v{i}"), s(&big));
        clauses.push(format!("x = :v{i}"));
    }
    let r = c
        .scan()
        .table_name("items")
        .filter_expression(clauses.join(" OR "))
        .set_expression_attribute_values(Some(values))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(msg.contains("at most 2097152 bytes"), "{msg}");
}

#[tokio::test]
async fn t76_issue_10_key_sizes_in_query() {
    let server = Server::start().await;
    let c = server.client();
    create_table(
        &c,
        "keys",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::S)),
    )
    .await;
    let big_pk = "p".repeat(2049);
    let r = c
        .query()
        .table_name("keys")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s(&big_pk))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(
        msg.contains("Size of hashkey has exceeded the maximum size limit"),
        "{msg}"
    );
    let r = c
        .query()
        .table_name("keys")
        .key_condition_expression("pk = :p AND sk BETWEEN :a AND :b")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":a", s("a"))
        .expression_attribute_values(":b", s(&"b".repeat(1025)))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(
        msg.contains("Aggregated size of all range keys has exceeded the size limit of 1024 bytes"),
        "{msg}"
    );
    // At the limits, the query runs.
    c.query()
        .table_name("keys")
        .key_condition_expression("pk = :p AND begins_with(sk, :s)")
        .expression_attribute_values(":p", s(&"p".repeat(2048)))
        .expression_attribute_values(":s", s(&"s".repeat(1024)))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn t77_issue_10_nesting_depth() {
    let (_server, c) = setup().await;
    eprintln!("--- 31 levels are accepted, 32 are not, with DynamoDB's message");
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
        .item("v", nest(32))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert_eq!(
        msg,
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested \
         levels beyond supported limit"
    );
    eprintln!("--- in ExpressionAttributeValues");
    let r = c
        .scan()
        .table_name("items")
        .filter_expression("v = :v")
        .expression_attribute_values(":v", nest(32))
        .send()
        .await;
    expect_error(r, "ValidationException");
    eprintln!("--- an update that nests a value one level deeper");
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("deep"))
        .update_expression("SET v.d = :v")
        .expression_attribute_values(":v", nest(31))
        .send()
        .await;
    let msg = expect_error(r, "ValidationException");
    assert!(msg.contains("Nesting Levels have exceeded"), "{msg}");
}
