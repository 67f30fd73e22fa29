//! Streams and TTL in apply: stream bounds across disable and re-enable, TTL settings, and
//! the sweeper's deletes re-checked at apply time.

use std::collections::BTreeMap;

use model::{
    AttributeValue as V, BillingMode, Item, KeyAttribute, KeySchema, ProvisionedThroughput,
    ScalarType, StreamViewType, TableMeta, TableStatus,
};
use storage::{ApplyView, Store, WriteSet};

use crate::*;

const NOW_MS: i64 = 1_700_000_000_000;

fn apply_at(store: &Store, command: Command, wall_ms: i64) -> Outcome {
    let mut writes = WriteSet::new();
    let outcome = {
        let mut view = ApplyView::new(store, &mut writes);
        Engine::new("us-east-1")
            .apply(&mut view, &command, wall_ms)
            .unwrap()
    };
    store.commit(writes).unwrap();
    outcome
}

fn apply(store: &Store, command: Command) -> Outcome {
    apply_at(store, command, NOW_MS)
}

fn meta(name: &str) -> TableMeta {
    TableMeta {
        name: name.into(),
        id: uuid::Uuid::new_v4(),
        region: "us-east-1".into(),
        key_schema: KeySchema {
            partition_rest: Vec::new(),
            sort_rest: Vec::new(),
            partition: KeyAttribute {
                name: "pk".into(),
                scalar: ScalarType::S,
            },
            sort: None,
        },
        attribute_definitions: vec![("pk".into(), ScalarType::S)],
        billing_mode: BillingMode::PayPerRequest,
        billing_mode_updated_ms: None,
        provisioned: ProvisionedThroughput {
            read_capacity_units: 0,
            write_capacity_units: 0,
            last_increase_ms: None,
            last_decrease_ms: None,
            decreases_today: 0,
        },
        tags: BTreeMap::new(),
        deletion_protection: false,
        table_class: "STANDARD".into(),
        created_ms: 0,
        status: TableStatus::Active,
        global_indexes: Vec::new(),
        local_indexes: Vec::new(),
        stream: None,
        ttl: None,
        replicas: Vec::new(),
        global_table_version: None,
    }
}

fn item(pk: &str, expires: Option<V>) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), V::S(pk.into()));
    if let Some(e) = expires {
        item.insert("expires".into(), e);
    }
    item
}

fn n(x: i64) -> V {
    V::N(model::Number::from_i64(x))
}

fn put(it: Item) -> Command {
    Command::Write(ItemWrite {
        table: "t".into(),
        kind: WriteKind::Put { item: it },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    })
}

fn set_stream(enable: Option<StreamViewType>, now_ms: i64) -> Command {
    Command::SetStream(StreamUpdate {
        table: "t".into(),
        enable,
        now_ms,
    })
}

fn load(store: &Store) -> TableMeta {
    load_table(store, "t").unwrap().unwrap()
}

#[test]
fn t10_stream_enable_disable_reenable_bounds() {
    let store = Store::open(None, 8 << 20).unwrap();
    apply(&store, Command::CreateTable(meta("t")));
    apply(&store, put(item("before", None)));
    assert_eq!(changes::last_seq(&store, &load(&store).id).unwrap(), 0);

    let outcome = apply(&store, set_stream(Some(StreamViewType::NewImage), NOW_MS));
    let Outcome::Table(m) = outcome else {
        panic!("{outcome:?}")
    };
    let first_arn = m.stream_arn().unwrap();
    assert!(
        first_arn.ends_with("/stream/2023-11-14T22:13:20.000"),
        "{first_arn}"
    );
    assert!(matches!(
        apply(&store, set_stream(Some(StreamViewType::KeysOnly), NOW_MS)),
        Outcome::Rejected(Rejection::Validation(m)) if m.contains("already has an enabled stream")
    ));
    apply(&store, put(item("a", None)));
    apply(&store, put(item("b", None)));
    let m = load(&store);
    assert_eq!(
        stream::stream_bounds(&store, &m, m.stream.as_ref().unwrap()).unwrap(),
        (1, 2)
    );

    apply(&store, set_stream(None, NOW_MS + 1));
    assert!(matches!(
        apply(&store, set_stream(None, NOW_MS + 2)),
        Outcome::Rejected(Rejection::Validation(m)) if m.contains("no stream to disable")
    ));
    // Not recorded while disabled.
    apply(&store, put(item("c", None)));
    let m = load(&store);
    assert!(!m.stream_enabled());
    assert_eq!(m.stream_arn().unwrap(), first_arn, "the last ARN stays");
    assert_eq!(
        stream::stream_bounds(&store, &m, m.stream.as_ref().unwrap()).unwrap(),
        (1, 2)
    );

    apply(
        &store,
        set_stream(Some(StreamViewType::OldImage), NOW_MS + 5),
    );
    apply(&store, put(item("d", None)));
    let m = load(&store);
    assert_ne!(
        m.stream_arn().unwrap(),
        first_arn,
        "a new stream, a new label"
    );
    let current = m.stream.as_ref().unwrap();
    assert_eq!(stream::stream_bounds(&store, &m, current).unwrap(), (3, 3));
    let records = read_changes(&store, &m.id, 3, 10).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].keys.get("pk"), Some(&V::S("d".into())));
    // The first stream is still there, closed at 2.
    assert_eq!(current.previous.len(), 1);
    assert_eq!(m.arn_of_stream(&current.previous[0]), first_arn);
    assert_eq!(
        stream::stream_bounds(&store, &m, &current.previous[0]).unwrap(),
        (1, 2)
    );
    // Re-enabling more than a day after a disable forgets the streams disabled before.
    apply(&store, set_stream(None, NOW_MS + 10));
    apply(
        &store,
        set_stream(Some(StreamViewType::KeysOnly), NOW_MS + 10 + 86_400_000),
    );
    assert!(load(&store).stream.unwrap().previous.is_empty());
}

#[test]
fn t10_expiry_rule() {
    let now_s = NOW_MS / 1000;
    let expired = |v: Option<V>| ttl::is_expired(&item("x", v), "expires", NOW_MS);
    assert!(expired(Some(n(now_s))));
    assert!(expired(Some(n(now_s - 100))));
    assert!(!expired(Some(n(now_s + 1))));
    assert!(!expired(None), "missing never expires");
    assert!(!expired(Some(V::S("1".into()))), "a string never expires");
    assert!(
        !expired(Some(n(now_s - ttl::TTL_MAX_AGE_SECONDS - 1))),
        "more than five years old is ignored"
    );
    assert!(
        !expired(Some(n(NOW_MS))),
        "milliseconds are far in the future"
    );
}

#[test]
fn t20_ttl_settings_and_service_deletes() {
    let store = Store::open(None, 8 << 20).unwrap();
    let mut m = meta("t");
    m.stream = Some(stream::initial_stream(StreamViewType::NewAndOldImages, 0));
    apply(&store, Command::CreateTable(m));
    let ttl = |enabled: bool, attribute: &str| {
        Command::SetTimeToLive(TtlUpdate {
            table: "t".into(),
            attribute: attribute.into(),
            enabled,
        })
    };
    assert!(matches!(
        apply(&store, ttl(false, "expires")),
        Outcome::Rejected(Rejection::Validation(m)) if m == "TimeToLive is already disabled"
    ));
    assert!(matches!(
        apply(&store, ttl(true, "expires")),
        Outcome::Table(_)
    ));
    assert!(matches!(
        apply(&store, ttl(true, "other")),
        Outcome::Rejected(Rejection::Validation(m)) if m == "TimeToLive is already enabled"
    ));

    let past = NOW_MS / 1000 - 10;
    apply(&store, put(item("old", Some(n(past)))));
    apply(&store, put(item("renewed", Some(n(past)))));
    apply(&store, put(item("fresh", Some(n(past + 3600)))));
    apply(&store, put(item("never", None)));
    let m = load(&store);
    let mut keys = ttl::expired_keys(&store, &m, NOW_MS, None, 1000)
        .unwrap()
        .keys;
    keys.sort_by_key(|k| format!("{:?}", k.get("pk")));
    // Scanned in chunks, the same items are found.
    let mut chunked = Vec::new();
    let mut after = None;
    loop {
        let scan = ttl::expired_keys(&store, &m, NOW_MS, after, 1).unwrap();
        chunked.extend(scan.keys);
        match scan.resume_after {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    chunked.sort_by_key(|k| format!("{:?}", k.get("pk")));
    assert_eq!(chunked, keys);
    assert_eq!(keys, vec![item("old", None), item("renewed", None)]);

    // A write renews one item between the sweep and the apply: it must survive.
    apply(&store, put(item("renewed", Some(n(past + 3600)))));
    let outcome = apply(
        &store,
        Command::ExpireItems(ExpireBatch {
            table: "t".into(),
            table_id: m.id,
            keys,
        }),
    );
    assert_eq!(outcome, Outcome::Expired(1));
    let records = read_changes(&store, &m.id, 1, 100).unwrap();
    let last = records.last().unwrap();
    assert!(last.by_service && last.new.is_none());
    assert_eq!(last.keys, item("old", None));
    assert!(records[..records.len() - 1].iter().all(|r| !r.by_service));
    assert!(ttl::expired_keys(&store, &m, NOW_MS, None, 1000)
        .unwrap()
        .keys
        .is_empty());

    // A stale table id (the table was re-created) deletes nothing.
    let outcome = apply_at(
        &store,
        Command::ExpireItems(ExpireBatch {
            table: "t".into(),
            table_id: uuid::Uuid::nil(),
            keys: vec![item("renewed", None)],
        }),
        NOW_MS + 10_000_000,
    );
    assert_eq!(outcome, Outcome::Expired(0));
}

#[test]
fn t10_a_replica_created_from_another_regions_description_starts_its_own_stream() {
    let store = Store::open(None, 8 << 20).unwrap();
    let mut m = meta("t");
    let mut announced = model::StreamSpec::new(StreamViewType::NewImage, NOW_MS, 57);
    announced
        .previous
        .push(model::StreamSpec::new(StreamViewType::KeysOnly, 0, 1));
    m.stream = Some(announced);
    apply(&store, Command::CreateTable(m));
    apply(&store, put(item("a", None)));
    let m = load(&store);
    let stream = m.stream.as_ref().unwrap();
    assert_eq!(stream.start_seq, 1);
    assert!(stream.previous.is_empty());
    assert_eq!(stream::stream_bounds(&store, &m, stream).unwrap(), (1, 1));
}
