//! Update expressions: parsing, errors, application.

use model::AttributeValue;
use serde_json::json;

use super::{bind, item, m, n, s};
use crate::{parse_update, Bindings, Path, PathElement};

fn values() -> Bindings {
    bind(
        &[("#a", "a"), ("#st", "status")],
        &[
            (":s", s("x")),
            (":n1", n("1")),
            (":n5", n("5")),
            (":l", AttributeValue::L(vec![s("z")])),
            (":ss", AttributeValue::Ss(vec!["b".into(), "c".into()])),
            (":ns", AttributeValue::Ns(vec![model::Number::from_i64(2)])),
            (":map", m(&[("k", s("v"))])),
        ],
    )
}

fn apply(text: &str, before: serde_json::Value) -> Result<model::Item, String> {
    let b = values();
    let update = parse_update(text, &b).map_err(|e| format!("parse: {e}"))?;
    let mut it = item(before);
    update.apply(&mut it).map_err(|e| e.message)?;
    Ok(it)
}

fn ok(text: &str, before: serde_json::Value) -> serde_json::Value {
    let it = apply(text, before).unwrap_or_else(|e| panic!("{text}: {e}"));
    serde_json::to_value(model::WireItem(&it)).expect("json")
}

fn err(text: &str, b: &Bindings) -> String {
    parse_update(text, b)
        .err()
        .unwrap_or_else(|| panic!("{text} parsed"))
        .message
}

#[test]
fn t10_set() {
    assert_eq!(ok("SET a = :s", json!({})), json!({"a": {"S": "x"}}));
    assert_eq!(
        ok("set a = :s, b = :n1", json!({"a": {"N": "1"}})),
        json!({"a": {"S": "x"}, "b": {"N": "1"}})
    );
    // Operands are read from the item as it was: a swap works.
    assert_eq!(
        ok(
            "SET a = b, b = a",
            json!({"a": {"S": "1"}, "b": {"S": "2"}})
        ),
        json!({"a": {"S": "2"}, "b": {"S": "1"}})
    );
    // Arithmetic.
    assert_eq!(
        ok("SET a = a + :n5", json!({"a": {"N": "1.5"}})),
        json!({"a": {"N": "6.5"}})
    );
    assert_eq!(
        ok("SET a = :n1 - a", json!({"a": {"N": "5"}})),
        json!({"a": {"N": "-4"}})
    );
    // if_not_exists.
    assert_eq!(
        ok("SET a = if_not_exists(a, :n1)", json!({})),
        json!({"a": {"N": "1"}})
    );
    assert_eq!(
        ok(
            "SET a = if_not_exists(a, :n1) + :n5",
            json!({"a": {"N": "10"}})
        ),
        json!({"a": {"N": "15"}})
    );
    // list_append, either side, nested.
    assert_eq!(
        ok(
            "SET l = list_append(l, :l)",
            json!({"l": {"L": [{"S": "y"}]}})
        ),
        json!({"l": {"L": [{"S": "y"}, {"S": "z"}]}})
    );
    assert_eq!(
        ok("SET l = list_append(:l, if_not_exists(l, :l))", json!({})),
        json!({"l": {"L": [{"S": "z"}, {"S": "z"}]}})
    );
    // Nested paths.
    assert_eq!(
        ok(
            "SET m.k = :s, m.l[0] = :n1",
            json!({"m": {"M": {"l": {"L": [{"S": "old"}]}}}})
        ),
        json!({"m": {"M": {"k": {"S": "x"}, "l": {"L": [{"N": "1"}]}}}})
    );
    // Past the end of a list: appended, in index order.
    assert_eq!(
        ok(
            "SET l[99] = :s, l[50] = :n1",
            json!({"l": {"L": [{"S": "a"}]}})
        ),
        json!({"l": {"L": [{"S": "a"}, {"N": "1"}, {"S": "x"}]}})
    );
    // Placeholders for names.
    assert_eq!(ok("SET #st = :s", json!({})), json!({"status": {"S": "x"}}));
}

#[test]
fn t10_remove() {
    assert_eq!(
        ok("REMOVE a, b", json!({"a": {"S": "1"}, "c": {"S": "2"}})),
        json!({"c": {"S": "2"}})
    );
    // Removing list elements shifts the rest; indexes refer to the list as it was.
    assert_eq!(
        ok(
            "REMOVE l[1], l[3]",
            json!({"l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "3"}, {"N": "4"}]}})
        ),
        json!({"l": {"L": [{"N": "0"}, {"N": "2"}, {"N": "4"}]}})
    );
    assert_eq!(
        ok(
            "REMOVE l[9], m.x, m.gone",
            json!({"l": {"L": []}, "m": {"M": {"x": {"N": "1"}}}})
        ),
        json!({"l": {"L": []}, "m": {"M": {}}})
    );
    assert_eq!(
        apply("REMOVE nope.x", json!({})).err().as_deref(),
        Some("The document path provided in the update expression is invalid for update")
    );
}

#[test]
fn t10_add_and_delete() {
    assert_eq!(ok("ADD c :n5", json!({})), json!({"c": {"N": "5"}}));
    assert_eq!(
        ok("ADD c :n5", json!({"c": {"N": "-5"}})),
        json!({"c": {"N": "0"}})
    );
    assert_eq!(
        ok("ADD t :ss", json!({"t": {"SS": ["a", "b"]}})),
        json!({"t": {"SS": ["a", "b", "c"]}})
    );
    assert_eq!(ok("ADD t :ns", json!({})), json!({"t": {"NS": ["2"]}}));
    assert_eq!(
        ok("DELETE t :ss", json!({"t": {"SS": ["a", "b"]}})),
        json!({"t": {"SS": ["a"]}})
    );
    // Deleting every element removes the attribute.
    assert_eq!(
        ok(
            "DELETE t :ss",
            json!({"t": {"SS": ["b", "c"]}, "k": {"S": "1"}})
        ),
        json!({"k": {"S": "1"}})
    );
    assert_eq!(ok("DELETE t :ss", json!({})), json!({}));
    assert_eq!(
        ok(
            "SET a = :s REMOVE b ADD c :n1 DELETE t :ss",
            json!({"b": {"S": "1"}, "t": {"SS": ["b"]}})
        ),
        json!({"a": {"S": "x"}, "c": {"N": "1"}})
    );
}

#[test]
fn t20_runtime_errors() {
    let incorrect = Some("An operand in the update expression has an incorrect data type");
    assert_eq!(
        apply("SET a = a + :n1", json!({"a": {"S": "1"}}))
            .err()
            .as_deref(),
        incorrect
    );
    assert_eq!(
        apply("SET a = list_append(a, :l)", json!({"a": {"S": "1"}}))
            .err()
            .as_deref(),
        incorrect
    );
    assert_eq!(
        apply("ADD a :n1", json!({"a": {"S": "1"}}))
            .err()
            .as_deref(),
        incorrect
    );
    assert_eq!(
        apply("ADD a :ss", json!({"a": {"NS": ["1"]}}))
            .err()
            .as_deref(),
        incorrect
    );
    assert_eq!(
        apply("DELETE a :ss", json!({"a": {"S": "1"}}))
            .err()
            .as_deref(),
        incorrect
    );
    assert_eq!(
        apply("SET a = b", json!({})).err().as_deref(),
        Some("The provided expression refers to an attribute that does not exist in the item")
    );
    assert_eq!(
        apply("SET a.b = :s", json!({})).err().as_deref(),
        Some("The document path provided in the update expression is invalid for update")
    );
    assert_eq!(
        apply("SET a[0] = :s", json!({"a": {"S": "1"}}))
            .err()
            .as_deref(),
        Some("The document path provided in the update expression is invalid for update")
    );
    let b = bind(&[], &[(":big", n("9e125"))]);
    let update = parse_update("SET a = a + :big", &b).expect("parse");
    let mut it = item(json!({"a": {"N": "9e125"}}));
    assert_eq!(
        update.apply(&mut it).err().map(|e| e.message).as_deref(),
        Some("Number overflow. Attempting to store a number with magnitude larger than supported range")
    );
}

#[test]
fn t20_parse_errors() {
    let b = values();
    let cases: &[(&str, &str)] = &[
        ("SET a =", "Syntax error; token: \"<EOF>\", near: \"=\""),
        ("ADD hits : incr", "Syntax error; token: \":\", near: \"hits : incr\""),
        ("INVALID SYNTAX HERE", "Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\""),
        ("SET a = :s SET b = :s", "The \"SET\" section can only be used once in an update expression;"),
        ("remove a set b = :s remove c", "The \"REMOVE\" section can only be used once in an update expression;"),
        ("SET status = :s", "Attribute name is a reserved keyword; reserved keyword: status"),
        (
            "SET a = list_append(:l)",
            "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1",
        ),
        (
            "SET a = if_not_exists(:s, b)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET a = list_append(:s, a)",
            "Incorrect operand type for operator or function; operator or function: list_append, operand type: S",
        ),
        ("SET a = a + :s", "Incorrect operand type for operator or function; operator or function: +, operand type: S"),
        ("SET a = :l - a", "Incorrect operand type for operator or function; operator or function: -, operand type: L"),
        ("ADD a :s", "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"),
        ("ADD a :l", "Incorrect operand type for operator or function; operator: ADD, operand type: LIST"),
        ("DELETE a :n1", "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"),
        ("SET a = foo(b)", "Invalid function name; function: foo"),
        ("SET a = size(b)", "The function is not allowed in an update expression; function: size"),
        (
            "SET a = :s REMOVE a",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "SET a = :s, a.b = :s",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]",
        ),
        (
            "REMOVE a.c SET a[1] = :s",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]",
        ),
        (
            "SET #zz = :s",
            "An expression attribute name used in the document path is not defined; attribute name: #zz",
        ),
        (
            "SET a = if_not_exists(:zz)",
            "An expression attribute value used in expression is not defined; attribute value: :zz",
        ),
    ];
    for (text, detail) in cases {
        assert_eq!(
            err(text, &b),
            format!("Invalid UpdateExpression: {detail}"),
            "{text}"
        );
    }
    for text in [
        "whatever",
        "set a",
        "add a",
        "delete a",
        "set a=set",
        "remove a = b",
        "add a = b",
        "delete a b",
        "add abort b",
        "remove a b",
        "set a b",
        "set :a = b",
        "remove :a",
        "set a = b / c",
        "set a = b * c",
        "set a[1] = 1",
        "set a = b + c + d",
        "set (a = (b + c))",
        "set a = (b.c).d + e",
        "SET a = :s,",
        "SET a = :s REMOVE",
    ] {
        let e = err(text, &b);
        assert!(
            e.starts_with("Invalid UpdateExpression: Syntax error; "),
            "{text}: {e}"
        );
    }
    // Overlaps are reported before conflicts, and before operand checks of later actions.
    let b2 = bind(&[("#c", "c"), ("#d", "[3]")], &[]);
    assert_eq!(
        err("set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)", &b2),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [1], a], path two: [c]"
    );
    assert_eq!(
        err("set #c[3].#d = a, #c.#d[3] = if_not_exists(a)", &b2),
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3], [3]]"
    );
}

#[test]
fn t10_targets() {
    let b = values();
    let u = parse_update("ADD c :n1 SET a.b = :s REMOVE l[2] DELETE t :ss", &b).expect("parse");
    let targets = u.targets();
    assert_eq!(
        targets,
        vec![
            Path(vec![
                PathElement::Attribute("a".into()),
                PathElement::Attribute("b".into())
            ]),
            Path(vec![
                PathElement::Attribute("l".into()),
                PathElement::Index(2)
            ]),
            Path::attribute("c"),
            Path::attribute("t"),
        ]
    );
}
