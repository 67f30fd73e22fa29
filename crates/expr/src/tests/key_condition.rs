//! Key condition expressions.

use super::{bind, n, s};
use crate::{parse_key_condition, KeyOp, KeyPredicate};

#[test]
fn t10_key_conditions() {
    let b = bind(
        &[("#k", "pk")],
        &[(":a", s("x")), (":lo", n("1")), (":hi", n("9"))],
    );
    let p = |t: &str| parse_key_condition(t, &b).unwrap_or_else(|e| panic!("{t}: {e}"));
    assert_eq!(
        p("#k = :a"),
        vec![KeyPredicate {
            attribute: "pk".into(),
            op: KeyOp::Eq(s("x"))
        }]
    );
    assert_eq!(
        p("#k = :a AND sk BETWEEN :lo AND :hi"),
        vec![
            KeyPredicate {
                attribute: "pk".into(),
                op: KeyOp::Eq(s("x"))
            },
            KeyPredicate {
                attribute: "sk".into(),
                op: KeyOp::Between(n("1"), n("9"))
            },
        ]
    );
    assert_eq!(p(":lo < sk AND #k = :a")[0].op, KeyOp::Gt(n("1")));
    assert_eq!(
        p("begins_with(sk, :a) AND #k = :a")[0].op,
        KeyOp::BeginsWith(s("x"))
    );
    assert_eq!(p("(#k = :a) AND (sk <= :hi)")[1].op, KeyOp::Le(n("9")));
    assert!(p("sk >= :lo")[0].matches(&n("1")));
    assert!(!p("sk > :lo")[0].matches(&n("1")));
    assert!(p("begins_with(sk, :a)")[0].matches(&s("xyz")));
}

#[test]
fn t20_key_condition_errors() {
    let b = bind(
        &[],
        &[
            (":a", s("1")),
            (":b", s("1")),
            (":n", n("1")),
            (":s", s("S")),
        ],
    );
    let e = |t: &str| {
        parse_key_condition(t, &b)
            .err()
            .map(|e| e.message)
            .unwrap_or_default()
    };
    let cases: &[(&str, &str)] = &[
        ("a > :a and size(b) > :a or a > :a", "Invalid operator used in KeyConditionExpression: OR"),
        ("a in (:a, :b)", "Invalid operator used in KeyConditionExpression: IN"),
        ("attribute_exists(a)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("contains(a.d, :a)", "Invalid operator used in KeyConditionExpression: contains"),
        ("not a > :a", "Invalid operator used in KeyConditionExpression: NOT"),
        ("a <> :a", "Invalid operator used in KeyConditionExpression: <>"),
        ("attribute_type(a, :s)", "Invalid operator used in KeyConditionExpression: attribute_type"),
        (
            ":a between size(b) and size(a) and b > :b",
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
        ),
        (
            "begins_with(:a, b) and a > :b",
            "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
        ),
        ("size(b) > a AND a.b > b AND b > c", "KeyConditionExpressions cannot contain nested operations"),
        ("a > size(b.d)", "KeyConditionExpressions cannot contain nested operations"),
        ("b > a.b", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"),
        ("a between b and size(a)", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"),
        ("b.d > a AND c.d > e.f", "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("b[0] > a", "KeyConditionExpressions cannot have conditions on nested attributes"),
        (":b > :a AND a < :b", "Invalid condition in KeyConditionExpression: No key attribute specified"),
        ("b > :a AND b < :a and c = :a and d = :a", "KeyConditionExpressions must only contain one condition per key"),
        (
            ":a = a and b = :a and :a = c and d = :a and e = :a and f = :a and g = :a and h = :a and i = :a",
            "Conditions can be of length 1 or 2 only",
        ),
        ("", "Invalid KeyConditionExpression: The expression can not be empty;"),
        (
            "a between :n and :a",
            "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:1}",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(e(text), *message, "{text}");
    }
    assert!(e("a > 4").starts_with("Invalid KeyConditionExpression: Syntax error; "));
}
