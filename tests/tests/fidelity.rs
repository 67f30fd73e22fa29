//! Fidelity with DynamoDB's documented behaviour where SDK users notice a difference: table
//! ARNs in TableName, response members that only some tables have, updates that do not create
//! items, and the order in which validation errors are reported.

use aws_sdk_dynamodb::types::{
    BillingMode, KeysAndAttributes, PutRequest, ReturnConsumedCapacity, ReturnValue,
    ScalarAttributeType, WriteRequest,
};
use meridian_tests::*;
use serde_json::json;

use crate::protocol::call;

const ARN_PREFIX: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/";

#[tokio::test]
async fn t10_table_arn_works_as_table_name() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "arned").await;
    let arn = c
        .describe_table()
        .table_name("arned")
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .table_arn
        .unwrap();
    assert_eq!(arn, format!("{ARN_PREFIX}arned"));

    // Control plane.
    let described = c.describe_table().table_name(&arn).send().await.unwrap();
    assert_eq!(described.table.unwrap().table_name(), Some("arned"));

    // Single-item writes and reads; ConsumedCapacity names the table as the request did.
    let put = c
        .put_item()
        .table_name(&arn)
        .item("pk", s("a"))
        .item("v", n("1"))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.consumed_capacity.unwrap().table_name(),
        Some(arn.as_str())
    );
    c.update_item()
        .table_name(&arn)
        .key("pk", s("a"))
        .update_expression("SET w = :w")
        .expression_attribute_values(":w", s("x"))
        .send()
        .await
        .unwrap();
    let got = c
        .get_item()
        .table_name(&arn)
        .key("pk", s("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_s(got.item.as_ref().unwrap(), "w"), Some("x"));
    let q = c
        .query()
        .table_name(&arn)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(q.count, 1);
    let scan = c.scan().table_name(&arn).send().await.unwrap();
    assert_eq!(scan.count, 1);

    // Batches answer under the key the request used.
    let batch = c
        .batch_get_item()
        .request_items(
            &arn,
            KeysAndAttributes::builder()
                .keys(item(&[("pk", s("a"))]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(batch.responses.unwrap()[&arn].len(), 1);
    c.batch_write_item()
        .request_items(
            &arn,
            vec![WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item(&[("pk", s("b"))])))
                        .build()
                        .unwrap(),
                )
                .build()],
        )
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name(&arn)
        .key("pk", s("b"))
        .send()
        .await
        .unwrap();

    // A table that does not exist is not found, whichever way it is named; a malformed ARN
    // is not a table name.
    let r = c
        .describe_table()
        .table_name(format!("{ARN_PREFIX}nothere"))
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
    let r = c
        .get_item()
        .table_name("arn:aws:dynamodb:us-east-1:000000000000:arned")
        .key("pk", s("a"))
        .send()
        .await;
    expect_error(r, "ValidationException");

    c.delete_table().table_name(&arn).send().await.unwrap();
}

#[tokio::test]
async fn t11_provisioned_table_has_no_billing_mode_summary() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("prov")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", aws_sdk_dynamodb::types::KeyType::Hash))
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(5)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "prov").await;
    let table = c
        .describe_table()
        .table_name("prov")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert!(table.billing_mode_summary.is_none(), "{table:?}");

    // Once it has been on-demand, the summary stays, with the time it was set.
    c.update_table()
        .table_name("prov")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    wait_active(&c, "prov").await;
    let summary = c
        .describe_table()
        .table_name("prov")
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .billing_mode_summary
        .unwrap();
    assert_eq!(summary.billing_mode(), Some(&BillingMode::PayPerRequest));
    assert!(summary.last_update_to_pay_per_request_date_time().is_some());
}

#[tokio::test]
async fn t12_update_that_only_removes_does_not_create_the_item() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "rmv").await;
    let out = c
        .update_item()
        .table_name("rmv")
        .key("pk", s("ghost"))
        .update_expression("REMOVE a, b.c")
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    // `b.c` under a missing `b` is not a valid update path, item or no item.
    expect_error(out, "ValidationException");
    let out = c
        .update_item()
        .table_name("rmv")
        .key("pk", s("ghost"))
        .update_expression("REMOVE a")
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    assert!(out.attributes.is_none());
    let got = c
        .get_item()
        .table_name("rmv")
        .key("pk", s("ghost"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(got.item.is_none(), "{got:?}");
    let table = c
        .describe_table()
        .table_name("rmv")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(table.item_count(), Some(0));

    // A SET creates it.
    c.update_item()
        .table_name("rmv")
        .key("pk", s("ghost"))
        .update_expression("SET a = :a")
        .expression_attribute_values(":a", n("1"))
        .send()
        .await
        .unwrap();
    let got = c
        .get_item()
        .table_name("rmv")
        .key("pk", s("ghost"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_n(got.item.as_ref().unwrap(), "a"), Some("1"));
}

#[tokio::test]
async fn t13_constraint_violations_come_before_return_values_rules() {
    let server = Server::start().await;
    // The SDK refuses to send a request without TableName, so this goes over raw HTTP.
    let body = json!({"Item": {"pk": {"S": "a"}}, "ReturnValues": "ALL_NEW"});
    let response = call(&server, "PutItem", &body);
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["message"],
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
    );
    let body =
        json!({"TableName": "t_x", "Key": {"pk": {"S": "a"}}, "ReturnValues": "UPDATED_NEW"});
    let response = call(&server, "DeleteItem", &body);
    assert_eq!(
        response.json()["message"],
        "ReturnValues can only be ALL_OLD or NONE"
    );
}
