//! Property tests: encoded order is DynamoDB order, partitions are contiguous, and
//! `begins_with` is a byte-prefix range.

use std::cmp::Ordering;

use model::{AttributeValue, Number};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

/// DynamoDB's order between two key values of the same type.
fn dynamo_cmp(a: &AttributeValue, b: &AttributeValue) -> Ordering {
    match (a, b) {
        (AttributeValue::S(a), AttributeValue::S(b)) => a.as_bytes().cmp(b.as_bytes()),
        (AttributeValue::N(a), AttributeValue::N(b)) => a.cmp(b),
        (AttributeValue::B(a), AttributeValue::B(b)) => a.cmp(b),
        _ => panic!("values of different types"),
    }
}

/// Strings rich in the bytes that matter for escaping: NUL, 0x01, and multi-byte UTF-8.
fn arb_string() -> impl Strategy<Value = String> {
    "[\\x00\\x01ab\\u{7f}\\u{ff}\\u{100}\\u{10000}]{0,6}"
}

fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(0x00u8),
            Just(0x01),
            Just(0xFE),
            Just(0xFF),
            any::<u8>()
        ],
        0..6,
    )
}

fn arb_number() -> impl Strategy<Value = Number> {
    (
        any::<bool>(),
        "[0-9]{1,6}",
        proptest::option::of("[0-9]{1,5}"),
        -40i32..40,
    )
        .prop_map(|(neg, int, frac, exp)| {
            let sign = if neg { "-" } else { "" };
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            Number::parse(&format!("{sign}{int}{frac}e{exp}")).expect("valid number")
        })
}

/// Pairs of key values of one type (S, N or B).
fn arb_same_type_pair() -> impl Strategy<Value = (AttributeValue, AttributeValue)> {
    prop_oneof![
        (arb_string(), arb_string())
            .prop_map(|(a, b)| (AttributeValue::S(a), AttributeValue::S(b))),
        (arb_number(), arb_number())
            .prop_map(|(a, b)| (AttributeValue::N(a), AttributeValue::N(b))),
        (arb_bytes(), arb_bytes()).prop_map(|(a, b)| (AttributeValue::B(a), AttributeValue::B(b))),
    ]
}

fn partition(v: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_partition_component(&mut out, v);
    out
}

fn sort(v: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_sort_component(&mut out, v);
    out
}

const TABLE: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn p10_partition_component_order_is_dynamodb_order((a, b) in arb_same_type_pair()) {
        prop_assert_eq!(partition(&a).cmp(&partition(&b)), dynamo_cmp(&a, &b));
    }

    #[test]
    fn p10_sort_component_order_is_dynamodb_order((a, b) in arb_same_type_pair()) {
        prop_assert_eq!(sort(&a).cmp(&sort(&b)), dynamo_cmp(&a, &b));
    }

    #[test]
    fn p20_item_key_order_is_pk_then_sk_order(
        (pa, pb) in arb_same_type_pair(),
        (sa, sb) in arb_same_type_pair(),
    ) {
        let ka = encode_item_key(&TABLE, &pa, Some(&sa));
        let kb = encode_item_key(&TABLE, &pb, Some(&sb));
        let expected = dynamo_cmp(&pa, &pb).then_with(|| dynamo_cmp(&sa, &sb));
        prop_assert_eq!(ka.cmp(&kb), expected);
    }

    #[test]
    fn p20_partition_is_contiguous_and_prefix_free(
        (pa, pb) in arb_same_type_pair(),
        (sa, _) in arb_same_type_pair(),
    ) {
        let key = encode_item_key(&TABLE, &pb, Some(&sa));
        let prefix = partition_prefix(&TABLE, &pa);
        // An item key lies in a partition's range exactly when it belongs to that partition.
        let (lo, hi) = partition_range(&TABLE, &pa);
        prop_assert_eq!(in_range(&key, &lo, &hi), pa == pb);
        prop_assert_eq!(key.starts_with(&prefix), pa == pb);
        prop_assert!(key.starts_with(&table_prefix(&TABLE)));
    }

    #[test]
    fn p30_begins_with_is_a_byte_prefix_range(p in arb_string(), s in arb_string(), pk in arb_bytes()) {
        let pk = AttributeValue::B(pk);
        let key = sort_key_bound(&TABLE, &pk, &AttributeValue::S(s.clone()));
        let (lo, hi) = begins_with_range(&TABLE, &pk, &AttributeValue::S(p.clone()));
        prop_assert_eq!(in_range(&key, &lo, &hi), s.as_bytes().starts_with(p.as_bytes()));
    }

    #[test]
    fn p30_begins_with_binary(p in arb_bytes(), s in arb_bytes(), pk in arb_string()) {
        let pk = AttributeValue::S(pk);
        let key = sort_key_bound(&TABLE, &pk, &AttributeValue::B(s.clone()));
        let (lo, hi) = begins_with_range(&TABLE, &pk, &AttributeValue::B(p.clone()));
        prop_assert_eq!(in_range(&key, &lo, &hi), s.starts_with(&p));
    }
}

#[test]
fn t10_sort_key_bounds_give_dynamodb_comparisons() {
    let pk = AttributeValue::S("p".into());
    let k = |s: &str| sort_key_bound(&TABLE, &pk, &AttributeValue::S(s.into()));
    // `> "a"` includes "a\0" and "ab"; `< "b"` excludes "b" and "ba".
    assert!(k("a\0") > k("a"));
    assert!(k("ab") > k("a"));
    assert!(k("b") > k("ab"));
    assert!(k("ba") > k("b"));
    let no_sort = encode_item_key(&TABLE, &pk, None);
    assert_eq!(no_sort, partition_prefix(&TABLE, &pk));
}

#[test]
fn t10_prefix_successor() {
    assert_eq!(prefix_successor(b""), None);
    assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
    assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
}

#[test]
fn t10_tables_do_not_overlap() {
    let other = Uuid::from_u128(1);
    let pk = AttributeValue::S(String::new());
    let key = encode_item_key(&other, &pk, None);
    let (lo, hi) = prefix_range(&table_prefix(&TABLE));
    assert!(!in_range(&key, &lo, &hi));
}
