//! The streams of a global table: each region's stream carries its own writes, the writes
//! replicated into it, and TTL deletes, once each and in per-item order.

use aws_sdk_dynamodb::types::StreamViewType;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodbstreams::types::{AttributeValue as SV, Record, ShardIteratorType};
use meridian_tests::*;

use crate::streams::{iterator, only_shard, spec, tracing_phase};

/// Every record of a stream, read from TRIM_HORIZON through `url`.
async fn all_records(url: &str, arn: &str) -> Vec<Record> {
    let sc = streams_client_for(url);
    let shard = only_shard(&sc, arn).await;
    let it = iterator(&sc, arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let page = sc.get_records().shard_iterator(&it).send().await.unwrap();
    page.records().to_vec()
}

fn keys_and_events(records: &[Record]) -> Vec<(String, String, Option<String>)> {
    records
        .iter()
        .map(|r| {
            let d = r.dynamodb().unwrap();
            let SV::S(pk) = d.keys().unwrap().get("pk").unwrap() else {
                panic!("{r:?}")
            };
            (
                pk.clone(),
                r.event_name().unwrap().as_str().to_owned(),
                r.user_identity()
                    .and_then(|u| u.principal_id())
                    .map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t60_global_table_streams_carry_replicated_writes_and_ttl_deletes() {
    let lab = Lab::start(&["us-east-1", "eu-west-1"]).await;
    let urls: Vec<String> = lab
        .regions
        .iter()
        .map(|r| format!("http://127.0.0.1:{}", r.api_port))
        .collect();
    let clients = [lab.client(0), lab.client(1)];
    create_simple_table(&clients[0], "global").await;
    clients[0]
        .update_table()
        .table_name("global")
        .replica_updates(
            aws_sdk_dynamodb::types::ReplicationGroupUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateReplicationGroupMemberAction::builder()
                        .region_name("eu-west-1")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    tracing_phase("--- a stream on each replica (enabled where it is not already)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut arns = Vec::new();
    for c in &clients {
        let arn = loop {
            match c.describe_table().table_name("global").send().await {
                Ok(d) if d.table().and_then(|t| t.stream_specification()).is_some() => {
                    break d.table().unwrap().latest_stream_arn().unwrap().to_owned();
                }
                Ok(_) => {
                    let updated = c
                        .update_table()
                        .table_name("global")
                        .stream_specification(spec(StreamViewType::NewAndOldImages))
                        .send()
                        .await;
                    if let Ok(u) = updated {
                        break u
                            .table_description()
                            .unwrap()
                            .latest_stream_arn()
                            .unwrap()
                            .to_owned();
                    }
                }
                Err(_) => {}
            }
            assert!(std::time::Instant::now() < deadline, "no replica table");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        arns.push(arn);
    }
    c_update_ttl(&clients[0]).await;

    tracing_phase("--- a write in each region; an expired item swept in us-east-1");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    clients[0]
        .put_item()
        .table_name("global")
        .set_item(Some(item(&[("pk", s("from-us"))])))
        .send()
        .await
        .unwrap();
    clients[1]
        .put_item()
        .table_name("global")
        .set_item(Some(item(&[("pk", s("from-eu"))])))
        .send()
        .await
        .unwrap();
    clients[0]
        .put_item()
        .table_name("global")
        .set_item(Some(item(&[("pk", s("old")), ("expires", ni(now_s - 60))])))
        .send()
        .await
        .unwrap();
    let server = lab.regions[0].server.as_ref().unwrap();
    let body = server.sweep_ttl().await;
    assert!(body.contains("\"Expired\":1"), "{body}");

    tracing_phase("--- each region's stream has every write exactly once");
    for (i, url) in urls.iter().enumerate() {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
        let events = loop {
            let events = keys_and_events(&all_records(url, &arns[i]).await);
            if events.len() >= 4 || std::time::Instant::now() > deadline {
                break events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        let mut sorted = events.clone();
        sorted.sort();
        let removal_by = (i == 0).then(|| "dynamodb.amazonaws.com".to_owned());
        assert_eq!(
            sorted,
            vec![
                ("from-eu".into(), "INSERT".into(), None),
                ("from-us".into(), "INSERT".into(), None),
                ("old".into(), "INSERT".into(), None),
                ("old".into(), "REMOVE".into(), removal_by),
            ],
            "region {i}: {events:?}"
        );
        let old: Vec<_> = events.iter().filter(|e| e.0 == "old").collect();
        assert_eq!(old[0].1, "INSERT", "per-item order in region {i}");
    }
}

async fn c_update_ttl(c: &Client) {
    c.update_time_to_live()
        .table_name("global")
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
