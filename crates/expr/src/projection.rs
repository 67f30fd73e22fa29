//! Projection expressions: which attributes (or parts of attributes) a read returns.

use std::collections::BTreeMap;

use model::{AttributeValue, Item};

use crate::error::ExprError;
use crate::lexer::Tok;
use crate::parser::{check_paths, Parser};
use crate::path::{Path, PathElement};

impl Parser<'_> {
    /// Parses `path, path, …`.
    pub(crate) fn parse_projection_expression(mut self) -> Result<Vec<Path>, ExprError> {
        let mut paths = vec![self.parse_path(false)?];
        while *self.tok() == Tok::Comma {
            self.advance();
            paths.push(self.parse_path(false)?);
        }
        let refs: Vec<&Path> = paths.iter().collect();
        check_paths(&mut self, &refs);
        self.finish()?;
        Ok(paths)
    }
}

/// Which parts of a value a projection keeps.
#[derive(Debug)]
enum Shape {
    Whole,
    Map(BTreeMap<String, Shape>),
    List(BTreeMap<usize, Shape>),
}

impl Shape {
    fn extract(&self, value: &AttributeValue) -> Option<AttributeValue> {
        match (self, value) {
            (Shape::Whole, v) => Some(v.clone()),
            (Shape::Map(children), AttributeValue::M(map)) => {
                let out: BTreeMap<String, AttributeValue> = children
                    .iter()
                    .filter_map(|(k, shape)| {
                        map.get(k)
                            .and_then(|v| shape.extract(v))
                            .map(|v| (k.clone(), v))
                    })
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::M(out))
            }
            (Shape::List(children), AttributeValue::L(list)) => {
                let out: Vec<AttributeValue> = children
                    .iter()
                    .filter_map(|(i, shape)| list.get(*i).and_then(|v| shape.extract(v)))
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::L(out))
            }
            _ => None,
        }
    }
}

/// Adds one path's elements after the first below `root`, creating maps or lists by what
/// each next element needs.
fn insert(root: &mut Shape, rest: &[PathElement]) {
    let mut node = root;
    for (i, element) in rest.iter().enumerate() {
        let next_is_index = matches!(rest.get(i + 1), Some(PathElement::Index(_)));
        let fresh = || {
            if next_is_index {
                Shape::List(BTreeMap::new())
            } else {
                Shape::Map(BTreeMap::new())
            }
        };
        node = match (node, element) {
            (Shape::Whole, _) => return,
            (Shape::Map(children), PathElement::Attribute(name)) => {
                children.entry(name.clone()).or_insert_with(fresh)
            }
            (Shape::List(children), PathElement::Index(n)) => {
                children.entry(*n).or_insert_with(fresh)
            }
            _ => return,
        };
    }
    *node = Shape::Whole;
}

/// The parts of `item` that `paths` designate, as DynamoDB returns them: a nested map keeps
/// only the projected members; a list keeps only the projected elements, in index order and
/// without gaps; paths that designate nothing contribute nothing.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut by_top: BTreeMap<&str, Vec<&[PathElement]>> = BTreeMap::new();
    for path in paths {
        if let Some((PathElement::Attribute(name), rest)) = path.elements().split_first() {
            by_top.entry(name.as_str()).or_default().push(rest);
        }
    }
    let mut out = Item::new();
    for (name, rests) in by_top {
        let Some(value) = item.get(name) else {
            continue;
        };
        if rests.iter().any(|r| r.is_empty()) {
            out.insert(name.to_owned(), value.clone());
            continue;
        }
        let first_is_index = matches!(
            rests.first().and_then(|r| r.first()),
            Some(PathElement::Index(_))
        );
        let mut root = if first_is_index {
            Shape::List(BTreeMap::new())
        } else {
            Shape::Map(BTreeMap::new())
        };
        for rest in &rests {
            insert(&mut root, rest);
        }
        if let Some(v) = root.extract(value) {
            out.insert(name.to_owned(), v);
        }
    }
    out
}
