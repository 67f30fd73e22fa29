//! Secondary index maintenance, backfill and reads over a real (in-memory) store.

use model::{
    AttributeValue as V, IndexMeta, IndexStatus, Item, KeyAttribute, KeySchema, ProjectionType,
    ScalarType, TableMeta,
};
use storage::{Space, Store};

use crate::tests::{apply, bind, item, meta, n, put, query_input, s, store};
use crate::*;

fn schema(partition: (&str, ScalarType), sort: Option<(&str, ScalarType)>) -> KeySchema {
    KeySchema {
        partition_rest: Vec::new(),
        sort_rest: Vec::new(),
        partition: KeyAttribute {
            name: partition.0.into(),
            scalar: partition.1,
        },
        sort: sort.map(|(name, scalar)| KeyAttribute {
            name: name.into(),
            scalar,
        }),
    }
}

fn index(name: &str, key: KeySchema, projection: ProjectionType, include: &[&str]) -> IndexMeta {
    IndexMeta {
        name: name.into(),
        id: uuid::Uuid::new_v4(),
        key_schema: key,
        projection,
        non_key_attributes: include.iter().map(|a| a.to_string()).collect(),
        status: IndexStatus::Active,
        backfilling: false,
        provisioned: None,
    }
}

/// Table `t` (pk S, sk S) with GSI `by_team` (team, score N; ALL), GSI `team_keys` (team;
/// KEYS_ONLY) and LSI `by_rank` (pk, rank N; INCLUDE note).
fn indexed_table() -> TableMeta {
    let mut m = meta("t", Some(ScalarType::S));
    m.global_indexes = vec![
        index(
            "by_team",
            schema(("team", ScalarType::S), Some(("score", ScalarType::N))),
            ProjectionType::All,
            &[],
        ),
        index(
            "team_keys",
            schema(("team", ScalarType::S), None),
            ProjectionType::KeysOnly,
            &[],
        ),
    ];
    m.local_indexes = vec![index(
        "by_rank",
        schema(("pk", ScalarType::S), Some(("rank", ScalarType::N))),
        ProjectionType::Include,
        &["note"],
    )];
    m
}

/// Every entry of an index, decoded, in key order.
fn entries(store: &Store, index: &IndexMeta) -> Vec<Item> {
    store
        .scan_prefix(Space::Indexes, index.id.as_bytes())
        .map(|e| crate::indexes::decode_entry(&e.unwrap().1).unwrap())
        .collect()
}

/// What an index must hold for the table's current items: the projection of every item
/// that has the index keys.
fn expected(store: &Store, meta: &TableMeta, index: &IndexMeta) -> Vec<Item> {
    let mut out: Vec<(Vec<u8>, Item)> = store
        .scan_prefix(Space::Items, meta.id.as_bytes())
        .filter_map(|e| {
            let item = crate::key::decode_item(&e.unwrap().1).unwrap();
            crate::indexes::entry_key(meta, index, &item)
                .map(|k| (k, crate::indexes::project(meta, index, &item)))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, i)| i).collect()
}

fn assert_consistent(store: &Store, meta: &TableMeta) {
    for index in meta.indexes() {
        let got = entries(store, index);
        assert_eq!(got, expected(store, meta, index), "index {}", index.name);
        let stats = index_stats(store, index).unwrap();
        assert_eq!(
            stats.item_count as usize,
            got.len(),
            "count of {}",
            index.name
        );
        let size: usize = got.iter().map(model::size::item_size).sum();
        assert_eq!(stats.size_bytes as usize, size, "size of {}", index.name);
    }
}

fn row(pk: &str, sk: &str, extra: &[(&str, V)]) -> Item {
    let mut it = item(&[("pk", s(pk)), ("sk", s(sk))]);
    for (k, v) in extra {
        it.insert(k.to_string(), v.clone());
    }
    it
}

fn update(table: &str, key: Item, text: &str, values: &[(&str, V)]) -> Command {
    let b = bind(values);
    let update = expr::parse_update(text, &b).unwrap();
    Command::Write(ItemWrite {
        table: table.into(),
        kind: WriteKind::Update {
            key,
            update: Some(update),
        },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    })
}

fn delete(table: &str, key: Item) -> Command {
    Command::Write(ItemWrite {
        table: table.into(),
        kind: WriteKind::Delete { key },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    })
}

fn pks(page: &PageOutput) -> Vec<String> {
    page.items
        .iter()
        .map(|i| match &i["pk"] {
            V::S(x) => x.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn t10_entries_follow_puts_updates_and_deletes() {
    let store = store();
    let meta = indexed_table();
    apply(&store, Command::CreateTable(meta.clone()));
    let team = |t: &str| ("team", s(t));
    apply(
        &store,
        put("t", row("a", "1", &[team("red"), ("score", n("30"))])),
    );
    apply(
        &store,
        put("t", row("b", "1", &[team("red"), ("score", n("10"))])),
    );
    apply(&store, put("t", row("c", "1", &[team("blue")])));
    apply(
        &store,
        put("t", row("d", "1", &[("rank", n("1")), ("note", s("x"))])),
    );
    apply(&store, put("t", row("e", "1", &[("other", s("y"))])));
    assert_consistent(&store, &meta);
    assert_eq!(entries(&store, &meta.global_indexes[0]).len(), 2, "sparse");
    assert_eq!(entries(&store, &meta.global_indexes[1]).len(), 3);
    assert_eq!(
        entries(&store, &meta.global_indexes[1])[0],
        row("c", "1", &[team("blue")]),
        "KEYS_ONLY: table and index keys"
    );
    assert_eq!(
        entries(&store, &meta.local_indexes[0]),
        [row("d", "1", &[("rank", n("1")), ("note", s("x"))])]
    );

    // An update moving the index key, one removing it, one adding it; then deletes.
    let key = |pk: &str| item(&[("pk", s(pk)), ("sk", s("1"))]);
    apply(
        &store,
        update("t", key("a"), "SET team = :t", &[(":t", s("blue"))]),
    );
    apply(&store, update("t", key("b"), "REMOVE score", &[]));
    apply(
        &store,
        update("t", key("c"), "SET score = :s", &[(":s", n("7"))]),
    );
    apply(
        &store,
        update("t", key("d"), "SET misc = :o", &[(":o", s("z"))]),
    );
    assert_consistent(&store, &meta);
    apply(&store, delete("t", key("a")));
    apply(&store, delete("t", key("d")));
    assert_consistent(&store, &meta);
    assert_eq!(entries(&store, &meta.local_indexes[0]), Vec::<Item>::new());

    // A key attribute of the wrong type, or empty, rejects the write.
    let outcome = apply(&store, put("t", row("x", "1", &[("team", n("1"))])));
    assert_eq!(
        outcome,
        Outcome::Rejected(Rejection::validation(
            "One or more parameter values were invalid: Type mismatch for Index Key team Expected: S Actual: N IndexName: by_team"
        ))
    );
    let outcome = apply(&store, put("t", row("x", "1", &[("team", s(""))])));
    assert!(
        matches!(outcome, Outcome::Rejected(Rejection::Validation(m)) if m.contains("IndexName: by_team, IndexKey: team"))
    );
    assert_consistent(&store, &meta);
}

#[test]
fn t20_index_query_orders_filters_and_paginates() {
    let store = store();
    let meta = indexed_table();
    apply(&store, Command::CreateTable(meta.clone()));
    // Equal index keys (score 5 twice) stay distinct, ordered by table key.
    for (pk, score) in [
        ("a", "30"),
        ("b", "5"),
        ("c", "-1"),
        ("d", "5"),
        ("e", "12.5"),
    ] {
        apply(
            &store,
            put(
                "t",
                row(pk, "1", &[("team", s("red")), ("score", n(score))]),
            ),
        );
    }
    apply(
        &store,
        put(
            "t",
            row("f", "1", &[("team", s("blue")), ("score", n("1"))]),
        ),
    );
    let b = bind(&[(":t", s("red")), (":lo", n("5")), (":hi", n("12.5"))]);
    let by_team = |text: &str| {
        let mut input = query_input(expr::parse_key_condition(text, &b).unwrap());
        input.table = "t".into();
        input.index = Some("by_team".into());
        input.select = Select::AllProjectedAttributes;
        input
    };
    let page = query(&store, &by_team("team = :t")).unwrap().unwrap();
    assert_eq!(pks(&page), ["c", "b", "d", "e", "a"]);
    let page = query(&store, &by_team("team = :t AND score BETWEEN :lo AND :hi"))
        .unwrap()
        .unwrap();
    assert_eq!(pks(&page), ["b", "d", "e"]);
    for (cond, want) in [
        ("team = :t AND score > :lo", vec!["e", "a"]),
        ("team = :t AND score >= :lo", vec!["b", "d", "e", "a"]),
        ("team = :t AND score < :lo", vec!["c"]),
        ("team = :t AND score <= :lo", vec!["c", "b", "d"]),
        ("team = :t AND score = :lo", vec!["b", "d"]),
    ] {
        let b2 = bind(&[(":t", s("red")), (":lo", n("5"))]);
        let mut input = query_input(expr::parse_key_condition(cond, &b2).unwrap());
        input.table = "t".into();
        input.index = Some("by_team".into());
        let page = query(&store, &input).unwrap().unwrap();
        assert_eq!(pks(&page), want, "{cond}");
    }
    let mut input = by_team("team = :t");
    input.forward = false;
    assert_eq!(
        pks(&query(&store, &input).unwrap().unwrap()),
        ["a", "e", "d", "b", "c"]
    );

    // Pages of two, both directions, following LastEvaluatedKey (table + index keys).
    for forward in [true, false] {
        let mut input = by_team("team = :t");
        input.forward = forward;
        input.limit = Some(2);
        let mut seen = Vec::new();
        loop {
            let page = query(&store, &input).unwrap().unwrap();
            seen.extend(pks(&page));
            match page.last_evaluated_key {
                Some(key) => {
                    assert_eq!(key.len(), 4, "{key:?}");
                    input.exclusive_start_key = Some(key);
                }
                None => break,
            }
        }
        let mut want = vec!["c", "b", "d", "e", "a"];
        if !forward {
            want.reverse();
        }
        assert_eq!(seen, want);
    }

    // Scan of an index, paginated, sees every entry once.
    let mut scan_input = ScanInput {
        table: "t".into(),
        filter: None,
        projection: None,
        select: Select::AllProjectedAttributes,
        limit: Some(4),
        exclusive_start_key: None,
        segment: None,
        index: Some("by_team".into()),
    };
    let mut seen = Vec::new();
    loop {
        let page = scan(&store, &scan_input).unwrap().unwrap();
        seen.extend(pks(&page));
        match page.last_evaluated_key {
            Some(key) => scan_input.exclusive_start_key = Some(key),
            None => break,
        }
    }
    assert_eq!(seen, ["f", "c", "b", "d", "e", "a"]);
    // Parallel scan segments of an index partition its entries by index partition key.
    let mut total = 0;
    for segment in 0..3 {
        let input = ScanInput {
            limit: None,
            exclusive_start_key: None,
            segment: Some((segment, 3)),
            select: Select::Count,
            ..scan_input.clone()
        };
        total += scan(&store, &input).unwrap().unwrap().count;
    }
    assert_eq!(total, 6);

    // Unknown index, filter on an index key, ALL_ATTRIBUTES on a KEYS_ONLY GSI.
    let mut input = by_team("team = :t");
    input.index = Some("nosuch".into());
    assert!(query(&store, &input).unwrap().is_err());
    let mut input =
        query_input(expr::parse_key_condition("team = :t", &bind(&[(":t", s("red"))])).unwrap());
    input.table = "t".into();
    input.index = Some("team_keys".into());
    input.select = Select::AllAttributes;
    assert!(matches!(
        query(&store, &input).unwrap(),
        Err(Rejection::Validation(m)) if m.contains("ALL_ATTRIBUTES is not supported")
    ));
}

#[test]
fn t20_local_index_fetches_unprojected_attributes() {
    let store = store();
    let meta = indexed_table();
    apply(&store, Command::CreateTable(meta.clone()));
    for (sk, rank) in [("a", "3"), ("b", "1"), ("c", "2")] {
        apply(
            &store,
            put(
                "t",
                row(
                    "p",
                    sk,
                    &[("rank", n(rank)), ("note", s("n")), ("big", s("b"))],
                ),
            ),
        );
    }
    let b = bind(&[(":p", s("p"))]);
    let mut input = query_input(expr::parse_key_condition("pk = :p", &b).unwrap());
    input.table = "t".into();
    input.index = Some("by_rank".into());
    input.select = Select::AllProjectedAttributes;
    let page = query(&store, &input).unwrap().unwrap();
    assert_eq!(
        page.items[0],
        row("p", "b", &[("rank", n("1")), ("note", s("n"))])
    );
    input.select = Select::AllAttributes;
    let page = query(&store, &input).unwrap().unwrap();
    assert_eq!(
        page.items[0],
        row(
            "p",
            "b",
            &[("rank", n("1")), ("note", s("n")), ("big", s("b"))]
        )
    );
    // A filter on an attribute the index does not project reads it from the table; the
    // answer still holds the projected attributes only.
    let mut filtered = input.clone();
    filtered.select = Select::AllProjectedAttributes;
    filtered.filter = Some(expr::parse_condition("big = :b", &bind(&[(":b", s("b"))])).unwrap());
    let page = query(&store, &filtered).unwrap().unwrap();
    assert_eq!(page.count, 3);
    assert_eq!(
        page.items[0],
        row("p", "b", &[("rank", n("1")), ("note", s("n"))])
    );
    // Item collection size: the partition's items plus their LSI entries.
    let size = indexes::collection_size(&store, &meta, &s("p")).unwrap();
    let items: usize = store
        .scan_prefix(Space::Items, meta.id.as_bytes())
        .map(|e| model::size::item_size(&crate::key::decode_item(&e.unwrap().1).unwrap()))
        .sum();
    let lsi: usize = entries(&store, &meta.local_indexes[0])
        .iter()
        .map(model::size::item_size)
        .sum();
    assert_eq!(size as usize, items + lsi);
}

#[test]
fn t30_backfill_copies_existing_items_while_writes_continue() {
    let store = store();
    let mut m = meta("t", Some(ScalarType::S));
    m.attribute_definitions.push(("sk".into(), ScalarType::S));
    apply(&store, Command::CreateTable(m.clone()));
    for i in 0..50 {
        let mut extra = vec![("v", n(&i.to_string()))];
        if i % 3 != 0 {
            extra.push(("email", s(&format!("u{i}@x"))));
        }
        apply(&store, put("t", row(&format!("k{i:02}"), "1", &extra)));
    }
    let new = index(
        "by_email",
        schema(("email", ScalarType::S), None),
        ProjectionType::Include,
        &["v"],
    );
    let outcome = apply(
        &store,
        Command::CreateIndex {
            table: "t".into(),
            index: new.clone(),
            attribute_definitions: vec![("email".into(), ScalarType::S)],
        },
    );
    let Outcome::Table(meta) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(meta.global_indexes[0].status, IndexStatus::Creating);
    assert!(meta.global_indexes[0].backfilling);
    // Reads are refused while backfilling.
    let b = bind(&[(":e", s("u1@x"))]);
    let mut input = query_input(expr::parse_key_condition("email = :e", &b).unwrap());
    input.table = "t".into();
    input.index = Some("by_email".into());
    input.select = Select::AllProjectedAttributes;
    assert!(matches!(
        query(&store, &input).unwrap(),
        Err(Rejection::Validation(m)) if m.starts_with("Cannot read from backfilling")
    ));

    let key = |pk: &str| item(&[("pk", s(pk)), ("sk", s("1"))]);
    let mut after = None;
    let mut pages = 0;
    loop {
        let outcome = apply(
            &store,
            Command::BackfillIndex {
                table: "t".into(),
                index: "by_email".into(),
                after_key: after.clone(),
                limit: 8,
            },
        );
        // Writes between pages: ahead of and behind the backfill's position.
        apply(
            &store,
            update(
                "t",
                key("k40"),
                "SET email = :e",
                &[(":e", s(&format!("p{pages}@x")))],
            ),
        );
        apply(
            &store,
            update(
                "t",
                key("k01"),
                "SET v = :v",
                &[(":v", n(&pages.to_string()))],
            ),
        );
        apply(&store, delete("t", key(&format!("k{:02}", 2 + pages))));
        pages += 1;
        match outcome {
            Outcome::Backfilled { next: Some(next) } => after = Some(next),
            Outcome::Backfilled { next: None } => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(pages >= 6, "{pages}");
    let meta = load_table(&store, "t").unwrap().unwrap();
    assert_eq!(meta.global_indexes[0].status, IndexStatus::Active);
    assert!(!meta.global_indexes[0].backfilling);
    assert_consistent(&store, &meta);
    let page = query(&store, &input).unwrap().unwrap();
    assert_eq!(
        page.items,
        [row(
            "k01",
            "1",
            &[("email", s("u1@x")), ("v", n(&(pages - 1).to_string()))]
        )]
    );

    // Deleting the index drops its entries and statistics.
    let outcome = apply(
        &store,
        Command::DeleteIndex {
            table: "t".into(),
            index: "by_email".into(),
        },
    );
    assert!(matches!(outcome, Outcome::Table(_)));
    assert_eq!(entries(&store, &meta.global_indexes[0]), Vec::<Item>::new());
    let meta = load_table(&store, "t").unwrap().unwrap();
    assert!(meta.global_indexes.is_empty());
    assert_eq!(meta.attribute_definitions.len(), 2);
}

#[test]
fn t30_drop_table_drops_index_entries() {
    let store = store();
    let meta = indexed_table();
    apply(&store, Command::CreateTable(meta.clone()));
    apply(
        &store,
        put(
            "t",
            row(
                "a",
                "1",
                &[("team", s("red")), ("score", n("1")), ("rank", n("2"))],
            ),
        ),
    );
    apply(&store, Command::DeleteTable { name: "t".into() });
    assert_eq!(store.scan_prefix(Space::Indexes, b"").count(), 0);
    assert_eq!(indexes::collection_size(&store, &meta, &s("a")).unwrap(), 0);
}

#[test]
fn t40_item_collection_limit() {
    let store = store();
    let meta = indexed_table();
    apply(&store, Command::CreateTable(meta.clone()));
    apply(&store, put("t", row("p", "a", &[("rank", n("1"))])));
    // Pretend the collection is 100 bytes short of 10 GB.
    let mut writes = storage::WriteSet::new();
    let limit = model::limits::ITEM_COLLECTION_BYTES_MAX;
    writes.put(
        Space::Meta,
        indexes::collection_key(&meta, &s("p")),
        crate::command::encode_versioned(&(limit - 100)).unwrap(),
    );
    store.commit(writes).unwrap();
    let big = "x".repeat(200);
    let outcome = apply(&store, put("t", row("p", "b", &[("note", s(&big))])));
    assert!(
        matches!(
            outcome,
            Outcome::Rejected(Rejection::ItemCollectionSizeLimitExceeded(_))
        ),
        "{outcome:?}"
    );
    // Shrinking writes and other partitions are still accepted.
    let outcome = apply(&store, put("t", row("p", "a", &[])));
    assert!(matches!(outcome, Outcome::Write(_)), "{outcome:?}");
    let outcome = apply(&store, put("t", row("q", "b", &[("note", s(&big))])));
    assert!(matches!(outcome, Outcome::Write(_)), "{outcome:?}");
}

mod ordering {
    use super::*;
    use proptest::prelude::*;

    fn gsi() -> (TableMeta, IndexMeta) {
        let mut m = meta("t", Some(ScalarType::S));
        let i = index(
            "by_s",
            schema(("ip", ScalarType::S), Some(("is", ScalarType::S))),
            ProjectionType::KeysOnly,
            &[],
        );
        m.global_indexes = vec![i.clone()];
        (m, i)
    }

    fn entry(ip: &str, is: &str, pk: &str, sk: &str) -> Item {
        item(&[("ip", s(ip)), ("is", s(is)), ("pk", s(pk)), ("sk", s(sk))])
    }

    /// Short strings over a small alphabet that includes the escape byte.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop::sample::select(vec!['\0', '\u{1}', 'a', 'b', '\u{ff}']),
            0..4,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        /// Entries sort by index partition, then index sort key (bytes), then table key, and
        /// `begins_with` is exactly a byte-prefix range: whatever bytes the values hold.
        #[test]
        fn t20_entry_keys_order_as_dynamodb(
            a in (text(), text(), text(), text()),
            b in (text(), text(), text(), text()),
        ) {
            let (m, i) = gsi();
            let ka = crate::indexes::entry_key(&m, &i, &entry(&a.0, &a.1, &a.2, &a.3)).unwrap();
            let kb = crate::indexes::entry_key(&m, &i, &entry(&b.0, &b.1, &b.2, &b.3)).unwrap();
            let order = |t: &(String, String, String, String)| {
                (t.0.as_bytes().to_vec(), t.1.as_bytes().to_vec(), t.2.as_bytes().to_vec(), t.3.as_bytes().to_vec())
            };
            // Empty index keys are refused at write time, but order still holds for them.
            prop_assert_eq!(ka.cmp(&kb), order(&a).cmp(&order(&b)));
            let prefix = crate::indexes::begins_with_prefix(&i, &s(&b.0), &s(&b.1));
            let same_partition = a.0 == b.0;
            prop_assert_eq!(
                ka.starts_with(&prefix),
                same_partition && a.1.as_bytes().starts_with(b.1.as_bytes())
            );
        }
    }
}
