//! Document paths: `a.b[2].c`, with names already resolved from `#placeholders`.

use std::fmt;

use model::{AttributeValue, Item};
use serde::{Deserialize, Serialize};

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PathElement {
    /// A map member (or, first in a path, a top-level attribute).
    Attribute(String),
    /// A list element, `[n]`.
    Index(usize),
}

/// A document path. The first element is always an [`PathElement::Attribute`] when produced
/// by the parsers of this crate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// A path to one top-level attribute.
    pub fn attribute(name: impl Into<String>) -> Self {
        Path(vec![PathElement::Attribute(name.into())])
    }

    /// The elements, first to last.
    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }

    /// The top-level attribute this path starts at, if it starts with a name.
    pub fn top(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathElement::Attribute(name)) => Some(name),
            _ => None,
        }
    }

    /// Whether the path is one top-level attribute.
    pub fn is_top_level(&self) -> bool {
        self.0.len() == 1 && self.top().is_some()
    }

    /// Whether `self` is a prefix of `other` (or equal to it).
    pub fn is_prefix_of(&self, other: &Path) -> bool {
        self.0.len() <= other.0.len() && other.0.iter().zip(&self.0).all(|(a, b)| a == b)
    }

    /// The value this path designates in `item`, if there is one.
    pub fn get<'a>(&self, item: &'a Item) -> Option<&'a AttributeValue> {
        let (first, rest) = self.0.split_first()?;
        let PathElement::Attribute(name) = first else {
            return None;
        };
        let mut current = item.get(name)?;
        for element in rest {
            current = step(current, element)?;
        }
        Some(current)
    }
}

/// One step down from a value, if the value has that member or element.
pub(crate) fn step<'a>(
    value: &'a AttributeValue,
    element: &PathElement,
) -> Option<&'a AttributeValue> {
    match (value, element) {
        (AttributeValue::M(map), PathElement::Attribute(name)) => map.get(name),
        (AttributeValue::L(list), PathElement::Index(i)) => list.get(*i),
        _ => None,
    }
}

/// DynamoDB's form in error messages: `[a, b, [2], c]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, element) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match element {
                PathElement::Attribute(name) => f.write_str(name)?,
                PathElement::Index(n) => write!(f, "[{n}]")?,
            }
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_display_and_lookup() {
        let p = Path(vec![
            PathElement::Attribute("a".into()),
            PathElement::Index(1),
            PathElement::Attribute("b".into()),
        ]);
        assert_eq!(p.to_string(), "[a, [1], b]");
        let mut inner = std::collections::BTreeMap::new();
        inner.insert("b".to_string(), AttributeValue::Bool(true));
        let mut item = Item::new();
        item.insert(
            "a".into(),
            AttributeValue::L(vec![AttributeValue::Null, AttributeValue::M(inner)]),
        );
        assert_eq!(p.get(&item), Some(&AttributeValue::Bool(true)));
        assert_eq!(Path::attribute("zz").get(&item), None);
        assert!(Path::attribute("a").is_prefix_of(&p));
        assert!(!p.is_prefix_of(&Path::attribute("a")));
    }
}
