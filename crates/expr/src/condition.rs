//! Parsing condition and filter expressions (and the general form of key conditions).
//!
//! Precedence, tightest first, as DynamoDB documents it: comparators, `IN`, `BETWEEN`,
//! functions, parentheses, `NOT`, `AND`, `OR`. A parenthesis at the start of a condition may
//! hold a condition or an operand (`(a) BETWEEN (b) AND (c)`), so the grammar parses a
//! [`Node`] that is either, and decides when it sees what follows.

use model::AttributeValue;

use crate::ast::{Comparator, Condition, Operand};
use crate::error::ExprError;
use crate::eval::compare_values;
use crate::lexer::Tok;
use crate::parser::{Category, Parser};
use crate::path::Path;

/// Most candidates of one `IN`.
pub const IN_OPERANDS_MAX: usize = 100;

/// Type names `attribute_type` accepts.
pub(crate) const TYPE_NAMES: [&str; 10] =
    ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

/// A parsed piece that is a condition or an operand until its context decides.
#[derive(Debug)]
enum Node {
    Cond {
        cond: Condition,
        paren: bool,
        /// The condition function it came from, if it is a bare call.
        function: Option<&'static str>,
    },
    Operand(OperandNode),
}

#[derive(Debug)]
struct OperandNode {
    operand: Operand,
    paren: bool,
    /// A bare `size(…)` call.
    size: bool,
    /// A stand-in for something already reported as an error.
    dummy: bool,
}

impl OperandNode {
    fn plain(operand: Operand) -> Self {
        OperandNode {
            operand,
            paren: false,
            size: false,
            dummy: false,
        }
    }

    fn dummy() -> Self {
        OperandNode {
            dummy: true,
            ..OperandNode::plain(Operand::Value(AttributeValue::Null))
        }
    }
}

fn dummy_condition() -> Condition {
    Condition::AttributeExists(Path::attribute(""))
}

/// The type name of a constant operand, for "Incorrect operand type" messages; `size(…)` is
/// a number.
fn constant_type(operand: &Operand) -> Option<&'static str> {
    match operand {
        Operand::Value(v) => Some(v.type_name()),
        Operand::Size(_) => Some("N"),
        Operand::Path(_) => None,
    }
}

impl Parser<'_> {
    /// Parses a whole condition expression.
    pub(crate) fn parse_condition_expression(mut self) -> Result<Condition, ExprError> {
        let node = self.parse_or()?;
        let cond = self.as_condition(node)?;
        self.finish()?;
        Ok(cond)
    }

    fn as_condition(&mut self, node: Node) -> Result<Condition, ExprError> {
        match node {
            Node::Cond { cond, .. } => Ok(cond),
            Node::Operand(op) if op.dummy => Ok(dummy_condition()),
            Node::Operand(op) if op.size && !op.paren => {
                self.misuse("size");
                Ok(dummy_condition())
            }
            Node::Operand(_) => Err(self.syntax_error()),
        }
    }

    fn misuse(&mut self, function: &str) {
        self.defer(
            Category::Misuse,
            format!(
                "The function is not allowed to be used this way in an expression; function: {function}"
            ),
        );
    }

    fn parse_or(&mut self) -> Result<Node, ExprError> {
        let mut left = self.parse_and()?;
        while self.at_keyword("OR") {
            self.operator()?;
            let l = self.as_condition(left)?;
            self.advance();
            let right = self.parse_and()?;
            let r = self.as_condition(right)?;
            left = Node::Cond {
                cond: Condition::Or(Box::new(l), Box::new(r)),
                paren: false,
                function: None,
            };
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Node, ExprError> {
        let mut left = self.parse_not()?;
        while self.at_keyword("AND") {
            self.operator()?;
            let l = self.as_condition(left)?;
            self.advance();
            let right = self.parse_not()?;
            let r = self.as_condition(right)?;
            left = Node::Cond {
                cond: Condition::And(Box::new(l), Box::new(r)),
                paren: false,
                function: None,
            };
        }
        Ok(left)
    }

    fn parse_not(&mut self) -> Result<Node, ExprError> {
        let mut nots = 0usize;
        while self.at_keyword("NOT") {
            self.operator()?;
            self.enter()?;
            self.advance();
            nots += 1;
        }
        let mut node = self.parse_predicate()?;
        if nots > 0 {
            let mut cond = self.as_condition(node)?;
            for _ in 0..nots {
                cond = Condition::Not(Box::new(cond));
                self.leave();
            }
            node = Node::Cond {
                cond,
                paren: false,
                function: None,
            };
        }
        Ok(node)
    }

    fn comparator(&self) -> Option<Comparator> {
        Some(match self.tok() {
            Tok::Eq => Comparator::Eq,
            Tok::Ne => Comparator::Ne,
            Tok::Lt => Comparator::Lt,
            Tok::Le => Comparator::Le,
            Tok::Gt => Comparator::Gt,
            Tok::Ge => Comparator::Ge,
            _ => return None,
        })
    }

    fn at_comparison(&self) -> bool {
        self.comparator().is_some() || self.at_keyword("BETWEEN") || self.at_keyword("IN")
    }

    fn parse_predicate(&mut self) -> Result<Node, ExprError> {
        let left = self.parse_primary()?;
        let left = match left {
            Node::Cond {
                function: Some(name),
                ..
            } if self.at_comparison() => {
                self.misuse(name);
                OperandNode::dummy()
            }
            Node::Cond { .. } => return Ok(left),
            Node::Operand(op) => op,
        };
        if let Some(op) = self.comparator() {
            self.operator()?;
            self.advance();
            let right = self.parse_operand()?;
            self.check_distinct(op.symbol(), &left.operand, [&right]);
            return Ok(self.cond(Condition::Compare {
                op,
                left: left.operand,
                right,
            }));
        }
        if self.at_keyword("BETWEEN") {
            self.operator()?;
            self.advance();
            let low = self.parse_operand()?;
            self.expect_keyword("AND")?;
            let high = self.parse_operand()?;
            self.check_distinct("BETWEEN", &left.operand, [&low, &high]);
            self.check_between_bounds(&low, &high);
            return Ok(self.cond(Condition::Between {
                operand: left.operand,
                low,
                high,
            }));
        }
        if self.at_keyword("IN") {
            self.operator()?;
            self.advance();
            self.expect(Tok::LParen)?;
            let mut list = vec![self.parse_operand()?];
            while *self.tok() == Tok::Comma {
                self.advance();
                list.push(self.parse_operand()?);
            }
            self.expect(Tok::RParen)?;
            self.check_distinct("IN", &left.operand, list.iter());
            if list.len() > IN_OPERANDS_MAX {
                self.defer(
                    Category::Node,
                    format!(
                        "The IN operator is provided with too many operands; number of operands: {}",
                        list.len()
                    ),
                );
            }
            return Ok(self.cond(Condition::In {
                operand: left.operand,
                list,
            }));
        }
        Ok(Node::Operand(left))
    }

    fn cond(&self, cond: Condition) -> Node {
        Node::Cond {
            cond,
            paren: false,
            function: None,
        }
    }

    /// A condition-position primary: parentheses (around a condition or an operand), a
    /// function call, a path or a value.
    fn parse_primary(&mut self) -> Result<Node, ExprError> {
        if *self.tok() == Tok::LParen {
            let inner = self.nested(|p| {
                p.advance();
                let inner = p.parse_or()?;
                p.expect(Tok::RParen)?;
                Ok(inner)
            })?;
            return Ok(match inner {
                Node::Cond { cond, paren, .. } => {
                    if paren {
                        self.redundant();
                    }
                    Node::Cond {
                        cond,
                        paren: true,
                        function: None,
                    }
                }
                Node::Operand(mut op) => {
                    if op.paren {
                        self.redundant();
                    }
                    op.paren = true;
                    Node::Operand(op)
                }
            });
        }
        if self.at_function() {
            return self.parse_function();
        }
        Ok(Node::Operand(self.parse_operand_atom()?))
    }

    fn redundant(&mut self) {
        self.defer(
            Category::RedundantParens,
            "The expression has redundant parentheses;",
        );
    }

    /// A path or a value.
    fn parse_operand_atom(&mut self) -> Result<OperandNode, ExprError> {
        match self.tok() {
            Tok::ValuePlaceholder => Ok(OperandNode::plain(Operand::Value(self.parse_value()?))),
            Tok::Name | Tok::NamePlaceholder => {
                Ok(OperandNode::plain(Operand::Path(self.parse_path(false)?)))
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// An operand position: parentheses around an operand, `size(…)`, a path or a value.
    fn parse_operand_node(&mut self) -> Result<OperandNode, ExprError> {
        if *self.tok() == Tok::LParen {
            let mut inner = self.nested(|p| {
                p.advance();
                let inner = p.parse_operand_node()?;
                p.expect(Tok::RParen)?;
                Ok(inner)
            })?;
            if inner.paren {
                self.redundant();
            }
            inner.paren = true;
            return Ok(inner);
        }
        if self.at_function() {
            return Ok(match self.parse_function()? {
                Node::Operand(op) => op,
                Node::Cond { function, .. } => {
                    self.misuse(function.unwrap_or("unknown"));
                    OperandNode::dummy()
                }
            });
        }
        self.parse_operand_atom()
    }

    fn parse_operand(&mut self) -> Result<Operand, ExprError> {
        Ok(self.parse_operand_node()?.operand)
    }

    /// `name(args…)`, the current token being the name.
    fn parse_function(&mut self) -> Result<Node, ExprError> {
        let name = self.current_text();
        let args = self.nested(|p| {
            p.advance();
            p.expect(Tok::LParen)?;
            let mut args = vec![p.parse_operand()?];
            while *p.tok() == Tok::Comma {
                p.advance();
                args.push(p.parse_operand()?);
            }
            p.expect(Tok::RParen)?;
            Ok(args)
        })?;
        let (known, arity): (&'static str, usize) = match name {
            "attribute_exists" => ("attribute_exists", 1),
            "attribute_not_exists" => ("attribute_not_exists", 1),
            "attribute_type" => ("attribute_type", 2),
            "begins_with" => ("begins_with", 2),
            "contains" => ("contains", 2),
            "size" => ("size", 1),
            "if_not_exists" | "list_append" => {
                self.defer(
                    Category::Function,
                    format!(
                        "The function is not allowed in a condition expression; function: {name}"
                    ),
                );
                return Ok(Node::Operand(OperandNode::dummy()));
            }
            _ => {
                self.defer(
                    Category::Function,
                    format!("Invalid function name; function: {name}"),
                );
                return Ok(Node::Operand(OperandNode::dummy()));
            }
        };
        let function_cond = |cond: Condition| Node::Cond {
            cond,
            paren: false,
            function: Some(known),
        };
        if args.len() != arity {
            self.defer(
                Category::Node,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {known}, number of operands: {}",
                    args.len()
                ),
            );
            return Ok(if known == "size" {
                Node::Operand(OperandNode {
                    size: true,
                    ..OperandNode::dummy()
                })
            } else {
                function_cond(dummy_condition())
            });
        }
        let mut args = args.into_iter();
        let first = args.next().unwrap_or(Operand::Value(AttributeValue::Null));
        let second = args.next().unwrap_or(Operand::Value(AttributeValue::Null));
        Ok(match known {
            "attribute_exists" | "attribute_not_exists" => {
                let path = self.require_path(known, first);
                function_cond(if known == "attribute_exists" {
                    Condition::AttributeExists(path)
                } else {
                    Condition::AttributeNotExists(path)
                })
            }
            "attribute_type" => {
                if let Some(t) = constant_type(&second) {
                    if t != "S" {
                        self.operand_type(known, t);
                    } else if let Operand::Value(AttributeValue::S(name)) = &second {
                        if !TYPE_NAMES.contains(&name.as_str()) {
                            self.defer(
                                Category::Node,
                                format!(
                                    "Invalid attribute type name found; type: {name}, valid types: {{{}}}",
                                    TYPE_NAMES.join(",")
                                ),
                            );
                        }
                    }
                }
                self.check_distinct(known, &first, [&second]);
                function_cond(Condition::AttributeType {
                    operand: first,
                    type_name: second,
                })
            }
            "begins_with" => {
                for arg in [&first, &second] {
                    if let Some(t) = constant_type(arg) {
                        if t != "S" && t != "B" {
                            self.operand_type(known, t);
                        }
                    }
                }
                self.check_distinct(known, &first, [&second]);
                function_cond(Condition::BeginsWith {
                    operand: first,
                    prefix: second,
                })
            }
            "contains" => {
                self.check_distinct(known, &first, [&second]);
                function_cond(Condition::Contains {
                    operand: first,
                    element: second,
                })
            }
            _ => {
                if let Some(t) = constant_type(&first) {
                    if matches!(t, "N" | "BOOL" | "NULL") {
                        self.operand_type(known, t);
                    }
                }
                Node::Operand(OperandNode {
                    size: true,
                    ..OperandNode::plain(Operand::Size(Box::new(first)))
                })
            }
        })
    }

    fn require_path(&mut self, function: &str, operand: Operand) -> Path {
        match operand {
            Operand::Path(path) => path,
            _ => {
                self.defer(
                    Category::Node,
                    format!(
                        "Operator or function requires a document path; operator or function: {function}"
                    ),
                );
                Path::attribute("")
            }
        }
    }

    fn operand_type(&mut self, function: &str, type_name: &str) {
        self.defer(
            Category::Node,
            format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
            ),
        );
    }

    /// DynamoDB rejects `a = a` and the like: the first operand, if a path, must differ from
    /// every other operand.
    fn check_distinct<'b>(
        &mut self,
        operator: &str,
        first: &Operand,
        rest: impl IntoIterator<Item = &'b Operand>,
    ) {
        let Operand::Path(path) = first else {
            return;
        };
        if rest.into_iter().any(|o| o == first) {
            self.defer(
                Category::Node,
                format!(
                    "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {path}"
                ),
            );
        }
    }

    /// Constant BETWEEN bounds must have one type and be in order.
    fn check_between_bounds(&mut self, low: &Operand, high: &Operand) {
        let (Operand::Value(lo), Operand::Value(hi)) = (low, high) else {
            return;
        };
        let scalar = |v: &AttributeValue| {
            matches!(
                v,
                AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
            )
        };
        if !scalar(lo) || !scalar(hi) {
            return;
        }
        if lo.type_name() != hi.type_name() {
            self.defer(
                Category::Node,
                format!(
                    "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {{{}}}, upper bound operand: AttributeValue: {{{}}}",
                    short_value(lo),
                    short_value(hi)
                ),
            );
        } else if compare_values(lo, hi) == Some(std::cmp::Ordering::Greater) {
            self.defer(
                Category::Node,
                format!(
                    "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{{}}}, upper bound operand: AttributeValue: {{{}}}",
                    short_value(lo),
                    short_value(hi)
                ),
            );
        }
    }
}

/// `N:1`, `S:abc`: how DynamoDB shows a scalar in messages.
pub(crate) fn short_value(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => format!("S:{s}"),
        AttributeValue::N(n) => format!("N:{n}"),
        AttributeValue::B(b) => format!("B:{}", crate::render::base64(b)),
        other => other.type_name().to_owned(),
    }
}
