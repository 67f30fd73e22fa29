//! DynamoDB Streams through the AWS SDK for Rust (aws-sdk-dynamodbstreams): StreamSpecification
//! on CreateTable/UpdateTable, LatestStreamArn, ListStreams, DescribeStream, the four iterator
//! types, GetRecords with the record shapes of each view type, a consumer that sees every
//! write exactly once and in per-item order, and the iterator errors. (Streams of a global
//! table: `stream_global.rs`.)

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{
    BillingMode, KeyType, Put, ScalarAttributeType, StreamSpecification, StreamViewType,
    TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as SV, OperationType, Record, ShardIteratorType,
};
use meridian_tests::*;

pub(crate) type Streams = aws_sdk_dynamodbstreams::Client;

pub(crate) fn spec(view: StreamViewType) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .unwrap()
}

/// A `pk` (S) table created with a stream of `view`; returns the stream ARN.
pub(crate) async fn create_stream_table(c: &Client, name: &str, view: StreamViewType) -> String {
    let created = c
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .stream_specification(spec(view.clone()))
        .send()
        .await
        .unwrap();
    let desc = created.table_description().unwrap();
    assert_eq!(
        desc.stream_specification()
            .and_then(|s| s.stream_view_type()),
        Some(&view)
    );
    wait_active(c, name).await;
    desc.latest_stream_arn().unwrap().to_owned()
}

pub(crate) async fn only_shard(sc: &Streams, arn: &str) -> String {
    let described = sc.describe_stream().stream_arn(arn).send().await.unwrap();
    let shards = described.stream_description().unwrap().shards();
    assert_eq!(shards.len(), 1, "{shards:?}");
    shards[0].shard_id().unwrap().to_owned()
}

pub(crate) async fn iterator(
    sc: &Streams,
    arn: &str,
    shard: &str,
    kind: ShardIteratorType,
    seq: Option<&str>,
) -> String {
    sc.get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_sequence_number(seq.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .unwrap()
        .to_owned()
}

/// Reads from `it` until `want` records arrived (or 10 s passed); returns them and the next
/// iterator.
async fn read_records(sc: &Streams, mut it: String, want: usize) -> (Vec<Record>, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < want && std::time::Instant::now() < deadline {
        let page = sc.get_records().shard_iterator(&it).send().await.unwrap();
        out.extend(page.records().iter().cloned());
        it = page.next_shard_iterator().unwrap().to_owned();
        if page.records().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    (out, it)
}

fn sv(v: &str) -> SV {
    SV::S(v.to_owned())
}

fn image_v(image: Option<&HashMap<String, SV>>) -> Option<String> {
    match image?.get("v")? {
        SV::S(v) => Some(v.clone()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn t10_records_shaped_per_view_type() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    tracing_phase("--- one table per view type, each with INSERT, MODIFY, REMOVE");
    let views = [
        StreamViewType::KeysOnly,
        StreamViewType::NewImage,
        StreamViewType::OldImage,
        StreamViewType::NewAndOldImages,
    ];
    for (i, view) in views.iter().enumerate() {
        let name = format!("views{i}");
        let arn = create_stream_table(&c, &name, view.clone()).await;
        assert!(
            arn.starts_with(&format!(
                "arn:aws:dynamodb:us-east-1:000000000000:table/{name}/stream/"
            )),
            "{arn}"
        );
        let described = c.describe_table().table_name(&name).send().await.unwrap();
        let table = described.table().unwrap();
        assert_eq!(table.latest_stream_arn(), Some(arn.as_str()));
        let label = table.latest_stream_label().unwrap();
        assert!(arn.ends_with(label));

        c.put_item()
            .table_name(&name)
            .set_item(Some(item(&[("pk", s("a")), ("v", s("one"))])))
            .send()
            .await
            .unwrap();
        c.update_item()
            .table_name(&name)
            .key("pk", s("a"))
            .update_expression("SET v = :v")
            .expression_attribute_values(":v", s("two"))
            .send()
            .await
            .unwrap();
        c.delete_item()
            .table_name(&name)
            .key("pk", s("a"))
            .send()
            .await
            .unwrap();

        let shard = only_shard(&sc, &arn).await;
        assert!(shard.starts_with("shardId-"), "{shard}");
        let it = iterator(&sc, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
        let (records, _) = read_records(&sc, it, 3).await;
        assert_eq!(records.len(), 3, "{records:?}");
        let names: Vec<_> = records.iter().map(|r| r.event_name().cloned()).collect();
        assert_eq!(
            names,
            vec![
                Some(OperationType::Insert),
                Some(OperationType::Modify),
                Some(OperationType::Remove)
            ]
        );
        let mut last_seq = 0u128;
        let mut ids = HashSet::new();
        for r in &records {
            assert_eq!(r.event_version(), Some("1.1"));
            assert_eq!(r.event_source(), Some("aws:dynamodb"));
            assert_eq!(r.aws_region(), Some("us-east-1"));
            assert!(r.user_identity().is_none());
            assert!(ids.insert(r.event_id().unwrap().to_owned()));
            let d = r.dynamodb().unwrap();
            assert_eq!(
                d.stream_view_type().map(|v| v.as_str()),
                Some(view.as_str())
            );
            assert_eq!(d.keys().unwrap().get("pk"), Some(&sv("a")));
            assert!(d.size_bytes().unwrap() > 0);
            assert!(d.approximate_creation_date_time().is_some());
            let seq = d.sequence_number().unwrap();
            assert!(
                seq.len() >= 21 && seq.bytes().all(|b| b.is_ascii_digit()),
                "{seq}"
            );
            let seq: u128 = seq.parse().unwrap();
            assert!(seq > last_seq, "sequence numbers increase");
            last_seq = seq;
        }
        let new: Vec<_> = records
            .iter()
            .map(|r| image_v(r.dynamodb().unwrap().new_image()))
            .collect();
        let old: Vec<_> = records
            .iter()
            .map(|r| image_v(r.dynamodb().unwrap().old_image()))
            .collect();
        let (want_new, want_old) = match view {
            StreamViewType::KeysOnly => (vec![None, None, None], vec![None, None, None]),
            StreamViewType::NewImage => (
                vec![Some("one".into()), Some("two".into()), None],
                vec![None, None, None],
            ),
            StreamViewType::OldImage => (
                vec![None, None, None],
                vec![None, Some("one".into()), Some("two".into())],
            ),
            _ => (
                vec![Some("one".into()), Some("two".into()), None],
                vec![None, Some("one".into()), Some("two".into())],
            ),
        };
        assert_eq!(new, want_new, "{view:?}");
        assert_eq!(old, want_old, "{view:?}");
    }

    tracing_phase("--- ListStreams, all and by table");
    let all = sc.list_streams().send().await.unwrap();
    assert_eq!(all.streams().len(), 4);
    let one = sc.list_streams().table_name("views2").send().await.unwrap();
    assert_eq!(one.streams().len(), 1);
    assert_eq!(one.streams()[0].table_name(), Some("views2"));
    let paged = sc.list_streams().limit(3).send().await.unwrap();
    assert_eq!(paged.streams().len(), 3);
    let rest = sc
        .list_streams()
        .exclusive_start_stream_arn(paged.last_evaluated_stream_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.streams().len(), 1);
    assert!(rest.last_evaluated_stream_arn().is_none());
}

pub(crate) fn tracing_phase(phase: &str) {
    eprintln!("{phase}");
}

#[tokio::test]
async fn t20_consumer_sees_every_write_once_in_item_order() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    let arn = create_stream_table(&c, "orders", StreamViewType::NewAndOldImages).await;
    let shard = only_shard(&sc, &arn).await;
    let start = iterator(&sc, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;

    tracing_phase(
        "--- concurrent writers (put, update, batch, transaction) while a consumer tails",
    );
    const WRITERS: usize = 4;
    const KEYS_PER_WRITER: usize = 3;
    const ROUNDS: i64 = 12;
    let consumer = {
        let sc = sc.clone();
        tokio::spawn(async move {
            let mut it = start;
            let mut seen = Vec::new();
            let want = WRITERS * KEYS_PER_WRITER * ROUNDS as usize;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while seen.len() < want && std::time::Instant::now() < deadline {
                let page = sc
                    .get_records()
                    .shard_iterator(&it)
                    .limit(7)
                    .send()
                    .await
                    .unwrap();
                seen.extend(page.records().iter().cloned());
                it = page.next_shard_iterator().unwrap().to_owned();
                if page.records().is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
            // Nothing more arrives after the last write.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let extra = sc.get_records().shard_iterator(&it).send().await.unwrap();
            seen.extend(extra.records().iter().cloned());
            seen
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let c = c.clone();
        writers.push(tokio::spawn(async move {
            for round in 1..=ROUNDS {
                for k in 0..KEYS_PER_WRITER {
                    let pk = format!("w{w}k{k}");
                    let it = item(&[("pk", s(&pk)), ("n", ni(round))]);
                    match round % 4 {
                        0 => {
                            c.put_item()
                                .table_name("orders")
                                .set_item(Some(it))
                                .send()
                                .await
                                .unwrap();
                        }
                        1 => {
                            c.update_item()
                                .table_name("orders")
                                .key("pk", s(&pk))
                                .update_expression("SET n = :n")
                                .expression_attribute_values(":n", ni(round))
                                .send()
                                .await
                                .unwrap();
                        }
                        2 => {
                            let put = aws_sdk_dynamodb::types::PutRequest::builder()
                                .set_item(Some(it))
                                .build()
                                .unwrap();
                            c.batch_write_item()
                                .request_items(
                                    "orders",
                                    vec![WriteRequest::builder().put_request(put).build()],
                                )
                                .send()
                                .await
                                .unwrap();
                        }
                        _ => {
                            let put = Put::builder()
                                .table_name("orders")
                                .set_item(Some(it))
                                .build()
                                .unwrap();
                            c.transact_write_items()
                                .transact_items(TransactWriteItem::builder().put(put).build())
                                .send()
                                .await
                                .unwrap();
                        }
                    }
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let seen = consumer.await.unwrap();

    tracing_phase("--- exactly once, in per-item order, with the right images");
    let total = WRITERS * KEYS_PER_WRITER * ROUNDS as usize;
    assert_eq!(seen.len(), total);
    let ids: HashSet<_> = seen.iter().map(|r| r.event_id().unwrap()).collect();
    assert_eq!(ids.len(), total, "duplicate eventIDs");
    let mut by_key: HashMap<String, Vec<i64>> = HashMap::new();
    let mut last_seq = 0u128;
    for r in &seen {
        let d = r.dynamodb().unwrap();
        let seq: u128 = d.sequence_number().unwrap().parse().unwrap();
        assert!(seq > last_seq);
        last_seq = seq;
        let SV::S(pk) = d.keys().unwrap().get("pk").unwrap() else {
            panic!()
        };
        let SV::N(n) = d.new_image().unwrap().get("n").unwrap() else {
            panic!()
        };
        let n: i64 = n.parse().unwrap();
        let history = by_key.entry(pk.clone()).or_default();
        match history.last() {
            None => {
                assert_eq!(r.event_name(), Some(&OperationType::Insert));
                assert!(d.old_image().is_none());
            }
            Some(prev) => {
                assert_eq!(r.event_name(), Some(&OperationType::Modify));
                let SV::N(old) = d.old_image().unwrap().get("n").unwrap() else {
                    panic!()
                };
                assert_eq!(
                    old.parse::<i64>().unwrap(),
                    *prev,
                    "old image is the previous write"
                );
            }
        }
        history.push(n);
    }
    assert_eq!(by_key.len(), WRITERS * KEYS_PER_WRITER);
    for (pk, history) in by_key {
        assert_eq!(history, (1..=ROUNDS).collect::<Vec<_>>(), "{pk}");
    }
}

#[tokio::test]
async fn t30_iterator_types() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    let arn = create_stream_table(&c, "iters", StreamViewType::KeysOnly).await;
    let shard = only_shard(&sc, &arn).await;
    let latest_before = iterator(&sc, &arn, &shard, ShardIteratorType::Latest, None).await;
    for k in ["a", "b", "c", "d"] {
        c.put_item()
            .table_name("iters")
            .set_item(Some(item(&[("pk", s(k))])))
            .send()
            .await
            .unwrap();
    }
    let all = {
        let it = iterator(&sc, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
        read_records(&sc, it, 4).await.0
    };
    assert_eq!(all.len(), 4);
    let seqs: Vec<String> = all
        .iter()
        .map(|r| r.dynamodb().unwrap().sequence_number().unwrap().to_owned())
        .collect();
    let first = sc.describe_stream().stream_arn(&arn).send().await.unwrap();
    let range = first.stream_description().unwrap().shards()[0]
        .sequence_number_range()
        .unwrap();
    assert_eq!(range.starting_sequence_number(), Some(seqs[0].as_str()));
    assert!(
        range.ending_sequence_number().is_none(),
        "the shard is open"
    );

    tracing_phase("--- LATEST taken before the writes sees them all; taken now sees none");
    let (records, _) = read_records(&sc, latest_before, 4).await;
    assert_eq!(records.len(), 4);
    let latest_now = iterator(&sc, &arn, &shard, ShardIteratorType::Latest, None).await;
    let page = sc
        .get_records()
        .shard_iterator(&latest_now)
        .send()
        .await
        .unwrap();
    assert!(page.records().is_empty());
    c.put_item()
        .table_name("iters")
        .set_item(Some(item(&[("pk", s("e"))])))
        .send()
        .await
        .unwrap();
    let (records, _) = read_records(&sc, page.next_shard_iterator().unwrap().to_owned(), 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].dynamodb().unwrap().keys().unwrap().get("pk"),
        Some(&sv("e"))
    );

    tracing_phase("--- AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER");
    let at = iterator(
        &sc,
        &arn,
        &shard,
        ShardIteratorType::AtSequenceNumber,
        Some(&seqs[1]),
    )
    .await;
    let (records, _) = read_records(&sc, at, 4).await;
    assert_eq!(
        records[0].dynamodb().unwrap().sequence_number(),
        Some(seqs[1].as_str())
    );
    let after = iterator(
        &sc,
        &arn,
        &shard,
        ShardIteratorType::AfterSequenceNumber,
        Some(&seqs[1]),
    )
    .await;
    let (records, _) = read_records(&sc, after, 3).await;
    assert_eq!(
        records[0].dynamodb().unwrap().sequence_number(),
        Some(seqs[2].as_str())
    );

    tracing_phase("--- Limit pages through the shard");
    let it = iterator(&sc, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let page = sc
        .get_records()
        .shard_iterator(&it)
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.records().len(), 2);
}

/// An iterator as Meridian encodes them (`<arn>|1|<position><created ms><crc32>` in hex),
/// forged with a creation time in the past: the only way to test expiry without waiting 15
/// minutes.
fn forged_iterator(arn: &str, position: u64, created_ms: i64) -> String {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(arn.as_bytes());
    hasher.update(&position.to_be_bytes());
    hasher.update(&created_ms.to_be_bytes());
    format!(
        "{arn}|1|{position:016x}{:016x}{:08x}",
        created_ms as u64,
        hasher.finalize()
    )
}

#[tokio::test]
async fn t40_iterator_and_stream_errors() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    let arn = create_stream_table(&c, "errs", StreamViewType::NewImage).await;
    let shard = only_shard(&sc, &arn).await;
    c.put_item()
        .table_name("errs")
        .set_item(Some(item(&[("pk", s("a"))])))
        .send()
        .await
        .unwrap();

    tracing_phase("--- expired iterator (older than 15 minutes)");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let fresh = forged_iterator(&arn, 1, now_ms);
    let page = sc
        .get_records()
        .shard_iterator(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.records().len(),
        1,
        "the forged encoding is the real one"
    );
    let stale = forged_iterator(&arn, 1, now_ms - 16 * 60 * 1000);
    expect_error(
        sc.get_records().shard_iterator(&stale).send().await,
        "ExpiredIteratorException",
    );

    tracing_phase("--- malformed and tampered iterators");
    expect_error(
        sc.get_records()
            .shard_iterator("not-an-iterator")
            .send()
            .await,
        "ValidationException",
    );
    let mut tampered = fresh.clone();
    tampered.replace_range(tampered.len() - 1.., "0");
    if tampered == fresh {
        tampered.replace_range(tampered.len() - 1.., "1");
    }
    expect_error(
        sc.get_records().shard_iterator(&tampered).send().await,
        "ValidationException",
    );

    tracing_phase("--- unknown stream, shard and bad sequence numbers");
    let missing = arn.replace("table/errs/", "table/nosuch/");
    expect_error(
        sc.describe_stream().stream_arn(&missing).send().await,
        "ResourceNotFoundException",
    );
    expect_error(
        sc.get_shard_iterator()
            .stream_arn(&missing)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await,
        "ResourceNotFoundException",
    );
    expect_error(
        sc.get_shard_iterator()
            .stream_arn(&arn)
            .shard_id("shardId-00000000000000000000-00000000")
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await,
        "ResourceNotFoundException",
    );
    expect_error(
        sc.get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .send()
            .await,
        "ValidationException",
    );
    expect_error(
        sc.get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number("abc")
            .send()
            .await,
        "ValidationException",
    );
    expect_error(
        sc.get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number("900000000000000000000")
            .send()
            .await,
        "ValidationException",
    );

    tracing_phase("--- StreamSpecification rules on UpdateTable");
    let r = c
        .update_table()
        .table_name("errs")
        .stream_specification(spec(StreamViewType::KeysOnly))
        .send()
        .await;
    let message = expect_error(r, "ValidationException");
    assert!(
        message.contains("already has an enabled stream"),
        "{message}"
    );
    let r = c
        .update_table()
        .table_name("errs")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t50_disable_closes_the_shard_and_reenable_starts_a_new_stream() {
    let server = Server::start().await;
    let c = server.client();
    let sc = server.streams_client();
    create_simple_table(&c, "cycle").await;
    let put = |k: &'static str| {
        let c = c.clone();
        async move {
            c.put_item()
                .table_name("cycle")
                .set_item(Some(item(&[("pk", s(k))])))
                .send()
                .await
                .unwrap();
        }
    };
    put("before").await;

    tracing_phase("--- enable through UpdateTable");
    let updated = c
        .update_table()
        .table_name("cycle")
        .stream_specification(spec(StreamViewType::NewImage))
        .send()
        .await
        .unwrap();
    let first = updated
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    put("one").await;
    put("two").await;

    tracing_phase("--- disable: DISABLED, the shard is closed, reading it ends");
    let disabled = c
        .update_table()
        .table_name("cycle")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let desc = disabled.table_description().unwrap();
    assert!(desc.stream_specification().is_none());
    assert_eq!(desc.latest_stream_arn(), Some(first.as_str()));
    put("while-disabled").await;
    let described = sc
        .describe_stream()
        .stream_arn(&first)
        .send()
        .await
        .unwrap();
    let d = described.stream_description().unwrap();
    assert_eq!(
        d.stream_status(),
        Some(&aws_sdk_dynamodbstreams::types::StreamStatus::Disabled)
    );
    let shard = d.shards()[0].clone();
    assert!(shard
        .sequence_number_range()
        .unwrap()
        .ending_sequence_number()
        .is_some());
    let it = iterator(
        &sc,
        &first,
        shard.shard_id().unwrap(),
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    let page = sc.get_records().shard_iterator(&it).send().await.unwrap();
    let keys: Vec<_> = page
        .records()
        .iter()
        .map(|r| r.dynamodb().unwrap().keys().unwrap().get("pk").cloned())
        .collect();
    assert_eq!(keys, vec![Some(sv("one")), Some(sv("two"))]);
    assert!(
        page.next_shard_iterator().is_none(),
        "a closed shard read to its end"
    );

    tracing_phase("--- re-enable: a new stream that starts after the old one");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = c
        .update_table()
        .table_name("cycle")
        .stream_specification(spec(StreamViewType::KeysOnly))
        .send()
        .await
        .unwrap();
    let second = again
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    put("three").await;
    let shard = only_shard(&sc, &second).await;
    let it = iterator(&sc, &second, &shard, ShardIteratorType::TrimHorizon, None).await;
    let (records, _) = read_records(&sc, it, 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].dynamodb().unwrap().keys().unwrap().get("pk"),
        Some(&sv("three"))
    );

    tracing_phase("--- the first stream stays readable by its ARN, and both are listed");
    let described = sc
        .describe_stream()
        .stream_arn(&first)
        .send()
        .await
        .unwrap();
    let d = described.stream_description().unwrap();
    assert_eq!(
        d.stream_status(),
        Some(&aws_sdk_dynamodbstreams::types::StreamStatus::Disabled)
    );
    let old_shard = d.shards()[0].shard_id().unwrap().to_owned();
    let it = iterator(
        &sc,
        &first,
        &old_shard,
        ShardIteratorType::TrimHorizon,
        None,
    )
    .await;
    let page = sc.get_records().shard_iterator(&it).send().await.unwrap();
    assert_eq!(page.records().len(), 2);
    let listed = sc.list_streams().table_name("cycle").send().await.unwrap();
    let mut arns: Vec<_> = listed
        .streams()
        .iter()
        .map(|s| s.stream_arn().unwrap().to_owned())
        .collect();
    arns.sort();
    let mut want = vec![first.clone(), second.clone()];
    want.sort();
    assert_eq!(arns, want);
    let unknown = format!("{}X", second);
    expect_error(
        sc.describe_stream().stream_arn(&unknown).send().await,
        "ResourceNotFoundException",
    );
}
