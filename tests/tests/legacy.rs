//! Legacy (pre-expression) parameters: Expected, AttributeUpdates, KeyConditions,
//! QueryFilter, ScanFilter, AttributesToGet, ConditionalOperator.

use aws_sdk_dynamodb::types::{
    AttributeAction, AttributeValueUpdate, ComparisonOperator, Condition, ConditionalOperator,
    ExpectedAttributeValue, ReturnValue,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

fn cond(op: ComparisonOperator, values: Vec<aws_sdk_dynamodb::types::AttributeValue>) -> Condition {
    Condition::builder()
        .comparison_operator(op)
        .set_attribute_value_list(if values.is_empty() {
            None
        } else {
            Some(values)
        })
        .build()
        .unwrap()
}

async fn setup() -> (Server, Client) {
    let server = Server::start().await;
    let c = server.client();
    create_composite_table(&c, "qry").await;
    for i in 1..=10 {
        c.put_item()
            .table_name("qry")
            .item("pk", s("p"))
            .item("sk", ni(i))
            .item("v", ni(i * 10))
            .item("tag", s(if i % 2 == 0 { "even" } else { "odd" }))
            .item(
                "tags",
                ss(&["all", if i % 3 == 0 { "three" } else { "other" }]),
            )
            .send()
            .await
            .unwrap();
    }
    (server, c)
}

#[tokio::test]
async fn t10_expected_on_put_and_delete() {
    let (_server, c) = setup().await;
    let put_new = |sk: i64| {
        c.put_item()
            .table_name("qry")
            .item("pk", s("n"))
            .item("sk", ni(sk))
            .expected(
                "pk",
                ExpectedAttributeValue::builder().exists(false).build(),
            )
            .send()
    };
    put_new(1).await.unwrap();
    expect_error(put_new(1).await, "ConditionalCheckFailedException");

    // Value alone means Exists=true and equal.
    let r = c
        .put_item()
        .table_name("qry")
        .item("pk", s("p"))
        .item("sk", ni(1))
        .item("v", ni(11))
        .expected("v", ExpectedAttributeValue::builder().value(ni(10)).build())
        .send()
        .await;
    r.unwrap();
    let r = c
        .put_item()
        .table_name("qry")
        .item("pk", s("p"))
        .item("sk", ni(1))
        .item("v", ni(12))
        .expected("v", ExpectedAttributeValue::builder().value(ni(10)).build())
        .send()
        .await;
    expect_error(r, "ConditionalCheckFailedException");

    // ComparisonOperator form, combined with OR.
    let r = c
        .delete_item()
        .table_name("qry")
        .key("pk", s("p"))
        .key("sk", ni(2))
        .expected(
            "v",
            ExpectedAttributeValue::builder()
                .comparison_operator(ComparisonOperator::Gt)
                .attribute_value_list(ni(1000))
                .build(),
        )
        .expected(
            "tag",
            ExpectedAttributeValue::builder()
                .comparison_operator(ComparisonOperator::Eq)
                .attribute_value_list(s("even"))
                .build(),
        )
        .conditional_operator(ConditionalOperator::Or)
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(r.attributes().and_then(|a| get_n(a, "v")), Some("20"));

    // The same with AND fails.
    let r = c
        .delete_item()
        .table_name("qry")
        .key("pk", s("p"))
        .key("sk", ni(4))
        .expected(
            "v",
            ExpectedAttributeValue::builder()
                .comparison_operator(ComparisonOperator::Gt)
                .attribute_value_list(ni(1000))
                .build(),
        )
        .expected(
            "tag",
            ExpectedAttributeValue::builder()
                .comparison_operator(ComparisonOperator::Eq)
                .attribute_value_list(s("even"))
                .build(),
        )
        .conditional_operator(ConditionalOperator::And)
        .send()
        .await;
    expect_error(r, "ConditionalCheckFailedException");

    // NULL / NOT_NULL.
    c.put_item()
        .table_name("qry")
        .item("pk", s("p"))
        .item("sk", ni(4))
        .item("v", ni(41))
        .expected(
            "nosuch",
            ExpectedAttributeValue::builder()
                .comparison_operator(ComparisonOperator::Null)
                .build(),
        )
        .expected(
            "tag",
            ExpectedAttributeValue::builder()
                .comparison_operator(ComparisonOperator::NotNull)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn t20_attribute_updates() {
    let (_server, c) = setup().await;
    let r = c
        .update_item()
        .table_name("qry")
        .key("pk", s("p"))
        .key("sk", ni(3))
        .attribute_updates(
            "v",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Add)
                .value(ni(5))
                .build(),
        )
        .attribute_updates(
            "tags",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Add)
                .value(ss(&["new"]))
                .build(),
        )
        .attribute_updates(
            "tag",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Delete)
                .build(),
        )
        .attribute_updates(
            "w",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Put)
                .value(s("put"))
                .build(),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    let it = r.attributes().unwrap();
    assert_eq!(get_n(it, "v"), Some("35"));
    assert_eq!(normalize(&it["tags"]), ss(&["all", "new", "three"]));
    assert!(!it.contains_key("tag"));
    assert_eq!(get_s(it, "w"), Some("put"));

    // DELETE with a value removes set members.
    let r = c
        .update_item()
        .table_name("qry")
        .key("pk", s("p"))
        .key("sk", ni(3))
        .attribute_updates(
            "tags",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Delete)
                .value(ss(&["all"]))
                .build(),
        )
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    assert_eq!(
        normalize(&r.attributes().unwrap()["tags"]),
        ss(&["new", "three"])
    );

    // Legacy and expression parameters may not be mixed.
    let r = c
        .update_item()
        .table_name("qry")
        .key("pk", s("p"))
        .key("sk", ni(3))
        .attribute_updates(
            "v",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Put)
                .value(ni(1))
                .build(),
        )
        .condition_expression("attribute_exists(pk)")
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t30_key_conditions_and_query_filter() {
    let (_server, c) = setup().await;
    let r = c
        .query()
        .table_name("qry")
        .key_conditions("pk", cond(ComparisonOperator::Eq, vec![s("p")]))
        .key_conditions("sk", cond(ComparisonOperator::Between, vec![ni(3), ni(8)]))
        .query_filter("tag", cond(ComparisonOperator::Eq, vec![s("even")]))
        .attributes_to_get("sk")
        .attributes_to_get("v")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.items(),
        &[
            item(&[("sk", ni(4)), ("v", ni(40))]),
            item(&[("sk", ni(6)), ("v", ni(60))]),
            item(&[("sk", ni(8)), ("v", ni(80))]),
        ]
    );
    assert_eq!(r.count(), 3);
    assert_eq!(r.scanned_count(), 6);

    let r = c
        .query()
        .table_name("qry")
        .key_conditions("pk", cond(ComparisonOperator::Eq, vec![s("p")]))
        .key_conditions("sk", cond(ComparisonOperator::Ge, vec![ni(9)]))
        .query_filter("v", cond(ComparisonOperator::Lt, vec![ni(95)]))
        .query_filter("tags", cond(ComparisonOperator::Contains, vec![s("three")]))
        .conditional_operator(ConditionalOperator::Or)
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let sks: Vec<&str> = r.items().iter().map(|i| get_n(i, "sk").unwrap()).collect();
    assert_eq!(sks, ["9"], "sk 10 has v=100 and no 'three'");

    // Mixing KeyConditions with KeyConditionExpression is rejected.
    let r = c
        .query()
        .table_name("qry")
        .key_conditions("pk", cond(ComparisonOperator::Eq, vec![s("p")]))
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t40_scan_filter_and_attributes_to_get() {
    let (_server, c) = setup().await;
    let r = c
        .scan()
        .table_name("qry")
        .scan_filter("v", cond(ComparisonOperator::Gt, vec![ni(50)]))
        .scan_filter("tag", cond(ComparisonOperator::BeginsWith, vec![s("ev")]))
        .send()
        .await
        .unwrap();
    let mut sks: Vec<i64> = r
        .items()
        .iter()
        .map(|i| get_n(i, "sk").unwrap().parse().unwrap())
        .collect();
    sks.sort();
    assert_eq!(sks, [6, 8, 10]);
    assert_eq!(r.scanned_count(), 10);

    for (op, values, expected) in [
        (
            ComparisonOperator::In,
            vec![ni(10), ni(30), ni(999)],
            vec![1, 3],
        ),
        (
            ComparisonOperator::Ne,
            vec![ni(10)],
            (2..=10).collect::<Vec<i64>>(),
        ),
        (ComparisonOperator::Le, vec![ni(20)], vec![1, 2]),
    ] {
        let r = c
            .scan()
            .table_name("qry")
            .scan_filter("v", cond(op.clone(), values))
            .send()
            .await;
        let r = r.unwrap_or_else(|e| panic!("{op:?}: {e:?}"));
        let mut sks: Vec<i64> = r
            .items()
            .iter()
            .map(|i| get_n(i, "sk").unwrap().parse().unwrap())
            .collect();
        sks.sort();
        assert_eq!(sks, expected, "{op:?}");
    }

    // A wrong number of values for the operator.
    let r = c
        .scan()
        .table_name("qry")
        .scan_filter("v", cond(ComparisonOperator::Between, vec![ni(1)]))
        .send()
        .await;
    expect_error(r, "ValidationException");

    let got = c
        .get_item()
        .table_name("qry")
        .key("pk", s("p"))
        .key("sk", ni(5))
        .attributes_to_get("tag")
        .attributes_to_get("nosuch")
        .send()
        .await
        .unwrap();
    assert_eq!(got.item(), Some(&item(&[("tag", s("odd"))])));

    // AttributesToGet with ProjectionExpression is rejected.
    let r = c
        .get_item()
        .table_name("qry")
        .key("pk", s("p"))
        .key("sk", ni(5))
        .attributes_to_get("tag")
        .projection_expression("v")
        .send()
        .await;
    expect_error(r, "ValidationException");
}
