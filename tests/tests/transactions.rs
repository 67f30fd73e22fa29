//! TransactWriteItems and TransactGetItems: atomicity, cancellation reasons, idempotency
//! tokens, limits, capacity.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Get, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, TransactGetItem, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

type Item = HashMap<String, AttributeValue>;

fn tput(table: &str, item: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .build()
                .unwrap(),
        )
        .build()
}

fn tupdate(
    table: &str,
    pk: &str,
    expr: &str,
    values: &[(&str, AttributeValue)],
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .key("pk", s(pk))
                .update_expression(expr)
                .set_expression_attribute_values(if values.is_empty() {
                    None
                } else {
                    Some(item(values))
                })
                .build()
                .unwrap(),
        )
        .build()
}

fn tdelete(table: &str, pk: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name(table)
                .key("pk", s(pk))
                .build()
                .unwrap(),
        )
        .build()
}

fn tcheck(
    table: &str,
    pk: &str,
    cond: &str,
    values: &[(&str, AttributeValue)],
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .key("pk", s(pk))
                .condition_expression(cond)
                .set_expression_attribute_values(if values.is_empty() {
                    None
                } else {
                    Some(item(values))
                })
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .unwrap(),
        )
        .build()
}

fn tget(table: &str, pk: &str) -> TransactGetItem {
    TransactGetItem::builder()
        .get(
            Get::builder()
                .table_name(table)
                .key("pk", s(pk))
                .build()
                .unwrap(),
        )
        .build()
}

async fn setup() -> (Server, Client) {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "acct").await;
    create_simple_table(&c, "log").await;
    for (pk, bal) in [("alice", 100), ("bob", 50)] {
        c.put_item()
            .table_name("acct")
            .item("pk", s(pk))
            .item("bal", ni(bal))
            .send()
            .await
            .unwrap();
    }
    (server, c)
}

async fn balance(c: &Client, pk: &str) -> Option<String> {
    let r = c
        .get_item()
        .table_name("acct")
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    r.item().and_then(|i| get_n(i, "bal")).map(str::to_owned)
}

#[tokio::test]
async fn t10_all_actions_commit_together() {
    let (_server, c) = setup().await;
    c.put_item()
        .table_name("acct")
        .item("pk", s("carol"))
        .send()
        .await
        .unwrap();
    c.transact_write_items()
        .transact_items(tcheck("acct", "alice", "bal >= :amt", &[(":amt", ni(30))]))
        .transact_items(tupdate(
            "acct",
            "bob",
            "SET bal = bal + :amt",
            &[(":amt", ni(30))],
        ))
        .transact_items(tdelete("acct", "carol"))
        .transact_items(tput("log", item(&[("pk", s("tx1")), ("amt", ni(30))])))
        .send()
        .await
        .unwrap();
    assert_eq!(balance(&c, "bob").await.as_deref(), Some("80"));
    assert_eq!(
        balance(&c, "alice").await.as_deref(),
        Some("100"),
        "a condition check writes nothing"
    );
    let carol = c
        .get_item()
        .table_name("acct")
        .key("pk", s("carol"))
        .send()
        .await
        .unwrap();
    assert!(carol.item().is_none());
    let log = c
        .get_item()
        .table_name("log")
        .key("pk", s("tx1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        log.item(),
        Some(&item(&[("pk", s("tx1")), ("amt", ni(30))]))
    );
}

#[tokio::test]
async fn t20_failed_condition_cancels_everything() {
    let (_server, c) = setup().await;
    let err = c
        .transact_write_items()
        .transact_items(tupdate(
            "acct",
            "bob",
            "SET bal = bal + :amt",
            &[(":amt", ni(500))],
        ))
        .transact_items(tcheck("acct", "alice", "bal >= :amt", &[(":amt", ni(500))]))
        .transact_items(tput("log", item(&[("pk", s("tx2"))])))
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            let codes: Vec<Option<&str>> =
                e.cancellation_reasons().iter().map(|r| r.code()).collect();
            assert_eq!(
                codes,
                vec![Some("None"), Some("ConditionalCheckFailed"), Some("None")],
                "{e:?}"
            );
            // ALL_OLD on the failed check: the reason carries the item.
            assert_eq!(
                e.cancellation_reasons()[1].item(),
                Some(&item(&[("pk", s("alice")), ("bal", ni(100))]))
            );
            assert!(e.cancellation_reasons()[1].message().is_some());
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    assert_eq!(
        balance(&c, "bob").await.as_deref(),
        Some("50"),
        "nothing applied"
    );
    let log = c
        .get_item()
        .table_name("log")
        .key("pk", s("tx2"))
        .send()
        .await
        .unwrap();
    assert!(log.item().is_none());

    // A conditional Put that fails is reported the same way.
    let err = c
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("acct")
                        .item("pk", s("alice"))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(tupdate("acct", "bob", "SET bal = :z", &[(":z", ni(0))]))
        .send()
        .await
        .unwrap_err();
    let code = error_code(&err);
    assert_eq!(code, "TransactionCanceledException");
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            let codes: Vec<Option<&str>> =
                e.cancellation_reasons().iter().map(|r| r.code()).collect();
            assert_eq!(codes, vec![Some("ConditionalCheckFailed"), Some("None")]);
            assert!(
                e.cancellation_reasons()[0].item().is_none(),
                "no ALL_OLD asked for"
            );
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    assert_eq!(balance(&c, "bob").await.as_deref(), Some("50"));
}

#[tokio::test]
async fn t30_client_request_token_is_idempotent() {
    let (_server, c) = setup().await;
    let send = |amount: i64| {
        c.transact_write_items()
            .client_request_token("token-0001")
            .transact_items(tupdate(
                "acct",
                "bob",
                "ADD bal :amt",
                &[(":amt", ni(amount))],
            ))
            .send()
    };
    send(10).await.unwrap();
    assert_eq!(balance(&c, "bob").await.as_deref(), Some("60"));
    // The same token and body again: success, not applied twice.
    send(10).await.unwrap();
    assert_eq!(balance(&c, "bob").await.as_deref(), Some("60"));
    // The same token with a different body.
    expect_error(send(20).await, "IdempotentParameterMismatchException");
    assert_eq!(balance(&c, "bob").await.as_deref(), Some("60"));

    // A different token applies again.
    c.transact_write_items()
        .client_request_token("token-0002")
        .transact_items(tupdate("acct", "bob", "ADD bal :amt", &[(":amt", ni(10))]))
        .send()
        .await
        .unwrap();
    assert_eq!(balance(&c, "bob").await.as_deref(), Some("70"));
}

#[tokio::test]
async fn t40_transaction_validation() {
    let (_server, c) = setup().await;
    // Two actions on one item.
    let r = c
        .transact_write_items()
        .transact_items(tupdate("acct", "bob", "SET a = :v", &[(":v", ni(1))]))
        .transact_items(tcheck("acct", "bob", "attribute_exists(pk)", &[]))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // More than 100 actions.
    let mut req = c.transact_write_items();
    for i in 0..101 {
        req = req.transact_items(tput("log", item(&[("pk", s(&format!("k{i}")))])));
    }
    expect_error(req.send().await, "ValidationException");

    // 100 actions is fine.
    let mut req = c.transact_write_items();
    for i in 0..100 {
        req = req.transact_items(tput("log", item(&[("pk", s(&format!("k{i}")))])));
    }
    req.send().await.unwrap();

    // An invalid expression in any action fails the whole request as a validation error.
    let r = c
        .transact_write_items()
        .transact_items(tput("log", item(&[("pk", s("never"))])))
        .transact_items(tupdate("acct", "bob", "SET = oops", &[]))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let never = c
        .get_item()
        .table_name("log")
        .key("pk", s("never"))
        .send()
        .await
        .unwrap();
    assert!(never.item().is_none());

    // A missing table.
    let r = c
        .transact_write_items()
        .transact_items(tput("nosuch", item(&[("pk", s("k"))])))
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");

    // An action with none of Put/Update/Delete/ConditionCheck.
    let r = c
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().build())
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t50_transact_get_items() {
    let (_server, c) = setup().await;
    let r = c
        .transact_get_items()
        .transact_items(tget("acct", "bob"))
        .transact_items(tget("acct", "nobody"))
        .transact_items(
            TransactGetItem::builder()
                .get(
                    Get::builder()
                        .table_name("acct")
                        .key("pk", s("alice"))
                        .projection_expression("bal")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let responses = r.responses();
    assert_eq!(responses.len(), 3, "one response per request, in order");
    assert_eq!(
        responses[0].item(),
        Some(&item(&[("pk", s("bob")), ("bal", ni(50))]))
    );
    assert!(responses[1].item().is_none_or(HashMap::is_empty));
    assert_eq!(responses[2].item(), Some(&item(&[("bal", ni(100))])));

    let r = c
        .transact_get_items()
        .transact_items(tget("nosuch", "x"))
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");

    let mut req = c.transact_get_items();
    for i in 0..101 {
        req = req.transact_items(tget("acct", &format!("k{i}")));
    }
    expect_error(req.send().await, "ValidationException");

    let r = c
        .transact_get_items()
        .transact_items(tget("acct", "bob"))
        .transact_items(tget("acct", "bob"))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t60_transaction_capacity_is_doubled() {
    let (_server, c) = setup().await;
    // Transactional writes cost 2 WCU per 1 KB, reads 2 RCU per 4 KB.
    let r = c
        .transact_write_items()
        .transact_items(tput("log", item(&[("pk", s("a"))])))
        .transact_items(tput("log", item(&[("pk", s("b"))])))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let cc = r.consumed_capacity();
    assert_eq!(cc.len(), 1);
    assert_eq!(cc[0].table_name(), Some("log"));
    assert_eq!(cc[0].capacity_units(), Some(4.0));

    let r = c
        .transact_get_items()
        .transact_items(tget("log", "a"))
        .transact_items(tget("log", "b"))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let cc = r.consumed_capacity();
    assert_eq!(cc.len(), 1);
    assert_eq!(cc[0].capacity_units(), Some(4.0));
}

#[tokio::test]
async fn t70_concurrent_transfers_conserve_total() {
    let (_server, c) = setup().await;
    // Many concurrent transfers between two accounts, each guarded by a balance check; the
    // sum must stay 150 and no balance may go negative.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let c = c.clone();
        let (from, to) = if i % 2 == 0 {
            ("alice", "bob")
        } else {
            ("bob", "alice")
        };
        tasks.push(tokio::spawn(async move {
            c.transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .update(
                            Update::builder()
                                .table_name("acct")
                                .key("pk", s(from))
                                .update_expression("SET bal = bal - :amt")
                                .condition_expression("bal >= :amt")
                                .expression_attribute_values(":amt", ni(7))
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .transact_items(tupdate(
                    "acct",
                    to,
                    "SET bal = bal + :amt",
                    &[(":amt", ni(7))],
                ))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| error_code(&e))
        }));
    }
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => {}
            // Losing a race is allowed: a conflict or a failed check cancels the transaction.
            Err(code) => assert!(
                code == "TransactionCanceledException" || code == "TransactionConflictException",
                "unexpected error {code}"
            ),
        }
    }
    let a: i64 = balance(&c, "alice").await.unwrap().parse().unwrap();
    let b: i64 = balance(&c, "bob").await.unwrap().parse().unwrap();
    assert_eq!(a + b, 150);
    assert!(a >= 0 && b >= 0);
}
