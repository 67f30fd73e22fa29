//! Backups, point-in-time recovery, PartiQL, export/import and multi-attribute GSI keys in a
//! real 3-node region: every call may land on any node (a follower forwards writes to the
//! leader), and what one node did is what every node shows.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, ExportStatus, GlobalSecondaryIndex, ImportStatus,
    InputCompressionType, InputFormat, KeyType, ParameterizedStatement,
    PointInTimeRecoverySpecification, Projection, ProjectionType, S3BucketSource,
    ScalarAttributeType, TableCreationParameters,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

/// Longest wait for the first election of a fresh region.
const FIRST_LEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for anything that converges (a follower applying, a new leader, a restarted
/// node catching up) on a loaded machine.
const CONVERGE: Duration = Duration::from_secs(30);

type Item = std::collections::HashMap<String, AttributeValue>;
/// A table's items by `pk`, normalised (sets sorted) so that two reads compare equal.
type Rows = BTreeMap<String, Item>;

/// Polls `f` until it answers `Some`, for up to [`CONVERGE`].
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + CONVERGE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rows(items: &[Item]) -> Rows {
    items
        .iter()
        .map(|i| (get_s(i, "pk").unwrap().to_owned(), normalize_item(i)))
        .collect()
}

/// Every item of `table`, read with ConsistentRead through `c` (all pages).
async fn consistent_scan(c: &Client, table: &str) -> Result<Rows, String> {
    let mut out = Rows::new();
    let mut start = None;
    loop {
        let page = c
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        out.extend(rows(page.items()));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(out);
        }
    }
}

/// [`consistent_scan`], retried until it succeeds (a node that just started, an election).
async fn scan_when_ready(c: &Client, table: &str) -> Rows {
    eventually(&format!("a consistent scan of {table}"), || async {
        consistent_scan(c, table).await.ok()
    })
    .await
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn row(pk: &str, v: &str, a: &str, b: &str, c: i64) -> Item {
    item(&[
        ("pk", s(pk)),
        ("v", s(v)),
        ("a", s(a)),
        ("b", s(b)),
        ("c", ni(c)),
        ("tags", ss(&["x", "y"])),
    ])
}

/// Table `name`: `pk` (S), with GSI `by_ab` keyed by two HASH attributes (`a`, `b`) and a
/// RANGE attribute `c` (N).
async fn create_multi_key_table(c: &Client, name: &str) {
    let gsi = GlobalSecondaryIndex::builder()
        .index_name("by_ab")
        .key_schema(key_elem("a", KeyType::Hash))
        .key_schema(key_elem("b", KeyType::Hash))
        .key_schema(key_elem("c", KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap();
    c.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("a", ScalarAttributeType::S))
        .attribute_definitions(attr_def("b", ScalarAttributeType::S))
        .attribute_definitions(attr_def("c", ScalarAttributeType::N))
        .key_schema(key_elem("pk", KeyType::Hash))
        .global_secondary_indexes(gsi)
        .send()
        .await
        .unwrap();
    wait_active(c, name).await;
}

/// The `pk`s a Query of GSI `by_ab` for (`a`, `b`) returns, in order.
async fn query_by_ab(c: &Client, table: &str, a: &str, b: &str) -> Result<Vec<String>, String> {
    let out = c
        .query()
        .table_name(table)
        .index_name("by_ab")
        .key_condition_expression("a = :a AND b = :b")
        .expression_attribute_values(":a", s(a))
        .expression_attribute_values(":b", s(b))
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(out
        .items()
        .iter()
        .map(|i| get_s(i, "pk").unwrap().to_owned())
        .collect())
}

async fn put_row(c: &Client, table: &str, row: Item) {
    c.put_item()
        .table_name(table)
        .set_item(Some(row))
        .send()
        .await
        .unwrap();
}

/// The indexes of the running nodes other than `leader`.
fn followers(region: &Cluster, leader: usize) -> Vec<usize> {
    (0..region.nodes.len())
        .filter(|&i| i != leader && region.nodes[i].server.is_some())
        .collect()
}

async fn enable_pitr(c: &Client, table: &str) {
    c.update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// (status, EarliestRestorableDateTime) of a table's PITR as node `c` describes it.
async fn pitr_of(c: &Client, table: &str) -> Result<(String, Option<DateTime>), String> {
    let out = c
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let d = out
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .ok_or("no PITR description")?;
    Ok((
        d.point_in_time_recovery_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        d.earliest_restorable_date_time().copied(),
    ))
}

/// What DescribeBackup on `c` says about `arn`: (name, status, item count, size, creation).
async fn backup_of(c: &Client, arn: &str) -> Result<(String, String, i64, i64, DateTime), String> {
    let out = c
        .describe_backup()
        .backup_arn(arn)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let d = out.backup_description().ok_or("no description")?;
    let details = d.backup_details().ok_or("no details")?;
    let source = d.source_table_details().ok_or("no source details")?;
    Ok((
        details.backup_name().to_owned(),
        details.backup_status().as_str().to_owned(),
        source.item_count().unwrap_or(-1),
        details.backup_size_bytes().unwrap_or(-1),
        *details.backup_creation_date_time(),
    ))
}

async fn backup_arns(c: &Client, table: &str) -> Result<Vec<String>, String> {
    let out = c
        .list_backups()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let mut arns: Vec<String> = out
        .backup_summaries()
        .iter()
        .filter_map(|b| b.backup_arn().map(str::to_owned))
        .collect();
    arns.sort();
    Ok(arns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_through_a_follower_is_on_every_node_and_restores_through_another() {
    let region = Cluster::start(3).await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let f = followers(&region, leader);
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();

    create_multi_key_table(&c[f[0]], "music").await;
    let mut want = Rows::new();
    for (i, (pk, a, b, n)) in [
        ("p1", "A", "x", 1),
        ("p2", "A", "x", 2),
        ("p3", "A", "y", 3),
        ("p4", "B", "x", 4),
        ("p5", "A", "x", 0),
    ]
    .into_iter()
    .enumerate()
    {
        let r = row(pk, &format!("v{i}"), a, b, n);
        want.insert(pk.to_owned(), normalize_item(&r));
        put_row(&c[i % 3], "music", r).await;
    }

    // CreateBackup through a follower (forwarded to the leader).
    let created = c[f[0]]
        .create_backup()
        .table_name("music")
        .backup_name("nightly")
        .send()
        .await
        .unwrap();
    let arn = created.backup_details().unwrap().backup_arn().to_owned();
    assert_eq!(
        created.backup_details().unwrap().backup_status().as_str(),
        "AVAILABLE"
    );

    // Every node describes and lists it the same way.
    let first = eventually("the backup on the leader", || async {
        backup_of(&c[leader], &arn).await.ok()
    })
    .await;
    assert_eq!(first.0, "nightly");
    assert_eq!(first.1, "AVAILABLE");
    assert_eq!(first.2, 5, "item count of the backup");
    for (i, client) in c.iter().enumerate() {
        let seen = eventually(&format!("the backup on node {i}"), || async {
            backup_of(client, &arn).await.ok()
        })
        .await;
        assert_eq!(seen, first, "DescribeBackup on node {i}");
        assert_eq!(
            backup_arns(client, "music").await.unwrap(),
            vec![arn.clone()],
            "ListBackups on node {i}"
        );
    }

    // Writes after the backup are not in it.
    put_row(&c[leader], "music", row("p6", "late", "A", "x", 6)).await;
    c[f[1]]
        .delete_item()
        .table_name("music")
        .key("pk", s("p1"))
        .send()
        .await
        .unwrap();

    // A second backup through one follower, restored at once through the other: the
    // restoring node must see a backup created a moment ago through another node.
    let second = c[f[1]]
        .create_backup()
        .table_name("music")
        .backup_name("second")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_owned();
    let restored = c[f[0]]
        .restore_table_from_backup()
        .target_table_name("music_second")
        .backup_arn(&second)
        .send()
        .await
        .unwrap();
    let summary = restored
        .table_description()
        .unwrap()
        .restore_summary()
        .expect("RestoreSummary in the answer of a restore through a follower");
    assert_eq!(summary.source_backup_arn(), Some(second.as_str()));

    // RestoreTableFromBackup (the first backup) through another follower than the one that
    // created it.
    c[f[1]]
        .restore_table_from_backup()
        .target_table_name("music_restored")
        .backup_arn(&arn)
        .send()
        .await
        .unwrap();

    for (i, client) in c.iter().enumerate() {
        assert_eq!(
            scan_when_ready(client, "music_restored").await,
            want,
            "restored items through node {i}"
        );
        // The multi-attribute GSI was rebuilt by the restore, on every node.
        let by_ab = eventually(&format!("GSI by_ab on node {i}"), || async {
            query_by_ab(client, "music_restored", "A", "x")
                .await
                .ok()
                .filter(|r| r.len() == 3)
        })
        .await;
        assert_eq!(by_ab, ["p5", "p1", "p2"], "GSI order on node {i}");
        assert_eq!(
            query_by_ab(client, "music_restored", "A", "y")
                .await
                .unwrap(),
            ["p3"]
        );
        let described = client
            .describe_table()
            .table_name("music_restored")
            .send()
            .await
            .unwrap();
        let t = described.table().unwrap();
        assert_eq!(
            t.restore_summary().and_then(|r| r.source_backup_arn()),
            Some(arn.as_str()),
            "RestoreSummary on node {i}"
        );
        assert_eq!(t.item_count(), Some(5), "ItemCount on node {i}");
        let second_rows = scan_when_ready(client, "music_second").await;
        let keys: Vec<&str> = second_rows.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["p2", "p3", "p4", "p5", "p6"],
            "second restore on node {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pitr_restore_after_the_leader_is_killed_and_the_killed_node_catches_up() {
    let mut region = Cluster::start(3).await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let f = followers(&region, leader);
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();

    create_simple_table(&c[f[0]], "ledger").await;
    enable_pitr(&c[f[1]], "ledger").await;
    let v = |pk: &str, v: &str| item(&[("pk", s(pk)), ("v", s(v))]);
    for (i, (pk, val)) in [("a", "a1"), ("b", "b1"), ("c", "c1")].iter().enumerate() {
        put_row(&c[i], "ledger", v(pk, val)).await;
    }
    let want: Rows = [("a", "a1"), ("b", "b1"), ("c", "c1")]
        .iter()
        .map(|(pk, val)| ((*pk).to_owned(), normalize_item(&v(pk, val))))
        .collect();
    // The leader stamps entries with its wall clock (same machine): leave a margin either
    // side of the noted time.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let noted = now_ms();
    tokio::time::sleep(Duration::from_millis(300)).await;
    put_row(&c[f[0]], "ledger", v("a", "a2")).await;
    c[f[1]]
        .delete_item()
        .table_name("ledger")
        .key("pk", s("b"))
        .send()
        .await
        .unwrap();
    put_row(&c[leader], "ledger", v("d", "d1")).await;
    let before = c[f[0]]
        .create_backup()
        .table_name("ledger")
        .backup_name("before-kill")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_owned();
    // Every node has applied everything so far before the leader dies.
    for client in &c {
        scan_when_ready(client, "ledger").await;
    }

    region.kill(leader);
    let new_leader = region.wait_leader(CONVERGE).await;
    assert_ne!(new_leader, leader);
    // A surviving node other than the new leader, so the restore is forwarded.
    let s_i = f.iter().copied().find(|&i| i != new_leader).unwrap();
    // It knows the new leader once a consistent read goes through.
    let current = scan_when_ready(&c[s_i], "ledger").await;
    let keys: Vec<&str> = current.keys().map(String::as_str).collect();
    assert_eq!(keys, ["a", "c", "d"]);

    c[s_i]
        .restore_table_to_point_in_time()
        .source_table_name("ledger")
        .target_table_name("ledger_at")
        .restore_date_time(DateTime::from_millis(noted))
        .send()
        .await
        .unwrap();
    for i in [s_i, new_leader] {
        assert_eq!(
            scan_when_ready(&c[i], "ledger_at").await,
            want,
            "restored items through node {i}"
        );
    }
    // A backup taken while the old leader is down.
    let after = c[new_leader]
        .create_backup()
        .table_name("ledger_at")
        .backup_name("after-kill")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_owned();

    // The killed node comes back and catches up: backups, PITR state and the restored table
    // as the survivors have them.
    region.restart(leader).await;
    let back = &c[leader];
    assert_eq!(scan_when_ready(back, "ledger_at").await, want);
    let keys: Vec<String> = scan_when_ready(back, "ledger").await.into_keys().collect();
    assert_eq!(keys, ["a", "c", "d"]);
    for arn in [&before, &after] {
        let there = backup_of(&c[s_i], arn).await.unwrap();
        let here = eventually("the backup on the restarted node", || async {
            backup_of(back, arn).await.ok()
        })
        .await;
        assert_eq!(here, there, "DescribeBackup {arn}");
    }
    assert_eq!(
        backup_arns(back, "ledger").await.unwrap(),
        backup_arns(&c[s_i], "ledger").await.unwrap()
    );
    let survivor_pitr = pitr_of(&c[s_i], "ledger").await.unwrap();
    assert_eq!(survivor_pitr.0, "ENABLED");
    assert_eq!(pitr_of(back, "ledger").await.unwrap(), survivor_pitr);
    // Restored tables get no PITR (as in DynamoDB), on every node.
    assert_eq!(pitr_of(back, "ledger_at").await.unwrap().0, "DISABLED");
    let restore_of = |c: Client| async move {
        c.describe_table()
            .table_name("ledger_at")
            .send()
            .await
            .unwrap()
            .table()
            .unwrap()
            .restore_summary()
            .cloned()
            .unwrap()
    };
    let here = restore_of(back.clone()).await;
    assert_eq!(here, restore_of(c[s_i].clone()).await);
    // RestoreDateTime travels as fractional epoch seconds (a JSON double): the SDK's reading
    // of `x.244` may come back as `x.243999…`.
    let restored_ms = here.restore_date_time().to_millis().unwrap();
    assert!(
        (restored_ms - noted).abs() <= 1,
        "RestoreDateTime {restored_ms} vs {noted}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partiql_through_every_node() {
    let region = Cluster::start(3).await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let f = followers(&region, leader);
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    create_simple_table(&c[leader], "pql").await;

    // INSERT through a follower.
    c[f[0]]
        .execute_statement()
        .statement(r#"INSERT INTO "pql" VALUE {'pk': 'k1', 'v': 'one', 'n': 1}"#)
        .send()
        .await
        .unwrap();
    // A second INSERT of the same key fails its implied condition, forwarded or not.
    let e = c[f[1]]
        .execute_statement()
        .statement(r#"INSERT INTO "pql" VALUE {'pk': 'k1', 'v': 'dup'}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e), "DuplicateItemException");

    // SELECT with ConsistentRead through the other follower sees it at once.
    let select = |client: Client, pk: &'static str| async move {
        client
            .execute_statement()
            .statement(r#"SELECT * FROM "pql" WHERE pk = ?"#)
            .parameters(s(pk))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .map(normalize_item)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        select(c[f[1]].clone(), "k1").await,
        [item(&[("pk", s("k1")), ("v", s("one")), ("n", ni(1))])]
    );

    // ExecuteTransaction through the third node (the leader): an update, an insert, a
    // condition check, all or nothing.
    c[leader]
        .execute_transaction()
        .transact_statements(
            ParameterizedStatement::builder()
                .statement(r#"UPDATE "pql" SET v = 'two' SET n = n + 1 WHERE pk = 'k1'"#)
                .build()
                .unwrap(),
        )
        .transact_statements(
            ParameterizedStatement::builder()
                .statement(r#"INSERT INTO "pql" VALUE {'pk': ?, 'v': ?}"#)
                .parameters(s("k2"))
                .parameters(s("fresh"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // A transaction whose second statement fails changes nothing, from a follower too.
    let e = c[f[0]]
        .execute_transaction()
        .transact_statements(
            ParameterizedStatement::builder()
                .statement(r#"UPDATE "pql" SET v = 'lost' WHERE pk = 'k2'"#)
                .build()
                .unwrap(),
        )
        .transact_statements(
            ParameterizedStatement::builder()
                .statement(r#"INSERT INTO "pql" VALUE {'pk': 'k1'}"#)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e), "TransactionCanceledException");

    for (i, client) in c.iter().enumerate() {
        assert_eq!(
            select(client.clone(), "k1").await,
            [item(&[("pk", s("k1")), ("v", s("two")), ("n", ni(2))])],
            "k1 through node {i}"
        );
        assert_eq!(
            select(client.clone(), "k2").await,
            [item(&[("pk", s("k2")), ("v", s("fresh"))])],
            "k2 through node {i}"
        );
    }
    // BatchExecuteStatement through a follower, read back through another node.
    let batch = c[f[1]]
        .batch_execute_statement()
        .statements(
            aws_sdk_dynamodb::types::BatchStatementRequest::builder()
                .statement(r#"DELETE FROM "pql" WHERE pk = 'k2'"#)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(batch.responses()[0].error().is_none());
    assert_eq!(select(c[f[0]].clone(), "k2").await, Vec::<Item>::new());
}

/// Waits until `c` describes the export as finished; returns its status.
async fn export_status(c: &Client, arn: &str) -> ExportStatus {
    eventually("a finished export", || async {
        let out = c.describe_export().export_arn(arn).send().await.ok()?;
        let status = out.export_description()?.export_status()?.clone();
        (status != ExportStatus::InProgress).then_some(status)
    })
    .await
}

async fn import(c: &Client, prefix: &str, table: &str) -> String {
    c.import_table()
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket("bkt")
                .s3_key_prefix(prefix)
                .build()
                .unwrap(),
        )
        .table_creation_parameters(
            TableCreationParameters::builder()
                .table_name(table)
                .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
                .key_schema(key_elem("pk", KeyType::Hash))
                .billing_mode(BillingMode::PayPerRequest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_owned()
}

/// (status, failure code) of an import once `c` describes it as finished.
async fn import_result(c: &Client, arn: &str) -> (ImportStatus, Option<String>) {
    eventually("a finished import", || async {
        let out = c.describe_import().import_arn(arn).send().await.ok()?;
        let d = out.import_table_description()?;
        let status = d.import_status()?.clone();
        (status != ImportStatus::InProgress).then(|| (status, d.failure_code().map(str::to_owned)))
    })
    .await
}

/// Starts an export of `table` through `c` to bucket `bkt`, prefix `snap`; returns its ARN.
async fn export(c: &Client, table: &str) -> String {
    let arn = c
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned();
    c.export_table_to_point_in_time()
        .table_arn(arn)
        .s3_bucket("bkt")
        .s3_prefix("snap")
        .send()
        .await
        .unwrap()
        .export_description()
        .unwrap()
        .export_arn()
        .unwrap()
        .to_owned()
}

/// Table `src` with PITR and three items, created through `c`.
async fn export_source(c: &[Client]) -> Rows {
    create_simple_table(&c[0], "src").await;
    enable_pitr(&c[1], "src").await;
    let mut want = Rows::new();
    for i in 0..3 {
        let r = item(&[("pk", s(&format!("k{i}"))), ("v", ni(i))]);
        want.insert(format!("k{i}"), normalize_item(&r));
        put_row(&c[i as usize % c.len()], "src", r).await;
    }
    want
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_through_a_follower_writes_files_on_that_node_only() {
    let region = Cluster::start(3).await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let f = followers(&region, leader);
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    let want = export_source(&c).await;

    // The export runs on the follower that accepted it and answers when it is done.
    let arn = export(&c[f[0]], "src").await;
    for (i, client) in c.iter().enumerate() {
        assert_eq!(
            export_status(client, &arn).await,
            ExportStatus::Completed,
            "DescribeExport on node {i}"
        );
    }
    // Without MERIDIAN_EXPORT_ROOT the root is each node's own data directory: the files are
    // on the exporting node only.
    let export_id = arn.rsplit('/').next().unwrap();
    let relative = format!("exports/bkt/snap/AWSDynamoDB/{export_id}");
    let on = |i: usize| -> PathBuf {
        region
            .dir()
            .join(format!("n{}", region.nodes[i].id))
            .join(&relative)
    };
    assert!(
        on(f[0]).join("manifest-summary.json").is_file(),
        "files on the exporting node"
    );
    for i in [leader, f[1]] {
        assert!(!on(i).exists(), "no export files on node {i}");
    }

    // An import through the node holding the files works; through another node the bucket
    // does not exist there, and the import fails (its table is dropped).
    let prefix = format!("snap/AWSDynamoDB/{export_id}/data/");
    let good = import(&c[f[0]], &prefix, "copy").await;
    assert_eq!(
        import_result(&c[f[1]], &good).await.0,
        ImportStatus::Completed
    );
    for client in &c {
        assert_eq!(scan_when_ready(client, "copy").await, want);
    }
    let bad = import(&c[leader], &prefix, "copy_elsewhere").await;
    let (status, code) = import_result(&c[f[1]], &bad).await;
    assert_eq!(status, ImportStatus::Failed);
    assert!(code.is_some(), "a failure code");
    for client in &c {
        wait_gone(client, "copy_elsewhere").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_with_a_shared_export_root_imports_through_any_node() {
    let root = tempfile::tempdir().unwrap();
    let region = Cluster::start_with_env(
        3,
        "",
        &[("MERIDIAN_EXPORT_ROOT", root.path().to_str().unwrap())],
    )
    .await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let f = followers(&region, leader);
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    let want = export_source(&c).await;
    // A write after the export is not in it.
    let arn = export(&c[f[1]], "src").await;
    put_row(&c[leader], "src", item(&[("pk", s("late")), ("v", ni(9))])).await;
    assert_eq!(export_status(&c[f[0]], &arn).await, ExportStatus::Completed);
    let export_id = arn.rsplit('/').next().unwrap();
    assert!(root
        .path()
        .join(format!(
            "exports/bkt/snap/AWSDynamoDB/{export_id}/manifest-summary.json"
        ))
        .is_file());

    let imported = import(
        &c[leader],
        &format!("snap/AWSDynamoDB/{export_id}/data/"),
        "copy",
    )
    .await;
    assert_eq!(
        import_result(&c[f[0]], &imported).await.0,
        ImportStatus::Completed
    );
    for client in &c {
        assert_eq!(scan_when_ready(client, "copy").await, want);
    }
}
