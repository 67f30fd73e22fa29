//! Condition and filter expressions: parsing, errors, evaluation.

use serde_json::json;

use super::{bind, item, n, s};
use crate::{parse_condition, parse_filter, Bindings, Condition};

fn sample() -> model::Item {
    item(json!({
        "pk": {"S": "k"},
        "name": {"S": "héllo world"},
        "age": {"N": "42"},
        "bin": {"B": "AAEC"},
        "flag": {"BOOL": true},
        "nothing": {"NULL": true},
        "tags": {"SS": ["red", "blue"]},
        "nums": {"NS": ["1", "2.5"]},
        "lst": {"L": [{"S": "x"}, {"N": "7"}, {"M": {"deep": {"S": "d"}}}]},
        "mp": {"M": {"inr": {"N": "3"}, "s": {"S": "abc"}}}
    }))
}

/// Evaluates `text` against the sample item with standard bindings.
fn eval(text: &str) -> bool {
    let b = bind(
        &[("#n", "name"), ("#st", "status")],
        &[
            (":s", s("héllo world")),
            (":pre", s("hél")),
            (":n42", n("42")),
            (":n40", n("40")),
            (":n50", n("50")),
            (":red", s("red")),
            (":x", s("x")),
            (":one", n("1")),
            (":seven", n("7")),
            (":b", AttributeValue::B(vec![0])),
            (":S", s("S")),
            (":N", s("N")),
            (":SS", s("SS")),
            (":M", s("M")),
            (":three", n("3")),
            (":two", n("2")),
            (":eleven", n("12")),
            (":true", AttributeValue::Bool(true)),
        ],
    );
    let cond = parse_condition(text, &b).unwrap_or_else(|e| panic!("{text}: {e}"));
    cond.evaluate(&sample())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

use model::AttributeValue;

fn err(text: &str, b: &Bindings) -> String {
    parse_condition(text, b)
        .err()
        .unwrap_or_else(|| panic!("{text} parsed"))
        .message
}

#[test]
fn t10_comparators() {
    tracing_phase("comparators on every scalar type");
    assert!(eval("#n = :s"));
    assert!(!eval("#n <> :s"));
    assert!(eval("age = :n42"));
    assert!(eval("age >= :n42") && eval("age <= :n42"));
    assert!(eval("age > :n40") && !eval("age > :n50"));
    assert!(eval("age < :n50") && !eval("age < :n40"));
    assert!(eval("age <> :n40"));
    assert!(eval("bin > :b"));
    assert!(eval("flag = :true"));
    tracing_phase("different types: false, and <> true");
    assert!(!eval("age = :s"));
    assert!(!eval("age < :s"));
    assert!(eval("age <> :s"));
    tracing_phase("absent attributes: false, and <> true");
    assert!(!eval("absent = :s"));
    assert!(!eval("absent < :n50"));
    assert!(eval("absent <> :s"));
    tracing_phase("path on both sides");
    assert!(eval("mp.inr < age"));
    assert!(eval("lst[1] = :seven"));
}

/// Marks the phases of a long test, in the style of `tracing::info!("--- …")`.
fn tracing_phase(_what: &str) {}

#[test]
fn t10_between_and_in() {
    assert!(eval("age BETWEEN :n40 AND :n50"));
    assert!(eval("age between :n42 and :n42"));
    assert!(!eval("age BETWEEN :n42 AND :n50 AND age = :n40"));
    assert!(!eval("absent BETWEEN :n40 AND :n50"));
    assert!(eval("age IN (:n40, :n42)"));
    assert!(!eval("age IN (:n40, :n50)"));
    assert!(eval("size(tags) IN (:one, :n40, :two, age)"));
    assert!(!eval("size(tags) IN (:one)"));
    assert!(eval("lst[1] IN (:one, :seven)"));
}

#[test]
fn t10_functions() {
    assert!(eval("attribute_exists(age)"));
    assert!(eval("attribute_exists(lst[2].deep)"));
    assert!(!eval("attribute_exists(lst[3])"));
    assert!(eval("attribute_not_exists(absent)"));
    assert!(eval("attribute_not_exists(mp.nope)"));
    assert!(eval("attribute_type(age, :N)"));
    assert!(eval("attribute_type(tags, :SS)"));
    assert!(eval("attribute_type(mp, :M)"));
    assert!(!eval("attribute_type(age, :S)"));
    assert!(!eval("attribute_type(absent, :S)"));
    assert!(eval("begins_with(#n, :pre)"));
    assert!(!eval("begins_with(age, :pre)"));
    assert!(eval("begins_with(bin, :b)"));
    assert!(eval("contains(tags, :red)"));
    assert!(eval("contains(nums, :one)"));
    assert!(eval("contains(lst, :x)"));
    assert!(eval("contains(lst, :seven)"));
    assert!(eval("contains(mp.s, :x) OR contains(#n, :pre)"));
    assert!(!eval("contains(age, :one)"));
    tracing_phase("size: UTF-8 bytes of strings, bytes of binaries, elements of collections");
    assert!(eval("size(#n) = :eleven"));
    assert!(eval("size(bin) = :three"));
    assert!(eval("size(lst) = :three"));
    assert!(eval("size(tags) > :one"));
    assert!(eval("size(mp) BETWEEN :one AND :three"));
    assert!(!eval("size(age) = :one"));
    assert!(!eval("size(absent) = :one"));
    assert!(eval("size(absent) <> :one"));
}

#[test]
fn t10_precedence() {
    let b = bind(
        &[],
        &[
            (":t", AttributeValue::Bool(true)),
            (":f", AttributeValue::Bool(false)),
        ],
    );
    let p = |t: &str| parse_condition(t, &b).expect(t);
    // AND binds tighter than OR.
    let c = p("a = :t OR b = :t AND c = :t");
    assert!(matches!(c, Condition::Or(_, ref r) if matches!(**r, Condition::And(..))));
    // NOT binds tighter than AND.
    let c = p("NOT a = :t AND b = :t");
    assert!(matches!(c, Condition::And(ref l, _) if matches!(**l, Condition::Not(_))));
    // Parentheses override.
    let c = p("(a = :t OR b = :t) AND c = :t");
    assert!(matches!(c, Condition::And(ref l, _) if matches!(**l, Condition::Or(..))));
    // Left associativity.
    let c = p("a = :t OR b = :t OR c = :t");
    assert!(matches!(c, Condition::Or(ref l, _) if matches!(**l, Condition::Or(..))));
    // Evaluation follows.
    let it = item(json!({"a": {"BOOL": true}, "b": {"BOOL": false}, "c": {"BOOL": false}}));
    assert!(p("a = :t OR b = :t AND c = :t")
        .evaluate(&it)
        .expect("eval"));
    assert!(!p("(a = :t OR b = :t) AND c = :t")
        .evaluate(&it)
        .expect("eval"));
    assert!(p("NOT b = :t").evaluate(&it).expect("eval"));
    assert!(p("NOT NOT a = :t").evaluate(&it).expect("eval"));
    assert!(p("NOT absent = :t").evaluate(&it).expect("eval"));
    // Operands in parentheses.
    assert!(p("(a) = (:t)").evaluate(&it).expect("eval"));
    assert!(p("(a)between(:f)and(:t)").evaluate(&it).is_ok());
    assert!(p("attribute_exists((a))").evaluate(&it).expect("eval"));
}

#[test]
fn t20_syntax_errors() {
    let b = bind(&[], &[(":v", s("x"))]);
    assert_eq!(
        err("a = = b", &b),
        "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = b\""
    );
    assert_eq!(
        err("a =", &b),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\""
    );
    assert_eq!(
        err("a > 4", &b),
        "Invalid ConditionExpression: Syntax error; token: \"4\", near: \"> 4\""
    );
    assert_eq!(
        err("things are not gonna be ok", &b),
        "Invalid ConditionExpression: Syntax error; token: \"are\", near: \"things are not\""
    );
    for text in [
        "a",
        "(a)",
        "a in b, c",
        "a > between",
        "a in (b,c,)",
        "attribute_exists(Pictures-RearView)",
        "attribute_exists(Pictures..RearView)",
        "attribute_exists(asdf[a])",
        "#$.b > a",
        "a > :things.stuff",
        "b[:a] > a",
        "ü > a",
        "size(a).b > a",
        "(size(a))[0] > a",
        "a = :v AND",
        "(a = :v",
        "a = :v)",
        "f()",
        "a = b c",
        "NOT",
        "a.b[1.5] = :v",
        "a[99999999999999999999999] = :v",
    ] {
        let e = err(text, &b);
        assert!(
            e.starts_with("Invalid ConditionExpression: Syntax error; token: "),
            "{text}: {e}"
        );
    }
    assert_eq!(
        parse_filter("", &b).err().map(|e| e.message),
        Some("Invalid FilterExpression: The expression can not be empty;".to_owned())
    );
    assert_eq!(
        err("  \n", &b),
        "Invalid ConditionExpression: The expression can not be empty;"
    );
    let long = format!("a = :v{}", " ".repeat(4096));
    assert!(err(&long, &b).contains("Expression size has exceeded the maximum allowed size"));
}

#[test]
fn t20_semantic_errors() {
    let b = bind(
        &[("#a", "a")],
        &[(":v", s("x")), (":n", n("1")), (":n9", n("9"))],
    );
    let cases: &[(&str, &str)] = &[
        ("a = :v AND ((a = :v))", "The expression has redundant parentheses;"),
        ("a > ((b))", "The expression has redundant parentheses;"),
        ("foo(a)", "Invalid function name; function: foo"),
        ("attRIbute_exIsts(a)", "Invalid function name; function: attRIbute_exIsts"),
        (
            "if_not_exists(a, :v) = :v",
            "The function is not allowed in a condition expression; function: if_not_exists",
        ),
        (
            "attribute_exists(a) = :v",
            "The function is not allowed to be used this way in an expression; function: attribute_exists",
        ),
        ("size(a)", "The function is not allowed to be used this way in an expression; function: size"),
        (
            "a IN (b, attribute_exists(c))",
            "The function is not allowed to be used this way in an expression; function: attribute_exists",
        ),
        ("status = :v", "Attribute name is a reserved keyword; reserved keyword: status"),
        ("a.Abort = :v", "Attribute name is a reserved keyword; reserved keyword: Abort"),
        (
            "#zz = :v",
            "An expression attribute name used in the document path is not defined; attribute name: #zz",
        ),
        (
            "a = :zz",
            "An expression attribute value used in expression is not defined; attribute value: :zz",
        ),
        (
            "attribute_exists(a, b)",
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2",
        ),
        (
            "begins_with(a, :n)",
            "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "size(:n) > a",
            "Incorrect operand type for operator or function; operator or function: size, operand type: N",
        ),
        (
            "attribute_type(a, :n)",
            "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N",
        ),
        (
            "attribute_type(a, :v)",
            "Invalid attribute type name found; type: x, valid types: {S,SS,N,NS,B,BS,BOOL,NULL,L,M}",
        ),
        (
            "attribute_exists(:v)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "a = #a",
            "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]",
        ),
        (
            "contains(a.b[1], a.b[1])",
            "The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [a, b, [1]]",
        ),
        (
            "a BETWEEN :n AND :v",
            "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:x}",
        ),
        (
            "a BETWEEN :n9 AND :n",
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:9}, upper bound operand: AttributeValue: {N:1}",
        ),
    ];
    for (text, detail) in cases {
        assert_eq!(
            err(text, &b),
            format!("Invalid ConditionExpression: {detail}"),
            "{text}"
        );
    }
    // Category order: redundant parentheses before function names before reserved words.
    assert_eq!(
        err("a > whatever((:v), ((a)))", &b),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    assert_eq!(
        err("attRIbute_exIsts((views), #a)", &b),
        "Invalid ConditionExpression: Invalid function name; function: attRIbute_exIsts"
    );
    assert_eq!(
        err("attribute_exists(views, #a)", &b),
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: views"
    );
    // Within the last category, the first in the text.
    assert_eq!(
        err("begins_with(:hello, #x, #y)", &b),
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :hello"
    );
    let mut ins = String::from("a IN (:v");
    for _ in 0..100 {
        ins.push_str(", :v");
    }
    ins.push(')');
    assert_eq!(
        err(&ins, &b),
        "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
    );
    let deep = format!("a{} = :v", ".b".repeat(32));
    assert_eq!(
        err(&deep, &b),
        "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 33"
    );
}

#[test]
fn t20_placeholders_tracked_across_expressions() {
    let b = bind(
        &[("#a", "a"), ("#b", "b")],
        &[(":v", s("x")), (":w", s("y"))],
    );
    parse_condition("#a = :v", &b).expect("parse");
    assert_eq!(
        b.check_unused().err().map(|e| e.message),
        Some(
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"
                .to_owned()
        )
    );
    parse_filter("#b = :v", &b).expect("parse");
    assert_eq!(
        b.check_unused().err().map(|e| e.message),
        Some(
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"
                .to_owned()
        )
    );
    crate::parse_update("SET x = :w", &b).expect("parse");
    assert!(b.check_unused().is_ok());
}

#[test]
fn t30_deep_nesting_is_an_error_not_a_crash() {
    let b = bind(&[], &[(":v", s("x"))]);
    for depth in [65, 300, 2000] {
        // Parentheses add no operator: only the redundancy is refused, as DynamoDB does.
        let text = format!("{}a = :v{}", "(".repeat(depth), ")".repeat(depth));
        assert!(err(&text, &b).contains("redundant parentheses"), "{depth}");
        let text = format!("a = {}:v{}", "(".repeat(depth), ")".repeat(depth));
        assert!(err(&text, &b).contains("redundant parentheses"), "{depth}");
        let text = format!("{}a{}", "size(".repeat(depth), ")".repeat(depth));
        assert!(parse_condition(&text, &b).is_err());
    }
    // NOTs are operators: 299 of them and a comparison are 300, the most DynamoDB takes.
    let ok = format!("{}a = :v", "NOT ".repeat(299));
    assert!(parse_condition(&ok, &b).is_ok());
    for depth in [300, 1000] {
        let text = format!("{}a = :v", "NOT ".repeat(depth));
        assert_eq!(
            err(&text, &b),
            "Invalid ConditionExpression: The expression contains too many operators; operator count: 301"
        );
    }
    // Long AND chains are iterative in the parser and shallow enough to evaluate.
    let chain = vec!["a = :v"; 150].join(" AND ");
    let cond = parse_condition(&chain, &b).expect("chain");
    assert!(!cond.evaluate(&model::Item::new()).expect("eval"));
    let chain = vec!["a = :v"; 151].join(" AND ");
    assert!(err(&chain, &b).contains("too many operators; operator count: 301"));
}

#[test]
fn t30_deep_but_valid_nesting_parses_on_a_small_stack() {
    // `a<b OR (a<b OR (…))`, 149 levels: 299 operators, under 4 KB; DynamoDB accepts it.
    let nested = |depth: usize| format!("a<b {}{}", "OR (a<b ".repeat(depth), ")".repeat(depth));
    let texts = [nested(149), format!("{}{}", "NOT ".repeat(150), nested(74))];
    for text in texts {
        let parsed = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || {
                let b = bind(&[], &[]);
                parse_condition(&text, &b).map(|c| c.evaluate(&model::Item::new()))
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
        // Both are false for an item without a and b (the second under an even number of NOTs).
        assert!(!parsed.expect("parse").expect("eval"));
    }
    let b = bind(&[], &[]);
    let text = nested(454);
    assert!(text.len() < 4096);
    assert!(err(&text, &b).contains("too many operators; operator count: 301"));
}

#[test]
fn t30_serde_round_trip() {
    let b = bind(&[], &[(":v", s("x")), (":n", n("1.5"))]);
    let c =
        parse_condition("a.b[2] = :v OR size(c) > :n AND NOT contains(d, :v)", &b).expect("parse");
    let bytes = bincode::serialize(&c).expect("encode");
    let back: Condition = bincode::deserialize(&bytes).expect("decode");
    assert_eq!(back, c);
}
