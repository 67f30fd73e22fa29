//! Printing expressions back to text that parses to the same tree.
//!
//! Values were inlined at parse time, so printed text refers to them through placeholders
//! (`:v0`, `:v1`, …); names that cannot be written bare (reserved words, keywords, anything
//! but `[A-Za-z_][A-Za-z0-9_]*`) become `#n0`, `#n1`, …. [`Rendered`] carries the text with the
//! two maps needed to parse it again; `Display` prints the text alone.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use model::AttributeValue;

use crate::ast::{Condition, Operand, SetOperand, SetValue, UpdateExpr};
use crate::bindings::Bindings;
use crate::path::{Path, PathElement};
use crate::reserved::is_reserved;

/// An expression printed as text, with the placeholders its text uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// The expression text.
    pub text: String,
    /// `#placeholder` → attribute name.
    pub names: BTreeMap<String, String>,
    /// `:placeholder` → value.
    pub values: BTreeMap<String, AttributeValue>,
}

impl Rendered {
    /// Bindings from which the text parses back.
    pub fn bindings(&self) -> Bindings {
        Bindings::new(self.names.clone(), self.values.clone())
    }

    fn name(&mut self, name: &str) {
        let bare = name
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !is_reserved(name);
        if bare {
            self.text.push_str(name);
            return;
        }
        let existing = self
            .names
            .iter()
            .find(|(_, v)| v.as_str() == name)
            .map(|(k, _)| k.clone());
        let key = existing.unwrap_or_else(|| {
            let key = format!("#n{}", self.names.len());
            self.names.insert(key.clone(), name.to_owned());
            key
        });
        self.text.push_str(&key);
    }

    fn value(&mut self, value: &AttributeValue) {
        let key = format!(":v{}", self.values.len());
        self.values.insert(key.clone(), value.clone());
        self.text.push_str(&key);
    }

    fn path(&mut self, path: &Path) {
        for (i, element) in path.elements().iter().enumerate() {
            match element {
                PathElement::Attribute(name) => {
                    if i > 0 {
                        self.text.push('.');
                    }
                    self.name(name);
                }
                PathElement::Index(n) => {
                    let _ = write!(self.text, "[{n}]");
                }
            }
        }
    }

    fn operand(&mut self, operand: &Operand) {
        match operand {
            Operand::Path(p) => self.path(p),
            Operand::Value(v) => self.value(v),
            Operand::Size(inner) => {
                self.text.push_str("size(");
                self.operand(inner);
                self.text.push(')');
            }
        }
    }

    fn call(&mut self, function: &str, args: &[&Operand]) {
        self.text.push_str(function);
        self.text.push('(');
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.operand(arg);
        }
        self.text.push(')');
    }

    /// Prints `cond`, parenthesized if its precedence is below `min`.
    fn condition(&mut self, cond: &Condition, min: u8) {
        let level = match cond {
            Condition::Or(..) => 1,
            Condition::And(..) => 2,
            Condition::Not(_) => 3,
            _ => 4,
        };
        if level < min {
            self.text.push('(');
        }
        match cond {
            Condition::Or(a, b) => {
                self.condition(a, 1);
                self.text.push_str(" OR ");
                self.condition(b, 2);
            }
            Condition::And(a, b) => {
                self.condition(a, 2);
                self.text.push_str(" AND ");
                self.condition(b, 3);
            }
            Condition::Not(inner) => {
                self.text.push_str("NOT ");
                self.condition(inner, 3);
            }
            Condition::Compare { op, left, right } => {
                self.operand(left);
                let _ = write!(self.text, " {} ", op.symbol());
                self.operand(right);
            }
            Condition::Between { operand, low, high } => {
                self.operand(operand);
                self.text.push_str(" BETWEEN ");
                self.operand(low);
                self.text.push_str(" AND ");
                self.operand(high);
            }
            Condition::In { operand, list } => {
                self.operand(operand);
                self.text.push_str(" IN (");
                for (i, candidate) in list.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    self.operand(candidate);
                }
                self.text.push(')');
            }
            Condition::AttributeExists(p) => {
                self.text.push_str("attribute_exists(");
                self.path(p);
                self.text.push(')');
            }
            Condition::AttributeNotExists(p) => {
                self.text.push_str("attribute_not_exists(");
                self.path(p);
                self.text.push(')');
            }
            Condition::AttributeType { operand, type_name } => {
                self.call("attribute_type", &[operand, type_name])
            }
            Condition::BeginsWith { operand, prefix } => {
                self.call("begins_with", &[operand, prefix])
            }
            Condition::Contains { operand, element } => self.call("contains", &[operand, element]),
        }
        if level < min {
            self.text.push(')');
        }
    }

    fn set_operand(&mut self, operand: &SetOperand) {
        match operand {
            SetOperand::Path(p) => self.path(p),
            SetOperand::Value(v) => self.value(v),
            SetOperand::IfNotExists(p, fallback) => {
                self.text.push_str("if_not_exists(");
                self.path(p);
                self.text.push_str(", ");
                self.set_operand(fallback);
                self.text.push(')');
            }
            SetOperand::ListAppend(a, b) => {
                self.text.push_str("list_append(");
                self.set_operand(a);
                self.text.push_str(", ");
                self.set_operand(b);
                self.text.push(')');
            }
        }
    }

    fn update(&mut self, update: &UpdateExpr) {
        let clause = |r: &mut Rendered, keyword: &str, first: &mut bool| {
            if !r.text.is_empty() {
                r.text.push(' ');
            }
            r.text.push_str(keyword);
            r.text.push(' ');
            *first = true;
        };
        let mut first = true;
        if !update.set.is_empty() {
            clause(self, "SET", &mut first);
            for action in &update.set {
                if !std::mem::take(&mut first) {
                    self.text.push_str(", ");
                }
                self.path(&action.path);
                self.text.push_str(" = ");
                match &action.value {
                    SetValue::Operand(o) => self.set_operand(o),
                    SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
                        self.set_operand(a);
                        self.text
                            .push_str(if matches!(action.value, SetValue::Plus(..)) {
                                " + "
                            } else {
                                " - "
                            });
                        self.set_operand(b);
                    }
                }
            }
        }
        if !update.remove.is_empty() {
            clause(self, "REMOVE", &mut first);
            for path in &update.remove {
                if !std::mem::take(&mut first) {
                    self.text.push_str(", ");
                }
                self.path(path);
            }
        }
        for (keyword, actions) in [
            (
                "ADD",
                update
                    .add
                    .iter()
                    .map(|a| (&a.path, &a.value))
                    .collect::<Vec<_>>(),
            ),
            (
                "DELETE",
                update.delete.iter().map(|a| (&a.path, &a.value)).collect(),
            ),
        ] {
            if actions.is_empty() {
                continue;
            }
            clause(self, keyword, &mut first);
            for (path, value) in actions {
                if !std::mem::take(&mut first) {
                    self.text.push_str(", ");
                }
                self.path(path);
                self.text.push(' ');
                self.value(value);
            }
        }
    }
}

impl Condition {
    /// The condition as re-parsable text with its placeholders.
    pub fn render(&self) -> Rendered {
        let mut r = Rendered::default();
        r.condition(self, 0);
        r
    }
}

impl UpdateExpr {
    /// The update as re-parsable text with its placeholders.
    pub fn render(&self) -> Rendered {
        let mut r = Rendered::default();
        r.update(self);
        r
    }
}

/// Renders a projection (`a, b.c[1]`) with its name placeholders.
pub fn render_projection(paths: &[Path]) -> Rendered {
    let mut r = Rendered::default();
    for (i, path) in paths.iter().enumerate() {
        if i > 0 {
            r.text.push_str(", ");
        }
        r.path(path);
    }
    r
}

/// The text of [`Condition::render`]; values appear as `:vN` placeholders.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render().text)
    }
}

/// The text of [`UpdateExpr::render`]; values appear as `:vN` placeholders.
impl fmt::Display for UpdateExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render().text)
    }
}

/// Standard base64, for binary values in messages.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ALPHABET[index]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
