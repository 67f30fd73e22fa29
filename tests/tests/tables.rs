//! Control plane of one region: CreateTable, DescribeTable, ListTables, UpdateTable,
//! DeleteTable, tags, TTL, DescribeEndpoints, DescribeLimits.

use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeyType, Projection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType, TableStatus, Tag, TimeToLiveSpecification, TimeToLiveStatus,
};
use meridian_tests::*;

fn throughput(read: i64, write: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .unwrap()
}

#[tokio::test]
async fn t10_create_and_describe_table() {
    let server = Server::start().await;
    let c = server.client();

    let created = c
        .create_table()
        .table_name("orders")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::N))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let desc = created.table_description().unwrap();
    assert_eq!(desc.table_name(), Some("orders"));
    assert!(
        matches!(
            desc.table_status(),
            Some(TableStatus::Creating | TableStatus::Active)
        ),
        "status after create: {:?}",
        desc.table_status()
    );
    let arn = desc.table_arn().unwrap();
    assert!(arn.starts_with("arn:aws:dynamodb:us-east-1:"), "arn {arn}");
    assert!(arn.ends_with(":table/orders"), "arn {arn}");
    assert!(desc.creation_date_time().is_some());
    assert!(desc.table_id().is_some(), "TableId missing");

    wait_active(&c, "orders").await;
    let table = c
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    assert_eq!(table.table_name(), Some("orders"));
    assert_eq!(table.table_arn(), Some(arn));
    let keys: Vec<(&str, &KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    assert_eq!(keys, vec![("pk", &KeyType::Hash), ("sk", &KeyType::Range)]);
    let mut defs: Vec<(&str, &ScalarAttributeType)> = table
        .attribute_definitions()
        .iter()
        .map(|d| (d.attribute_name(), d.attribute_type()))
        .collect();
    defs.sort_by_key(|d| d.0);
    assert_eq!(
        defs,
        vec![
            ("pk", &ScalarAttributeType::S),
            ("sk", &ScalarAttributeType::N)
        ]
    );
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(table.item_count(), Some(0));
    assert_eq!(table.table_size_bytes(), Some(0));
}

#[tokio::test]
async fn t11_create_provisioned_table_reports_throughput() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("prov")
        .attribute_definitions(attr_def("id", ScalarAttributeType::B))
        .key_schema(key_elem("id", KeyType::Hash))
        .provisioned_throughput(throughput(7, 3))
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
    let pt = table.provisioned_throughput().unwrap();
    assert_eq!(pt.read_capacity_units(), Some(7));
    assert_eq!(pt.write_capacity_units(), Some(3));
}

#[tokio::test]
async fn t12_create_existing_table_is_resource_in_use() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "dup").await;
    let again = c
        .create_table()
        .table_name("dup")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    expect_error(again, "ResourceInUseException");
}

#[tokio::test]
async fn t13_create_table_validation() {
    let server = Server::start().await;
    let c = server.client();

    // Names are 3-255 characters of [a-zA-Z0-9_.-].
    for bad in ["ab", "has space", "semi;colon", &"x".repeat(256)] {
        let r = c
            .create_table()
            .table_name(bad)
            .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
            .key_schema(key_elem("pk", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        expect_error(r, "ValidationException");
    }

    // A key attribute without a definition.
    let r = c
        .create_table()
        .table_name("tv1")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("other", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    expect_error(r, "ValidationException");

    // A definition that no key or index uses.
    let r = c
        .create_table()
        .table_name("tv2")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("unused", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    expect_error(r, "ValidationException");

    // PROVISIONED (the default) without throughput.
    let r = c
        .create_table()
        .table_name("tv3")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // PAY_PER_REQUEST with throughput.
    let r = c
        .create_table()
        .table_name("tv4")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .provisioned_throughput(throughput(1, 1))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // Two hash keys.
    let r = c
        .create_table()
        .table_name("tv5")
        .attribute_definitions(attr_def("a", ScalarAttributeType::S))
        .attribute_definitions(attr_def("b", ScalarAttributeType::S))
        .key_schema(key_elem("a", KeyType::Hash))
        .key_schema(key_elem("b", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    expect_error(r, "ValidationException");

    // Nothing was created by any of the rejected requests.
    let listed = c.list_tables().send().await.unwrap();
    assert!(
        listed.table_names().is_empty(),
        "{:?}",
        listed.table_names()
    );
}

#[tokio::test]
async fn t14_describe_missing_table_is_resource_not_found() {
    let server = Server::start().await;
    let c = server.client();
    let r = c.describe_table().table_name("nope").send().await;
    expect_error(r, "ResourceNotFoundException");
}

#[tokio::test]
async fn t20_list_tables_sorted_with_pagination() {
    let server = Server::start().await;
    let c = server.client();
    let listed = c.list_tables().send().await.unwrap();
    assert!(listed.table_names().is_empty());
    assert!(listed.last_evaluated_table_name().is_none());

    // Created out of order; listed in ascending order.
    let mut names = vec!["delta", "alpha", "echo", "charlie", "bravo"];
    for name in &names {
        create_simple_table(&c, name).await;
    }
    names.sort();

    let all = c.list_tables().send().await.unwrap();
    assert_eq!(all.table_names(), names.as_slice());
    assert!(all.last_evaluated_table_name().is_none());

    let page1 = c.list_tables().limit(2).send().await.unwrap();
    assert_eq!(page1.table_names(), &names[..2]);
    assert_eq!(page1.last_evaluated_table_name(), Some("bravo"));

    let page2 = c
        .list_tables()
        .limit(2)
        .exclusive_start_table_name("bravo")
        .send()
        .await
        .unwrap();
    assert_eq!(page2.table_names(), &names[2..4]);
    assert_eq!(page2.last_evaluated_table_name(), Some("delta"));

    let page3 = c
        .list_tables()
        .limit(2)
        .exclusive_start_table_name("delta")
        .send()
        .await
        .unwrap();
    assert_eq!(page3.table_names(), &names[4..]);
    assert!(page3.last_evaluated_table_name().is_none());

    // The start name need not exist: listing resumes after it.
    let after = c
        .list_tables()
        .exclusive_start_table_name("bzz")
        .send()
        .await
        .unwrap();
    assert_eq!(after.table_names(), &names[2..]);

    // Limit is 1..=100.
    expect_error(c.list_tables().limit(0).send().await, "ValidationException");
    expect_error(
        c.list_tables().limit(101).send().await,
        "ValidationException",
    );
}

#[tokio::test]
async fn t30_update_table_throughput_and_billing_mode() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("upd")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .provisioned_throughput(throughput(5, 5))
        .send()
        .await
        .unwrap();
    wait_active(&c, "upd").await;

    let updated = c
        .update_table()
        .table_name("upd")
        .provisioned_throughput(throughput(10, 20))
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.table_description().unwrap().table_name(),
        Some("upd")
    );
    wait_active(&c, "upd").await;
    let table = c
        .describe_table()
        .table_name("upd")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let pt = table.provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(10), Some(20))
    );

    c.update_table()
        .table_name("upd")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    wait_active(&c, "upd").await;
    let table = c
        .describe_table()
        .table_name("upd")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );

    let r = c
        .update_table()
        .table_name("missing")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
}

#[tokio::test]
async fn t31_update_table_adds_global_secondary_index() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "gsi_add").await;
    c.put_item()
        .table_name("gsi_add")
        .item("pk", s("a"))
        .item("email", s("a@example.com"))
        .send()
        .await
        .unwrap();

    c.update_table()
        .table_name("gsi_add")
        .attribute_definitions(attr_def("email", ScalarAttributeType::S))
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                        .index_name("by_email")
                        .key_schema(key_elem("email", KeyType::Hash))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "gsi_add").await;

    // Existing items are backfilled into the new index.
    let q = c
        .query()
        .table_name("gsi_add")
        .index_name("by_email")
        .key_condition_expression("email = :e")
        .expression_attribute_values(":e", s("a@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(q.count(), 1);
    assert_eq!(get_s(&q.items()[0], "pk"), Some("a"));
}

#[tokio::test]
async fn t40_delete_table() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "gone").await;
    c.put_item()
        .table_name("gone")
        .item("pk", s("x"))
        .send()
        .await
        .unwrap();

    let deleted = c.delete_table().table_name("gone").send().await.unwrap();
    let desc = deleted.table_description().unwrap();
    assert_eq!(desc.table_name(), Some("gone"));
    wait_gone(&c, "gone").await;
    assert!(c
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .is_empty());

    expect_error(
        c.delete_table().table_name("gone").send().await,
        "ResourceNotFoundException",
    );
    expect_error(
        c.get_item()
            .table_name("gone")
            .key("pk", s("x"))
            .send()
            .await,
        "ResourceNotFoundException",
    );

    // A table re-created under the same name starts empty.
    create_simple_table(&c, "gone").await;
    let got = c
        .get_item()
        .table_name("gone")
        .key("pk", s("x"))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_none(), "{:?}", got.item());
}

#[tokio::test]
async fn t50_tags() {
    let server = Server::start().await;
    let c = server.client();
    let created = c
        .create_table()
        .table_name("tagged")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .tags(Tag::builder().key("team").value("storage").build().unwrap())
        .send()
        .await
        .unwrap();
    let arn = created
        .table_description()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned();
    wait_active(&c, "tagged").await;

    let tags_of = |list: &[Tag]| {
        let mut v: Vec<(String, String)> = list
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        v.sort();
        v
    };

    let listed = c
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(listed.tags()),
        vec![("team".into(), "storage".into())]
    );

    c.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("env").value("test").build().unwrap())
        .tags(
            Tag::builder()
                .key("team")
                .value("platform")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let listed = c
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(listed.tags()),
        vec![
            ("env".into(), "test".into()),
            ("team".into(), "platform".into())
        ]
    );

    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let listed = c
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(listed.tags()), vec![("env".into(), "test".into())]);

    let missing_arn = arn.replace(":table/tagged", ":table/nosuch");
    let r = c
        .tag_resource()
        .resource_arn(&missing_arn)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
    let r = c
        .list_tags_of_resource()
        .resource_arn(&missing_arn)
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
}

#[tokio::test]
async fn t60_time_to_live() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "ttl").await;

    let before = c
        .describe_time_to_live()
        .table_name("ttl")
        .send()
        .await
        .unwrap();
    assert_eq!(
        before
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status()),
        Some(&TimeToLiveStatus::Disabled)
    );

    let updated = c
        .update_time_to_live()
        .table_name("ttl")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let spec = updated.time_to_live_specification().unwrap();
    assert!(spec.enabled());
    assert_eq!(spec.attribute_name(), "expires");

    let after = c
        .describe_time_to_live()
        .table_name("ttl")
        .send()
        .await
        .unwrap();
    let desc = after.time_to_live_description().unwrap();
    assert!(
        matches!(
            desc.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ),
        "{desc:?}"
    );
    assert_eq!(desc.attribute_name(), Some("expires"));
}

#[tokio::test]
async fn t70_describe_endpoints_and_limits() {
    let server = Server::start().await;
    let c = server.client();

    let endpoints = c.describe_endpoints().send().await.unwrap();
    assert!(!endpoints.endpoints().is_empty());
    for e in endpoints.endpoints() {
        assert!(!e.address().is_empty());
        assert!(e.cache_period_in_minutes() > 0);
    }

    let limits = c.describe_limits().send().await.unwrap();
    let account_read = limits.account_max_read_capacity_units().unwrap();
    let account_write = limits.account_max_write_capacity_units().unwrap();
    let table_read = limits.table_max_read_capacity_units().unwrap();
    let table_write = limits.table_max_write_capacity_units().unwrap();
    assert!(table_read > 0 && table_write > 0);
    assert!(table_read <= account_read && table_write <= account_write);
}

#[tokio::test]
async fn t80_create_table_with_indexes_describes_them() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("idx")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("g", ScalarAttributeType::S))
        .attribute_definitions(attr_def("lsk", ScalarAttributeType::N))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_g")
                .key_schema(key_elem("g", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .local_secondary_indexes(
            aws_sdk_dynamodb::types::LocalSecondaryIndex::builder()
                .index_name("by_lsk")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("lsk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "idx").await;
    let table = c
        .describe_table()
        .table_name("idx")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let gsis = table.global_secondary_indexes();
    assert_eq!(gsis.len(), 1);
    assert_eq!(gsis[0].index_name(), Some("by_g"));
    assert!(gsis[0]
        .index_arn()
        .is_some_and(|a| a.ends_with(":table/idx/index/by_g")));
    let lsis = table.local_secondary_indexes();
    assert_eq!(lsis.len(), 1);
    assert_eq!(lsis[0].index_name(), Some("by_lsk"));

    // A local index must share the table's hash key.
    let r = c
        .create_table()
        .table_name("badlsi")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("other", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .local_secondary_indexes(
            aws_sdk_dynamodb::types::LocalSecondaryIndex::builder()
                .index_name("bad")
                .key_schema(key_elem("other", KeyType::Hash))
                .key_schema(key_elem("sk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await;
    expect_error(r, "ValidationException");
}
