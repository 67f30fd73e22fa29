//! Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem, with conditions,
//! ReturnValues, consumed capacity, projections, data types and limits.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

pub(crate) async fn setup() -> (Server, Client) {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "items").await;
    (server, c)
}

pub(crate) async fn get(c: &Client, pk: &str) -> Option<HashMap<String, AttributeValue>> {
    c.get_item()
        .table_name("items")
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test]
async fn t10_put_get_round_trips_every_type() {
    let (_server, c) = setup().await;
    let full = item(&[
        ("pk", s("all-types")),
        ("str", s("héllo wörld 🚀")),
        ("empty_str", s("")),
        ("num", n("-12.5")),
        ("bin", b(&(0u8..=255).collect::<Vec<u8>>())),
        ("empty_bin", b(&[])),
        ("ss", ss(&["b", "a", "c"])),
        ("ns", ns(&["3", "1", "2.5"])),
        (
            "bs",
            AttributeValue::Bs(vec![
                aws_sdk_dynamodb::primitives::Blob::new(vec![1]),
                aws_sdk_dynamodb::primitives::Blob::new(vec![0, 255]),
            ]),
        ),
        ("yes", AttributeValue::Bool(true)),
        ("no", AttributeValue::Bool(false)),
        ("nothing", AttributeValue::Null(true)),
        ("list", l(vec![s("x"), ni(1), l(vec![]), m(&[])])),
        (
            "map",
            m(&[
                (
                    "inner",
                    m(&[("deep", l(vec![AttributeValue::Bool(true), ss(&["z"])]))]),
                ),
                ("n", ni(7)),
            ]),
        ),
        ("ünïcode name", s("v")),
    ]);
    c.put_item()
        .table_name("items")
        .set_item(Some(full.clone()))
        .send()
        .await
        .unwrap();
    let got = get(&c, "all-types").await.expect("item present");
    assert_eq!(normalize_item(&got), normalize_item(&full));

    // Eventually consistent reads see it too (single node: immediately).
    let ev = c
        .get_item()
        .table_name("items")
        .key("pk", s("all-types"))
        .send()
        .await
        .unwrap();
    assert_eq!(normalize_item(ev.item().unwrap()), normalize_item(&full));
}

#[tokio::test]
async fn t11_get_missing_item_has_no_item() {
    let (_server, c) = setup().await;
    let got = c
        .get_item()
        .table_name("items")
        .key("pk", s("absent"))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_none(), "{:?}", got.item());
}

#[tokio::test]
async fn t12_put_replaces_whole_item() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("a", ni(1))
        .item("b", ni(2))
        .send()
        .await
        .unwrap();
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("c", ni(3))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&c, "k").await.unwrap(),
        item(&[("pk", s("k")), ("c", ni(3))])
    );
}

#[tokio::test]
async fn t13_get_with_projection_expression() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("items")
        .item("pk", s("p"))
        .item("a", ni(1))
        .item("b", ni(2))
        .item("status", s("on"))
        .item("l", l(vec![s("l0"), s("l1"), s("l2")]))
        .item("m", m(&[("x", ni(10)), ("y", ni(20))]))
        .send()
        .await
        .unwrap();
    let got = c
        .get_item()
        .table_name("items")
        .key("pk", s("p"))
        .projection_expression("a, #st, l[1], m.y, nosuch")
        .expression_attribute_names("#st", "status")
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        got,
        item(&[
            ("a", ni(1)),
            ("status", s("on")),
            ("l", l(vec![s("l1")])),
            ("m", m(&[("y", ni(20))])),
        ])
    );
}

#[tokio::test]
async fn t20_put_return_values() {
    let (_server, c) = setup().await;
    let first = c
        .put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(1))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(first.attributes().is_none(), "{:?}", first.attributes());

    let second = c
        .put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(2))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(
        second.attributes().unwrap(),
        &item(&[("pk", s("k")), ("v", ni(1))])
    );

    let none = c
        .put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(3))
        .return_values(ReturnValue::None)
        .send()
        .await
        .unwrap();
    assert!(none.attributes().is_none());

    // PutItem supports only NONE and ALL_OLD.
    for rv in [
        ReturnValue::AllNew,
        ReturnValue::UpdatedNew,
        ReturnValue::UpdatedOld,
    ] {
        let r = c
            .put_item()
            .table_name("items")
            .item("pk", s("k"))
            .return_values(rv)
            .send()
            .await;
        expect_error(r, "ValidationException");
    }
    assert_eq!(get_n(&get(&c, "k").await.unwrap(), "v"), Some("3"));
}

#[tokio::test]
async fn t21_put_condition_and_return_values_on_condition_check_failure() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(1))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap();

    // Default: the error carries no item.
    let err = c
        .put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(2))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        PutItemError::ConditionalCheckFailedException(e) => assert!(e.item().is_none(), "{e:?}"),
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }

    // ALL_OLD: the error carries the item as it is.
    let err = c
        .put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(2))
        .condition_expression("v = :two")
        .expression_attribute_values(":two", ni(2))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        PutItemError::ConditionalCheckFailedException(e) => {
            assert_eq!(e.item(), Some(&item(&[("pk", s("k")), ("v", ni(1))])));
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }

    // A failed condition changes nothing.
    assert_eq!(get_n(&get(&c, "k").await.unwrap(), "v"), Some("1"));

    // A passing condition applies the write.
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(5))
        .condition_expression("v = :one")
        .expression_attribute_values(":one", ni(1))
        .send()
        .await
        .unwrap();
    assert_eq!(get_n(&get(&c, "k").await.unwrap(), "v"), Some("5"));
}

#[tokio::test]
async fn t30_update_item_all_return_values() {
    let (_server, c) = setup().await;
    let base = item(&[("pk", s("u")), ("a", ni(1)), ("b", s("x"))]);
    let update = |rv: ReturnValue| {
        c.update_item()
            .table_name("items")
            .key("pk", s("u"))
            .update_expression("SET a = a + :one, c = :c")
            .expression_attribute_values(":one", ni(1))
            .expression_attribute_values(":c", s("new"))
            .return_values(rv)
            .send()
    };
    let reset = || {
        c.put_item()
            .table_name("items")
            .set_item(Some(base.clone()))
            .send()
    };

    reset().await.unwrap();
    let r = update(ReturnValue::None).await.unwrap();
    assert!(r.attributes().is_none());

    reset().await.unwrap();
    let r = update(ReturnValue::AllOld).await.unwrap();
    assert_eq!(r.attributes().unwrap(), &base);

    reset().await.unwrap();
    let r = update(ReturnValue::UpdatedOld).await.unwrap();
    // Only the updated attributes, as they were; `c` did not exist before.
    assert_eq!(r.attributes().unwrap(), &item(&[("a", ni(1))]));

    reset().await.unwrap();
    let r = update(ReturnValue::AllNew).await.unwrap();
    assert_eq!(
        r.attributes().unwrap(),
        &item(&[("pk", s("u")), ("a", ni(2)), ("b", s("x")), ("c", s("new"))])
    );

    reset().await.unwrap();
    let r = update(ReturnValue::UpdatedNew).await.unwrap();
    assert_eq!(
        r.attributes().unwrap(),
        &item(&[("a", ni(2)), ("c", s("new"))])
    );
}

#[tokio::test]
async fn t31_update_item_creates_missing_item() {
    let (_server, c) = setup().await;
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("fresh"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("hello"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.attributes().unwrap(),
        &item(&[("pk", s("fresh")), ("v", s("hello"))])
    );
    assert_eq!(
        get(&c, "fresh").await.unwrap(),
        item(&[("pk", s("fresh")), ("v", s("hello"))])
    );

    // An update with a failing condition on a missing item creates nothing.
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("never"))
        .update_expression("SET v = :v")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":v", s("x"))
        .send()
        .await;
    expect_error(r, "ConditionalCheckFailedException");
    assert!(get(&c, "never").await.is_none());
}

#[tokio::test]
async fn t32_update_item_cannot_change_key() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .send()
        .await
        .unwrap();
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("k"))
        .update_expression("SET pk = :v")
        .expression_attribute_values(":v", s("other"))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .update_item()
        .table_name("items")
        .key("pk", s("k"))
        .update_expression("REMOVE pk")
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t33_update_item_condition_failure_returns_old_item() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("items")
        .item("pk", s("k"))
        .item("v", ni(1))
        .send()
        .await
        .unwrap();
    let err = c
        .update_item()
        .table_name("items")
        .key("pk", s("k"))
        .update_expression("SET v = :n")
        .condition_expression("v > :n")
        .expression_attribute_values(":n", ni(5))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => {
            assert_eq!(e.item(), Some(&item(&[("pk", s("k")), ("v", ni(1))])));
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }
}

#[tokio::test]
async fn t40_delete_item() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("items")
        .item("pk", s("d"))
        .item("v", ni(1))
        .send()
        .await
        .unwrap();

    // Condition failure leaves the item.
    let err = c
        .delete_item()
        .table_name("items")
        .key("pk", s("d"))
        .condition_expression("v = :two")
        .expression_attribute_values(":two", ni(2))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(e) => {
            assert_eq!(e.item(), Some(&item(&[("pk", s("d")), ("v", ni(1))])));
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }
    assert!(get(&c, "d").await.is_some());

    let r = c
        .delete_item()
        .table_name("items")
        .key("pk", s("d"))
        .condition_expression("v = :one")
        .expression_attribute_values(":one", ni(1))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.attributes().unwrap(),
        &item(&[("pk", s("d")), ("v", ni(1))])
    );
    assert!(get(&c, "d").await.is_none());

    // Deleting a missing item succeeds and returns nothing.
    let r = c
        .delete_item()
        .table_name("items")
        .key("pk", s("d"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(r.attributes().is_none());

    // DeleteItem supports only NONE and ALL_OLD.
    let r = c
        .delete_item()
        .table_name("items")
        .key("pk", s("d"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    expect_error(r, "ValidationException");
}

fn capacity(cc: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) -> f64 {
    let cc = cc.expect("ConsumedCapacity present");
    assert_eq!(cc.table_name(), Some("items"));
    cc.capacity_units().expect("CapacityUnits present")
}

#[tokio::test]
async fn t50_consumed_capacity() {
    let (_server, c) = setup().await;
    let total = ReturnConsumedCapacity::Total;

    // A small item: 1 WCU to write, 1 RCU strongly consistent, 0.5 eventually consistent.
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("small"))
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 1.0);
    let r = c
        .get_item()
        .table_name("items")
        .key("pk", s("small"))
        .consistent_read(true)
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 1.0);
    let r = c
        .get_item()
        .table_name("items")
        .key("pk", s("small"))
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 0.5);

    // 5,007 bytes ("pk"+"big" + "data"+5000): 5 WCU (1 KB units), 2 RCU strong (4 KB units),
    // 1 RCU eventually consistent.
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("big"))
        .item("data", s(&"x".repeat(5000)))
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 5.0);
    let r = c
        .get_item()
        .table_name("items")
        .key("pk", s("big"))
        .consistent_read(true)
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 2.0);
    let r = c
        .get_item()
        .table_name("items")
        .key("pk", s("big"))
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 1.0);

    // A write is charged on the larger of the old and new item.
    let r = c
        .put_item()
        .table_name("items")
        .item("pk", s("big"))
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 5.0);

    // Deleting a missing item still costs 1 WCU.
    let r = c
        .delete_item()
        .table_name("items")
        .key("pk", s("absent"))
        .return_consumed_capacity(total.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(capacity(r.consumed_capacity()), 1.0);

    // NONE (the default) reports nothing.
    let r = c
        .get_item()
        .table_name("items")
        .key("pk", s("small"))
        .send()
        .await
        .unwrap();
    assert!(r.consumed_capacity().is_none());
}
