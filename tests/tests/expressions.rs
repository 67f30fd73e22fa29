//! Update, condition and projection expressions: every action, function, operator and the
//! validation of names, values and paths.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

type Item = HashMap<String, AttributeValue>;
/// A condition, its values, and whether it should hold.
type Case<'a> = (&'a str, Vec<(&'a str, AttributeValue)>, bool);

async fn setup() -> (Server, Client) {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "expr").await;
    (server, c)
}

async fn put(c: &Client, it: Item) {
    c.put_item()
        .table_name("expr")
        .set_item(Some(it))
        .send()
        .await
        .unwrap();
}

async fn get(c: &Client, pk: &str) -> Item {
    c.get_item()
        .table_name("expr")
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default()
}

/// Runs `UpdateExpression` on item `pk` and returns ALL_NEW.
async fn update(
    c: &Client,
    pk: &str,
    expr: &str,
    values: &[(&str, AttributeValue)],
) -> Result<Item, String> {
    c.update_item()
        .table_name("expr")
        .key("pk", s(pk))
        .update_expression(expr)
        .set_expression_attribute_values(if values.is_empty() {
            None
        } else {
            Some(item(values))
        })
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map(|r| r.attributes.unwrap_or_default())
        .map_err(|e| error_code(&e))
}

/// Whether `cond` holds on item `pk` (evaluated by a conditional no-op update).
async fn holds(
    c: &Client,
    pk: &str,
    cond: &str,
    names: &[(&str, &str)],
    values: &[(&str, AttributeValue)],
) -> bool {
    let r = c
        .update_item()
        .table_name("expr")
        .key("pk", s(pk))
        .update_expression("SET probe = :probe")
        .condition_expression(cond)
        .set_expression_attribute_names(if names.is_empty() {
            None
        } else {
            Some(meridian_tests::names(names))
        })
        .set_expression_attribute_values(Some({
            let mut v = item(values);
            v.insert(":probe".into(), AttributeValue::Bool(true));
            v
        }))
        .send()
        .await;
    match r {
        Ok(_) => true,
        Err(e) => {
            let code = error_code(&e);
            assert_eq!(
                code, "ConditionalCheckFailedException",
                "condition {cond}: {e:?}"
            );
            false
        }
    }
}

#[tokio::test]
async fn t10_set_arithmetic_and_functions() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[("pk", s("k")), ("a", ni(10)), ("l", l(vec![ni(1), ni(2)]))]),
    )
    .await;

    let it = update(&c, "k", "SET a = a + :n, b = :n - a", &[(":n", ni(3))])
        .await
        .unwrap();
    // Both right-hand sides read the item as it was before the update.
    assert_eq!(it["a"], ni(13));
    assert_eq!(it["b"], ni(-7));

    let it = update(
        &c,
        "k",
        "SET c = if_not_exists(c, :zero) + :one",
        &[(":zero", ni(0)), (":one", ni(1))],
    )
    .await
    .unwrap();
    assert_eq!(it["c"], ni(1));
    let it = update(
        &c,
        "k",
        "SET c = if_not_exists(c, :zero) + :one",
        &[(":zero", ni(0)), (":one", ni(1))],
    )
    .await
    .unwrap();
    assert_eq!(it["c"], ni(2));

    let it = update(
        &c,
        "k",
        "SET l = list_append(l, :more)",
        &[(":more", l(vec![ni(3)]))],
    )
    .await
    .unwrap();
    assert_eq!(it["l"], l(vec![ni(1), ni(2), ni(3)]));
    let it = update(
        &c,
        "k",
        "SET l = list_append(:front, l)",
        &[(":front", l(vec![ni(0)]))],
    )
    .await
    .unwrap();
    assert_eq!(it["l"], l(vec![ni(0), ni(1), ni(2), ni(3)]));

    // Copying one attribute to another.
    let it = update(&c, "k", "SET d = a", &[]).await.unwrap();
    assert_eq!(it["d"], ni(13));

    // Arithmetic on a missing attribute or a non-number is a validation error.
    assert_eq!(
        update(&c, "k", "SET x = absent + :n", &[(":n", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k", "SET x = l + :n", &[(":n", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k", "SET l = list_append(l, :n)", &[(":n", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
}

#[tokio::test]
async fn t11_exact_decimal_arithmetic() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("big", n("12345678901234567890123456789012345678")),
            ("f", n("0.1")),
        ]),
    )
    .await;
    let it = update(
        &c,
        "k",
        "SET big = big + :one, f = f + :f2",
        &[(":one", ni(1)), (":f2", n("0.2"))],
    )
    .await
    .unwrap();
    assert_eq!(it["big"], n("12345678901234567890123456789012345679"));
    assert_eq!(it["f"], n("0.3"), "decimal, not binary floating point");

    let it = update(
        &c,
        "k",
        "SET neg = :a - :b",
        &[(":a", n("1.1")), (":b", n("3.35"))],
    )
    .await
    .unwrap();
    assert_eq!(it["neg"], n("-2.25"));
    let it = update(&c, "k", "ADD cnt :x", &[(":x", n("-0.000000001"))])
        .await
        .unwrap();
    assert_eq!(it["cnt"], n("-0.000000001"));
    let it = update(&c, "k", "ADD cnt :x", &[(":x", n("0.000000001"))])
        .await
        .unwrap();
    assert_eq!(it["cnt"], n("0"));
}

#[tokio::test]
async fn t12_remove() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("a", ni(1)),
            ("b", ni(2)),
            ("l", l(vec![s("l0"), s("l1"), s("l2"), s("l3")])),
            ("m", m(&[("x", ni(1)), ("y", ni(2))])),
        ]),
    )
    .await;
    let it = update(&c, "k", "REMOVE a, l[1], l[3], m.x, nosuch", &[])
        .await
        .unwrap();
    assert_eq!(
        it,
        item(&[
            ("pk", s("k")),
            ("b", ni(2)),
            ("l", l(vec![s("l0"), s("l2")])),
            ("m", m(&[("y", ni(2))]))
        ])
    );
}

#[tokio::test]
async fn t13_set_list_elements_and_nested_paths() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("l", l(vec![s("a"), s("b")])),
            (
                "m",
                m(&[
                    ("child", m(&[("x", ni(1))])),
                    ("lst", l(vec![m(&[("z", ni(0))])])),
                ]),
            ),
        ]),
    )
    .await;
    update(
        &c,
        "k",
        "SET l[0] = :v, l[9] = :w, m.child.y = :v, m.lst[0].z = :w, m.newkey = :v",
        &[(":v", s("V")), (":w", s("W"))],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let it = get(&c, "k").await;
    // An index past the end appends.
    assert_eq!(it["l"], l(vec![s("V"), s("b"), s("W")]));
    assert_eq!(
        it["m"],
        m(&[
            ("child", m(&[("x", ni(1)), ("y", s("V"))])),
            ("lst", l(vec![m(&[("z", s("W"))])])),
            ("newkey", s("V")),
        ])
    );
}

#[tokio::test]
async fn t14_invalid_document_paths() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("m", m(&[])),
            ("str", s("x")),
            ("l", l(vec![])),
        ]),
    )
    .await;
    // A parent that does not exist, or is not a map/list.
    assert_eq!(
        update(&c, "k", "SET absent.x = :v", &[(":v", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k", "SET str.x = :v", &[(":v", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k", "SET m[0] = :v", &[(":v", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k", "SET m.a.b = :v", &[(":v", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    // Overlapping or repeated paths across clauses.
    assert_eq!(
        update(&c, "k", "SET a = :v REMOVE a", &[(":v", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(
            &c,
            "k",
            "SET m.a = :v, m = :w",
            &[(":v", ni(1)), (":w", m(&[]))]
        )
        .await
        .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k", "SET a = :v, a = :v", &[(":v", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    // A clause keyword twice.
    assert_eq!(
        update(&c, "k", "SET a = :v SET b = :v", &[(":v", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    // Nothing changed.
    assert_eq!(
        get(&c, "k").await,
        item(&[
            ("pk", s("k")),
            ("m", m(&[])),
            ("str", s("x")),
            ("l", l(vec![]))
        ])
    );
}

#[tokio::test]
async fn t20_add_and_delete() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("n", ni(5)),
            ("tags", ss(&["a", "b"])),
            ("nums", ns(&["1", "2"])),
        ]),
    )
    .await;

    let it = update(&c, "k", "ADD n :d, fresh :d", &[(":d", ni(3))])
        .await
        .unwrap();
    assert_eq!(it["n"], ni(8));
    assert_eq!(it["fresh"], ni(3), "ADD to a missing number starts from 0");

    let it = update(
        &c,
        "k",
        "ADD tags :t, newset :t",
        &[(":t", ss(&["b", "c"]))],
    )
    .await
    .unwrap();
    assert_eq!(normalize(&it["tags"]), ss(&["a", "b", "c"]));
    assert_eq!(normalize(&it["newset"]), ss(&["b", "c"]));

    let it = update(
        &c,
        "k",
        "DELETE tags :t, nums :n",
        &[(":t", ss(&["a", "zzz"])), (":n", ns(&["2.0"]))],
    )
    .await
    .unwrap();
    assert_eq!(normalize(&it["tags"]), ss(&["b", "c"]));
    assert_eq!(it["nums"], ns(&["1"]));

    // Deleting every element removes the attribute.
    let it = update(&c, "k", "DELETE nums :n", &[(":n", ns(&["1"]))])
        .await
        .unwrap();
    assert!(!it.contains_key("nums"), "{it:?}");

    // Type errors: ADD a string set to a number, ADD to a string, DELETE a number.
    assert_eq!(
        update(&c, "k", "ADD n :t", &[(":t", ss(&["x"]))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    put(
        &c,
        item(&[("pk", s("k2")), ("str", s("x")), ("l", l(vec![]))]),
    )
    .await;
    assert_eq!(
        update(&c, "k2", "ADD str :n", &[(":n", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k2", "ADD l :n", &[(":n", l(vec![ni(1)]))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
    assert_eq!(
        update(&c, "k2", "DELETE str :n", &[(":n", ni(1))])
            .await
            .unwrap_err(),
        "ValidationException"
    );
}

#[tokio::test]
async fn t30_condition_functions() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("name", s("meridian")),
            ("n", ni(42)),
            ("tags", ss(&["red", "blue"])),
            ("l", l(vec![s("x"), ni(7)])),
            ("m", m(&[("a", ni(1)), ("b", ni(2)), ("c", ni(3))])),
            ("bin", b(&[1, 2, 3, 4, 5])),
            ("nul", AttributeValue::Null(true)),
            ("flag", AttributeValue::Bool(true)),
        ]),
    )
    .await;
    let nm = [("#n", "name")];
    let cases: Vec<Case<'_>> = vec![
        ("attribute_exists(n)", vec![], true),
        ("attribute_exists(nope)", vec![], false),
        ("attribute_not_exists(nope)", vec![], true),
        ("attribute_exists(m.b)", vec![], true),
        ("attribute_exists(l[1])", vec![], true),
        ("attribute_exists(l[2])", vec![], false),
        ("attribute_type(n, :t)", vec![(":t", s("N"))], true),
        ("attribute_type(n, :t)", vec![(":t", s("S"))], false),
        ("attribute_type(tags, :t)", vec![(":t", s("SS"))], true),
        ("attribute_type(nul, :t)", vec![(":t", s("NULL"))], true),
        ("attribute_type(flag, :t)", vec![(":t", s("BOOL"))], true),
        ("attribute_type(m, :t)", vec![(":t", s("M"))], true),
        ("attribute_type(l, :t)", vec![(":t", s("L"))], true),
        ("begins_with(#n, :p)", vec![(":p", s("meri"))], true),
        ("begins_with(#n, :p)", vec![(":p", s("dian"))], false),
        ("begins_with(bin, :p)", vec![(":p", b(&[1, 2]))], true),
        ("contains(#n, :p)", vec![(":p", s("rid"))], true),
        ("contains(tags, :p)", vec![(":p", s("red"))], true),
        ("contains(tags, :p)", vec![(":p", s("green"))], false),
        ("contains(l, :p)", vec![(":p", ni(7))], true),
        ("contains(l, :p)", vec![(":p", s("7"))], false),
        ("size(#n) = :v", vec![(":v", ni(8))], true),
        ("size(tags) = :v", vec![(":v", ni(2))], true),
        ("size(l) = :v", vec![(":v", ni(2))], true),
        ("size(m) = :v", vec![(":v", ni(3))], true),
        ("size(bin) > :v", vec![(":v", ni(4))], true),
        ("size(nope) > :v", vec![(":v", ni(0))], false),
    ];
    for (cond, values, expected) in cases {
        let uses_name = cond.contains("#n");
        let names: &[(&str, &str)] = if uses_name { &nm } else { &[] };
        assert_eq!(
            holds(&c, "k", cond, names, &values).await,
            expected,
            "{cond}"
        );
    }
    // attribute_type with an unknown type is a validation error.
    let r = c
        .update_item()
        .table_name("expr")
        .key("pk", s("k"))
        .update_expression("SET x = :v")
        .condition_expression("attribute_type(n, :t)")
        .expression_attribute_values(":t", s("NUMBER"))
        .expression_attribute_values(":v", ni(1))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

fn v<'a>(pairs: &[(&'a str, i64)]) -> Vec<(&'a str, AttributeValue)> {
    pairs.iter().map(|(k, n)| (*k, ni(*n))).collect()
}

#[tokio::test]
async fn t31_comparisons_in_between_and_precedence() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("a", ni(1)),
            ("b", ni(0)),
            ("s", s("m")),
            ("x", b(&[0x80])),
        ]),
    )
    .await;
    let cases: Vec<Case<'_>> = vec![
        ("a = :1", v(&[(":1", 1)]), true),
        ("a <> :1", v(&[(":1", 1)]), false),
        ("a < :2", v(&[(":2", 2)]), true),
        ("a <= :1", v(&[(":1", 1)]), true),
        ("a > :1", v(&[(":1", 1)]), false),
        ("a >= :1", v(&[(":1", 1)]), true),
        (
            "a IN (:3, :2, :1)",
            v(&[(":1", 1), (":2", 2), (":3", 3)]),
            true,
        ),
        ("a IN (:3, :2)", v(&[(":2", 2), (":3", 3)]), false),
        ("a BETWEEN :0 AND :2", v(&[(":0", 0), (":2", 2)]), true),
        ("a BETWEEN :2 AND :3", v(&[(":2", 2), (":3", 3)]), false),
        (
            "s BETWEEN :lo AND :hi",
            vec![(":lo", s("a")), (":hi", s("z"))],
            true,
        ),
        ("x > :lo", vec![(":lo", b(&[0x7f]))], true),
        // Comparing different types is false, not an error.
        ("a < :s", vec![(":s", s("zzz"))], false),
        ("a <> :s", vec![(":s", s("1"))], true),
        ("nope = :1", v(&[(":1", 1)]), false),
        ("nope <> :1", v(&[(":1", 1)]), true),
        // AND binds tighter than OR: a = 1 OR (a = 2 AND b = 3).
        (
            "a = :1 OR a = :2 AND b = :3",
            v(&[(":1", 1), (":2", 2), (":3", 3)]),
            true,
        ),
        (
            "(a = :1 OR a = :2) AND b = :3",
            v(&[(":1", 1), (":2", 2), (":3", 3)]),
            false,
        ),
        // NOT binds tighter than AND: (NOT a = 2) AND b = 3.
        ("NOT a = :2 AND b = :3", v(&[(":2", 2), (":3", 3)]), false),
        ("NOT (a = :2 AND b = :3)", v(&[(":2", 2), (":3", 3)]), true),
        (
            "a = :1 AND (b = :0 OR b = :1) AND NOT attribute_exists(zz)",
            v(&[(":0", 0), (":1", 1)]),
            true,
        ),
        // Operand-to-operand comparison.
        ("a > b", vec![], true),
    ];
    for (cond, values, expected) in cases {
        assert_eq!(holds(&c, "k", cond, &[], &values).await, expected, "{cond}");
    }
}

#[tokio::test]
async fn t40_names_values_and_reserved_words() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            ("name", s("n")),
            ("a.b", ni(1)),
            ("a", m(&[("b", ni(2))])),
        ]),
    )
    .await;

    // A reserved word needs a placeholder.
    let r = c
        .update_item()
        .table_name("expr")
        .key("pk", s("k"))
        .update_expression("SET name = :v")
        .expression_attribute_values(":v", s("x"))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .get_item()
        .table_name("expr")
        .key("pk", s("k"))
        .projection_expression("status")
        .send()
        .await;
    expect_error(r, "ValidationException");

    // A placeholder holding a dot names one top-level attribute; a dotted path names a nested one.
    let got = c
        .get_item()
        .table_name("expr")
        .key("pk", s("k"))
        .projection_expression("#ab, #a.#b, #nm")
        .expression_attribute_names("#ab", "a.b")
        .expression_attribute_names("#a", "a")
        .expression_attribute_names("#b", "b")
        .expression_attribute_names("#nm", "name")
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        got,
        item(&[("a.b", ni(1)), ("a", m(&[("b", ni(2))])), ("name", s("n"))])
    );

    // Unused values or names, and undefined ones.
    let r = c
        .update_item()
        .table_name("expr")
        .key("pk", s("k"))
        .update_expression("SET x = :v")
        .expression_attribute_values(":v", ni(1))
        .expression_attribute_values(":unused", ni(2))
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .update_item()
        .table_name("expr")
        .key("pk", s("k"))
        .update_expression("SET x = :v")
        .expression_attribute_values(":v", ni(1))
        .expression_attribute_names("#unused", "y")
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .update_item()
        .table_name("expr")
        .key("pk", s("k"))
        .update_expression("SET x = :undefined")
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .update_item()
        .table_name("expr")
        .key("pk", s("k"))
        .update_expression("SET #undefined = :v")
        .expression_attribute_values(":v", ni(1))
        .send()
        .await;
    expect_error(r, "ValidationException");
    // Values supplied with no expression at all.
    let r = c
        .delete_item()
        .table_name("expr")
        .key("pk", s("k"))
        .expression_attribute_values(":v", ni(1))
        .send()
        .await;
    expect_error(r, "ValidationException");
    // Syntax errors.
    for bad in [
        "SET",
        "SET x",
        "SET x = ",
        "SET x = :v,",
        "FROB x",
        "SET x = :v REMOVE",
        "SET x = (:v",
    ] {
        let r = c
            .update_item()
            .table_name("expr")
            .key("pk", s("k"))
            .update_expression(bad)
            .expression_attribute_values(":v", ni(1))
            .send()
            .await;
        let code = match &r {
            Ok(_) => "<ok>".to_owned(),
            Err(e) => error_code(e),
        };
        assert_eq!(code, "ValidationException", "{bad:?}");
    }
    // Keywords are case-insensitive.
    let it = update(&c, "k", "set x = :v remove #a", &[(":v", ni(5))]).await;
    assert_eq!(
        it.unwrap_err(),
        "ValidationException",
        "#a is undefined here"
    );
    c.update_item()
        .table_name("expr")
        .key("pk", s("k"))
        .update_expression("set x = :v remove #a")
        .condition_expression("attribute_exists(pk) and not attribute_exists(zz)")
        .expression_attribute_names("#a", "a")
        .expression_attribute_values(":v", ni(5))
        .send()
        .await
        .unwrap();
    let it = get(&c, "k").await;
    assert_eq!(it["x"], ni(5));
    assert!(!it.contains_key("a"));
}

#[tokio::test]
async fn t50_projection_paths() {
    let (_server, c) = setup().await;
    put(
        &c,
        item(&[
            ("pk", s("k")),
            (
                "l",
                l(vec![
                    m(&[("a", ni(1)), ("b", ni(2))]),
                    m(&[("a", ni(3))]),
                    ni(9),
                ]),
            ),
            (
                "m",
                m(&[("deep", m(&[("x", ni(1)), ("y", ni(2))])), ("other", ni(0))]),
            ),
        ]),
    )
    .await;
    let got = c
        .get_item()
        .table_name("expr")
        .key("pk", s("k"))
        .projection_expression("l[0].b, l[2], m.deep.y, l[7], m.nope")
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    // List elements keep their relative order, compacted.
    assert_eq!(
        got,
        item(&[
            ("l", l(vec![m(&[("b", ni(2))]), ni(9)])),
            ("m", m(&[("deep", m(&[("y", ni(2))]))]))
        ])
    );
    // Overlapping projection paths are rejected.
    let r = c
        .get_item()
        .table_name("expr")
        .key("pk", s("k"))
        .projection_expression("m, m.deep")
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t70_deep_but_valid_conditions_run_and_too_many_operators_are_refused() {
    let (_server, c) = setup().await;
    put(
        &c,
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S("deep".into())),
            ("a".to_owned(), AttributeValue::N("1".into())),
            ("b".to_owned(), AttributeValue::N("2".into())),
        ]),
    )
    .await;
    // `a<b OR (a<b OR (…))`, 149 levels: 299 operators in under 4 KB, which DynamoDB takes.
    let nested = |depth: usize| format!("a<b {}{}", "OR (a<b ".repeat(depth), ")".repeat(depth));
    c.update_item()
        .table_name("expr")
        .key("pk", AttributeValue::S("deep".into()))
        .update_expression("SET z = :one")
        .condition_expression(nested(149))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("a 149-deep condition within DynamoDB's limits");
    assert_eq!(get(&c, "deep").await["z"], AttributeValue::N("1".into()));
    // 298 NOTs and a comparison in a filter: 299 operators.
    let scanned = c
        .scan()
        .table_name("expr")
        .filter_expression(format!("{}a < b", "NOT ".repeat(298)))
        .send()
        .await
        .expect("a 298-NOT filter");
    assert_eq!(scanned.count, 1);
    // 454 levels still fit in 4 KB but have 909 operators: refused as DynamoDB refuses them.
    let text = nested(454);
    assert!(text.len() < 4096);
    let e = c
        .update_item()
        .table_name("expr")
        .key("pk", AttributeValue::S("deep".into()))
        .update_expression("SET z = :one")
        .condition_expression(text)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect_err("too many operators");
    let e = e.into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationException"), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some(
            "Invalid ConditionExpression: The expression contains too many operators; operator count: 301"
        )
    );
}
