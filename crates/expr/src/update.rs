//! Parsing update expressions: `SET`, `REMOVE`, `ADD` and `DELETE` clauses, each at most once,
//! in any order.

use model::AttributeValue;

use crate::ast::{AddAction, DeleteAction, SetAction, SetOperand, SetValue, UpdateExpr};
use crate::error::ExprError;
use crate::lexer::Tok;
use crate::parser::{check_paths, Category, Parser};
use crate::path::Path;

/// The clause keywords, in the order `UpdateExpr` holds them.
const CLAUSES: [&str; 4] = ["SET", "REMOVE", "ADD", "DELETE"];

/// DynamoDB's long type names, used by the ADD and DELETE operand checks.
fn long_type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "STRING",
        AttributeValue::N(_) => "NUMBER",
        AttributeValue::B(_) => "BINARY",
        AttributeValue::Bool(_) => "BOOLEAN",
        AttributeValue::Null => "NULL",
        AttributeValue::M(_) => "MAP",
        AttributeValue::L(_) => "LIST",
        AttributeValue::Ss(_) => "STRING_SET",
        AttributeValue::Ns(_) => "NUMBER_SET",
        AttributeValue::Bs(_) => "BINARY_SET",
    }
}

fn is_set(value: &AttributeValue) -> bool {
    matches!(
        value,
        AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
    )
}

/// The type a SET operand is known to have at parse time, if any.
fn static_type(operand: &SetOperand) -> Option<&'static str> {
    match operand {
        SetOperand::Value(v) => Some(v.type_name()),
        SetOperand::ListAppend(..) => Some("L"),
        SetOperand::Path(_) | SetOperand::IfNotExists(..) => None,
    }
}

impl Parser<'_> {
    /// Parses a whole update expression.
    pub(crate) fn parse_update_expression(mut self) -> Result<UpdateExpr, ExprError> {
        let mut expr = UpdateExpr::default();
        let mut seen = [false; 4];
        let mut targets: Vec<Path> = Vec::new();
        while *self.tok() != Tok::Eof {
            let Some(clause) = CLAUSES.iter().position(|k| self.at_keyword(k)) else {
                return Err(self.syntax_error());
            };
            if seen[clause] {
                self.defer(
                    Category::Section,
                    format!(
                        "The \"{}\" section can only be used once in an update expression;",
                        CLAUSES[clause]
                    ),
                );
            }
            seen[clause] = true;
            self.advance();
            loop {
                let path = self.parse_path(true)?;
                targets.push(path.clone());
                match clause {
                    0 => {
                        self.expect(Tok::Eq)?;
                        let value = self.parse_set_value()?;
                        expr.set.push(SetAction { path, value });
                    }
                    1 => expr.remove.push(path),
                    2 => {
                        let value = self.parse_value()?;
                        if !matches!(value, AttributeValue::N(_)) && !is_set(&value) {
                            self.clause_operand_type("ADD", &value);
                        }
                        expr.add.push(AddAction { path, value });
                    }
                    _ => {
                        let value = self.parse_value()?;
                        if !is_set(&value) {
                            self.clause_operand_type("DELETE", &value);
                        }
                        expr.delete.push(DeleteAction { path, value });
                    }
                }
                if *self.tok() != Tok::Comma {
                    break;
                }
                self.advance();
            }
        }
        let refs: Vec<&Path> = targets.iter().collect();
        check_paths(&mut self, &refs);
        self.finish()?;
        Ok(expr)
    }

    fn clause_operand_type(&mut self, operator: &str, value: &AttributeValue) {
        self.defer(
            Category::Node,
            format!(
                "Incorrect operand type for operator or function; operator: {operator}, operand type: {}",
                long_type_name(value)
            ),
        );
    }

    fn parse_set_value(&mut self) -> Result<SetValue, ExprError> {
        let first = self.parse_set_operand()?;
        let operator = match self.tok() {
            Tok::Plus => "+",
            Tok::Minus => "-",
            _ => return Ok(SetValue::Operand(first)),
        };
        self.advance();
        let second = self.parse_set_operand()?;
        for operand in [&first, &second] {
            if let Some(t) = static_type(operand) {
                if t != "N" {
                    self.function_operand_type(operator, t);
                }
            }
        }
        Ok(if operator == "+" {
            SetValue::Plus(first, second)
        } else {
            SetValue::Minus(first, second)
        })
    }

    fn function_operand_type(&mut self, function: &str, type_name: &str) {
        self.defer(
            Category::Node,
            format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
            ),
        );
    }

    fn parse_set_operand(&mut self) -> Result<SetOperand, ExprError> {
        match self.tok() {
            Tok::ValuePlaceholder => Ok(SetOperand::Value(self.parse_value()?)),
            Tok::Name if self.at_function() => self.parse_update_function(),
            Tok::Name | Tok::NamePlaceholder => Ok(SetOperand::Path(self.parse_path(false)?)),
            _ => Err(self.syntax_error()),
        }
    }

    fn parse_update_function(&mut self) -> Result<SetOperand, ExprError> {
        let name = self.current_text();
        let args = self.nested(|p| {
            p.advance();
            p.expect(Tok::LParen)?;
            let mut args = vec![p.parse_set_operand()?];
            while *p.tok() == Tok::Comma {
                p.advance();
                args.push(p.parse_set_operand()?);
            }
            p.expect(Tok::RParen)?;
            Ok(args)
        })?;
        let dummy = SetOperand::Value(AttributeValue::Null);
        match name {
            "if_not_exists" | "list_append" => {}
            "attribute_exists"
            | "attribute_not_exists"
            | "attribute_type"
            | "begins_with"
            | "contains"
            | "size" => {
                self.defer(
                    Category::Function,
                    format!(
                        "The function is not allowed in an update expression; function: {name}"
                    ),
                );
                return Ok(dummy);
            }
            _ => {
                self.defer(
                    Category::Function,
                    format!("Invalid function name; function: {name}"),
                );
                return Ok(dummy);
            }
        }
        if args.len() != 2 {
            self.defer(
                Category::Node,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                    args.len()
                ),
            );
            return Ok(dummy);
        }
        let mut args = args.into_iter();
        let first = args
            .next()
            .unwrap_or(SetOperand::Value(AttributeValue::Null));
        let second = args
            .next()
            .unwrap_or(SetOperand::Value(AttributeValue::Null));
        if name == "if_not_exists" {
            let SetOperand::Path(path) = first else {
                self.defer(
                    Category::Node,
                    "Operator or function requires a document path; operator or function: if_not_exists",
                );
                return Ok(dummy);
            };
            return Ok(SetOperand::IfNotExists(path, Box::new(second)));
        }
        for operand in [&first, &second] {
            if let Some(t) = static_type(operand) {
                if t != "L" {
                    self.function_operand_type("list_append", t);
                }
            }
        }
        Ok(SetOperand::ListAppend(Box::new(first), Box::new(second)))
    }
}
