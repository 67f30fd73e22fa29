//! Feeds arbitrary UTF-8 to every expression parser: none may panic, whatever the input.
//! What parses is also evaluated, applied and printed back, and the printed text must parse
//! to the same tree.

#![no_main]

use std::collections::BTreeMap;

use expr::{
    parse_condition, parse_filter, parse_key_condition, parse_projection, parse_update, project,
    Bindings,
};
use libfuzzer_sys::fuzz_target;
use model::limits::EXPRESSION_BYTES_MAX;
use model::{AttributeValue, Item, Number};

fn bindings() -> Bindings {
    let names: BTreeMap<String, String> = [("#a", "a"), ("#b", "status"), ("#c", "x.y")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let values: BTreeMap<String, AttributeValue> = [
        (":s", AttributeValue::S("abc".into())),
        (":n", AttributeValue::N(Number::from_i64(7))),
        (":l", AttributeValue::L(vec![AttributeValue::Null])),
        (":ss", AttributeValue::Ss(vec!["p".into()])),
        (":t", AttributeValue::S("S".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Bindings::new(names, values)
}

fn item() -> Item {
    let mut item = Item::new();
    item.insert("a".into(), AttributeValue::N(Number::from_i64(1)));
    item.insert(
        "l".into(),
        AttributeValue::L(vec![
            AttributeValue::S("x".into()),
            AttributeValue::Bool(true),
        ]),
    );
    item.insert("m".into(), AttributeValue::M(item.clone()));
    item
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let b = bindings();
    let it = item();
    for parsed in [parse_condition(text, &b), parse_filter(text, &b)]
        .into_iter()
        .flatten()
    {
        let _ = parsed.evaluate(&it);
        let rendered = parsed.render();
        if rendered.text.len() > EXPRESSION_BYTES_MAX {
            // Printing spells placeholders and spaces out, so it may outgrow the limit.
            continue;
        }
        let again = parse_condition(&rendered.text, &rendered.bindings());
        assert_eq!(again.ok().as_ref(), Some(&parsed), "{}", rendered.text);
    }
    if let Ok(update) = parse_update(text, &b) {
        let mut copy = it.clone();
        let _ = update.apply(&mut copy);
        let _ = update.targets();
        let rendered = update.render();
        if rendered.text.len() <= EXPRESSION_BYTES_MAX {
            let again = parse_update(&rendered.text, &rendered.bindings());
            assert_eq!(again.ok().as_ref(), Some(&update), "{}", rendered.text);
        }
    }
    if let Ok(paths) = parse_projection(text, &b) {
        let _ = project(&it, &paths);
    }
    let _ = parse_key_condition(text, &b);
    let _ = b.check_unused();
});
