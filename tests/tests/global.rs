//! Global tables across regions of real processes: writes in every region reach every other,
//! concurrent writes converge last-writer-wins, a region killed or cut off catches up in both
//! directions, a replica added under load is backfilled to an identical copy, a restart of
//! every process loses nothing acknowledged, and the 2017.11.29 API works.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{Replica, ReplicaStatus, ReplicaUpdate, ReplicationGroupUpdate};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];
/// Longest wait for replicas to converge after the last write.
const CONVERGE: Duration = Duration::from_secs(45);

/// Makes `table` (created in region 0) global across `regions` with UpdateTable's
/// ReplicaUpdates, and waits until region 0 reports every replica ACTIVE.
async fn add_replicas(lab: &Lab, table: &str, regions: &[usize]) {
    let c = lab.client(0);
    let mut req = c.update_table().table_name(table);
    for &i in regions {
        req = req.replica_updates(
            ReplicationGroupUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateReplicationGroupMemberAction::builder()
                        .region_name(&lab.regions[i].name)
                        .build()
                        .unwrap(),
                )
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    let replicas = out.table_description().unwrap().replicas();
    for &i in regions {
        assert!(
            replicas
                .iter()
                .any(|r| r.region_name() == Some(lab.regions[i].name.as_str())),
            "{replicas:?}"
        );
    }
    wait_replicas_active(&c, table).await;
}

async fn wait_replicas_active(c: &Client, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = c.describe_table().table_name(table).send().await.unwrap();
        let t = d.table().unwrap();
        if t.replicas()
            .iter()
            .all(|r| r.replica_status() == Some(&ReplicaStatus::Active))
        {
            assert_eq!(t.global_table_version(), Some("2019.11.21"));
            return;
        }
        assert!(Instant::now() < deadline, "replicas not ACTIVE: {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn global_lab(table: &str) -> (Lab, Vec<Client>) {
    let lab = Lab::start(&REGIONS).await;
    let clients: Vec<Client> = (0..REGIONS.len()).map(|i| lab.client(i)).collect();
    create_simple_table(&clients[0], table).await;
    add_replicas(&lab, table, &[1, 2]).await;
    (lab, clients)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_each_region_appears_in_all_others() {
    let (lab, c) = global_lab("everywhere").await;
    for (i, client) in c.iter().enumerate() {
        put_v(client, "everywhere", &format!("from-{i}"), &format!("v{i}")).await;
    }
    for client in &c {
        for i in 0..c.len() {
            let v = format!("v{i}");
            wait_value(
                client,
                "everywhere",
                &format!("from-{i}"),
                Some(&v),
                Duration::from_secs(15),
            )
            .await;
        }
    }
    // Every region describes the others as replicas, with its own region in the ARN.
    for (i, client) in c.iter().enumerate() {
        let t = client
            .describe_table()
            .table_name("everywhere")
            .send()
            .await
            .unwrap();
        let t = t.table().unwrap();
        assert!(t.table_arn().unwrap().contains(REGIONS[i]));
        let mut others: Vec<&str> = t
            .replicas()
            .iter()
            .filter_map(|r| r.region_name())
            .collect();
        others.sort_unstable();
        let mut expected: Vec<&str> = REGIONS
            .iter()
            .copied()
            .filter(|r| *r != REGIONS[i])
            .collect();
        expected.sort_unstable();
        assert_eq!(others, expected);
    }
    // Replication is visible in the metrics, per region pair.
    let metrics = lab.metrics(1).await;
    assert!(
        metrics.lines().any(|l| l
            .starts_with("meridian_replication_latency_seconds_count{destination=\"eu-west-1\"")
            && l.contains("source=\"us-east-1\"")),
        "{metrics}"
    );
    let status = lab.status(0).await;
    assert!(
        status.contains("replication us-east-1->eu-west-1"),
        "{status}"
    );
    // Every replica has the same time-to-live setting.
    c[0].update_time_to_live()
        .table_name("everywhere")
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("expires")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for client in &c[1..] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let d = client
                .describe_time_to_live()
                .table_name("everywhere")
                .send()
                .await
                .unwrap();
            let d = d.time_to_live_description().unwrap();
            if d.attribute_name() == Some("expires") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "TTL setting did not reach a replica: {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // An index added in one region is added (and backfilled) in every replica.
    c[0].update_table()
        .table_name("everywhere")
        .attribute_definitions(attr_def(
            "v",
            aws_sdk_dynamodb::types::ScalarAttributeType::S,
        ))
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                        .index_name("by-v")
                        .key_schema(key_elem("v", aws_sdk_dynamodb::types::KeyType::Hash))
                        .projection(
                            aws_sdk_dynamodb::types::Projection::builder()
                                .projection_type(aws_sdk_dynamodb::types::ProjectionType::All)
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
    for client in &c {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = client
                .query()
                .table_name("everywhere")
                .index_name("by-v")
                .key_condition_expression("v = :v")
                .expression_attribute_values(":v", s("v1"))
                .send()
                .await
                .map(|q| q.count())
                .unwrap_or(0);
            if found == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "index by-v not queryable in a replica"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Deletes replicate too.
    c[2].delete_item()
        .table_name("everywhere")
        .key("pk", s("from-0"))
        .send()
        .await
        .unwrap();
    wait_value(&c[0], "everywhere", "from-0", None, Duration::from_secs(15)).await;
    wait_value(&c[1], "everywhere", "from-0", None, Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_converge_and_a_later_write_wins() {
    let (lab, c) = global_lab("conflicts").await;
    // The same 30 keys written at once in all three regions, and some deleted meanwhile.
    let mut tasks = Vec::new();
    for (i, client) in c.iter().enumerate() {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..30 {
                put_v(&client, "conflicts", &format!("k{k}"), &format!("r{i}-{k}")).await;
                if k % 7 == i {
                    client
                        .delete_item()
                        .table_name("conflicts")
                        .key("pk", s(&format!("k{k}")))
                        .send()
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let items = wait_converged(&c, "conflicts", CONVERGE).await;
    assert!(!items.is_empty());
    // Anti-entropy, comparing digests of the replicas, agrees that they are identical.
    let converged_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    for (i, me) in REGIONS.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = lab.status(i).await;
            let identical = REGIONS.iter().filter(|r| *r != me).all(|other| {
                status.lines().any(|l| {
                    l.starts_with(&format!(
                        "anti_entropy table=conflicts replica={other} identical"
                    )) && l
                        .rsplit("compared_at_ms=")
                        .next()
                        .and_then(|ms| ms.trim().parse::<u128>().ok())
                        .is_some_and(|ms| ms > converged_ms)
                })
            });
            if identical {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "anti-entropy never found identical replicas:\n{status}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // A write made after a region has seen another region's write wins over it everywhere,
    // even though the first region wrote "later" by its own clock order.
    put_v(&c[0], "conflicts", "causal", "first").await;
    wait_value(
        &c[1],
        "conflicts",
        "causal",
        Some("first"),
        Duration::from_secs(15),
    )
    .await;
    put_v(&c[1], "conflicts", "causal", "second").await;
    wait_converged(&c, "conflicts", CONVERGE).await;
    for client in &c {
        assert_eq!(
            get_v(client, "conflicts", "causal").await.as_deref(),
            Some("second")
        );
    }

    // Delete versus a concurrent update of the same item converges (to either outcome, the
    // same everywhere).
    put_v(&c[0], "conflicts", "contested", "base").await;
    wait_converged(&c, "conflicts", CONVERGE).await;
    let (a, b) = (c[0].clone(), c[2].clone());
    let del = tokio::spawn(async move {
        a.delete_item()
            .table_name("conflicts")
            .key("pk", s("contested"))
            .send()
            .await
            .unwrap();
    });
    let upd = tokio::spawn(async move { put_v(&b, "conflicts", "contested", "updated").await });
    del.await.unwrap();
    upd.await.unwrap();
    wait_converged(&c, "conflicts", CONVERGE).await;
    let seen: Vec<Option<String>> =
        futures::future::join_all(c.iter().map(|x| get_v(x, "conflicts", "contested"))).await;
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

/// Writes `count` items named `<prefix>-<n>` to `client` as fast as it acknowledges them;
/// returns the acknowledged ones.
async fn load(
    client: Client,
    table: &'static str,
    prefix: String,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let mut acked = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let pk = format!("{prefix}-{n}");
        let ok = client
            .put_item()
            .table_name(table)
            .item("pk", s(&pk))
            .item("v", s("x"))
            .send()
            .await
            .is_ok();
        if ok {
            acked.push(pk);
        }
        n += 1;
    }
    acked
}

async fn assert_everywhere(c: &[Client], table: &str, acked: &[String]) {
    let items = wait_converged(c, table, CONVERGE).await;
    for pk in acked {
        assert!(
            items.iter().any(|i| i.contains(&format!("S(\"{pk}\")"))),
            "acknowledged {pk} missing after convergence"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_region_receives_everything_and_ships_its_own() {
    let (mut lab, c) = global_lab("outage").await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(load(c[0].clone(), "outage", "east".into(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    lab.kill(1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    lab.restart(1).await;
    // Its own writes after the restart reach the others.
    put_v(&c[1], "outage", "from-eu", "back").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut acked = writer.await.unwrap();
    assert!(
        acked.len() > 10,
        "the load wrote only {} items",
        acked.len()
    );
    acked.push("from-eu".into());
    assert_everywhere(&c, "outage", &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_region_catches_up_in_both_directions() {
    let (lab, c) = global_lab("partition").await;
    lab.cut_off(2);
    let stop = Arc::new(AtomicBool::new(false));
    let east = tokio::spawn(load(c[0].clone(), "partition", "east".into(), stop.clone()));
    let south = tokio::spawn(load(
        c[2].clone(),
        "partition",
        "south".into(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    // While cut off, neither side sees the other's writes.
    assert_eq!(get_v(&c[2], "partition", "east-0").await, None);
    assert_eq!(get_v(&c[0], "partition", "south-0").await, None);
    stop.store(true, Ordering::SeqCst);
    let mut acked = east.await.unwrap();
    acked.extend(south.await.unwrap());
    lab.heal();
    assert_everywhere(&c, "partition", &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_added_under_load_is_backfilled_identical() {
    let lab = Lab::start(&REGIONS).await;
    let c: Vec<Client> = (0..3).map(|i| lab.client(i)).collect();
    create_simple_table(&c[0], "backfill").await;
    for n in 0..300 {
        put_v(&c[0], "backfill", &format!("old-{n}"), "before").await;
    }
    add_replicas(&lab, "backfill", &[1]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(load(c[0].clone(), "backfill", "new".into(), stop.clone()));
    let updater = {
        let c1 = c[1].clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                put_v(
                    &c1,
                    "backfill",
                    &format!("old-{}", n % 300),
                    "updated-in-eu",
                )
                .await;
                n += 1;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    add_replicas(&lab, "backfill", &[2]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let acked = writer.await.unwrap();
    updater.await.unwrap();
    let items = wait_converged(&c, "backfill", CONVERGE).await;
    assert_eq!(items.len(), 300 + acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_every_process_loses_nothing_acknowledged() {
    let (mut lab, c) = global_lab("restart").await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    for (i, client) in c.iter().enumerate() {
        for n in 0..40 {
            let pk = format!("r{i}-{n}");
            put_v(client, "restart", &pk, "durable").await;
            acked.lock().unwrap().push(pk);
        }
    }
    for i in 0..3 {
        lab.kill(i);
    }
    for i in 0..3 {
        lab.restart(i).await;
    }
    let acked = acked.lock().unwrap().clone();
    assert_everywhere(&c, "restart", &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2017_global_tables_api() {
    let lab = Lab::start(&REGIONS[..2]).await;
    let c: Vec<Client> = (0..2).map(|i| lab.client(i)).collect();
    // DescribeGlobalTable of a table that is not global.
    let err = c[0]
        .describe_global_table()
        .global_table_name("legacy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "GlobalTableNotFoundException");
    let err = c[0]
        .create_global_table()
        .global_table_name("legacy")
        .replication_group(Replica::builder().region_name("eu-west-1").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "TableNotFoundException");

    create_simple_table(&c[0], "legacy").await;
    let created = c[0]
        .create_global_table()
        .global_table_name("legacy")
        .replication_group(Replica::builder().region_name("us-east-1").build())
        .replication_group(Replica::builder().region_name("eu-west-1").build())
        .send()
        .await
        .unwrap();
    let d = created.global_table_description().unwrap();
    assert_eq!(d.global_table_name(), Some("legacy"));
    assert_eq!(d.replication_group().len(), 2);
    let err = c[0]
        .create_global_table()
        .global_table_name("legacy")
        .replication_group(Replica::builder().region_name("eu-west-1").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "GlobalTableAlreadyExistsException");

    put_v(&c[0], "legacy", "a", "1").await;
    wait_value(&c[1], "legacy", "a", Some("1"), Duration::from_secs(15)).await;

    let listed = c[1].list_global_tables().send().await.unwrap();
    let names: Vec<&str> = listed
        .global_tables()
        .iter()
        .filter_map(|g| g.global_table_name())
        .collect();
    assert_eq!(names, vec!["legacy"]);
    let described = c[1]
        .describe_global_table()
        .global_table_name("legacy")
        .send()
        .await
        .unwrap();
    let mut group: Vec<&str> = described
        .global_table_description()
        .unwrap()
        .replication_group()
        .iter()
        .filter_map(|r| r.region_name())
        .collect();
    group.sort_unstable();
    assert_eq!(group, vec!["eu-west-1", "us-east-1"]);

    let err = c[0]
        .update_global_table()
        .global_table_name("legacy")
        .replica_updates(
            ReplicaUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateReplicaAction::builder()
                        .region_name("eu-west-1")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ReplicaAlreadyExistsException");
    // An unknown region is a ValidationException.
    let err = c[0]
        .update_table()
        .table_name("legacy")
        .replica_updates(
            ReplicationGroupUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateReplicationGroupMemberAction::builder()
                        .region_name("mars-north-1")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");

    // Removing the replica stops replication and deletes the copy.
    let updated = c[0]
        .update_global_table()
        .global_table_name("legacy")
        .replica_updates(
            ReplicaUpdate::builder()
                .delete(
                    aws_sdk_dynamodb::types::DeleteReplicaAction::builder()
                        .region_name("eu-west-1")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await;
    // The table has no replica left but this one: no longer global.
    assert!(updated.is_ok(), "{updated:?}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while c[1]
        .describe_table()
        .table_name("legacy")
        .send()
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "the removed replica was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = c[0]
        .describe_table()
        .table_name("legacy")
        .send()
        .await
        .unwrap();
    assert!(t.table().unwrap().replicas().is_empty());

    // CreateTable has no replica parameter: a `meridian:replicas` tag names them.
    let tagged = |name: &str, regions: &str| {
        c[0].create_table()
            .table_name(name)
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .attribute_definitions(attr_def(
                "pk",
                aws_sdk_dynamodb::types::ScalarAttributeType::S,
            ))
            .key_schema(key_elem("pk", aws_sdk_dynamodb::types::KeyType::Hash))
            .tags(
                aws_sdk_dynamodb::types::Tag::builder()
                    .key("meridian:replicas")
                    .value(regions)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let err = tagged("nowhere", "mars-north-1").await.unwrap_err();
    assert_eq!(error_code(&err), "ValidationException");
    let err = c[0]
        .describe_table()
        .table_name("nowhere")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
    let created = tagged("tagged", "eu-west-1").await.unwrap();
    let replicas = created.table_description().unwrap().replicas();
    assert_eq!(replicas.len(), 1, "{replicas:?}");
    put_v(&c[0], "tagged", "t", "1").await;
    wait_value(&c[1], "tagged", "t", Some("1"), Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_routes_the_shared_port_by_signing_region() {
    let server = Server::spawn(&[
        "dev".to_owned(),
        "--in-memory".to_owned(),
        "--port".to_owned(),
        "0".to_owned(),
        "--regions".to_owned(),
        "us-east-1,eu-west-1".to_owned(),
    ])
    .unwrap();
    let east = client_in_region(server.url(), "us-east-1");
    let west = client_in_region(server.url(), "eu-west-1");
    // Created in us-east-1 and global at once, as every dev-mode table.
    create_simple_table(&east, "devtable").await;
    let t = west
        .describe_table()
        .table_name("devtable")
        .send()
        .await
        .unwrap();
    let t = t.table().unwrap();
    assert!(t.table_arn().unwrap().contains(":eu-west-1:"), "{t:?}");
    assert_eq!(t.replicas().len(), 1);
    put_v(&west, "devtable", "w", "from-west").await;
    wait_value(
        &east,
        "devtable",
        "w",
        Some("from-west"),
        Duration::from_secs(15),
    )
    .await;
    // A tag keeps a table local.
    east.create_table()
        .table_name("localonly")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(attr_def(
            "pk",
            aws_sdk_dynamodb::types::ScalarAttributeType::S,
        ))
        .key_schema(key_elem("pk", aws_sdk_dynamodb::types::KeyType::Hash))
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("meridian:global")
                .value("false")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let err = west
        .describe_table()
        .table_name("localonly")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ResourceNotFoundException");
}
