//! CreateTable and UpdateTable index definitions rejected with DynamoDB's errors and messages.

use aws_sdk_dynamodb::types::{
    BillingMode, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndexUpdate, KeyType, LocalSecondaryIndex, ProjectionType, ScalarAttributeType,
};
use meridian_tests::*;

use crate::indexes::{gsi, projection};

#[tokio::test]
async fn t45_index_validation() {
    let server = Server::start().await;
    let c = server.client();
    let base = || {
        c.create_table()
            .table_name("val")
            .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
            .key_schema(key_elem("pk", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
    };
    let message = |e: &aws_sdk_dynamodb::error::SdkError<_, _>| match e {
        aws_sdk_dynamodb::error::SdkError::ServiceError(se) => {
            let e: &aws_sdk_dynamodb::operation::create_table::CreateTableError = se.err();
            aws_sdk_dynamodb::error::ProvideErrorMetadata::message(e)
                .unwrap_or_default()
                .to_owned()
        }
        other => format!("{other:?}"),
    };
    // An LSI needs a table with a sort key.
    let r = base()
        .attribute_definitions(attr_def("x", ScalarAttributeType::S))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("lsi")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("x", KeyType::Range))
                .projection(projection(ProjectionType::All, &[]))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
    );
    // Attribute definitions must be exactly the keys used.
    let r = base()
        .attribute_definitions(attr_def("x", ScalarAttributeType::S))
        .attribute_definitions(attr_def("unused", ScalarAttributeType::S))
        .global_secondary_indexes(gsi("gi1", "x", None, projection(ProjectionType::All, &[])))
        .send()
        .await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [pk, x, unused], keys used: [pk, x]"
    );
    let r = base()
        .global_secondary_indexes(gsi("gi1", "x", None, projection(ProjectionType::All, &[])))
        .send()
        .await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [x], AttributeDefinitions: [pk]"
    );
    // INCLUDE needs NonKeyAttributes; duplicate names; too many GSIs; bad names.
    let r = base()
        .attribute_definitions(attr_def("x", ScalarAttributeType::S))
        .global_secondary_indexes(gsi(
            "gi1",
            "x",
            None,
            projection(ProjectionType::Include, &[]),
        ))
        .send()
        .await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes is not specified"
    );
    let r = base()
        .attribute_definitions(attr_def("x", ScalarAttributeType::S))
        .global_secondary_indexes(gsi("gi1", "x", None, projection(ProjectionType::All, &[])))
        .global_secondary_indexes(gsi("gi1", "pk", None, projection(ProjectionType::All, &[])))
        .send()
        .await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: Duplicate index name: gi1"
    );
    let mut many = base().attribute_definitions(attr_def("x", ScalarAttributeType::S));
    for i in 0..21 {
        many = many.global_secondary_indexes(gsi(
            &format!("gsi{i:02}"),
            "x",
            None,
            projection(ProjectionType::KeysOnly, &[]),
        ));
    }
    let r = many.send().await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20"
    );
    let r = base()
        .attribute_definitions(attr_def("x", ScalarAttributeType::S))
        .global_secondary_indexes(gsi("ab", "x", None, projection(ProjectionType::All, &[])))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let attrs: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    let mut wide = base().attribute_definitions(attr_def("x", ScalarAttributeType::S));
    for (n, chunk) in attrs.chunks(20).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        wide = wide.global_secondary_indexes(gsi(
            &format!("wide{n}"),
            "x",
            None,
            projection(ProjectionType::Include, &refs),
        ));
    }
    let r = wide.send().await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: Number of projected attributes in all indexes exceeds limit of 100"
    );

    // Provisioned tables need throughput for each GSI.
    let r = c
        .create_table()
        .table_name("val")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("x", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(1)
                .write_capacity_units(1)
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(gsi("gi1", "x", None, projection(ProjectionType::All, &[])))
        .send()
        .await;
    assert_eq!(
        message(r.as_ref().unwrap_err()),
        "One or more parameter values were invalid: ProvisionedThroughput is not specified for index: gi1"
    );

    // UpdateTable: unknown index, an LSI, a missing definition, two creates at once.
    create_composite_table(&c, "upd").await;
    let delete = |name: &str| {
        GlobalSecondaryIndexUpdate::builder()
            .delete(
                DeleteGlobalSecondaryIndexAction::builder()
                    .index_name(name)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let r = c
        .update_table()
        .table_name("upd")
        .global_secondary_index_updates(delete("nosuch"))
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
    let create = |name: &str, attr: &str| {
        GlobalSecondaryIndexUpdate::builder()
            .create(
                CreateGlobalSecondaryIndexAction::builder()
                    .index_name(name)
                    .key_schema(key_elem(attr, KeyType::Hash))
                    .projection(projection(ProjectionType::KeysOnly, &[]))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let r = c
        .update_table()
        .table_name("upd")
        .global_secondary_index_updates(create("gi1", "x"))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .update_table()
        .table_name("upd")
        .attribute_definitions(attr_def("x", ScalarAttributeType::S))
        .attribute_definitions(attr_def("y", ScalarAttributeType::S))
        .global_secondary_index_updates(create("gi1", "x"))
        .global_secondary_index_updates(create("gi2", "y"))
        .send()
        .await;
    expect_error(r, "LimitExceededException");
}
