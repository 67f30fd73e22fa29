//! Property tests: printing a tree and parsing the text again gives the same tree, and
//! parsing arbitrary text never panics.

use model::{AttributeValue, Number};
use proptest::prelude::*;

use crate::ast::{
    AddAction, Comparator, Condition, DeleteAction, Operand, SetAction, SetOperand, SetValue,
    UpdateExpr,
};
use crate::condition::TYPE_NAMES;
use crate::render::render_projection;
use crate::{
    parse_condition, parse_key_condition, parse_projection, parse_update, Bindings, Path,
    PathElement,
};

fn number() -> impl Strategy<Value = AttributeValue> {
    any::<i64>().prop_map(|i| AttributeValue::N(Number::from_i64(i)))
}

fn string() -> impl Strategy<Value = AttributeValue> {
    "[a-z é#:]{0,6}".prop_map(AttributeValue::S)
}

fn scalar() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        number(),
        string(),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
    ]
}

fn string_set() -> impl Strategy<Value = AttributeValue> {
    prop::collection::btree_set("[a-z]{1,3}", 1..4)
        .prop_map(|s| AttributeValue::Ss(s.into_iter().collect()))
}

fn list() -> impl Strategy<Value = AttributeValue> {
    prop::collection::vec(scalar(), 0..3).prop_map(AttributeValue::L)
}

/// A path whose first name comes from `tops`; names may need placeholders.
fn path_from(tops: &'static [&'static str]) -> impl Strategy<Value = Path> {
    let element = prop_oneof![
        prop::sample::select(vec!["m", "n", "first.second", "AND", "size", "x y"])
            .prop_map(|n| PathElement::Attribute(n.to_owned())),
        (0usize..20).prop_map(PathElement::Index),
    ];
    (
        prop::sample::select(tops),
        prop::collection::vec(element, 0..3),
    )
        .prop_map(|(top, rest)| {
            let mut elements = vec![PathElement::Attribute(top.to_owned())];
            elements.extend(rest);
            Path(elements)
        })
}

const LEFT: &[&str] = &["a", "b", "status", "with-dash"];
const RIGHT: &[&str] = &["x", "y", "ZONE", "_u"];

fn leaf() -> impl Strategy<Value = Condition> {
    let left = || path_from(LEFT);
    let value = || prop_oneof![number(), string()];
    prop_oneof![
        (
            prop::sample::select(vec![
                Comparator::Eq,
                Comparator::Ne,
                Comparator::Lt,
                Comparator::Le,
                Comparator::Gt,
                Comparator::Ge
            ]),
            left(),
            prop_oneof![
                scalar().prop_map(Operand::Value),
                path_from(RIGHT).prop_map(Operand::Path),
                path_from(RIGHT).prop_map(|p| Operand::Size(Box::new(Operand::Path(p)))),
            ],
            any::<bool>(),
        )
            .prop_map(|(op, l, right, sized)| Condition::Compare {
                op,
                left: if sized {
                    Operand::Size(Box::new(Operand::Path(l)))
                } else {
                    Operand::Path(l)
                },
                right,
            }),
        (left(), any::<i64>(), any::<i64>()).prop_map(|(p, x, y)| Condition::Between {
            operand: Operand::Path(p),
            low: Operand::Value(AttributeValue::N(Number::from_i64(x.min(y)))),
            high: Operand::Value(AttributeValue::N(Number::from_i64(x.max(y)))),
        }),
        (left(), prop::collection::vec(value(), 1..5)).prop_map(|(p, list)| Condition::In {
            operand: Operand::Path(p),
            list: list.into_iter().map(Operand::Value).collect(),
        }),
        left().prop_map(Condition::AttributeExists),
        left().prop_map(Condition::AttributeNotExists),
        (left(), prop::sample::select(TYPE_NAMES.to_vec())).prop_map(|(p, t)| {
            Condition::AttributeType {
                operand: Operand::Path(p),
                type_name: Operand::Value(AttributeValue::S(t.to_owned())),
            }
        }),
        (left(), string()).prop_map(|(p, v)| Condition::BeginsWith {
            operand: Operand::Path(p),
            prefix: Operand::Value(v),
        }),
        (
            left(),
            prop_oneof![
                value().prop_map(Operand::Value),
                path_from(RIGHT).prop_map(Operand::Path)
            ]
        )
            .prop_map(|(p, e)| Condition::Contains {
                operand: Operand::Path(p),
                element: e,
            }),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    leaf().prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Condition::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Condition::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn set_operand(kind: u8) -> BoxedStrategy<SetOperand> {
    let typed = move || -> BoxedStrategy<AttributeValue> {
        match kind {
            0 => number().boxed(),
            1 => list().boxed(),
            _ => prop_oneof![scalar(), list(), string_set()].boxed(),
        }
    };
    let read = || path_from(&["p", "q", "reads"]);
    let base = prop_oneof![
        read().prop_map(SetOperand::Path),
        typed().prop_map(SetOperand::Value),
        (read(), typed())
            .prop_map(|(p, v)| SetOperand::IfNotExists(p, Box::new(SetOperand::Value(v)))),
    ];
    if kind == 0 {
        return base.boxed();
    }
    let lists = || {
        prop_oneof![
            read().prop_map(SetOperand::Path),
            list().prop_map(SetOperand::Value),
        ]
    };
    prop_oneof![
        3 => base,
        1 => (lists(), lists()).prop_map(|(a, b)| SetOperand::ListAppend(Box::new(a), Box::new(b))),
    ]
    .boxed()
}

fn set_value() -> impl Strategy<Value = SetValue> {
    prop_oneof![
        set_operand(2).prop_map(SetValue::Operand),
        (set_operand(0), set_operand(0)).prop_map(|(a, b)| SetValue::Plus(a, b)),
        (set_operand(0), set_operand(0)).prop_map(|(a, b)| SetValue::Minus(a, b)),
    ]
}

/// A target path: a distinct top-level name per action, so that no two paths overlap.
fn target(prefix: &str, i: usize, rest: &[PathElement]) -> Path {
    let mut elements = vec![PathElement::Attribute(format!("{prefix}{i}"))];
    elements.extend(rest.iter().cloned());
    Path(elements)
}

fn rest() -> impl Strategy<Value = Vec<PathElement>> {
    prop::collection::vec(
        prop_oneof![
            Just(PathElement::Attribute("k".to_owned())),
            (0usize..5).prop_map(PathElement::Index)
        ],
        0..2,
    )
}

fn update() -> impl Strategy<Value = UpdateExpr> {
    (
        prop::collection::vec((rest(), set_value()), 0..4),
        prop::collection::vec(rest(), 0..3),
        prop::collection::vec((rest(), prop_oneof![number(), string_set()]), 0..3),
        prop::collection::vec((rest(), string_set()), 0..3),
    )
        .prop_map(|(set, remove, add, delete)| UpdateExpr {
            set: set
                .into_iter()
                .enumerate()
                .map(|(i, (r, value))| SetAction {
                    path: target("s", i, &r),
                    value,
                })
                .collect(),
            remove: remove
                .iter()
                .enumerate()
                .map(|(i, r)| target("r", i, r))
                .collect(),
            add: add
                .into_iter()
                .enumerate()
                .map(|(i, (r, value))| AddAction {
                    path: target("ad", i, &r),
                    value,
                })
                .collect(),
            delete: delete
                .into_iter()
                .enumerate()
                .map(|(i, (r, value))| DeleteAction {
                    path: target("de", i, &r),
                    value,
                })
                .collect(),
        })
        .prop_filter("at least one action", |u| !u.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn t40_condition_round_trip(cond in condition()) {
        let rendered = cond.render();
        let bindings = rendered.bindings();
        let parsed = parse_condition(&rendered.text, &bindings);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&cond), "text: {} error: {:?}", rendered.text, parsed.as_ref().err());
        prop_assert!(bindings.check_unused().is_ok());
        prop_assert_eq!(cond.to_string(), rendered.text);
    }

    #[test]
    fn t40_update_round_trip(update in update()) {
        let rendered = update.render();
        let bindings = rendered.bindings();
        let parsed = parse_update(&rendered.text, &bindings);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&update), "text: {} error: {:?}", rendered.text, parsed.as_ref().err());
        prop_assert!(bindings.check_unused().is_ok());
    }

    #[test]
    fn t40_projection_round_trip(paths in prop::collection::vec(rest(), 1..5)) {
        let paths: Vec<Path> = paths.iter().enumerate().map(|(i, r)| target("p", i, r)).collect();
        let rendered = render_projection(&paths);
        let parsed = parse_projection(&rendered.text, &rendered.bindings());
        prop_assert_eq!(parsed.ok(), Some(paths));
    }

    #[test]
    fn t40_arbitrary_text_never_panics(text in "\\PC{0,80}", cond in condition()) {
        let bindings = Bindings::empty();
        let _ = parse_condition(&text, &bindings);
        let _ = parse_update(&text, &bindings);
        let _ = parse_projection(&text, &bindings);
        let _ = parse_key_condition(&text, &bindings);
        // Near misses of valid text: cut a rendered condition anywhere.
        let rendered = cond.render();
        let b = rendered.bindings();
        for cut in 0..rendered.text.len() {
            if let Some(prefix) = rendered.text.get(..cut) {
                let _ = parse_condition(prefix, &b);
                let _ = parse_key_condition(prefix, &b);
            }
        }
    }

    #[test]
    fn t40_token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "a", "b.c", "[1]", "#n", ":v", "(", ")", "=", "<>", "<", ">=", ",", "AND", "OR", "NOT",
        "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE", "size(", "attribute_exists(",
        "begins_with(", "contains(", "if_not_exists(", "list_append(", "+", "-", "status",
        "a = :v", "(a = :v)", "d <> :v", "e IN (:v, f)", "g BETWEEN :v AND h",
    ]), 0..40)) {
        let text = tokens.join(" ");
        let bindings = crate::tests::bind(&[("#n", "n")], &[(":v", AttributeValue::Null)]);
        if let Ok(cond) = parse_condition(&text, &bindings) {
            let r = cond.render();
            prop_assert_eq!(parse_condition(&r.text, &r.bindings()).ok(), Some(cond), "{}", text);
        }
        if let Ok(update) = parse_update(&text, &bindings) {
            let r = update.render();
            prop_assert_eq!(parse_update(&r.text, &r.bindings()).ok(), Some(update), "{}", text);
        }
        let _ = parse_projection(&text, &bindings);
        let _ = parse_key_condition(&text, &bindings);
    }
}
