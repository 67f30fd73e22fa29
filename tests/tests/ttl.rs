//! Time to live: UpdateTimeToLive/DescribeTimeToLive rules, expired items readable until the
//! sweep deletes them, the deletes in the stream with the service identity, and the periodic
//! sweeper.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{
    StreamSpecification, StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodbstreams::types::{OperationType, ShardIteratorType};
use meridian_tests::*;

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn ttl_spec(enabled: bool, attribute: &str) -> TimeToLiveSpecification {
    TimeToLiveSpecification::builder()
        .enabled(enabled)
        .attribute_name(attribute)
        .build()
        .unwrap()
}

async fn enable_ttl(c: &Client, table: &str) {
    c.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl_spec(true, "expires"))
        .send()
        .await
        .unwrap();
}

async fn put(c: &Client, table: &str, pk: &str, expires: Option<AttributeValue>) {
    let mut it = item(&[("pk", s(pk)), ("sk", ni(1)), ("v", s(pk))]);
    if let Some(e) = expires {
        it.insert("expires".into(), e);
    }
    c.put_item()
        .table_name(table)
        .set_item(Some(it))
        .send()
        .await
        .unwrap();
}

async fn query_count(c: &Client, table: &str, pk: &str) -> usize {
    c.query()
        .table_name(table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s(pk))
        .send()
        .await
        .unwrap()
        .items()
        .len()
}

#[tokio::test]
async fn t10_update_and_describe_rules() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "rules").await;

    let r = c
        .update_time_to_live()
        .table_name("rules")
        .time_to_live_specification(ttl_spec(false, "expires"))
        .send()
        .await;
    assert_eq!(
        expect_error(r, "ValidationException"),
        "TimeToLive is already disabled"
    );
    enable_ttl(&c, "rules").await;
    let described = c
        .describe_time_to_live()
        .table_name("rules")
        .send()
        .await
        .unwrap();
    let d = described.time_to_live_description().unwrap();
    assert_eq!(d.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(d.attribute_name(), Some("expires"));
    for attribute in ["expires", "other"] {
        let r = c
            .update_time_to_live()
            .table_name("rules")
            .time_to_live_specification(ttl_spec(true, attribute))
            .send()
            .await;
        assert_eq!(
            expect_error(r, "ValidationException"),
            "TimeToLive is already enabled"
        );
    }
    let r = c
        .update_time_to_live()
        .table_name("rules")
        .time_to_live_specification(ttl_spec(false, "other"))
        .send()
        .await;
    let message = expect_error(r, "ValidationException");
    assert!(message.contains("different AttributeName"), "{message}");
    let disabled = c
        .update_time_to_live()
        .table_name("rules")
        .time_to_live_specification(ttl_spec(false, "expires"))
        .send()
        .await
        .unwrap();
    assert!(!disabled.time_to_live_specification().unwrap().enabled());
    let described = c
        .describe_time_to_live()
        .table_name("rules")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .time_to_live_description()
            .unwrap()
            .time_to_live_status(),
        Some(&TimeToLiveStatus::Disabled)
    );

    let r = c
        .update_time_to_live()
        .table_name("nosuch")
        .time_to_live_specification(ttl_spec(true, "expires"))
        .send()
        .await;
    expect_error(r, "ResourceNotFoundException");
    let r = c.describe_time_to_live().table_name("nosuch").send().await;
    expect_error(r, "ResourceNotFoundException");
}

#[tokio::test]
async fn t20_sweep_deletes_expired_items_as_the_service() {
    // No periodic sweep: the test decides when it runs.
    let server = Server::start_with(Storage::InMemory, &["--ttl-sweep-interval-ms", "0"])
        .await
        .unwrap();
    let c = server.client();
    let sc = server.streams_client();
    create_composite_table(&c, "sessions").await;
    let updated = c
        .update_table()
        .table_name("sessions")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let arn = updated
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    enable_ttl(&c, "sessions").await;

    eprintln!("--- items: expired, future, string-typed, without the attribute");
    put(&c, "sessions", "expired", Some(ni(now_s() - 60))).await;
    put(&c, "sessions", "future", Some(ni(now_s() + 3600))).await;
    put(&c, "sessions", "string", Some(s("1"))).await;
    put(&c, "sessions", "none", None).await;

    eprintln!("--- expired but not yet swept: still returned by reads");
    assert_eq!(query_count(&c, "sessions", "expired").await, 1);

    let body = server.sweep_ttl().await;
    assert!(body.contains("\"Expired\":1"), "{body}");
    assert_eq!(query_count(&c, "sessions", "expired").await, 0);
    for pk in ["future", "string", "none"] {
        assert_eq!(query_count(&c, "sessions", pk).await, 1, "{pk}");
    }
    let body = server.sweep_ttl().await;
    assert!(body.contains("\"Expired\":0"), "{body}");

    eprintln!("--- the stream: four inserts by users, one REMOVE by the service");
    let described = sc.describe_stream().stream_arn(&arn).send().await.unwrap();
    let shard = described.stream_description().unwrap().shards()[0]
        .shard_id()
        .unwrap()
        .to_owned();
    let it = sc
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let page = sc
        .get_records()
        .shard_iterator(it.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    let records = page.records();
    assert_eq!(records.len(), 5, "{records:?}");
    for r in &records[..4] {
        assert_eq!(r.event_name(), Some(&OperationType::Insert));
        assert!(r.user_identity().is_none());
    }
    let removal = &records[4];
    assert_eq!(removal.event_name(), Some(&OperationType::Remove));
    let identity = removal.user_identity().unwrap();
    assert_eq!(identity.r#type(), Some("Service"));
    assert_eq!(identity.principal_id(), Some("dynamodb.amazonaws.com"));
    let d = removal.dynamodb().unwrap();
    assert!(d.new_image().is_none());
    assert_eq!(
        d.old_image().unwrap().get("v"),
        Some(&aws_sdk_dynamodbstreams::types::AttributeValue::S(
            "expired".into()
        ))
    );
}

#[tokio::test]
async fn t30_background_sweeper_deletes_on_its_own() {
    let server = Server::start_with(Storage::InMemory, &["--ttl-sweep-interval-ms", "100"])
        .await
        .unwrap();
    let c = server.client();
    create_composite_table(&c, "auto").await;
    enable_ttl(&c, "auto").await;
    put(&c, "auto", "soon", Some(ni(now_s() + 1))).await;
    put(&c, "auto", "later", Some(ni(now_s() + 3600))).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while query_count(&c, "auto", "soon").await > 0 {
        assert!(Instant::now() < deadline, "the sweeper never deleted it");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(query_count(&c, "auto", "later").await, 1);
}

#[tokio::test]
async fn t40_region_leader_sweeps_and_every_node_streams_the_same() {
    let region = Cluster::start_with(3, "\n[ttl]\nsweep_interval_ms = 100\n").await;
    region.wait_leader(Duration::from_secs(15)).await;
    let any = region.nodes[1].client();
    let created = any
        .create_table()
        .table_name("shared")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(attr_def(
            "pk",
            aws_sdk_dynamodb::types::ScalarAttributeType::S,
        ))
        .key_schema(key_elem("pk", aws_sdk_dynamodb::types::KeyType::Hash))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::KeysOnly)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let arn = created
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    enable_ttl(&any, "shared").await;
    for (i, pk) in ["x", "y", "z"].iter().enumerate() {
        let it = item(&[("pk", s(pk)), ("expires", ni(now_s() - 10 - i as i64))]);
        region.nodes[i]
            .client()
            .put_item()
            .table_name("shared")
            .set_item(Some(it))
            .send()
            .await
            .unwrap();
    }

    eprintln!("--- the leader's sweeper deletes them; every node's stream shows it once");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut first = None;
    for node in &region.nodes {
        let sc = streams_client_for(&node.url());
        let records = loop {
            let described = sc.describe_stream().stream_arn(&arn).send().await.unwrap();
            let shard = described.stream_description().unwrap().shards()[0]
                .shard_id()
                .unwrap()
                .to_owned();
            let it = sc
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap();
            let page = sc
                .get_records()
                .shard_iterator(it.shard_iterator().unwrap())
                .send()
                .await
                .unwrap();
            if page.records().len() >= 6 || Instant::now() > deadline {
                break page.records().to_vec();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let shape: Vec<(String, String, Option<String>)> = records
            .iter()
            .map(|r| {
                let d = r.dynamodb().unwrap();
                let aws_sdk_dynamodbstreams::types::AttributeValue::S(pk) =
                    d.keys().unwrap().get("pk").unwrap()
                else {
                    panic!("{r:?}")
                };
                (
                    format!("{}:{}", d.sequence_number().unwrap(), r.event_id().unwrap()),
                    format!("{pk}:{}", r.event_name().unwrap().as_str()),
                    r.user_identity()
                        .and_then(|u| u.principal_id())
                        .map(str::to_owned),
                )
            })
            .collect();
        assert_eq!(shape.len(), 6, "node {}: {shape:?}", node.id);
        for pk in ["x", "y", "z"] {
            let events: Vec<_> = shape
                .iter()
                .filter(|(_, e, _)| e.starts_with(&format!("{pk}:")))
                .map(|(_, e, who)| (e.clone(), who.clone()))
                .collect();
            assert_eq!(
                events,
                vec![
                    (format!("{pk}:INSERT"), None),
                    (
                        format!("{pk}:REMOVE"),
                        Some("dynamodb.amazonaws.com".to_owned())
                    ),
                ],
                "node {}",
                node.id
            );
        }
        // Every node's stream is the same sequence of records (same numbers, same ids).
        match &first {
            None => first = Some(shape),
            Some(first) => assert_eq!(first, &shape, "node {}", node.id),
        }
    }
}
