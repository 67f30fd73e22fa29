//! Projection expressions.

use serde_json::json;

use super::{bind, item};
use crate::{parse_projection, project, Bindings};

fn projected(text: &str, b: &Bindings) -> serde_json::Value {
    let it = item(json!({
        "a": {"S": "1"},
        "b": {"M": {"x": {"N": "1"}, "y": {"N": "2"}, "z": {"M": {"deep": {"S": "d"}, "other": {"S": "o"}}}}},
        "l": {"L": [{"S": "l0"}, {"M": {"k": {"S": "v"}, "j": {"S": "w"}}}, {"S": "l2"}, {"S": "l3"}]},
        "status": {"S": "s"}
    }));
    let paths = parse_projection(text, b).unwrap_or_else(|e| panic!("{text}: {e}"));
    serde_json::to_value(model::WireItem(&project(&it, &paths))).expect("json")
}

#[test]
fn t10_projection() {
    let b = bind(&[("#s", "status")], &[]);
    assert_eq!(projected("a", &b), json!({"a": {"S": "1"}}));
    assert_eq!(
        projected("a, #s, nope", &b),
        json!({"a": {"S": "1"}, "status": {"S": "s"}})
    );
    assert_eq!(projected("b.x", &b), json!({"b": {"M": {"x": {"N": "1"}}}}));
    assert_eq!(
        projected("b.z.deep, b.y", &b),
        json!({"b": {"M": {"y": {"N": "2"}, "z": {"M": {"deep": {"S": "d"}}}}}})
    );
    assert_eq!(projected("l[2]", &b), json!({"l": {"L": [{"S": "l2"}]}}));
    assert_eq!(
        projected("l[3], l[0], l[9]", &b),
        json!({"l": {"L": [{"S": "l0"}, {"S": "l3"}]}})
    );
    assert_eq!(
        projected("l[1].k", &b),
        json!({"l": {"L": [{"M": {"k": {"S": "v"}}}]}})
    );
    assert_eq!(projected("l[9], b.nope, a.x", &b), json!({}));
}

#[test]
fn t20_projection_errors() {
    let b = bind(&[], &[]);
    let e = |t: &str| {
        parse_projection(t, &b)
            .err()
            .map(|e| e.message)
            .unwrap_or_default()
    };
    assert_eq!(
        e(""),
        "Invalid ProjectionExpression: The expression can not be empty;"
    );
    assert_eq!(
        e("a b"),
        "Invalid ProjectionExpression: Syntax error; token: \"b\", near: \"a b\""
    );
    assert_eq!(
        e("a,"),
        "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\""
    );
    assert_eq!(
        e("foo-bar"),
        "Invalid ProjectionExpression: Syntax error; token: \"-\", near: \"foo-bar\""
    );
    assert_eq!(
        e("status"),
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    );
    assert_eq!(
        e("a, a.b"),
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
    );
    assert_eq!(
        e("a[0], a.b"),
        "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [0]], path two: [a, b]"
    );
    assert_eq!(
        e("#a"),
        "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #a"
    );
}
