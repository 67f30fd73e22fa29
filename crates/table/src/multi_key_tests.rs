//! Global secondary indexes with multi-attribute keys: the stored form of their key schema,
//! the composite entry encoding's order, and Query/Scan over them on a real (in-memory) store.

use std::cmp::Ordering;

use bincode::Options as _;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use expr::KeyOp;
use model::{
    AttributeValue as V, IndexMeta, IndexStatus, Item, KeyAttribute, KeySchema, ProjectionType,
    ScalarType, TableMeta,
};

use crate::tests::{apply, bind, item, meta, n, put, query_input, s, store};
use crate::*;

fn attr(name: &str, scalar: ScalarType) -> KeyAttribute {
    KeyAttribute {
        name: name.into(),
        scalar,
    }
}

fn multi_schema() -> KeySchema {
    KeySchema::from_parts(
        vec![attr("tour", ScalarType::S), attr("reg", ScalarType::N)],
        vec![
            attr("rnd", ScalarType::N),
            attr("brk", ScalarType::B),
            attr("mt", ScalarType::S),
        ],
    )
    .unwrap()
}

fn index(key: KeySchema, projection: ProjectionType) -> IndexMeta {
    IndexMeta {
        name: "gsi".into(),
        id: uuid::Uuid::new_v4(),
        key_schema: key,
        projection,
        non_key_attributes: Vec::new(),
        status: IndexStatus::Active,
        backfilling: false,
        provisioned: None,
    }
}

/// Table `t` (pk S, sk S) with GSI `gsi` keyed (tour S, reg N | rnd N, brk B,
/// match S), KEYS_ONLY.
fn table() -> (TableMeta, IndexMeta) {
    let mut m = meta("t", Some(ScalarType::S));
    let i = index(multi_schema(), ProjectionType::KeysOnly);
    m.global_indexes = vec![i.clone()];
    (m, i)
}

fn b(x: &[u8]) -> V {
    V::B(x.to_vec())
}

/// An item of `table()` with every index key attribute.
fn row(pk: &str, t: &str, reg: &str, rnd: &str, brk: &[u8], m: &str) -> Item {
    item(&[
        ("pk", s(pk)),
        ("sk", s("0")),
        ("tour", s(t)),
        ("reg", n(reg)),
        ("rnd", n(rnd)),
        ("brk", b(brk)),
        ("mt", s(m)),
    ])
}

// ---- stored form ---------------------------------------------------------------------------

/// The derived form `KeySchema` had before multi-attribute keys.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct OldKeySchema {
    partition: KeyAttribute,
    sort: Option<KeyAttribute>,
}

fn varint() -> impl bincode::Options {
    bincode::DefaultOptions::new()
}

#[test]
fn t01_single_attribute_schema_keeps_its_bytes() {
    for sort in [None, Some(attr("sk", ScalarType::N))] {
        let old = OldKeySchema {
            partition: attr("pk", ScalarType::S),
            sort: sort.clone(),
        };
        let new = KeySchema::new(attr("pk", ScalarType::S), sort);
        // Fixed-int bincode (stored values, Raft commands) and varint (replication).
        let old_bytes = bincode::serialize(&old).unwrap();
        assert_eq!(bincode::serialize(&new).unwrap(), old_bytes);
        assert_eq!(bincode::deserialize::<KeySchema>(&old_bytes).unwrap(), new);
        let old_bytes = varint().serialize(&old).unwrap();
        assert_eq!(varint().serialize(&new).unwrap(), old_bytes);
        assert_eq!(varint().deserialize::<KeySchema>(&old_bytes).unwrap(), new);
        // JSON keeps the old shape too.
        assert_eq!(
            serde_json::to_value(&new).unwrap(),
            serde_json::to_value(&old).unwrap()
        );
        let json = serde_json::to_string(&old).unwrap();
        assert_eq!(serde_json::from_str::<KeySchema>(&json).unwrap(), new);
    }
}

#[test]
fn t02_multi_attribute_schema_round_trips_inside_table_meta() {
    let schema = multi_schema();
    let back: KeySchema = bincode::deserialize(&bincode::serialize(&schema).unwrap()).unwrap();
    assert_eq!(back, schema);
    let back: KeySchema = varint()
        .deserialize(&varint().serialize(&schema).unwrap())
        .unwrap();
    assert_eq!(back, schema);
    let back: KeySchema = serde_json::from_str(&serde_json::to_string(&schema).unwrap()).unwrap();
    assert_eq!(back, schema);
    // Embedded (fields follow it): a whole TableMeta, single and multi-attribute indexes.
    let (mut m, _) = table();
    m.global_indexes.push(index(
        KeySchema::new(attr("x", ScalarType::S), None),
        ProjectionType::All,
    ));
    let back: TableMeta = bincode::deserialize(&bincode::serialize(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    let back: TableMeta = varint()
        .deserialize(&varint().serialize(&m).unwrap())
        .unwrap();
    assert_eq!(back, m);
}

#[test]
fn t03_schema_accessors() {
    let k = multi_schema();
    assert!(k.is_multi_attribute());
    let names: Vec<(&str, bool)> = k.elements().map(|(a, r)| (a.name.as_str(), r)).collect();
    assert_eq!(
        names,
        [
            ("tour", false),
            ("reg", false),
            ("rnd", true),
            ("brk", true),
            ("mt", true)
        ]
    );
    assert!(k.is_key_attribute("brk"));
    assert!(
        !KeySchema::new(attr("a", ScalarType::S), Some(attr("b", ScalarType::S)))
            .is_multi_attribute()
    );
    assert!(KeySchema::from_parts(vec![], vec![attr("a", ScalarType::S)]).is_none());
}

// ---- encoding order ------------------------------------------------------------------------

/// DynamoDB's order of two values of one key type.
fn cmp_value(a: &V, b: &V) -> Ordering {
    crate::read::compare_scalar(a, b)
}

fn cmp_keys(schema: &KeySchema, a: &Item, b: &Item) -> Ordering {
    for attr in schema.attributes() {
        let o = cmp_value(&a[&attr.name], &b[&attr.name]);
        if o != Ordering::Equal {
            return o;
        }
    }
    cmp_value(&a["pk"], &b["pk"])
}

/// Short strings/bytes over a small alphabet that includes the escape byte.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop::sample::select(vec![0u8, 1, b'a', 0xff]), 0..4)
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop::sample::select(vec!['\0', '\u{1}', 'a', 'b']), 0..4)
        .prop_map(|v| v.into_iter().collect())
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3i64..4).prop_map(|i| i.to_string()),
        (-200i64..200, 1u32..3).prop_map(|(i, d)| format!("{}e-{d}", i)),
        Just("1e100".to_string()),
        Just("-1e-100".to_string()),
    ]
}

fn key_item() -> impl Strategy<Value = Item> {
    (text(), number(), number(), bytes(), text(), text()).prop_map(|(t, r, ro, br, m, pk)| {
        item(&[
            ("pk", s(&pk)),
            ("sk", s("0")),
            ("tour", s(&t)),
            ("reg", n(&r)),
            ("rnd", n(&ro)),
            ("brk", V::B(br)),
            ("mt", s(&m)),
        ])
    })
}

proptest! {
    /// Entry keys sort by every index key attribute in KeySchema order (each by its type's
    /// order: S and B by bytes, N numerically), then by table key, whatever the values hold.
    #[test]
    fn t10_composite_entry_keys_order_lexicographically(a in key_item(), b in key_item()) {
        let (m, i) = table();
        let ka = crate::indexes::entry_key(&m, &i, &a).unwrap();
        let kb = crate::indexes::entry_key(&m, &i, &b).unwrap();
        prop_assert_eq!(ka.cmp(&kb), cmp_keys(&i.key_schema, &a, &b));
        // The prefix fixed by the partition attributes and any leading sort attributes holds
        // exactly the entries with those values.
        for fixed in 2..=5 {
            let values: Vec<&V> = i
                .key_schema
                .attributes()
                .take(fixed)
                .map(|at| &b[&at.name])
                .collect();
            let prefix = crate::multi_key::composite_prefix(&i, values.iter().copied());
            let same = i.key_schema.attributes().take(fixed).all(|at| {
                cmp_value(&a[&at.name], &b[&at.name]) == Ordering::Equal
            });
            prop_assert_eq!(ka.starts_with(&prefix), same);
        }
    }

    /// A single-attribute key's entries are laid out exactly as before multi-attribute keys.
    #[test]
    fn t11_single_attribute_layout_unchanged(p in text(), q in text(), pk in text()) {
        let mut m = meta("t", Some(ScalarType::S));
        let i = index(
            KeySchema::new(attr("ip", ScalarType::S), Some(attr("is", ScalarType::S))),
            ProjectionType::KeysOnly,
        );
        m.global_indexes = vec![i.clone()];
        let it = item(&[("ip", s(&p)), ("is", s(&q)), ("pk", s(&pk)), ("sk", s("x"))]);
        let mut want = i.id.as_bytes().to_vec();
        storage::keys::encode_partition_component(&mut want, &s(&p));
        storage::keys::encode_partition_component(&mut want, &s(&q));
        storage::keys::encode_partition_component(&mut want, &s(&pk));
        storage::keys::encode_sort_component(&mut want, &s("x"));
        prop_assert_eq!(crate::indexes::entry_key(&m, &i, &it).unwrap(), want);
    }
}

// ---- queries -------------------------------------------------------------------------------

fn gsi_query(text: &str, values: &[(&str, V)]) -> QueryInput {
    let mut input = query_input(expr::parse_key_condition(text, &bind(values)).unwrap());
    input.table = "t".into();
    input.index = Some("gsi".into());
    input.select = Select::AllProjectedAttributes;
    input
}

fn pks(page: &PageOutput) -> Vec<String> {
    page.items
        .iter()
        .map(|i| match &i["pk"] {
            V::S(x) => x.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn run(store: &storage::Store, input: &QueryInput) -> Result<Vec<String>, String> {
    match query(store, input).unwrap() {
        Ok(page) => Ok(pks(&page)),
        Err(Rejection::Validation(message)) => Err(message),
        Err(other) => panic!("{other:?}"),
    }
}

/// Eight matches of tour "w24", reg 1, plus others that must never show up.
fn loaded() -> storage::Store {
    let store = store();
    let (m, _) = table();
    apply(&store, Command::CreateTable(m));
    for (pk, rnd, brk, mt) in [
        ("a", "2", &b"\x01"[..], "m1"),
        ("b", "1", b"\x02", "m2"),
        ("c", "1", b"\x01", "m9"),
        ("d", "1", b"\x01", "m3"),
        ("e", "10", b"\x00", "m1"),
        ("f", "2", b"\x01\x00", "m0"),
        ("g", "-1", b"\xff", "m5"),
        ("h", "1.5", b"\x01", "x1"),
    ] {
        apply(&store, put("t", row(pk, "w24", "1", rnd, brk, mt)));
    }
    // Other partitions: another reg, another tour, a prefix of the tour.
    apply(&store, put("t", row("x1", "w24", "2", "1", b"\x01", "m1")));
    apply(&store, put("t", row("x2", "w2", "1", "1", b"\x01", "m1")));
    apply(
        &store,
        put("t", row("x3", "w24\0", "1", "1", b"\x01", "m1")),
    );
    // Missing a sort attribute, missing a partition attribute: not indexed.
    let mut partial = row("y1", "w24", "1", "1", b"\x01", "m1");
    partial.remove("mt");
    apply(&store, put("t", partial));
    let mut partial = row("y2", "w24", "1", "1", b"\x01", "m1");
    partial.remove("reg");
    apply(&store, put("t", partial));
    store
}

/// Placeholder values of a key condition.
type Values = Vec<(&'static str, V)>;

const P: &str = "tour = :t AND reg = :r";

fn base() -> Vec<(&'static str, V)> {
    vec![(":t", s("w24")), (":r", n("1"))]
}

fn with(extra: &[(&'static str, V)]) -> Vec<(&'static str, V)> {
    let mut v = base();
    v.extend(extra.iter().cloned());
    v
}

#[test]
fn t20_query_orders_by_sort_attributes_left_to_right() {
    let store = loaded();
    let all = run(&store, &gsi_query(P, &base())).unwrap();
    // rnd (N) 1, then brk (B) bytes, then match (S).
    assert_eq!(all, ["g", "d", "c", "b", "h", "a", "f", "e"]);
    let mut back = gsi_query(P, &base());
    back.forward = false;
    let mut rev = all.clone();
    rev.reverse();
    assert_eq!(run(&store, &back).unwrap(), rev);
}

#[test]
fn t21_query_equality_prefixes_and_a_range_on_the_next_attribute() {
    let store = loaded();
    let one = n("1");
    let cases: Vec<(String, Values, Vec<&str>)> = vec![
        (
            format!("{P} AND rnd = :a"),
            with(&[(":a", one.clone())]),
            vec!["d", "c", "b"],
        ),
        (
            format!("{P} AND rnd = :a AND brk = :b"),
            with(&[(":a", one.clone()), (":b", b(b"\x01"))]),
            vec!["d", "c"],
        ),
        (
            format!("rnd = :a AND {P} AND brk = :b AND mt = :m"),
            with(&[(":a", one.clone()), (":b", b(b"\x01")), (":m", s("m9"))]),
            vec!["c"],
        ),
        (
            format!("{P} AND rnd > :a"),
            with(&[(":a", one.clone())]),
            vec!["h", "a", "f", "e"],
        ),
        (
            format!("{P} AND rnd >= :a"),
            with(&[(":a", one.clone())]),
            vec!["d", "c", "b", "h", "a", "f", "e"],
        ),
        (
            format!("{P} AND rnd < :a"),
            with(&[(":a", one.clone())]),
            vec!["g"],
        ),
        (
            format!("{P} AND rnd <= :a"),
            with(&[(":a", one.clone())]),
            vec!["g", "d", "c", "b"],
        ),
        (
            format!("{P} AND rnd BETWEEN :a AND :z"),
            with(&[(":a", one.clone()), (":z", n("2"))]),
            vec!["d", "c", "b", "h", "a", "f"],
        ),
        (
            format!("{P} AND rnd = :a AND brk > :b"),
            with(&[(":a", n("2")), (":b", b(b"\x01"))]),
            vec!["f"],
        ),
        (
            format!("{P} AND rnd = :a AND begins_with(brk, :b)"),
            with(&[(":a", n("2")), (":b", b(b"\x01"))]),
            vec!["a", "f"],
        ),
        (
            format!("{P} AND rnd = :a AND brk = :b AND begins_with(mt, :m)"),
            with(&[(":a", one.clone()), (":b", b(b"\x01")), (":m", s("m"))]),
            vec!["d", "c"],
        ),
        (
            format!("{P} AND rnd = :a AND brk = :b AND mt < :m"),
            with(&[(":a", one.clone()), (":b", b(b"\x01")), (":m", s("m9"))]),
            vec!["d"],
        ),
    ];
    for (text, values, want) in cases {
        let mut input = gsi_query(&text, &values);
        input.select = Select::AllProjectedAttributes;
        assert_eq!(run(&store, &input).unwrap(), want, "{text}");
    }
    // Other partitions are separate: reg 2 and the tour "w24\0".
    let input = gsi_query(P, &[(":t", s("w24")), (":r", n("2"))]);
    assert_eq!(run(&store, &input).unwrap(), ["x1"]);
    let input = gsi_query(P, &[(":t", s("w24\0")), (":r", n("1"))]);
    assert_eq!(run(&store, &input).unwrap(), ["x3"]);
}

#[test]
fn t22_invalid_key_conditions_are_refused() {
    let store = loaded();
    let missed = |name: &str| format!("Query condition missed key schema element: {name}");
    let cases: Vec<(String, Values, String)> = vec![
        ("tour = :t".into(), vec![(":t", s("w24"))], missed("reg")),
        ("reg = :r".into(), vec![(":r", n("1"))], missed("tour")),
        (
            "tour = :t AND reg > :r".into(),
            base(),
            "Query key condition not supported".into(),
        ),
        (
            "tour = :t AND begins_with(reg, :t)".into(),
            base(),
            "Query key condition not supported".into(),
        ),
        (format!("{P} AND brk = :b"), with(&[(":b", b(b"\x01"))]), missed("rnd")),
        (
            format!("{P} AND rnd = :a AND mt = :m"),
            with(&[(":a", n("1")), (":m", s("m"))]),
            missed("brk"),
        ),
        (
            format!("{P} AND rnd > :a AND brk = :b"),
            with(&[(":a", n("1")), (":b", b(b"\x01"))]),
            "Query key condition not supported".into(),
        ),
        (
            format!("{P} AND rnd = :a"),
            with(&[(":a", s("1"))]),
            "One or more parameter values were invalid: Condition parameter type does not match schema type".into(),
        ),
        (
            "tour = :t AND reg = :t".into(),
            base(),
            "One or more parameter values were invalid: Condition parameter type does not match schema type".into(),
        ),
        (format!("{P} AND nonkey = :a"), with(&[(":a", n("1"))]), missed("rnd")),
    ];
    for (text, values, want) in cases {
        let input = gsi_query(&text, &values);
        assert_eq!(run(&store, &input).unwrap_err(), want, "{text}");
    }
    // A filter may not name any key attribute of the index.
    let mut input = gsi_query(P, &base());
    input.filter = Some(expr::parse_filter("brk = :b", &bind(&[(":b", b(b"\x01"))])).unwrap());
    assert_eq!(
        run(&store, &input).unwrap_err(),
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: brk"
    );
}

#[test]
fn t23_pagination_restarts_after_the_last_evaluated_key() {
    let store = loaded();
    for forward in [true, false] {
        for (text, values) in [
            (P.to_string(), base()),
            (format!("{P} AND rnd >= :a"), with(&[(":a", n("1"))])),
            (
                format!("{P} AND rnd = :a AND brk = :b"),
                with(&[(":a", n("1")), (":b", b(b"\x01"))]),
            ),
        ] {
            let mut input = gsi_query(&text, &values);
            input.forward = forward;
            let want = run(&store, &input).unwrap();
            input.limit = Some(1);
            let mut got = Vec::new();
            loop {
                let page = query(&store, &input).unwrap().unwrap();
                got.extend(pks(&page));
                let Some(last) = page.last_evaluated_key else {
                    break;
                };
                // The table key and every index key attribute.
                assert_eq!(last.len(), 7, "{last:?}");
                input.exclusive_start_key = Some(last);
            }
            assert_eq!(got, want, "{text} forward={forward}");
        }
    }
    // A start key outside the conditions is refused.
    let mut input = gsi_query(&format!("{P} AND rnd = :a"), &with(&[(":a", n("1"))]));
    input.exclusive_start_key = Some(row("e", "w24", "1", "10", b"\x00", "m1"));
    input.exclusive_start_key.as_mut().unwrap().remove("sk");
    input
        .exclusive_start_key
        .as_mut()
        .unwrap()
        .insert("sk".into(), s("0"));
    assert_eq!(
        run(&store, &input).unwrap_err(),
        "The provided starting key does not match the range key predicate"
    );
    let mut start = row("x1", "w24", "2", "1", b"\x01", "m1");
    start.insert("sk".into(), s("0"));
    input.exclusive_start_key = Some(start);
    assert_eq!(
        run(&store, &input).unwrap_err(),
        "The provided starting key is outside query boundaries based on provided conditions"
    );
    // Missing one of the index key attributes.
    let mut start = row("d", "w24", "1", "1", b"\x01", "m3");
    start.remove("mt");
    input.exclusive_start_key = Some(start);
    assert!(run(&store, &input)
        .unwrap_err()
        .starts_with("The provided starting key is invalid"));
}

#[test]
fn t24_sparse_and_typed_maintenance() {
    let store = loaded();
    let (m, i) = table();
    let _ = m;
    // 8 + 3 complete items; the two partial ones are absent.
    let scan_input = ScanInput {
        table: "t".into(),
        index: Some("gsi".into()),
        ..scan_input()
    };
    let page = scan(&store, &scan_input).unwrap().unwrap();
    assert_eq!(page.items.len(), 11);
    assert!(!pks(&page).iter().any(|p| p.starts_with('y')));
    // Completing an item adds it; removing an attribute takes it out again.
    let mut full = row("y1", "w24", "1", "1", b"\x01", "m1");
    apply(&store, put("t", full.clone()));
    let input = gsi_query(
        &format!("{P} AND rnd = :a AND brk = :b"),
        &with(&[(":a", n("1")), (":b", b(b"\x01"))]),
    );
    assert_eq!(run(&store, &input).unwrap(), ["y1", "d", "c"]);
    full.remove("brk");
    apply(&store, put("t", full));
    assert_eq!(run(&store, &input).unwrap(), ["d", "c"]);
    // A key attribute of the wrong type refuses the write.
    let mut bad = row("z", "w24", "1", "1", b"\x01", "m1");
    bad.insert("rnd".into(), s("1"));
    let outcome = apply(&store, put("t", bad));
    assert!(
        format!("{outcome:?}")
            .contains("Type mismatch for Index Key rnd Expected: N Actual: S IndexName: gsi"),
        "{outcome:?}"
    );
    let _ = i;
}

fn scan_input() -> ScanInput {
    ScanInput {
        table: String::new(),
        filter: None,
        projection: None,
        select: Select::AllProjectedAttributes,
        limit: None,
        exclusive_start_key: None,
        segment: None,
        index: None,
    }
}

#[test]
fn t25_scan_segments_cover_the_index_once() {
    let store = loaded();
    let mut seen = Vec::new();
    for segment in 0..3 {
        let mut input = ScanInput {
            table: "t".into(),
            index: Some("gsi".into()),
            segment: Some((segment, 3)),
            limit: Some(2),
            ..scan_input()
        };
        loop {
            let page = scan(&store, &input).unwrap().unwrap();
            seen.extend(pks(&page));
            let Some(last) = page.last_evaluated_key else {
                break;
            };
            input.exclusive_start_key = Some(last);
        }
    }
    seen.sort();
    assert_eq!(seen.len(), 11);
    seen.dedup();
    assert_eq!(seen.len(), 11);
}

/// A value of sort attribute `j` of `table()`'s index (rnd N, brk B, mt S).
fn sort_value(j: usize) -> BoxedStrategy<V> {
    match j {
        0 => prop::sample::select(vec!["-1", "0", "1", "1.5", "2"])
            .prop_map(n)
            .boxed(),
        1 => bytes().prop_map(V::B).boxed(),
        _ => text().prop_map(|t| s(&t)).boxed(),
    }
}

/// Values of the three sort attributes.
type SortValues = (V, V, V);

fn sort_values() -> impl Strategy<Value = SortValues> {
    (sort_value(0), sort_value(1), sort_value(2))
}

/// A key condition on the sort attributes: an equality prefix of length `k`, then maybe one
/// range operator (0..6) with two bounds on attribute `k`.
fn sort_condition() -> impl Strategy<Value = (usize, SortValues, Option<(u8, usize)>)> {
    (
        0usize..=3,
        sort_values(),
        proptest::option::of((0u8..6, 0usize..3)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Query answers exactly the items a brute-force evaluation of the key conditions picks,
    /// in (rnd, brk, mt, table key) order, forward and backward.
    #[test]
    fn t30_query_matches_brute_force(
        rows in proptest::collection::vec(sort_values(), 1..24),
        (k, eq, range) in sort_condition(),
        bounds in (sort_values(), sort_values()),
    ) {
        let store = store();
        let (m, i) = table();
        apply(&store, Command::CreateTable(m));
        let names = ["rnd", "brk", "mt"];
        let mut items = Vec::new();
        for (x, (r, br, mt)) in rows.iter().enumerate() {
            let mut it = item(&[
                ("pk", s(&format!("{x:03}"))),
                ("sk", s("0")),
                ("tour", s("w")),
                ("reg", n("1")),
            ]);
            it.insert("rnd".into(), r.clone());
            it.insert("brk".into(), br.clone());
            it.insert("mt".into(), mt.clone());
            // Empty S or B index keys are refused at write time; leave those out.
            if let Outcome::Rejected(_) = apply(&store, put("t", it.clone())) {
                continue;
            }
            items.push(it);
        }
        let eq = [eq.0, eq.1, eq.2];
        let mut predicates = vec![
            expr::KeyPredicate { attribute: "tour".into(), op: KeyOp::Eq(s("w")) },
            expr::KeyPredicate { attribute: "reg".into(), op: KeyOp::Eq(n("1")) },
        ];
        for j in 0..k {
            predicates.push(expr::KeyPredicate { attribute: names[j].into(), op: KeyOp::Eq(eq[j].clone()) });
        }
        if let (Some((op, _)), true) = (range, k < 3) {
            let pick = |t: &(V, V, V)| [&t.0, &t.1, &t.2][k].clone();
            let (mut lo, mut hi) = (pick(&bounds.0), pick(&bounds.1));
            if cmp_value(&lo, &hi) == Ordering::Greater {
                std::mem::swap(&mut lo, &mut hi);
            }
            let op = match op {
                0 => KeyOp::Lt(lo),
                1 => KeyOp::Le(lo),
                2 => KeyOp::Gt(lo),
                3 => KeyOp::Ge(lo),
                4 => KeyOp::Between(lo, hi),
                _ if k == 0 => KeyOp::Ge(lo),
                _ => KeyOp::BeginsWith(lo),
            };
            predicates.push(expr::KeyPredicate { attribute: names[k].into(), op });
        }
        let mut want: Vec<&Item> = items
            .iter()
            .filter(|it| predicates.iter().all(|p| p.matches(&it[&p.attribute])))
            .collect();
        want.sort_by(|a, b| cmp_keys(&i.key_schema, a, b));
        let want: Vec<String> = want
            .iter()
            .map(|it| match &it["pk"] { V::S(x) => x.clone(), _ => unreachable!() })
            .collect();
        let mut input = query_input(predicates);
        input.table = "t".into();
        input.index = Some("gsi".into());
        input.select = Select::AllProjectedAttributes;
        prop_assert_eq!(run(&store, &input).unwrap(), want.clone());
        input.forward = false;
        let mut rev = want;
        rev.reverse();
        prop_assert_eq!(run(&store, &input).unwrap(), rev);
    }
}
