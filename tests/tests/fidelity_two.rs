//! Fidelity with DynamoDB, second round, through the AWS SDKs against the real binary: stream
//! edge semantics (no record for a write that changes nothing, images after a delete and
//! re-put for every view type, ListStreams/DescribeStream paging from any start, ShardFilter,
//! not-found and validation errors), ExclusiveStartKey checks for Query and parallel Scan,
//! tagging restrictions, the DeleteTable description, ConsumedCapacity of Scan and index
//! reads, transaction refusals, and deeply nested expressions.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    BillingMode, Delete, GlobalSecondaryIndex, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, Put, ReturnConsumedCapacity, ScalarAttributeType, Select, StreamViewType,
    TableStatus, Tag, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as SV, OperationType, Record, ShardFilter, ShardFilterType, ShardIteratorType,
};
use meridian_tests::*;

use crate::streams::{create_stream_table, iterator, only_shard, tracing_phase, Streams};

/// Every record from TRIM_HORIZON on (the writes were acknowledged, so they are all there).
async fn records_from_start(sc: &Streams, arn: &str) -> Vec<Record> {
    let shard = only_shard(sc, arn).await;
    let it = iterator(sc, arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let page = sc.get_records().shard_iterator(&it).send().await.unwrap();
    page.records().to_vec()
}

fn event_names(records: &[Record]) -> Vec<OperationType> {
    records
        .iter()
        .map(|r| r.event_name().unwrap().clone())
        .collect()
}

fn image_n(image: Option<&HashMap<String, SV>>) -> Option<String> {
    match image?.get("n")? {
        SV::N(v) => Some(v.clone()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn t10_writes_that_change_nothing_leave_no_stream_record() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    let arn = create_stream_table(&c, "quiet", StreamViewType::NewAndOldImages).await;
    let it = item(&[("pk", s("a")), ("n", n("1")), ("tags", ss(&["x", "y"]))]);

    tracing_phase("--- an identical put, an update to the same value, a delete of nothing");
    for _ in 0..2 {
        c.put_item()
            .table_name("quiet")
            .set_item(Some(it.clone()))
            .send()
            .await
            .unwrap();
    }
    c.update_item()
        .table_name("quiet")
        .key("pk", s("a"))
        .update_expression("SET n = :n REMOVE absent")
        .expression_attribute_values(":n", n("1.00"))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("quiet")
        .key("pk", s("nothing"))
        .send()
        .await
        .unwrap();

    tracing_phase("--- then a real change");
    c.update_item()
        .table_name("quiet")
        .key("pk", s("a"))
        .update_expression("SET n = :n")
        .expression_attribute_values(":n", n("2"))
        .send()
        .await
        .unwrap();

    let records = records_from_start(&sc, &arn).await;
    assert_eq!(
        event_names(&records),
        [OperationType::Insert, OperationType::Modify]
    );
    let modify = records[1].dynamodb().unwrap();
    assert_eq!(image_n(modify.old_image()).as_deref(), Some("1"));
    assert_eq!(image_n(modify.new_image()).as_deref(), Some("2"));
}

#[tokio::test]
async fn t11_delete_then_reput_images_for_every_view_type() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    for (name, view) in [
        ("keys-only", StreamViewType::KeysOnly),
        ("new-image", StreamViewType::NewImage),
        ("old-image", StreamViewType::OldImage),
        ("new-and-old", StreamViewType::NewAndOldImages),
    ] {
        tracing_phase(&format!("--- {name}"));
        let arn = create_stream_table(&c, name, view.clone()).await;
        for (i, v) in ["1", "2"].iter().enumerate() {
            c.put_item()
                .table_name(name)
                .set_item(Some(item(&[("pk", s("k")), ("n", n(v))])))
                .send()
                .await
                .unwrap();
            if i == 0 {
                c.delete_item()
                    .table_name(name)
                    .key("pk", s("k"))
                    .send()
                    .await
                    .unwrap();
            }
        }
        let records = records_from_start(&sc, &arn).await;
        assert_eq!(
            event_names(&records),
            [
                OperationType::Insert,
                OperationType::Remove,
                OperationType::Insert
            ],
            "{name}"
        );
        let new_wanted = matches!(
            view,
            StreamViewType::NewImage | StreamViewType::NewAndOldImages
        );
        let old_wanted = matches!(
            view,
            StreamViewType::OldImage | StreamViewType::NewAndOldImages
        );
        let images: Vec<(Option<String>, Option<String>)> = records
            .iter()
            .map(|r| {
                let d = r.dynamodb().unwrap();
                assert_eq!(d.keys().unwrap()["pk"], SV::S("k".into()), "{name}");
                assert_eq!(d.stream_view_type().unwrap().as_str(), view.as_str());
                (image_n(d.old_image()), image_n(d.new_image()))
            })
            .collect();
        let want = |old: Option<&str>, new: Option<&str>| {
            (
                old.filter(|_| old_wanted).map(str::to_owned),
                new.filter(|_| new_wanted).map(str::to_owned),
            )
        };
        assert_eq!(
            images,
            [
                want(None, Some("1")),
                want(Some("1"), None),
                // The re-put after the delete is an INSERT: there is no old image.
                want(None, Some("2")),
            ],
            "{name}"
        );
    }
}

#[tokio::test]
async fn t12_list_and_describe_stream_paging_and_shard_filter() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    let mut arns = Vec::new();
    for name in ["page-b", "page-a", "page-c"] {
        arns.push(create_stream_table(&c, name, StreamViewType::KeysOnly).await);
    }
    arns.sort();

    tracing_phase("--- Limit 1 pages through every stream once");
    let mut seen = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = sc
            .list_streams()
            .limit(1)
            .set_exclusive_start_stream_arn(start.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.streams()
                .iter()
                .map(|s| s.stream_arn().unwrap().to_owned()),
        );
        match page.last_evaluated_stream_arn() {
            Some(last) => start = Some(last.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, arns);

    tracing_phase("--- a start ARN naming a deleted table continues after it");
    c.delete_table().table_name("page-a").send().await.unwrap();
    wait_gone(&c, "page-a").await;
    let page = sc
        .list_streams()
        .exclusive_start_stream_arn(&arns[0])
        .send()
        .await
        .unwrap();
    let listed: Vec<&str> = page
        .streams()
        .iter()
        .map(|s| s.stream_arn().unwrap())
        .collect();
    assert_eq!(listed, [arns[1].as_str(), arns[2].as_str()]);

    tracing_phase("--- DescribeStream: ExclusiveStartShardId and ShardFilter");
    let shard = only_shard(&sc, &arns[1]).await;
    let described = sc
        .describe_stream()
        .stream_arn(&arns[1])
        .exclusive_start_shard_id(&shard)
        .send()
        .await
        .unwrap();
    let desc = described.stream_description().unwrap();
    assert!(desc.shards().is_empty());
    assert!(desc.last_evaluated_shard_id().is_none());
    let children = sc
        .describe_stream()
        .stream_arn(&arns[1])
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::ChildShards)
                .shard_id(&shard)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(children.stream_description().unwrap().shards().is_empty());
    let r = sc
        .describe_stream()
        .stream_arn(&arns[1])
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::ChildShards)
                .build(),
        )
        .send()
        .await;
    let message = expect_streams_error(r, "ValidationException");
    assert!(message.contains("shardFilter.shardId"), "{message}");
}

/// `expect_error` for the Streams client.
fn expect_streams_error<T, E, R>(
    result: Result<T, aws_sdk_dynamodbstreams::error::SdkError<E, R>>,
    code: &str,
) -> String
where
    T: std::fmt::Debug,
    E: aws_sdk_dynamodbstreams::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(v) => panic!("expected {code}, but the call succeeded: {v:?}"),
        Err(e) => {
            let service = e.as_service_error();
            assert_eq!(
                service.and_then(|s| s.code()),
                Some(code),
                "wrong error; full error: {e:?}"
            );
            service
                .and_then(|s| s.message())
                .unwrap_or_default()
                .to_owned()
        }
    }
}

#[tokio::test]
async fn t13_stream_and_shard_errors() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    let arn = create_stream_table(&c, "errs-two", StreamViewType::NewImage).await;
    let shard = only_shard(&sc, &arn).await;

    let missing = arn.replace("table/errs-two/", "table/nosuch/");
    let message = expect_streams_error(
        sc.describe_stream().stream_arn(&missing).send().await,
        "ResourceNotFoundException",
    );
    assert_eq!(
        message,
        format!("Requested resource not found: Stream: {missing} not found")
    );
    let other = "shardId-00000000000000000001-00000000";
    let message = expect_streams_error(
        sc.get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(other)
            .shard_iterator_type(ShardIteratorType::Latest)
            .send()
            .await,
        "ResourceNotFoundException",
    );
    assert_eq!(
        message,
        format!("Requested resource not found: Shard does not exist: {other}")
    );
    let message = expect_streams_error(
        sc.get_shard_iterator()
            .stream_arn("arn:short")
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number("12")
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "2 validation errors detected: Value 'arn:short' at 'streamArn' failed to satisfy constraint: Member must have length greater than or equal to 37; Value '12' at 'sequenceNumber' failed to satisfy constraint: Member must have length greater than or equal to 21"
    );
}

/// `Starts`: pk (S), sk (N); GSI `by-g` (g, sk); two partitions of three items.
async fn start_key_table(c: &Client) {
    c.create_table()
        .table_name("Starts")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::N))
        .attribute_definitions(attr_def("g", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by-g")
                .key_schema(key_elem("g", KeyType::Hash))
                .key_schema(key_elem("sk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by-g-local")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("g", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(c, "Starts").await;
    for pk in ["a", "b", "c", "d"] {
        for sk in 1..=3 {
            c.put_item()
                .table_name("Starts")
                .set_item(Some(item(&[("pk", s(pk)), ("sk", ni(sk)), ("g", s(pk))])))
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn t20_query_start_key_must_lie_within_the_query() {
    let server = Server::start().await;
    let c = server.client();
    start_key_table(&c).await;
    let start = |pk: &str, sk: i64| Some(item(&[("pk", s(pk)), ("sk", ni(sk))]));

    let page = c
        .query()
        .table_name("Starts")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .set_exclusive_start_key(start("a", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(page.count(), 2);

    let message = expect_error(
        c.query()
            .table_name("Starts")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("a"))
            .set_exclusive_start_key(start("b", 1))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "The provided starting key is outside query boundaries based on provided conditions"
    );
    let message = expect_error(
        c.query()
            .table_name("Starts")
            .key_condition_expression("pk = :p AND sk >= :s")
            .expression_attribute_values(":p", s("a"))
            .expression_attribute_values(":s", ni(2))
            .set_exclusive_start_key(start("a", 1))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "The provided starting key does not match the range key predicate"
    );
    let mut gsi_start = start("b", 1).unwrap();
    gsi_start.insert("g".into(), s("b"));
    let message = expect_error(
        c.query()
            .table_name("Starts")
            .index_name("by-g")
            .key_condition_expression("g = :g")
            .expression_attribute_values(":g", s("a"))
            .set_exclusive_start_key(Some(gsi_start))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "The provided starting key is outside query boundaries based on provided conditions"
    );
}

#[tokio::test]
async fn t21_parallel_scan_start_key_must_lie_in_its_segment() {
    let server = Server::start().await;
    let c = server.client();
    start_key_table(&c).await;
    let mut checked = 0;
    for segment in 0..2 {
        let page = c
            .scan()
            .table_name("Starts")
            .segment(segment)
            .total_segments(2)
            .limit(1)
            .send()
            .await
            .unwrap();
        let Some(last) = page.last_evaluated_key().cloned() else {
            continue;
        };
        c.scan()
            .table_name("Starts")
            .segment(segment)
            .total_segments(2)
            .set_exclusive_start_key(Some(last.clone()))
            .send()
            .await
            .unwrap();
        let message = expect_error(
            c.scan()
                .table_name("Starts")
                .segment(1 - segment)
                .total_segments(2)
                .set_exclusive_start_key(Some(last))
                .send()
                .await,
            "ValidationException",
        );
        assert_eq!(
            message,
            format!(
                "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: {}",
                1 - segment
            )
        );
        checked += 1;
    }
    assert!(checked > 0, "some segment has items");
}

#[tokio::test]
async fn t30_tagging_restrictions() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "tagged").await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tagged";
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();

    let message = expect_error(
        c.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(Vec::new()))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(message, "Atleast one Tag needs to be provided as Input.");
    let message = expect_error(
        c.tag_resource()
            .resource_arn(arn)
            .tags(tag("aws:cost-center", "x"))
            .send()
            .await,
        "ValidationException",
    );
    assert!(message.contains("aws:"), "{message}");
    expect_error(
        c.tag_resource()
            .resource_arn(arn)
            .tags(tag("team#1", "x"))
            .send()
            .await,
        "ValidationException",
    );
    let message = expect_error(
        c.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(Vec::new()))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Atleast one Tag Key needs to be provided as Input."
    );

    tracing_phase("--- allowed characters, duplicates (the later wins), the 50-tag limit");
    c.tag_resource()
        .resource_arn(arn)
        .tags(tag("team name +-=._:/", ""))
        .tags(tag("dup", "first"))
        .tags(tag("dup", "second"))
        .send()
        .await
        .unwrap();
    let listed = c
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    let tags: HashMap<&str, &str> = listed.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags.len(), 2);
    assert_eq!(tags["dup"], "second");
    let mut req = c.tag_resource().resource_arn(arn);
    for i in 0..49 {
        req = req.tags(tag(&format!("k{i}"), "v"));
    }
    expect_error(req.send().await, "LimitExceededException");
}

#[tokio::test]
async fn t40_delete_table_answers_with_a_deleting_description() {
    let server = Server::start().await;
    let c = server.client();
    start_key_table(&c).await;
    let deleted = c.delete_table().table_name("Starts").send().await.unwrap();
    let desc = deleted.table_description().unwrap();
    assert_eq!(desc.table_status(), Some(&TableStatus::Deleting));
    assert_eq!(desc.table_name(), Some("Starts"));
    assert_eq!(
        desc.table_arn(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/Starts")
    );
    assert_eq!(desc.key_schema().len(), 2);
    assert_eq!(desc.global_secondary_indexes().len(), 1);
    assert_eq!(desc.local_secondary_indexes().len(), 1);
    wait_gone(&c, "Starts").await;
}

#[tokio::test]
async fn t50_consumed_capacity_of_scans_and_index_reads() {
    let server = Server::start().await;
    let c = server.client();
    start_key_table(&c).await;

    tracing_phase("--- Scan of the table: INDEXES names the table part");
    let scan = c
        .scan()
        .table_name("Starts")
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let cc = scan.consumed_capacity().unwrap();
    assert_eq!(cc.table_name(), Some("Starts"));
    assert!(cc.capacity_units().unwrap() > 0.0);
    assert_eq!(cc.table().unwrap().capacity_units(), cc.capacity_units());
    assert!(cc.global_secondary_indexes().is_none());

    tracing_phase("--- Query of a GSI and of an LSI: the index part, and none on the table");
    let q = c
        .query()
        .table_name("Starts")
        .index_name("by-g")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("a"))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let cc = q.consumed_capacity().unwrap();
    let gsi = &cc.global_secondary_indexes().unwrap()["by-g"];
    assert_eq!(gsi.capacity_units(), cc.capacity_units());
    assert_eq!(cc.table().unwrap().capacity_units(), Some(0.0));
    assert!(cc.local_secondary_indexes().is_none());
    let q = c
        .query()
        .table_name("Starts")
        .index_name("by-g-local")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let cc = q.consumed_capacity().unwrap();
    assert!(cc
        .local_secondary_indexes()
        .unwrap()
        .contains_key("by-g-local"));
    assert!(cc.global_secondary_indexes().is_none());

    tracing_phase("--- TOTAL: one figure, no breakdown");
    let q = c
        .scan()
        .table_name("Starts")
        .index_name("by-g")
        .select(Select::Count)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let cc = q.consumed_capacity().unwrap();
    assert!(cc.capacity_units().unwrap() > 0.0);
    assert!(cc.table().is_none());
    assert!(cc.global_secondary_indexes().is_none());
}

#[tokio::test]
async fn t60_transaction_refusals() {
    let server = Server::start().await;
    let c = server.client();
    start_key_table(&c).await;
    let put = |pk: &str, extra: Option<(&str, aws_sdk_dynamodb::types::AttributeValue)>| {
        let mut it = item(&[("pk", s(pk)), ("sk", ni(1))]);
        if let Some((k, v)) = extra {
            it.insert(k.into(), v);
        }
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("Starts")
                    .set_item(Some(it))
                    .build()
                    .unwrap(),
            )
            .build()
    };

    tracing_phase("--- two actions on one item");
    let message = expect_error(
        c.transact_write_items()
            .transact_items(put("t", None))
            .transact_items(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name("Starts")
                            .key("pk", s("t"))
                            .key("sk", ni(1))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Transaction request cannot include multiple operations on one item"
    );

    tracing_phase("--- a validation failure of one action cancels the transaction");
    let r = c
        .transact_write_items()
        .transact_items(put("t", None))
        .transact_items(put("u", Some(("g", n("1")))))
        .send()
        .await;
    let err = r.unwrap_err();
    let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error()
    else {
        panic!("expected TransactionCanceledException, got {err:?}");
    };
    let codes: Vec<&str> = e
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap())
        .collect();
    assert_eq!(codes, ["None", "ValidationError"]);
    assert!(e.cancellation_reasons()[1]
        .message()
        .unwrap()
        .starts_with("One or more parameter values were invalid"));
    assert!(e
        .message()
        .unwrap()
        .contains("Transaction cancelled, please refer cancellation reasons for specific reasons [None, ValidationError]"));

    tracing_phase("--- more than 4 MB of items");
    let blob = "x".repeat(390_000);
    let mut req = c.transact_write_items();
    for i in 0..11 {
        req = req.transact_items(put(&format!("big{i}"), Some(("blob", s(&blob)))));
    }
    expect_error(req.send().await, "ValidationException");
}

#[tokio::test]
async fn t70_deeply_nested_expressions() {
    let server = Server::start().await;
    let c = server.client();
    start_key_table(&c).await;
    let scan_count = |filter: String| {
        let c = c.clone();
        async move {
            c.scan()
                .table_name("Starts")
                .filter_expression(filter)
                .expression_attribute_values(":v", ni(2))
                .select(Select::Count)
                .send()
                .await
        }
    };

    tracing_phase("--- nested parentheses (none redundant: DynamoDB refuses `((x))`) and NOTs");
    let mut nested = "sk = :v".to_owned();
    for _ in 0..60 {
        nested = format!("sk = :v OR ({nested})");
    }
    assert_eq!(scan_count(nested).await.unwrap().count(), 4);
    // 148 nested `NOT (…)` (an even number) around a comparison: 149 operators, within 300.
    let mut nots = "sk = :v".to_owned();
    for _ in 0..148 {
        nots = format!("NOT ({nots})");
    }
    assert_eq!(scan_count(nots).await.unwrap().count(), 4);
    let message = expect_error(
        scan_count("((sk = :v))".into()).await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Invalid FilterExpression: The expression has redundant parentheses;"
    );

    tracing_phase("--- chains of ORs and ANDs: at most 300 operators");
    let or_chain = vec!["sk = :v"; 150].join(" OR ");
    assert_eq!(scan_count(or_chain).await.unwrap().count(), 4);
    let and_chain = vec!["sk = :v"; 150].join(" AND ");
    assert_eq!(scan_count(and_chain).await.unwrap().count(), 4);
    let long_chain = vec!["sk = :v"; 4096 / 11].join(" OR ");
    assert!(long_chain.len() <= 4096);
    assert_eq!(
        expect_error(scan_count(long_chain).await, "ValidationException"),
        "Invalid FilterExpression: The expression contains too many operators; operator count: 301"
    );

    tracing_phase("--- deeper nesting within 4 KB: too many operators, not a crash");
    let mut too_deep = "sk = :v".to_owned();
    for _ in 0..200 {
        too_deep = format!("sk = :v OR ({too_deep})");
    }
    assert!(too_deep.len() <= 4096);
    assert_eq!(
        expect_error(scan_count(too_deep).await, "ValidationException"),
        "Invalid FilterExpression: The expression contains too many operators; operator count: 301"
    );
    assert_eq!(
        scan_count("sk = :v".into()).await.unwrap().count(),
        4,
        "the server still answers"
    );
}
