//! The parser core shared by every expression kind: the token cursor, DynamoDB's syntax
//! error context, document paths, placeholders, and the ordering of semantic errors.
//!
//! DynamoDB reports a syntax error before anything else; after that, semantic errors come
//! in a fixed order of categories (redundant parentheses, then function names, then misused
//! functions, then reserved words, …) and, within a category, the first one found in the
//! text. The parser therefore records the first error of each [`Category`] and keeps going,
//! and [`Parser::finish`] reports the most important one.

use std::collections::BTreeSet;

use model::limits::EXPRESSION_BYTES_MAX;
use model::AttributeValue;

use crate::bindings::Bindings;
use crate::error::{ExprError, ExpressionKind};
use crate::lexer::{tokenize, Tok, Token};
use crate::path::{Path, PathElement};
use crate::reserved::is_reserved;

/// Deepest nesting of parentheses, NOTs and function calls accepted; deeper is a syntax error.
/// DynamoDB accepts whatever fits in 4 KB and 300 operators (`a<b OR (a<b OR (…))` 149 levels
/// deep, 299 NOTs), so this only backs up the length limit. The recursion it allows does not
/// depend on the thread's stack: [`Parser::nested`] adds stack segments as needed.
pub const NESTING_DEPTH_MAX: usize = 2048;

/// Most operators (comparisons, BETWEEN, IN, AND, OR, NOT; not function calls) in one
/// condition, filter or key-condition expression, as DynamoDB counts them.
pub const OPERATORS_MAX: usize = 300;

/// Stack left below which a nested parse gets a fresh segment, and that segment's size.
const STACK_RED_ZONE_BYTES: usize = 128 * 1024;
const STACK_SEGMENT_BYTES: usize = 2 * 1024 * 1024;

/// Most elements in one document path (`a.b[1]` has three).
pub const PATH_ELEMENTS_MAX: usize = 32;

/// Categories of semantic errors, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    RedundantParens = 0,
    Function = 1,
    Misuse = 2,
    Reserved = 3,
    Section = 4,
    TargetName = 5,
    Overlap = 6,
    Conflict = 7,
    Node = 8,
}

const CATEGORIES: usize = 9;

/// The grammar's own keywords: never attribute names where a path starts.
const CONDITION_KEYWORDS: [&str; 5] = ["AND", "OR", "NOT", "BETWEEN", "IN"];
const UPDATE_KEYWORDS: [&str; 4] = ["SET", "REMOVE", "ADD", "DELETE"];

/// Parsing state for one expression.
#[derive(Debug)]
pub(crate) struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    pub kind: ExpressionKind,
    bindings: &'a Bindings,
    pub depth: usize,
    /// Operators seen so far (see [`OPERATORS_MAX`]).
    operators: usize,
    errors: [Option<String>; CATEGORIES],
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl<'a> Parser<'a> {
    /// A parser over `text`, after DynamoDB's emptiness and length checks.
    pub fn new(
        text: &'a str,
        kind: ExpressionKind,
        bindings: &'a Bindings,
    ) -> Result<Self, ExprError> {
        if text.len() > EXPRESSION_BYTES_MAX {
            return Err(ExprError::invalid(
                kind,
                format!(
                    "Expression size has exceeded the maximum allowed size; expression size: {}",
                    text.len()
                ),
            ));
        }
        let tokens = tokenize(text);
        if tokens.len() <= 1 {
            return Err(ExprError::invalid(kind, "The expression can not be empty;"));
        }
        Ok(Parser {
            text,
            tokens,
            pos: 0,
            kind,
            bindings,
            depth: 0,
            operators: 0,
            errors: Default::default(),
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        })
    }

    /// The current token.
    pub fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// The token `n` places ahead (the end token past the end).
    pub fn peek_at(&self, n: usize) -> &Token {
        let i = self.pos.saturating_add(n);
        self.tokens
            .get(i)
            .or_else(|| self.tokens.last())
            .unwrap_or(&EOF_TOKEN)
    }

    /// The current token's kind.
    pub fn tok(&self) -> &Tok {
        &self.peek().tok
    }

    /// The text of a token.
    pub fn text_of(&self, token: &Token) -> &'a str {
        self.text.get(token.start..token.end).unwrap_or("")
    }

    /// The current token's text.
    pub fn current_text(&self) -> &'a str {
        self.text_of(self.peek())
    }

    /// Moves past the current token.
    pub fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    /// Whether the current token is the keyword `keyword` (any case).
    pub fn at_keyword(&self, keyword: &str) -> bool {
        self.peek().tok == Tok::Name && self.current_text().eq_ignore_ascii_case(keyword)
    }

    /// Whether the current token is a name directly followed by `(`: a function call.
    pub fn at_function(&self) -> bool {
        self.peek().tok == Tok::Name && self.peek_at(1).tok == Tok::LParen
    }

    /// Whether the current token is one of this expression kind's grammar keywords.
    fn at_grammar_keyword(&self) -> bool {
        if self.peek().tok != Tok::Name {
            return false;
        }
        let text = self.current_text();
        CONDITION_KEYWORDS
            .iter()
            .any(|k| text.eq_ignore_ascii_case(k))
            || (self.kind == ExpressionKind::Update
                && UPDATE_KEYWORDS.iter().any(|k| text.eq_ignore_ascii_case(k)))
    }

    /// DynamoDB's syntax error at the current token:
    /// `Syntax error; token: "x", near: "previous x next"`.
    pub fn syntax_error(&self) -> ExprError {
        let token = self.peek();
        let shown = if token.tok == Tok::Eof {
            "<EOF>"
        } else {
            self.text_of(token)
        };
        let start = match self.pos.checked_sub(1).and_then(|p| self.tokens.get(p)) {
            Some(previous) => previous.start,
            None => token.start,
        };
        let end = if token.tok == Tok::Eof {
            self.text.len()
        } else {
            match self.tokens.get(self.pos + 1) {
                Some(next) if next.tok != Tok::Eof => next.end,
                _ => token.end,
            }
        };
        let near = self.text.get(start..end).unwrap_or("");
        ExprError::invalid(
            self.kind,
            format!("Syntax error; token: \"{shown}\", near: \"{near}\""),
        )
    }

    /// Consumes a token of kind `tok`, or fails with a syntax error.
    pub fn expect(&mut self, tok: Tok) -> Result<(), ExprError> {
        if *self.tok() == tok {
            self.advance();
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// Consumes the keyword `keyword`, or fails with a syntax error.
    pub fn expect_keyword(&mut self, keyword: &str) -> Result<(), ExprError> {
        if self.at_keyword(keyword) {
            self.advance();
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// Enters one level of nesting; too deep is a syntax error at the current token.
    pub fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > NESTING_DEPTH_MAX {
            return Err(self.syntax_error());
        }
        Ok(())
    }

    /// Leaves one level of nesting.
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Runs `f` one nesting level deeper ([`Parser::enter`]), on a fresh stack segment when
    /// the current one runs low, so that a deep but valid expression parses on any thread.
    pub fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ExprError>,
    ) -> Result<T, ExprError> {
        self.enter()?;
        let out = stacker::maybe_grow(STACK_RED_ZONE_BYTES, STACK_SEGMENT_BYTES, || f(self))?;
        self.leave();
        Ok(out)
    }

    /// Counts one operator; past [`OPERATORS_MAX`] the expression is refused as DynamoDB
    /// refuses it (with the count at which it stopped).
    pub fn operator(&mut self) -> Result<(), ExprError> {
        self.operators += 1;
        if self.operators > OPERATORS_MAX {
            return Err(ExprError::invalid(
                self.kind,
                format!(
                    "The expression contains too many operators; operator count: {}",
                    self.operators
                ),
            ));
        }
        Ok(())
    }

    /// Records a semantic error unless one of the same category came earlier.
    pub fn defer(&mut self, category: Category, detail: impl Into<String>) {
        let slot = &mut self.errors[category as usize];
        if slot.is_none() {
            *slot = Some(detail.into());
        }
    }

    /// Ends the parse: trailing tokens are a syntax error; then the most important recorded
    /// semantic error, if any; otherwise the placeholders used are recorded in the bindings.
    pub fn finish(self) -> Result<(), ExprError> {
        if *self.tok() != Tok::Eof {
            return Err(self.syntax_error());
        }
        if let Some(detail) = self.errors.iter().flatten().next() {
            return Err(ExprError::invalid(self.kind, detail));
        }
        self.bindings.mark_used(&self.used_names, &self.used_values);
        Ok(())
    }

    /// Parses a document path at the current token. `target` says whether it is written by an
    /// update (whose undefined names DynamoDB reports before other errors).
    pub fn parse_path(&mut self, target: bool) -> Result<Path, ExprError> {
        if self.at_grammar_keyword() {
            return Err(self.syntax_error());
        }
        let first = self.path_name(target)?;
        let mut elements = vec![PathElement::Attribute(first)];
        loop {
            match self.tok() {
                Tok::Dot => {
                    self.advance();
                    let name = self.path_name(target)?;
                    elements.push(PathElement::Attribute(name));
                }
                Tok::LBracket => {
                    self.advance();
                    if *self.tok() != Tok::Int {
                        return Err(self.syntax_error());
                    }
                    let index: usize = self
                        .current_text()
                        .parse()
                        .map_err(|_| self.syntax_error())?;
                    self.advance();
                    self.expect(Tok::RBracket)?;
                    elements.push(PathElement::Index(index));
                }
                _ => {
                    if elements.len() > PATH_ELEMENTS_MAX {
                        self.defer(
                            Category::Node,
                            format!(
                                "The document path has too many nesting levels; nesting levels: {}",
                                elements.len()
                            ),
                        );
                    }
                    return Ok(Path(elements));
                }
            }
        }
    }

    /// One name of a path: a bare name (not reserved) or a `#placeholder`.
    fn path_name(&mut self, target: bool) -> Result<String, ExprError> {
        let text = self.current_text();
        match self.tok() {
            Tok::Name => {
                if is_reserved(text) {
                    self.defer(
                        Category::Reserved,
                        format!("Attribute name is a reserved keyword; reserved keyword: {text}"),
                    );
                }
                self.advance();
                Ok(text.to_owned())
            }
            Tok::NamePlaceholder => {
                self.advance();
                match self.bindings.name(text) {
                    Some(name) => {
                        self.used_names.insert(text.to_owned());
                        Ok(name.to_owned())
                    }
                    None => {
                        let category = if target {
                            Category::TargetName
                        } else {
                            Category::Node
                        };
                        self.defer(
                            category,
                            format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {text}"
                            ),
                        );
                        Ok(text.to_owned())
                    }
                }
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// Parses a `:placeholder` at the current token into its value (NULL if undefined, with
    /// the error recorded).
    pub fn parse_value(&mut self) -> Result<AttributeValue, ExprError> {
        if *self.tok() != Tok::ValuePlaceholder {
            return Err(self.syntax_error());
        }
        let text = self.current_text();
        self.advance();
        match self.bindings.value(text) {
            Some(value) => {
                self.used_values.insert(text.to_owned());
                Ok(value.clone())
            }
            None => {
                self.defer(
                    Category::Node,
                    format!(
                        "An expression attribute value used in expression is not defined; attribute value: {text}"
                    ),
                );
                Ok(AttributeValue::Null)
            }
        }
    }
}

static EOF_TOKEN: Token = Token {
    tok: Tok::Eof,
    start: 0,
    end: 0,
};

/// The overlap and conflict checks DynamoDB applies to the paths of one update or projection
/// expression: two paths overlap when one is a prefix of the other; they conflict when they
/// agree up to a point where one continues with a name and the other with an index.
pub(crate) fn check_paths(parser: &mut Parser<'_>, paths: &[&Path]) {
    for (i, a) in paths.iter().enumerate() {
        for b in paths.iter().skip(i + 1) {
            if a.is_prefix_of(b) || b.is_prefix_of(a) {
                parser.defer(
                    Category::Overlap,
                    format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                    ),
                );
            }
        }
    }
    for (i, a) in paths.iter().enumerate() {
        for b in paths.iter().skip(i + 1) {
            let diverge = a.0.iter().zip(&b.0).find(|(x, y)| x != y);
            if let Some((x, y)) = diverge {
                let kinds_differ = matches!(
                    (x, y),
                    (PathElement::Attribute(_), PathElement::Index(_))
                        | (PathElement::Index(_), PathElement::Attribute(_))
                );
                if kinds_differ {
                    parser.defer(
                        Category::Conflict,
                        format!(
                            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                        ),
                    );
                }
            }
        }
    }
}
