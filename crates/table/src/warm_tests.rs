//! Warm throughput side records: set through the engine, only raised, dropped with the index
//! or the table.

use model::{IndexMeta, IndexStatus, KeyAttribute, KeySchema, ProjectionType, ScalarType};

use crate::tests::{apply, meta, store};
use crate::*;

fn gsi(name: &str) -> IndexMeta {
    IndexMeta {
        name: name.into(),
        id: uuid::Uuid::new_v4(),
        key_schema: KeySchema {
            partition_rest: Vec::new(),
            sort_rest: Vec::new(),
            partition: KeyAttribute {
                name: "team".into(),
                scalar: ScalarType::S,
            },
            sort: None,
        },
        projection: ProjectionType::All,
        non_key_attributes: Vec::new(),
        status: IndexStatus::Active,
        backfilling: false,
        provisioned: None,
    }
}

fn units(read: u64, write: u64) -> WarmUnits {
    WarmUnits { read, write }
}

fn set(table: &str, table_units: Option<WarmUnits>, indexes: &[(&str, WarmUnits)]) -> Command {
    Command::SetWarmThroughput(WarmUpdate {
        table: table.into(),
        units: table_units,
        indexes: indexes.iter().map(|(n, u)| (n.to_string(), *u)).collect(),
    })
}

#[test]
fn t10_warm_throughput_is_raised_kept_and_dropped() {
    let store = store();
    let mut m = meta("t", None);
    m.attribute_definitions.push(("team".into(), ScalarType::S));
    m.global_indexes = vec![gsi("by_team")];
    assert!(matches!(
        apply(&store, Command::CreateTable(m.clone())),
        Outcome::Table(_)
    ));
    assert_eq!(warm_record(&store, &m).unwrap(), WarmRecord::default());

    let outcome = apply(
        &store,
        set(
            "t",
            Some(units(20_000, 0)),
            &[("by_team", units(15_000, 5_000))],
        ),
    );
    assert!(matches!(outcome, Outcome::Table(ref t) if t.name == "t"));
    let record = warm_record(&store, &m).unwrap();
    assert_eq!(record.table, units(20_000, 0));
    assert_eq!(record.index("by_team"), units(15_000, 5_000));

    // Raising one dimension keeps the other; a lower value lowers nothing.
    apply(&store, set("t", Some(units(1, 9_000)), &[]));
    let record = warm_record(&store, &m).unwrap();
    assert_eq!(record.table, units(20_000, 9_000));
    assert_eq!(record.index("by_team"), units(15_000, 5_000));

    // An unknown index or table is refused, and changes nothing.
    let outcome = apply(
        &store,
        set("t", Some(units(50_000, 50_000)), &[("nope", units(1, 1))]),
    );
    assert!(matches!(
        outcome,
        Outcome::Rejected(Rejection::ResourceNotFound(_))
    ));
    assert!(matches!(
        apply(&store, set("missing", Some(units(1, 1)), &[])),
        Outcome::Rejected(Rejection::ResourceNotFound(_))
    ));
    assert_eq!(warm_record(&store, &m).unwrap().table, units(20_000, 9_000));

    // Deleting the index drops its entry; deleting the table drops the record.
    apply(
        &store,
        Command::DeleteIndex {
            table: "t".into(),
            index: "by_team".into(),
        },
    );
    let record = warm_record(&store, &m).unwrap();
    assert_eq!(record.index("by_team"), WarmUnits::default());
    assert_eq!(record.table, units(20_000, 9_000));
    apply(&store, Command::DeleteTable { name: "t".into() });
    assert_eq!(warm_record(&store, &m).unwrap(), WarmRecord::default());
}

#[test]
fn t10_set_warm_throughput_round_trips_and_is_appended_last() {
    let command = set("t", Some(units(1, 2)), &[("i", units(3, 4))]);
    let bytes = command.encode().unwrap();
    assert_eq!(Command::decode(&bytes).unwrap(), command);
    // bincode's enum tag (u32 little-endian after the format byte): tag 22, after the 22
    // variants that existed before it (Backup is 21), so older log entries decode unchanged.
    assert_eq!(&bytes[1..5], &22u32.to_le_bytes());
}
