//! Secondary indexes over time: an index added to a loaded table is backfilled while writes
//! continue, and a SIGKILL in the middle of writes leaves every index equal to its table.

use aws_sdk_dynamodb::types::{
    BillingMode, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndexUpdate, IndexStatus, KeyType, ProjectionType, ScalarAttributeType,
};
use meridian_tests::*;

use crate::indexes::{
    create_app_table, order, project, projection, put_all, scan_all, sort_rows, Row,
};

#[tokio::test]
async fn t43_index_added_to_a_loaded_table_is_backfilled_and_kept_in_sync() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("load")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    wait_active(&c, "load").await;
    // --- 1,000 items, two thirds with a category
    let rows: Vec<Row> = (0..1000)
        .map(|i| {
            let mut r = item(&[
                ("pk", s(&format!("p{}", i % 37))),
                ("sk", s(&format!("s{i:05}"))),
                ("v", ni(i)),
            ]);
            if i % 3 != 0 {
                r.insert("cat".into(), s(&format!("c{}", i % 5)));
            }
            r
        })
        .collect();
    put_all(&c, "load", rows).await;

    // --- UpdateTable creates by_cat while writers keep writing
    let writer = {
        let c = c.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let key = format!("s{:05}", (i * 7) % 1000);
                let pk = format!("p{}", ((i * 7) % 1000) % 37);
                let r = if i % 4 == 0 {
                    c.delete_item()
                        .table_name("load")
                        .key("pk", s(&pk))
                        .key("sk", s(&key))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                } else {
                    c.update_item()
                        .table_name("load")
                        .key("pk", s(&pk))
                        .key("sk", s(&key))
                        .update_expression("SET cat = :c, w = :w")
                        .expression_attribute_values(":c", s(&format!("c{}", i % 5)))
                        .expression_attribute_values(":w", ni(i))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                };
                r.unwrap();
            }
        })
    };
    let r = c
        .update_table()
        .table_name("load")
        .attribute_definitions(attr_def("cat", ScalarAttributeType::S))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    CreateGlobalSecondaryIndexAction::builder()
                        .index_name("by_cat")
                        .key_schema(key_elem("cat", KeyType::Hash))
                        .key_schema(key_elem("sk", KeyType::Range))
                        .projection(projection(ProjectionType::Include, &["v"]))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let created = &r.table_description().unwrap().global_secondary_indexes()[0];
    assert_eq!(created.index_status(), Some(&IndexStatus::Creating));
    assert_eq!(created.backfilling(), Some(true));
    writer.await.unwrap();
    wait_active(&c, "load").await;

    // --- the index holds exactly the projection of the items with a category
    let table = scan_all(&c, "load", None).await;
    let mut want: Vec<Row> = table
        .iter()
        .filter(|r| r.contains_key("cat"))
        .map(|r| project(r, &["pk", "sk", "cat", "v"]))
        .collect();
    let mut got = scan_all(&c, "load", Some("by_cat")).await;
    sort_rows(&mut want);
    sort_rows(&mut got);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    let desc = c.describe_table().table_name("load").send().await.unwrap();
    let gsi = &desc.table().unwrap().global_secondary_indexes()[0];
    assert_eq!(gsi.item_count(), Some(want.len() as i64));
    assert_eq!(gsi.backfilling(), None);

    // --- kept in sync afterwards
    c.put_item()
        .table_name("load")
        .item("pk", s("new"))
        .item("sk", s("s99999"))
        .item("cat", s("fresh"))
        .send()
        .await
        .unwrap();
    let r = c
        .query()
        .table_name("load")
        .index_name("by_cat")
        .key_condition_expression("cat = :c")
        .expression_attribute_values(":c", s("fresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.items(),
        &[item(&[
            ("pk", s("new")),
            ("sk", s("s99999")),
            ("cat", s("fresh"))
        ])]
    );

    // --- a second create while none is backfilling, then delete
    let r = c
        .update_table()
        .table_name("load")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("by_cat")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.table_description().unwrap().global_secondary_indexes()[0].index_status(),
        Some(&IndexStatus::Deleting)
    );
    let desc = c.describe_table().table_name("load").send().await.unwrap();
    assert!(desc.table().unwrap().global_secondary_indexes().is_empty());
    let r = c
        .query()
        .table_name("load")
        .index_name("by_cat")
        .key_condition_expression("cat = :c")
        .expression_attribute_values(":c", s("fresh"))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t44_sigkill_during_writes_leaves_table_and_indexes_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    create_app_table(&c).await;
    // --- writers put, update and delete orders; SIGKILL mid-stream
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6usize {
        let (c, stop) = (c.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for i in 0usize.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                let id = (i * 6 + w) % 150;
                let _ = match i % 5 {
                    0..=2 => c
                        .put_item()
                        .table_name("app")
                        .set_item(Some(order(id % 10, id + i)))
                        .send()
                        .await
                        .is_ok(),
                    3 => c
                        .update_item()
                        .table_name("app")
                        .key("pk", s(&format!("USER#{}", id % 10)))
                        .key("sk", s(&format!("ORDER#{:04}", id + i - 3)))
                        .update_expression("SET #s = :s, gsi1sk = :g REMOVE #d")
                        .expression_attribute_names("#s", "status")
                        .expression_attribute_names("#d", "date")
                        .expression_attribute_values(":s", s("RETURNED"))
                        .expression_attribute_values(":g", s("X"))
                        .send()
                        .await
                        .is_ok(),
                    _ => c
                        .delete_item()
                        .table_name("app")
                        .key("pk", s(&format!("USER#{}", id % 10)))
                        .key("sk", s(&format!("ORDER#{:04}", id + i - 8)))
                        .send()
                        .await
                        .is_ok(),
                };
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    server.kill();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    // --- restart: every index equals the projection of the table
    let server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    let table = scan_all(&c, "app", None).await;
    assert!(table.len() > 20, "the writers wrote: {}", table.len());
    for (index, keys, keep) in [
        ("gsi1", &["gsi1pk", "gsi1sk"][..], None),
        (
            "by_status",
            &["status", "created"][..],
            Some(&["pk", "sk", "status", "created", "total"][..]),
        ),
        ("by_date", &["date"][..], Some(&["pk", "sk", "date"][..])),
    ] {
        let mut want: Vec<Row> = table
            .iter()
            .filter(|r| keys.iter().all(|k| r.contains_key(*k)))
            .map(|r| keep.map_or_else(|| r.clone(), |keep| project(r, keep)))
            .collect();
        let mut got = scan_all(&c, "app", Some(index)).await;
        sort_rows(&mut want);
        sort_rows(&mut got);
        assert_eq!(got.len(), want.len(), "{index}");
        assert_eq!(got, want, "{index}");
        let desc = c.describe_table().table_name("app").send().await.unwrap();
        let t = desc.table().unwrap();
        let count = t
            .global_secondary_indexes()
            .iter()
            .find(|g| g.index_name() == Some(index))
            .and_then(|g| g.item_count())
            .or_else(|| {
                t.local_secondary_indexes()
                    .iter()
                    .find(|l| l.index_name() == Some(index))
                    .and_then(|l| l.item_count())
            });
        assert_eq!(count, Some(want.len() as i64), "ItemCount of {index}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t46_region_backfill_survives_leader_loss() {
    let mut region = Cluster::start(3).await;
    let leader = region.wait_leader(std::time::Duration::from_secs(30)).await;
    let follower = (leader + 1) % 3;
    let c = region.nodes[follower].client();
    // --- a loaded table, through a follower
    c.create_table()
        .table_name("rbf")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    wait_active(&c, "rbf").await;
    let rows: Vec<Row> = (0..2000)
        .map(|i| {
            let mut r = item(&[("pk", s(&format!("k{i:05}"))), ("v", ni(i))]);
            if i % 2 == 0 {
                r.insert("g".into(), s(&format!("g{}", i % 7)));
            }
            r
        })
        .collect();
    put_all(&c, "rbf", rows).await;

    // --- UpdateTable creates the index; the leader is killed at once, mid-backfill
    c.update_table()
        .table_name("rbf")
        .attribute_definitions(attr_def("g", ScalarAttributeType::S))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    CreateGlobalSecondaryIndexAction::builder()
                        .index_name("by_g")
                        .key_schema(key_elem("g", KeyType::Hash))
                        .projection(projection(ProjectionType::KeysOnly, &[]))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    region.kill(leader);

    // --- the new leader finishes it; both survivors hold the same, complete index
    let survivors: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    for &i in &survivors {
        let c = region.nodes[i].client();
        // A follower may not have applied CreateIndex yet: wait for the index itself.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let desc = c.describe_table().table_name("rbf").send().await;
            let active = desc.ok().and_then(|d| d.table).is_some_and(|t| {
                t.global_secondary_indexes().iter().any(|g| {
                    g.index_name() == Some("by_g") && g.index_status() == Some(&IndexStatus::Active)
                })
            });
            if active {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "by_g not ACTIVE on node {i}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut got = scan_all(&c, "rbf", Some("by_g")).await;
        sort_rows(&mut got);
        let want: Vec<Row> = (0..2000)
            .filter(|i| i % 2 == 0)
            .map(|i| {
                item(&[
                    ("pk", s(&format!("k{i:05}"))),
                    ("g", s(&format!("g{}", i % 7))),
                ])
            })
            .collect();
        assert_eq!(got.len(), want.len(), "node {i}");
        assert_eq!(got, want, "node {i}");
    }
}
