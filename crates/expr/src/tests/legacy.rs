//! Legacy parameters: translation and validation.

use serde_json::json;

use super::{item, n, s};
use crate::legacy::{
    attribute_updates_to_update, attributes_to_get_to_projection, expected_to_condition,
    filter_to_condition, key_conditions_to_predicates,
};
use crate::{ErrorKind, KeyOp, Path};

fn holds(expected: serde_json::Value, op: Option<&str>, it: serde_json::Value) -> bool {
    expected_to_condition(&expected, op)
        .expect("translate")
        .expect("some condition")
        .evaluate(&item(it))
        .expect("evaluate")
}

fn message(r: Result<impl std::fmt::Debug, crate::ExprError>) -> String {
    r.err().map(|e| e.message).unwrap_or_default()
}

#[test]
fn t10_expected() {
    let it = json!({"a": {"S": "x"}, "n": {"N": "5"}, "t": {"SS": ["p", "q"]}});
    assert!(holds(json!({"a": {"Value": {"S": "x"}}}), None, it.clone()));
    assert!(holds(
        json!({"a": {"Value": {"S": "x"}, "Exists": true}}),
        None,
        it.clone()
    ));
    assert!(holds(json!({"z": {"Exists": false}}), None, it.clone()));
    assert!(!holds(json!({"a": {"Exists": false}}), None, it.clone()));
    assert!(holds(
        json!({"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "4"}]}}),
        None,
        it.clone()
    ));
    assert!(holds(
        json!({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "4"}, {"N": "5"}]}}),
        None,
        it.clone()
    ));
    assert!(holds(
        json!({"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "5"}]}}),
        None,
        it.clone()
    ));
    assert!(holds(
        json!({"a": {"ComparisonOperator": "NOT_NULL"}, "z": {"ComparisonOperator": "NULL"}}),
        None,
        it.clone()
    ));
    assert!(holds(
        json!({"t": {"ComparisonOperator": "CONTAINS", "Value": {"S": "p"}}}),
        None,
        it.clone()
    ));
    assert!(holds(
        json!({"z": {"ComparisonOperator": "NOT_CONTAINS", "Value": {"S": "p"}}}),
        None,
        it.clone()
    ));
    assert!(holds(
        json!({"a": {"ComparisonOperator": "BEGINS_WITH", "Value": {"S": "x"}}}),
        None,
        it.clone()
    ));
    assert!(holds(
        json!({"z": {"ComparisonOperator": "NE", "Value": {"S": "x"}}}),
        None,
        it.clone()
    ));
    // AND by default, OR on request.
    let mixed = json!({"a": {"Value": {"S": "x"}}, "n": {"Value": {"N": "6"}}});
    assert!(!holds(mixed.clone(), None, it.clone()));
    assert!(!holds(mixed.clone(), Some("AND"), it.clone()));
    assert!(holds(mixed, Some("OR"), it));
    assert_eq!(
        expected_to_condition(&json!({}), None).expect("empty"),
        None
    );
}

#[test]
fn t20_expected_errors() {
    let e = |v: serde_json::Value| message(expected_to_condition(&v, None));
    assert_eq!(
        e(json!({"a": {}})),
        "One or more parameter values were invalid: Value must be provided when Exists is null for Attribute: a"
    );
    assert_eq!(
        e(json!({"a": {"Exists": true}})),
        "One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: a"
    );
    assert_eq!(
        e(json!({"a": {"Exists": false, "Value": {"S": "a"}}})),
        "One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: a"
    );
    assert_eq!(
        e(json!({"a": {"Value": {"S": "a"}, "AttributeValueList": [{"S": "a"}]}})),
        "One or more parameter values were invalid: Value and AttributeValueList cannot be used together for Attribute: a"
    );
    assert_eq!(
        e(json!({"a": {"Exists": true, "ComparisonOperator": "EQ", "Value": {"S": "a"}}})),
        "One or more parameter values were invalid: Exists and ComparisonOperator cannot be used together for Attribute: a"
    );
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "EQ"}})),
        "One or more parameter values were invalid: Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"
    );
    assert_eq!(
        e(json!({"a": {"AttributeValueList": [{"S": "a"}]}})),
        "One or more parameter values were invalid: AttributeValueList can only be used with a ComparisonOperator for Attribute: a"
    );
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "a"}]}})),
        "One or more parameter values were invalid: Invalid number of argument(s) for the BETWEEN ComparisonOperator"
    );
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "b"}, {"N": "1"}]}})),
        "One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type"
    );
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "b"}, {"S": "a"}]}})),
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    );
    assert!(
        e(json!({"a": {"ComparisonOperator": "XX", "Value": {"S": "a"}}}))
            .contains("Member must satisfy enum value set")
    );
    assert!(message(expected_to_condition(
        &json!({"a": {"Value": {"S": "a"}}}),
        Some("XOR")
    ))
    .contains("conditionalOperator"));
    // Value decoding keeps DynamoDB's exception kinds.
    let ser =
        expected_to_condition(&json!({"a": {"Value": {"S": 1}}}), None).expect_err("bad value");
    assert_eq!(ser.kind, ErrorKind::Serialization);
    let val =
        expected_to_condition(&json!({"a": {"Value": {"SS": []}}}), None).expect_err("bad value");
    assert_eq!(val.kind, ErrorKind::Validation);
    assert_eq!(
        expected_to_condition(&json!([]), None)
            .expect_err("shape")
            .kind,
        ErrorKind::Serialization
    );
}

#[test]
fn t10_filters() {
    let it = item(json!({"a": {"S": "abc"}, "n": {"N": "5"}, "l": {"L": [{"N": "1"}]}}));
    let f = |v: serde_json::Value, op: Option<&str>| {
        filter_to_condition(&v, op)
            .expect("translate")
            .expect("condition")
            .evaluate(&it)
            .expect("evaluate")
    };
    assert!(f(
        json!({"a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "abc"}]}}),
        None
    ));
    assert!(f(
        json!({"a": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "ab"}]}}),
        None
    ));
    assert!(f(
        json!({"l": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"N": "1"}]}}),
        None
    ));
    assert!(f(
        json!({"n": {"ComparisonOperator": "LE", "AttributeValueList": [{"N": "5"}]}, "z": {"ComparisonOperator": "NOT_NULL"}}),
        Some("OR")
    ));
    assert_eq!(
        message(crate::legacy::scan_filter_to_condition(&json!({"a": {}}), None)),
        "1 validation error detected: Value null at 'scanFilter.a.member.comparisonOperator' failed to satisfy constraint: Member must not be null"
    );
    let e = |v: serde_json::Value| message(filter_to_condition(&v, None));
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "NULL", "AttributeValueList": [{"S": "a"}]}})),
        "One or more parameter values were invalid: Invalid number of argument(s) for the NULL ComparisonOperator"
    );
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "LT", "AttributeValueList": [{"BOOL": true}]}})),
        "One or more parameter values were invalid: ComparisonOperator LT is not valid for BOOL AttributeValue type"
    );
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"N": "1"}]}})),
        "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"
    );
    assert_eq!(
        e(json!({"a": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"SS": ["a"]}]}})),
        "One or more parameter values were invalid: ComparisonOperator CONTAINS is not valid for SS AttributeValue type"
    );
}

#[test]
fn t10_key_conditions() {
    let preds = key_conditions_to_predicates(&json!({
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "2"}]}
    }))
    .expect("translate");
    assert_eq!(preds[0].op, KeyOp::Eq(s("x")));
    assert_eq!(preds[1].op, KeyOp::Between(n("1"), n("2")));
    assert_eq!(
        message(key_conditions_to_predicates(&json!({}))),
        "Conditions can be of length 1 or 2 only"
    );
    assert_eq!(
        message(key_conditions_to_predicates(
            &json!({"a": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "x"}]}})
        )),
        "Attempted conditional constraint is not an indexable operation"
    );
}

#[test]
fn t10_attribute_updates() {
    let update = attribute_updates_to_update(&json!({
        "p": {"Value": {"S": "x"}},
        "q": {"Action": "DELETE"},
        "r": {"Action": "ADD", "Value": {"N": "2"}},
        "s": {"Action": "DELETE", "Value": {"SS": ["a"]}},
        "l": {"Action": "ADD", "Value": {"L": [{"S": "z"}]}}
    }))
    .expect("translate");
    let mut it = item(
        json!({"q": {"S": "gone"}, "r": {"N": "1"}, "s": {"SS": ["a", "b"]}, "l": {"L": [{"S": "y"}]}}),
    );
    update.apply(&mut it).expect("apply");
    assert_eq!(
        serde_json::to_value(model::WireItem(&it)).expect("json"),
        json!({"p": {"S": "x"}, "r": {"N": "3"}, "s": {"SS": ["b"]}, "l": {"L": [{"S": "y"}, {"S": "z"}]}})
    );
    let mut empty = model::Item::new();
    update.apply(&mut empty).expect("apply to nothing");
    assert_eq!(
        empty.get("l"),
        Some(&model::AttributeValue::L(vec![s("z")]))
    );
    let e = |v: serde_json::Value| message(attribute_updates_to_update(&v));
    assert_eq!(
        e(json!({"a": {"Action": "PUT"}})),
        "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"
    );
    assert_eq!(
        e(json!({"a": {"Action": "DELETE", "Value": {"S": "x"}}})),
        "One or more parameter values were invalid: DELETE action with value is not supported for the type S"
    );
    assert_eq!(
        e(json!({"a": {"Action": "ADD", "Value": {"B": "YQ=="}}})),
        "One or more parameter values were invalid: ADD action is not supported for the type B"
    );
    assert!(e(json!({"a": {"Action": "MOVE", "Value": {"S": "x"}}})).contains("[ADD, PUT, DELETE]"));
}

#[test]
fn t10_attributes_to_get() {
    assert_eq!(
        attributes_to_get_to_projection(&json!(["a", "status"])).expect("translate"),
        vec![Path::attribute("a"), Path::attribute("status")]
    );
    assert_eq!(
        message(attributes_to_get_to_projection(&json!(["a", "a"]))),
        "One or more parameter values were invalid: Duplicate value in attribute name: a"
    );
    assert_eq!(
        attributes_to_get_to_projection(&json!("a"))
            .expect_err("shape")
            .kind,
        ErrorKind::Serialization
    );
}
