//! Global-table semantics on one replica: versions, last-writer-wins for remote changes,
//! tombstones, change-log records, cursors and trimming.

use model::{AttributeValue as V, Item, Replica, ReplicaStatus, Timestamp, Version};
use storage::{ApplyView, Store, WriteSet};

use crate::*;

const WALL: i64 = 1_700_000_000_000;

fn apply_in(store: &Store, region: &str, command: Command, wall_ms: i64) -> Outcome {
    let mut writes = WriteSet::new();
    let outcome = {
        let mut view = ApplyView::new(store, &mut writes);
        Engine::new(region)
            .apply(&mut view, &command, wall_ms)
            .unwrap()
    };
    store.commit(writes).unwrap();
    outcome
}

fn global_table(store: &Store) -> model::TableMeta {
    let mut meta = crate::tests::meta("g", None);
    meta.region = "us-east-1".into();
    apply_in(store, "us-east-1", Command::CreateTable(meta.clone()), WALL);
    let set = Command::SetReplicas(ReplicaSet {
        table: "g".into(),
        replicas: ["us-east-1", "eu-west-1"]
            .iter()
            .map(|r| Replica {
                region: (*r).into(),
                status: ReplicaStatus::Active,
            })
            .collect(),
        global_table_version: Some("2019.11.21".into()),
    });
    match apply_in(store, "us-east-1", set, WALL) {
        Outcome::Table(meta) => meta,
        other => panic!("{other:?}"),
    }
}

fn key(pk: &str) -> Item {
    [("pk".to_owned(), V::S(pk.into()))].into_iter().collect()
}

fn item(pk: &str, v: &str) -> Item {
    let mut it = key(pk);
    it.insert("v".into(), V::S(v.into()));
    it
}

fn put(pk: &str, v: &str) -> Command {
    Command::Write(ItemWrite {
        table: "g".into(),
        kind: WriteKind::Put { item: item(pk, v) },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    })
}

fn delete(pk: &str) -> Command {
    Command::Write(ItemWrite {
        table: "g".into(),
        kind: WriteKind::Delete { key: key(pk) },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    })
}

fn remote(changes: Vec<RemoteChange>) -> Command {
    Command::Replicate(RemoteBatch {
        table: "g".into(),
        source: "eu-west-1".into(),
        changes,
    })
}

fn change(pk: &str, v: Option<&str>, ts: u64, region: &str) -> RemoteChange {
    RemoteChange {
        keys: key(pk),
        item: v.map(|v| item(pk, v)),
        version: Version::new(Timestamp(ts), region),
    }
}

fn stored(store: &Store, meta: &model::TableMeta, pk: &str) -> Option<StoredItem> {
    let k = crate::key::key_of_request(&meta.key_schema, &key(pk)).unwrap();
    store
        .get(storage::Space::Items, &k.storage_key(meta))
        .unwrap()
        .map(|b| decode_stored(&b).unwrap())
}

fn replicated(outcome: Outcome) -> ReplicateResult {
    match outcome {
        Outcome::Replicated(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn local_writes_get_increasing_versions_even_when_the_clock_goes_back() {
    let store = Store::open(None, 1 << 20).unwrap();
    let meta = global_table(&store);
    apply_in(&store, "us-east-1", put("a", "1"), WALL);
    let first = stored(&store, &meta, "a").unwrap().version;
    apply_in(&store, "us-east-1", put("a", "2"), WALL - 60_000);
    let second = stored(&store, &meta, "a").unwrap().version;
    assert!(second > first);
    assert_eq!(second.region, "us-east-1");
    assert_eq!(first.timestamp, Timestamp::from_wall_ms(WALL));
}

#[test]
fn remote_changes_apply_only_when_newer_and_repeat_idempotently() {
    let store = Store::open(None, 1 << 20).unwrap();
    let meta = global_table(&store);
    apply_in(&store, "us-east-1", put("a", "local"), WALL);
    let local = stored(&store, &meta, "a").unwrap().version;

    // Older than the local write: loses.
    let older = change("a", Some("old"), local.timestamp.0 - 1, "eu-west-1");
    let r = replicated(apply_in(&store, "us-east-1", remote(vec![older]), WALL));
    assert_eq!((r.applied, r.superseded), (0, 1));
    assert_eq!(stored(&store, &meta, "a").unwrap().item, item("a", "local"));

    // Same timestamp: the region id breaks the tie ("us-east-1" > "eu-west-1").
    let tie = change("a", Some("tie"), local.timestamp.0, "eu-west-1");
    let r = replicated(apply_in(&store, "us-east-1", remote(vec![tie]), WALL));
    assert_eq!(r.superseded, 1);

    // Newer: wins; repeating it is a duplicate, not a change.
    let newer = change("a", Some("new"), local.timestamp.0 + 10, "eu-west-1");
    let r = replicated(apply_in(
        &store,
        "us-east-1",
        remote(vec![newer.clone()]),
        WALL,
    ));
    assert_eq!(r.applied, 1);
    let r = replicated(apply_in(
        &store,
        "us-east-1",
        remote(vec![newer.clone()]),
        WALL,
    ));
    assert_eq!((r.applied, r.duplicates), (0, 1));
    assert_eq!(stored(&store, &meta, "a").unwrap().version, newer.version);

    // A later local write wins over what the region has seen, even with a slow clock.
    apply_in(&store, "us-east-1", put("a", "after"), WALL - 5_000);
    assert!(stored(&store, &meta, "a").unwrap().version > newer.version);
}

#[test]
fn deletes_leave_tombstones_that_stop_older_writes() {
    let store = Store::open(None, 1 << 20).unwrap();
    let meta = global_table(&store);
    apply_in(&store, "us-east-1", put("a", "1"), WALL);
    apply_in(&store, "us-east-1", delete("a"), WALL + 1);
    assert!(stored(&store, &meta, "a").is_none());
    let tombstones = tombstone::table_tombstones(&store, &meta).unwrap();
    assert_eq!(tombstones.len(), 1);
    let deleted_at = tombstones[0].1.version.clone();

    let stale = change("a", Some("stale"), deleted_at.timestamp.0 - 1, "eu-west-1");
    let r = replicated(apply_in(&store, "us-east-1", remote(vec![stale]), WALL));
    assert_eq!(r.superseded, 1);
    assert!(stored(&store, &meta, "a").is_none());

    let later = change("a", Some("back"), deleted_at.timestamp.0 + 1, "eu-west-1");
    replicated(apply_in(&store, "us-east-1", remote(vec![later]), WALL));
    assert_eq!(stored(&store, &meta, "a").unwrap().item, item("a", "back"));
    assert!(tombstone::table_tombstones(&store, &meta)
        .unwrap()
        .is_empty());

    // A remote delete of an item never seen here still leaves a tombstone.
    let gone = change("b", None, deleted_at.timestamp.0 + 5, "eu-west-1");
    replicated(apply_in(&store, "us-east-1", remote(vec![gone]), WALL));
    assert_eq!(tombstone::table_tombstones(&store, &meta).unwrap().len(), 1);
}

#[test]
fn change_log_cursors_and_tombstone_collection() {
    let store = Store::open(None, 1 << 20).unwrap();
    let meta = global_table(&store);
    apply_in(&store, "us-east-1", put("a", "1"), WALL);
    apply_in(&store, "us-east-1", delete("a"), WALL);
    replicated(apply_in(
        &store,
        "us-east-1",
        remote(vec![change("z", Some("r"), 1 << 60, "eu-west-1")]),
        WALL,
    ));
    let records = read_changes(&store, &meta.id, 1, 100).unwrap();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert!(records[0].old.is_none() && records[0].new.is_some());
    assert!(records[1].old.is_some() && records[1].new.is_none());
    assert_eq!(records[2].version.region, "eu-west-1");
    assert_eq!(
        replication_cursor(&store, &meta.id, "eu-west-1").unwrap(),
        Some(0)
    );

    let ack = |seq| {
        Command::AckReplication(ReplicationAck {
            table: "g".into(),
            destination: "eu-west-1".into(),
            seq,
        })
    };
    apply_in(&store, "us-east-1", ack(2), WALL);
    assert_eq!(
        replication_cursor(&store, &meta.id, "eu-west-1").unwrap(),
        Some(2)
    );
    // Acknowledged and no stream: trimmed; the delete's tombstone stays until the replica
    // region reports that it is past it (issue 13: an acknowledged delete never comes back).
    let left: Vec<u64> = read_changes(&store, &meta.id, 0, 100)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(left, vec![3]);
    let tombstones = tombstone::table_tombstones(&store, &meta).unwrap();
    assert_eq!(tombstones.len(), 1);
    let deleted_at = tombstones[0].1.version.timestamp;
    // A write from the other region, older than the delete and still in flight, loses.
    let late = change("a", Some("late"), deleted_at.0 - 1, "eu-west-1");
    let r = replicated(apply_in(&store, "us-east-1", remote(vec![late]), WALL));
    assert_eq!(r.superseded, 1);
    assert!(stored(&store, &meta, "a").is_none());
    let watermark = |origin: u64, stable: u64| {
        Command::Watermark(crate::watermark::WatermarkUpdate {
            table: "g".into(),
            source: "eu-west-1".into(),
            watermark: crate::watermark::PeerWatermark {
                origin: model::Timestamp(origin),
                stable: model::Timestamp(stable),
            },
        })
    };
    // Past it on one count only: kept.
    apply_in(
        &store,
        "us-east-1",
        watermark(deleted_at.0 + 5, deleted_at.0 - 1),
        WALL,
    );
    assert_eq!(tombstone::table_tombstones(&store, &meta).unwrap().len(), 1);
    // A region that is not a replica of the table cannot release it.
    let mut foreign = watermark(u64::MAX, u64::MAX);
    if let Command::Watermark(update) = &mut foreign {
        update.source = "ap-south-1".into();
    }
    apply_in(&store, "us-east-1", foreign, WALL);
    assert_eq!(tombstone::table_tombstones(&store, &meta).unwrap().len(), 1);
    // Past it on both (watermarks never move back): collected.
    apply_in(&store, "us-east-1", watermark(0, deleted_at.0), WALL);
    assert!(tombstone::table_tombstones(&store, &meta)
        .unwrap()
        .is_empty());
    // A stale copy of the deleted item (an anti-entropy batch built before the delete reached
    // its sender) arrives after the collection: older than the horizon, it stays deleted.
    let stale = change("a", Some("stale-copy"), deleted_at.0 - 1, "eu-west-1");
    let r = replicated(apply_in(&store, "us-east-1", remote(vec![stale]), WALL));
    assert_eq!(r.superseded, 1);
    assert!(stored(&store, &meta, "a").is_none());
    // A write newer than the horizon is applied as usual.
    let fresh = change("a", Some("fresh"), deleted_at.0 + 100, "eu-west-1");
    let r = replicated(apply_in(&store, "us-east-1", remote(vec![fresh]), WALL));
    assert_eq!(r.applied, 1);
    // Cursors never move back.
    apply_in(&store, "us-east-1", ack(1), WALL);
    assert_eq!(
        replication_cursor(&store, &meta.id, "eu-west-1").unwrap(),
        Some(2)
    );
}

#[test]
fn a_table_that_is_not_global_records_nothing() {
    let store = Store::open(None, 1 << 20).unwrap();
    let meta = crate::tests::meta("g", None);
    apply_in(
        &store,
        "us-east-1",
        Command::CreateTable(meta.clone()),
        WALL,
    );
    apply_in(&store, "us-east-1", put("a", "1"), WALL);
    apply_in(&store, "us-east-1", delete("a"), WALL);
    assert!(read_changes(&store, &meta.id, 0, 10).unwrap().is_empty());
    assert!(tombstone::table_tombstones(&store, &meta)
        .unwrap()
        .is_empty());
}
