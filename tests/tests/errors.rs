//! The error catalog as a client sees it: codes, HTTP status and messages for missing
//! resources, conflicts and validation failures.

use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, KeyType, ScalarAttributeType};
use meridian_tests::*;

/// Asserts `result` failed with `code`, as HTTP 400, with a message; returns the message.
macro_rules! assert_error {
    ($result:expr, $code:expr, $what:expr) => {{
        match $result {
            Ok(v) => panic!("{}: expected {}, got success {:?}", $what, $code, v),
            Err(e) => {
                assert_eq!(error_code(&e), $code, "{}: {:?}", $what, e);
                let status = e.raw_response().map(|r| r.status().as_u16());
                assert_eq!(status, Some(400), "{}: HTTP status", $what);
                let message = e.message().unwrap_or_default().to_owned();
                assert!(!message.is_empty(), "{}: empty message", $what);
                message
            }
        }
    }};
}

#[tokio::test]
async fn t10_missing_table_is_resource_not_found_everywhere() {
    let server = Server::start().await;
    let c = server.client();
    const RNF: &str = "ResourceNotFoundException";
    assert_error!(
        c.describe_table().table_name("nope").send().await,
        RNF,
        "DescribeTable"
    );
    assert_error!(
        c.delete_table().table_name("nope").send().await,
        RNF,
        "DeleteTable"
    );
    assert_error!(
        c.update_table()
            .table_name("nope")
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await,
        RNF,
        "UpdateTable"
    );
    assert_error!(
        c.put_item()
            .table_name("nope")
            .item("pk", s("k"))
            .send()
            .await,
        RNF,
        "PutItem"
    );
    assert_error!(
        c.get_item()
            .table_name("nope")
            .key("pk", s("k"))
            .send()
            .await,
        RNF,
        "GetItem"
    );
    assert_error!(
        c.update_item()
            .table_name("nope")
            .key("pk", s("k"))
            .update_expression("SET a = :v")
            .expression_attribute_values(":v", ni(1))
            .send()
            .await,
        RNF,
        "UpdateItem"
    );
    assert_error!(
        c.delete_item()
            .table_name("nope")
            .key("pk", s("k"))
            .send()
            .await,
        RNF,
        "DeleteItem"
    );
    assert_error!(
        c.query()
            .table_name("nope")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("k"))
            .send()
            .await,
        RNF,
        "Query"
    );
    let msg = assert_error!(c.scan().table_name("nope").send().await, RNF, "Scan");
    assert!(
        msg.contains("not found") || msg.contains("Requested resource"),
        "message: {msg}"
    );
}

#[tokio::test]
async fn t11_existing_table_is_resource_in_use() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "items").await;
    assert_error!(
        c.create_table()
            .table_name("items")
            .attribute_definitions(attr_def("other", ScalarAttributeType::N))
            .key_schema(key_elem("other", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await,
        "ResourceInUseException",
        "CreateTable twice"
    );
}

#[tokio::test]
async fn t20_validation_catalog() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "items").await;
    const VE: &str = "ValidationException";

    assert_error!(
        c.update_item()
            .table_name("items")
            .key("pk", s("k"))
            .update_expression("SET size = :v")
            .expression_attribute_values(":v", ni(1))
            .send()
            .await,
        VE,
        "reserved word without a placeholder"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .condition_expression("attribute_not_exists(pk)")
            .expression_attribute_values(":unused", ni(1))
            .send()
            .await,
        VE,
        "unused ExpressionAttributeValues"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .condition_expression("attribute_not_exists(#p)")
            .expression_attribute_names("#p", "pk")
            .expression_attribute_names("#unused", "x")
            .send()
            .await,
        VE,
        "unused ExpressionAttributeNames"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .item("big", s(&"x".repeat(400 * 1024)))
            .send()
            .await,
        VE,
        "item over 400 KB"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s(""))
            .send()
            .await,
        VE,
        "empty string key"
    );
    assert_error!(
        c.get_item()
            .table_name("items")
            .key("pk", s(""))
            .send()
            .await,
        VE,
        "empty string key in GetItem"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .item("set", ss(&[]))
            .send()
            .await,
        VE,
        "empty string set"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .item("n", n("1e999"))
            .send()
            .await,
        VE,
        "number out of range"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .item("n", n("not-a-number"))
            .send()
            .await,
        VE,
        "number that does not parse"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", ni(1))
            .send()
            .await,
        VE,
        "key of the wrong type"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("other", s("x"))
            .send()
            .await,
        VE,
        "missing key"
    );
    assert_error!(
        c.get_item().table_name("ab").key("pk", s("k")).send().await,
        VE,
        "table name too short"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .condition_expression("a = v")
            .expression_attribute_values("v", ni(1))
            .send()
            .await,
        VE,
        "value placeholder without a colon"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .condition_expression("attribute_exists(pk) AND")
            .send()
            .await,
        VE,
        "syntax error"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .condition_expression("nosuchfunction(pk)")
            .send()
            .await,
        VE,
        "unknown function"
    );
    // Expressions are limited to 4 KB.
    let long: Vec<String> = (0..400)
        .map(|i| format!("attribute_exists(a{i})"))
        .collect();
    let long = long.join(" OR ");
    assert!(long.len() > 4096);
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .condition_expression(long)
            .send()
            .await,
        VE,
        "expression over 4 KB"
    );
    assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .item("doc", AttributeValue::M(item(&[("s", ss(&[]))])))
            .send()
            .await,
        VE,
        "empty set nested in a map"
    );
    assert_error!(
        c.query()
            .table_name("items")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("k"))
            .index_name("nosuch")
            .send()
            .await,
        VE,
        "query of a missing index"
    );
    // Nothing above wrote anything.
    assert_eq!(
        c.scan().table_name("items").send().await.unwrap().count(),
        0
    );
}

#[tokio::test]
async fn t30_conditional_check_failed() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "items").await;
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .send()
        .await
        .unwrap();
    let message = assert_error!(
        c.put_item()
            .table_name("items")
            .item("pk", s("k"))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await,
        "ConditionalCheckFailedException",
        "failed condition"
    );
    assert_eq!(message, "The conditional request failed");
}
