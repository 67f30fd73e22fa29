//! Backups and restores, point-in-time recovery, export to and import from the local S3 root:
//! the data a restore shows, the documented errors, and durability across a restart.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, ImportStatus, InputCompressionType, InputFormat, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, S3BucketSource,
    ScalarAttributeType, TableCreationParameters,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

/// How long an export or import may take on a loaded machine before the test gives up.
const JOB_TIMEOUT_MS: u64 = 30_000;

async fn put(c: &Client, table: &str, pk: &str, v: &str) {
    c.put_item()
        .table_name(table)
        .item("pk", s(pk))
        .item("v", s(v))
        .item("g", s("all"))
        .send()
        .await
        .unwrap();
}

/// `pk` → `v` of every item of a table.
async fn contents(c: &Client, table: &str) -> HashMap<String, String> {
    let items = c.scan().table_name(table).send().await.unwrap();
    items
        .items()
        .iter()
        .map(|i| {
            (
                get_s(i, "pk").unwrap().to_owned(),
                get_s(i, "v").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A table `pk` (S) with a GSI `by_g` on `g`.
async fn create_indexed(c: &Client, name: &str) {
    c.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("g", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_g")
                .key_schema(key_elem("g", KeyType::Hash))
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
    wait_active(c, name).await;
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

async fn latest_restorable(c: &Client, table: &str) -> DateTime {
    let out = c
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await
        .unwrap();
    *out.continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap()
        .latest_restorable_date_time()
        .unwrap()
}

#[tokio::test]
async fn t10_backup_then_modify_then_restore_shows_the_old_data() {
    // --- a table with an index, two items, a backup
    let server = Server::start().await;
    let c = server.client();
    create_indexed(&c, "music").await;
    put(&c, "music", "a", "a1").await;
    put(&c, "music", "b", "b1").await;
    let created = c
        .create_backup()
        .table_name("music")
        .backup_name("before-change")
        .send()
        .await
        .unwrap();
    let details = created.backup_details().unwrap();
    let arn = details.backup_arn().to_owned();
    assert!(arn.contains(":table/music/backup/"), "{arn}");
    assert_eq!(details.backup_status().as_str(), "AVAILABLE");

    // --- change everything, then restore
    put(&c, "music", "a", "a2").await;
    c.delete_item()
        .table_name("music")
        .key("pk", s("b"))
        .send()
        .await
        .unwrap();
    put(&c, "music", "c", "c2").await;
    let restored = c
        .restore_table_from_backup()
        .target_table_name("music_restored")
        .backup_arn(&arn)
        .send()
        .await
        .unwrap();
    let desc = restored.table_description().unwrap();
    assert_eq!(desc.table_name(), Some("music_restored"));
    wait_active(&c, "music_restored").await;
    assert_eq!(
        contents(&c, "music_restored").await,
        expected(&[("a", "a1"), ("b", "b1")])
    );
    assert_eq!(
        contents(&c, "music").await,
        expected(&[("a", "a2"), ("c", "c2")])
    );

    // --- the restored table has the index, its items and a RestoreSummary
    let by_g = c
        .query()
        .table_name("music_restored")
        .index_name("by_g")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("all"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_g.count(), 2);
    let table = c
        .describe_table()
        .table_name("music_restored")
        .send()
        .await
        .unwrap();
    let table = table.table().unwrap();
    assert_eq!(table.item_count(), Some(2));
    let summary = table.restore_summary().unwrap();
    assert_eq!(summary.source_backup_arn(), Some(arn.as_str()));
    assert!(!summary.restore_in_progress());

    // --- describe, list (filters, pagination), delete
    let described = c.describe_backup().backup_arn(&arn).send().await.unwrap();
    let description = described.backup_description().unwrap();
    let source = description.source_table_details().unwrap();
    assert_eq!(source.table_name(), "music");
    assert_eq!(source.item_count(), Some(2));
    assert_eq!(
        description
            .source_table_feature_details()
            .unwrap()
            .global_secondary_indexes()
            .len(),
        1
    );
    let second = c
        .create_backup()
        .table_name("music")
        .backup_name("after-change")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_owned();
    let page = c
        .list_backups()
        .table_name("music")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.backup_summaries().len(), 1);
    assert_eq!(page.backup_summaries()[0].backup_arn(), Some(arn.as_str()));
    let start = page.last_evaluated_backup_arn().unwrap().to_owned();
    let next = c
        .list_backups()
        .table_name("music")
        .exclusive_start_backup_arn(start)
        .send()
        .await
        .unwrap();
    assert_eq!(next.backup_summaries().len(), 1);
    assert_eq!(
        next.backup_summaries()[0].backup_arn(),
        Some(second.as_str())
    );
    assert!(next.last_evaluated_backup_arn().is_none());
    let other_table = c
        .list_backups()
        .table_name("music_restored")
        .send()
        .await
        .unwrap();
    assert!(other_table.backup_summaries().is_empty());
    let future = c
        .list_backups()
        .time_range_lower_bound(DateTime::from_secs(4_000_000_000))
        .send()
        .await
        .unwrap();
    assert!(future.backup_summaries().is_empty());
    let system = c
        .list_backups()
        .backup_type(aws_sdk_dynamodb::types::BackupTypeFilter::System)
        .send()
        .await
        .unwrap();
    assert!(system.backup_summaries().is_empty());
    let deleted = c.delete_backup().backup_arn(&arn).send().await.unwrap();
    assert_eq!(
        deleted
            .backup_description()
            .unwrap()
            .backup_details()
            .unwrap()
            .backup_status()
            .as_str(),
        "DELETED"
    );
    expect_error(
        c.describe_backup().backup_arn(&arn).send().await,
        "BackupNotFoundException",
    );
}

#[tokio::test]
async fn t20_point_in_time_restore_between_two_writes() {
    let server = Server::start().await;
    let c = server.client();
    create_indexed(&c, "ledger").await;
    enable_pitr(&c, "ledger").await;
    put(&c, "ledger", "k", "first").await;
    put(&c, "ledger", "gone", "later deleted").await;
    let between = latest_restorable(&c, "ledger").await;

    // --- wait until the server's clock is past the chosen time, then write
    let deadline = Instant::now() + Duration::from_millis(JOB_TIMEOUT_MS);
    while latest_restorable(&c, "ledger").await <= between {
        assert!(
            Instant::now() < deadline,
            "the server's clock does not move"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    put(&c, "ledger", "k", "second").await;
    put(&c, "ledger", "new", "after").await;
    c.delete_item()
        .table_name("ledger")
        .key("pk", s("gone"))
        .send()
        .await
        .unwrap();

    // --- restore to the time between the writes, and to the latest time
    c.restore_table_to_point_in_time()
        .source_table_name("ledger")
        .target_table_name("ledger_then")
        .restore_date_time(between)
        .send()
        .await
        .unwrap();
    wait_active(&c, "ledger_then").await;
    assert_eq!(
        contents(&c, "ledger_then").await,
        expected(&[("k", "first"), ("gone", "later deleted")])
    );
    let arn = c
        .describe_table()
        .table_name("ledger")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned();
    c.restore_table_to_point_in_time()
        .source_table_arn(&arn)
        .target_table_name("ledger_now")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        contents(&c, "ledger_now").await,
        expected(&[("k", "second"), ("new", "after")])
    );
    let summary = c
        .describe_table()
        .table_name("ledger_then")
        .send()
        .await
        .unwrap();
    let summary = summary.table().unwrap().restore_summary().unwrap();
    assert_eq!(summary.source_table_arn(), Some(arn.as_str()));
    assert_eq!(summary.restore_date_time(), &between);

    // --- disabling PITR reports DISABLED
    c.update_continuous_backups()
        .table_name("ledger")
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let out = c
        .describe_continuous_backups()
        .table_name("ledger")
        .send()
        .await
        .unwrap();
    let pitr = out
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_status().unwrap().as_str(),
        "DISABLED"
    );
}

async fn wait_export(c: &Client, arn: &str) -> aws_sdk_dynamodb::types::ExportDescription {
    let deadline = Instant::now() + Duration::from_millis(JOB_TIMEOUT_MS);
    loop {
        let out = c.describe_export().export_arn(arn).send().await.unwrap();
        let desc = out.export_description().unwrap().clone();
        if desc.export_status().unwrap().as_str() != "IN_PROGRESS" {
            return desc;
        }
        assert!(Instant::now() < deadline, "export still running: {desc:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_import(c: &Client, arn: &str) -> aws_sdk_dynamodb::types::ImportTableDescription {
    let deadline = Instant::now() + Duration::from_millis(JOB_TIMEOUT_MS);
    loop {
        let out = c.describe_import().import_arn(arn).send().await.unwrap();
        let desc = out.import_table_description().unwrap().clone();
        if desc.import_status() != Some(&ImportStatus::InProgress) {
            return desc;
        }
        assert!(Instant::now() < deadline, "import still running: {desc:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn creation(name: &str) -> TableCreationParameters {
    TableCreationParameters::builder()
        .table_name(name)
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .build()
        .unwrap()
}

#[tokio::test]
async fn t30_export_then_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    create_simple_table(&c, "src").await;
    enable_pitr(&c, "src").await;
    for i in 0..30 {
        c.put_item()
            .table_name("src")
            .item("pk", s(&format!("k{i:02}")))
            .item("v", s(&format!("v{i}")))
            .item("n", ni(i))
            .item(
                "m",
                m(&[("l", l(vec![s("x"), ni(1)])), ("b", b(b"\0bytes"))]),
            )
            .send()
            .await
            .unwrap();
    }
    let table_arn = c
        .describe_table()
        .table_name("src")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned();

    // --- export to bucket `bkt`, prefix `snap`
    let started = c
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("bkt")
        .s3_prefix("snap")
        .send()
        .await
        .unwrap();
    let export_arn = started
        .export_description()
        .unwrap()
        .export_arn()
        .unwrap()
        .to_owned();
    let done = wait_export(&c, &export_arn).await;
    assert_eq!(done.export_status().unwrap().as_str(), "COMPLETED");
    assert_eq!(done.item_count(), Some(30));
    let export_id = export_arn.rsplit('/').next().unwrap();
    let export_dir = dir
        .path()
        .join("exports/bkt/snap/AWSDynamoDB")
        .join(export_id);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export_dir.join("manifest-summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["itemCount"], 30);
    assert_eq!(summary["exportArn"], export_arn.as_str());
    assert!(export_dir.join("manifest-files.json").is_file());
    let listed = c.list_exports().table_arn(&table_arn).send().await.unwrap();
    assert_eq!(listed.export_summaries().len(), 1);

    // --- import the export's data files into a new table
    let import = c
        .import_table()
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket("bkt")
                .s3_key_prefix(format!("snap/AWSDynamoDB/{export_id}/data/"))
                .build()
                .unwrap(),
        )
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(creation("copy"))
        .send()
        .await
        .unwrap();
    let import_arn = import
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_owned();
    let done = wait_import(&c, &import_arn).await;
    assert_eq!(done.import_status(), Some(&ImportStatus::Completed));
    assert_eq!(done.imported_item_count(), 30);
    assert_eq!(done.error_count(), 0);
    let scan = |t: &'static str| {
        let c = c.clone();
        async move {
            let mut items: Vec<_> = c
                .scan()
                .table_name(t)
                .send()
                .await
                .unwrap()
                .items()
                .iter()
                .map(normalize_item)
                .collect();
            items.sort_by_key(|i| get_s(i, "pk").unwrap().to_owned());
            items
        }
    };
    assert_eq!(scan("copy").await, scan("src").await);
    let listed = c.list_imports().send().await.unwrap();
    assert!(listed
        .import_summary_list()
        .iter()
        .any(|s| s.import_arn() == Some(import_arn.as_str())));

    // --- a CSV import, with a row missing its key counted as an error
    let csv_dir = dir.path().join("exports/bkt/csv");
    std::fs::create_dir_all(&csv_dir).unwrap();
    std::fs::write(
        csv_dir.join("rows.csv"),
        "pk,v,note\nr1,one,\"with, comma\"\nr2,two,\"two\nlines, \"\"quoted\"\"\"\n,no key,x\n",
    )
    .unwrap();
    let import = c
        .import_table()
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket("bkt")
                .s3_key_prefix("csv/")
                .build()
                .unwrap(),
        )
        .input_format(InputFormat::Csv)
        .input_compression_type(InputCompressionType::None)
        .table_creation_parameters(creation("from_csv"))
        .send()
        .await
        .unwrap();
    let arn = import
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_owned();
    let done = wait_import(&c, &arn).await;
    assert_eq!(done.imported_item_count(), 2);
    assert_eq!(done.error_count(), 1);
    let row = c
        .get_item()
        .table_name("from_csv")
        .key("pk", s("r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_s(row.item().unwrap(), "note"), Some("with, comma"));
    let row = c
        .get_item()
        .table_name("from_csv")
        .key("pk", s("r2"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_s(row.item().unwrap(), "note"),
        Some("two\nlines, \"quoted\"")
    );
}

#[tokio::test]
async fn t40_documented_errors() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "tbl").await;
    create_simple_table(&c, "taken").await;
    let missing_arn =
        "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/backup/01700000000000-abcdef12";

    expect_error(
        c.create_backup()
            .table_name("nope")
            .backup_name("bk1")
            .send()
            .await,
        "TableNotFoundException",
    );
    expect_error(
        c.create_backup()
            .table_name("tbl")
            .backup_name("x")
            .send()
            .await,
        "ValidationException",
    );
    expect_error(
        c.describe_backup().backup_arn(missing_arn).send().await,
        "BackupNotFoundException",
    );
    expect_error(
        c.delete_backup().backup_arn(missing_arn).send().await,
        "BackupNotFoundException",
    );
    expect_error(
        c.restore_table_from_backup()
            .backup_arn(missing_arn)
            .target_table_name("fresh")
            .send()
            .await,
        "BackupNotFoundException",
    );
    let arn = c
        .create_backup()
        .table_name("tbl")
        .backup_name("bk1")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_owned();
    expect_error(
        c.restore_table_from_backup()
            .backup_arn(&arn)
            .target_table_name("taken")
            .send()
            .await,
        "TableAlreadyExistsException",
    );

    // --- point in time
    expect_error(
        c.restore_table_to_point_in_time()
            .source_table_name("tbl")
            .target_table_name("fresh")
            .use_latest_restorable_time(true)
            .send()
            .await,
        "PointInTimeRecoveryUnavailableException",
    );
    expect_error(
        c.restore_table_to_point_in_time()
            .source_table_name("nope")
            .target_table_name("fresh")
            .use_latest_restorable_time(true)
            .send()
            .await,
        "TableNotFoundException",
    );
    enable_pitr(&c, "tbl").await;
    expect_error(
        c.restore_table_to_point_in_time()
            .source_table_name("tbl")
            .target_table_name("fresh")
            .restore_date_time(DateTime::from_secs(1_000_000_000))
            .send()
            .await,
        "InvalidRestoreTimeException",
    );
    expect_error(
        c.restore_table_to_point_in_time()
            .source_table_name("tbl")
            .target_table_name("taken")
            .use_latest_restorable_time(true)
            .send()
            .await,
        "TableAlreadyExistsException",
    );
    expect_error(
        c.restore_table_to_point_in_time()
            .source_table_name("tbl")
            .target_table_name("fresh")
            .send()
            .await,
        "ValidationException",
    );
    expect_error(
        c.update_continuous_backups()
            .table_name("tbl")
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .recovery_period_in_days(36)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "ValidationException",
    );
    expect_error(
        c.describe_continuous_backups()
            .table_name("nope")
            .send()
            .await,
        "TableNotFoundException",
    );

    // --- export and import
    let taken_arn = c
        .describe_table()
        .table_name("taken")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned();
    expect_error(
        c.export_table_to_point_in_time()
            .table_arn(&taken_arn)
            .s3_bucket("bkt")
            .send()
            .await,
        "PointInTimeRecoveryUnavailableException",
    );
    expect_error(
        c.describe_export()
            .export_arn(format!("{taken_arn}/export/01700000000000-abcdef12"))
            .send()
            .await,
        "ExportNotFoundException",
    );
    expect_error(
        c.describe_import()
            .import_arn(format!("{taken_arn}/import/01700000000000-abcdef12"))
            .send()
            .await,
        "ImportNotFoundException",
    );
    expect_error(
        c.import_table()
            .s3_bucket_source(S3BucketSource::builder().s3_bucket("bkt").build().unwrap())
            .input_format(InputFormat::DynamodbJson)
            .table_creation_parameters(creation("taken"))
            .send()
            .await,
        "ResourceInUseException",
    );
}

#[tokio::test]
async fn t50_a_backup_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    create_simple_table(&c, "kept").await;
    put(&c, "kept", "x", "before").await;
    let arn = c
        .create_backup()
        .table_name("kept")
        .backup_name("durable")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_owned();
    put(&c, "kept", "x", "after").await;
    server.terminate().unwrap();

    let server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    let listed = c.list_backups().send().await.unwrap();
    assert_eq!(listed.backup_summaries().len(), 1);
    assert_eq!(
        listed.backup_summaries()[0].backup_arn(),
        Some(arn.as_str())
    );
    c.restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("kept_again")
        .send()
        .await
        .unwrap();
    assert_eq!(
        contents(&c, "kept_again").await,
        expected(&[("x", "before")])
    );
}
