//! A recursive-descent parser for DynamoDB's PartiQL subset: SELECT, INSERT, UPDATE, DELETE
//! and `EXISTS(SELECT ...)`. Syntax errors are DynamoDB's ValidationException
//! "Statement wasn't well formed, can't be processed: ...".

use expr::Comparator;

use super::ast::{
    ArithOp, Delete, Expr, Insert, IsType, Literal, PathExpr, Returning, Select, Source, Statement,
    Step, Update, UpdateAction,
};
use super::lexer::{tokenize, Tok, Token};
use super::{malformed, ApiError};

/// How deeply expressions may nest, so a hostile statement cannot exhaust the stack.
const DEPTH_MAX: usize = 64;

/// A parsed statement and how many `?` parameters it has.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    pub(crate) statement: Statement,
    pub(crate) parameters: usize,
}

/// Parses one statement.
pub(crate) fn parse(text: &str) -> Result<Parsed, ApiError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        parameters: 0,
        depth: 0,
    };
    let statement = p.statement()?;
    if p.peek() == &Tok::Semicolon {
        p.pos += 1;
    }
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected());
    }
    Ok(Parsed {
        statement,
        parameters: p.parameters,
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    parameters: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Tok {
        self.tokens
            .get(self.pos + n)
            .or_else(|| self.tokens.last())
            .map_or(&Tok::Eof, |t| &t.kind)
    }

    fn next(&mut self) -> Tok {
        let tok = self.peek().clone();
        if tok != Tok::Eof {
            self.pos += 1;
        }
        tok
    }

    fn unexpected(&self) -> ApiError {
        let at = self.tokens.get(self.pos).map_or(0, |t| t.at);
        match self.peek() {
            Tok::Eof => malformed("unexpected end of statement"),
            tok => malformed(format!("unexpected token '{}' at offset {at}", tok.shown())),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        self.keyword_at(0, keyword)
    }

    fn keyword_at(&self, n: usize, keyword: &str) -> bool {
        matches!(self.peek_at(n), Tok::Ident(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.pos += 1;
        }
        found
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), ApiError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.expected(keyword))
        }
    }

    fn expected(&self, what: &str) -> ApiError {
        let at = self.tokens.get(self.pos).map_or(0, |t| t.at);
        malformed(format!(
            "expected {what} but found '{}' at offset {at}",
            self.peek().shown()
        ))
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek() == tok;
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), ApiError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{}'", tok.shown())))
        }
    }

    fn statement(&mut self) -> Result<Statement, ApiError> {
        if self.eat_keyword("SELECT") {
            return Ok(Statement::Select(self.select_body()?));
        }
        if self.eat_keyword("INSERT") {
            return self.insert();
        }
        if self.eat_keyword("UPDATE") {
            return self.update();
        }
        if self.eat_keyword("DELETE") {
            return self.delete();
        }
        if self.is_keyword("EXISTS") && self.peek_at(1) == &Tok::LParen {
            self.pos += 2;
            self.keyword("SELECT")?;
            let select = self.select_body()?;
            self.expect(&Tok::RParen)?;
            return Ok(Statement::Exists(select));
        }
        Err(self.unexpected())
    }

    /// An identifier, bare or quoted.
    fn identifier(&mut self) -> Result<String, ApiError> {
        match self.peek().clone() {
            Tok::Ident(name) | Tok::Quoted(name) => {
                self.pos += 1;
                Ok(name)
            }
            _ => Err(self.expected("an identifier")),
        }
    }

    fn source(&mut self) -> Result<Source, ApiError> {
        let table = self.identifier()?;
        let index = if self.eat(&Tok::Dot) {
            Some(self.identifier()?)
        } else {
            None
        };
        if self.peek() == &Tok::Dot {
            return Err(ApiError::validation(
                "A path may contain at most 2 components in the FROM clause",
            ));
        }
        Ok(Source { table, index })
    }

    fn select_body(&mut self) -> Result<Select, ApiError> {
        if self.is_keyword("DISTINCT") {
            return Err(ApiError::validation(
                "Unsupported token in expression: DISTINCT",
            ));
        }
        let projection = if self.eat(&Tok::Star) {
            None
        } else {
            let mut paths = vec![self.path()?];
            while self.eat(&Tok::Comma) {
                if self.peek() == &Tok::Star {
                    return Err(ApiError::validation(
                        "Other attributes should not be present in the projection when '*' is used.",
                    ));
                }
                paths.push(self.path()?);
            }
            if self.is_keyword("AS") {
                return Err(ApiError::validation("Aliasing is not supported"));
            }
            Some(paths)
        };
        self.keyword("FROM")?;
        let source = self.source()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.keyword("BY")?;
            loop {
                let path = self.path()?;
                let desc = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                order_by.push((path, desc));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        for clause in ["GROUP", "HAVING", "LIMIT", "OFFSET"] {
            if self.is_keyword(clause) {
                let shown = if clause == "GROUP" {
                    "GROUP BY"
                } else {
                    clause
                };
                return Err(ApiError::Validation(format!("Unsupported clause: {shown}")));
            }
        }
        Ok(Select {
            projection,
            source,
            filter,
            order_by,
        })
    }

    fn insert(&mut self) -> Result<Statement, ApiError> {
        self.keyword("INTO")?;
        let table = self.identifier()?;
        if self.is_keyword("VALUES") || self.is_keyword("SELECT") {
            return Err(ApiError::validation(
                "Unsupported operation: Inserting multiple items in a single statement is not supported, use \"INSERT INTO tableName VALUE item\" instead",
            ));
        }
        self.keyword("VALUE")?;
        let value = self.expr()?;
        if self.is_keyword("ON") {
            return Err(ApiError::validation("Unsupported clause: ON CONFLICT"));
        }
        let returning = self.returning()?;
        Ok(Statement::Insert(Insert {
            table,
            value,
            returning,
        }))
    }

    fn update(&mut self) -> Result<Statement, ApiError> {
        let source = self.source()?;
        let mut actions = Vec::new();
        loop {
            if self.eat_keyword("SET") {
                loop {
                    let path = self.path()?;
                    self.expect(&Tok::Eq)?;
                    let value = self.expr()?;
                    actions.push(UpdateAction::Set(path, value));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
            } else if self.eat_keyword("REMOVE") {
                loop {
                    actions.push(UpdateAction::Remove(self.path()?));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        if actions.is_empty() {
            return Err(self.expected("SET or REMOVE"));
        }
        let filter = if self.eat_keyword("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let returning = self.returning()?;
        Ok(Statement::Update(Update {
            source,
            actions,
            filter,
            returning,
        }))
    }

    fn delete(&mut self) -> Result<Statement, ApiError> {
        self.keyword("FROM")?;
        let source = self.source()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let returning = self.returning()?;
        Ok(Statement::Delete(Delete {
            source,
            filter,
            returning,
        }))
    }

    fn returning(&mut self) -> Result<Option<Returning>, ApiError> {
        if !self.eat_keyword("RETURNING") {
            return Ok(None);
        }
        let all = if self.eat_keyword("ALL") {
            true
        } else if self.eat_keyword("MODIFIED") {
            false
        } else {
            return Err(self.expected("ALL or MODIFIED"));
        };
        let old = if self.eat_keyword("OLD") {
            true
        } else if self.eat_keyword("NEW") {
            false
        } else {
            return Err(self.expected("OLD or NEW"));
        };
        if !self.eat(&Tok::Star) {
            return Err(ApiError::validation(
                "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause",
            ));
        }
        if self.peek() == &Tok::Comma {
            return Err(ApiError::validation(
                "Invalid syntax with multiple returning elements in RETURNING clause",
            ));
        }
        Ok(Some(match (all, old) {
            (true, true) => Returning::AllOld,
            (true, false) => Returning::AllNew,
            (false, true) => Returning::ModifiedOld,
            (false, false) => Returning::ModifiedNew,
        }))
    }

    /// A document path: a name, then `.name`, `[n]` or `['name']` steps.
    fn path(&mut self) -> Result<PathExpr, ApiError> {
        if self.peek() == &Tok::LBracket {
            return Err(ApiError::validation(
                "A path cannot start with a list index",
            ));
        }
        let mut steps = vec![Step::Name(self.identifier()?)];
        self.path_steps(&mut steps)?;
        Ok(PathExpr(steps))
    }

    fn path_steps(&mut self, steps: &mut Vec<Step>) -> Result<(), ApiError> {
        loop {
            if self.eat(&Tok::Dot) {
                if self.peek() == &Tok::Star {
                    return Err(ApiError::validation(
                        "Unpivot path component like a.*.b are not supported",
                    ));
                }
                steps.push(Step::Name(self.identifier()?));
            } else if self.eat(&Tok::LBracket) {
                match self.next() {
                    Tok::Num(n) => {
                        let index = n.parse::<usize>().map_err(|_| {
                            ApiError::Validation(format!(
                                "List index is not within the allowable range; index: [{n}]"
                            ))
                        })?;
                        steps.push(Step::Index(index));
                    }
                    Tok::Str(name) => steps.push(Step::Name(name)),
                    Tok::Star => {
                        return Err(ApiError::validation(
                            "Wildcard path component like a[*].b are not supported",
                        ))
                    }
                    _ => {
                        self.pos -= 1;
                        return Err(self.expected("a list index"));
                    }
                }
                self.expect(&Tok::RBracket)?;
            } else {
                return Ok(());
            }
        }
    }

    fn enter(&mut self) -> Result<(), ApiError> {
        self.depth += 1;
        if self.depth > DEPTH_MAX {
            return Err(malformed("expression nested too deeply"));
        }
        Ok(())
    }

    pub(crate) fn expr(&mut self) -> Result<Expr, ApiError> {
        self.enter()?;
        let result = self.or();
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.not()?;
        while self.eat_keyword("AND") {
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ApiError> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, ApiError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Tok::Eq => Some(Comparator::Eq),
            Tok::Ne => Some(Comparator::Ne),
            Tok::Lt => Some(Comparator::Lt),
            Tok::Le => Some(Comparator::Le),
            Tok::Gt => Some(Comparator::Gt),
            Tok::Ge => Some(Comparator::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::Compare(op, Box::new(left), Box::new(right)));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            let test = match self.next() {
                Tok::Ident(word) => match word.to_ascii_uppercase().as_str() {
                    "MISSING" => IsType::Missing,
                    "NULL" => IsType::Null,
                    "BOOLEAN" | "BOOL" => IsType::Boolean,
                    "STRING" => IsType::String,
                    "NUMERIC" | "NUMBER" | "DECIMAL" | "INT" | "INTEGER" | "FLOAT" => {
                        IsType::Numeric
                    }
                    "BLOB" => IsType::Blob,
                    "LIST" => IsType::List,
                    "STRUCT" | "TUPLE" => IsType::Struct,
                    other => {
                        return Err(ApiError::Validation(format!(
                            "Unsupported data type for IS operator: {other}. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]"
                        )))
                    }
                },
                _ => {
                    self.pos -= 1;
                    return Err(self.expected("a type"));
                }
            };
            return Ok(Expr::Is {
                operand: Box::new(left),
                test,
                negated,
            });
        }
        let negated =
            self.is_keyword("NOT") && (self.keyword_at(1, "BETWEEN") || self.keyword_at(1, "IN"));
        if negated {
            self.pos += 1;
        }
        if self.eat_keyword("BETWEEN") {
            let low = self.additive()?;
            self.keyword("AND")?;
            let high = self.additive()?;
            return Ok(Expr::Between {
                operand: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if self.eat_keyword("IN") {
            let close = match self.next() {
                Tok::LBracket => Tok::RBracket,
                Tok::LParen => Tok::RParen,
                Tok::BagOpen => Tok::BagClose,
                _ => {
                    self.pos -= 1;
                    return Err(self.expected("a list"));
                }
            };
            let list = self.items(&close)?;
            return Ok(Expr::In {
                operand: Box::new(left),
                list,
                negated,
            });
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => ArithOp::Plus,
                Tok::Minus => ArithOp::Minus,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, ApiError> {
        let sign = match self.peek() {
            Tok::Minus => Some("-"),
            Tok::Plus => Some(""),
            _ => None,
        };
        if let Some(sign) = sign {
            if let Tok::Num(n) = self.peek_at(1).clone() {
                self.pos += 2;
                return Ok(Expr::Literal(Literal::Num(format!("{sign}{n}"))));
            }
            return Err(self.unexpected());
        }
        self.primary()
    }

    /// Comma-separated expressions up to `close` (consumed).
    fn items(&mut self, close: &Tok) -> Result<Vec<Expr>, ApiError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(&Tok::Comma)?;
        }
    }

    fn primary(&mut self) -> Result<Expr, ApiError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(Expr::Literal(Literal::Str(s)))
            }
            Tok::Num(n) => {
                self.pos += 1;
                Ok(Expr::Literal(Literal::Num(n)))
            }
            Tok::Param => {
                self.pos += 1;
                let index = self.parameters;
                self.parameters += 1;
                Ok(Expr::Param(index))
            }
            Tok::LParen => {
                self.pos += 1;
                let inner = self.expr()?;
                self.expect(&Tok::RParen)?;
                Ok(inner)
            }
            Tok::LBracket => {
                self.pos += 1;
                self.enter()?;
                let items = self.items(&Tok::RBracket);
                self.depth -= 1;
                Ok(Expr::List(items?))
            }
            Tok::BagOpen => {
                self.pos += 1;
                self.enter()?;
                let items = self.items(&Tok::BagClose);
                self.depth -= 1;
                Ok(Expr::Bag(items?))
            }
            Tok::LBrace => {
                self.pos += 1;
                self.enter()?;
                let fields = self.struct_fields();
                self.depth -= 1;
                Ok(Expr::Struct(fields?))
            }
            Tok::Quoted(_) => Ok(Expr::Path(self.path()?)),
            Tok::Ident(word) => {
                let upper = word.to_ascii_uppercase();
                let literal = match upper.as_str() {
                    "TRUE" => Some(Literal::Bool(true)),
                    "FALSE" => Some(Literal::Bool(false)),
                    "NULL" => Some(Literal::Null),
                    "MISSING" => Some(Literal::Missing),
                    _ => None,
                };
                if let Some(literal) = literal {
                    self.pos += 1;
                    return Ok(Expr::Literal(literal));
                }
                if self.peek_at(1) == &Tok::LParen {
                    self.pos += 2;
                    self.enter()?;
                    let args = self.items(&Tok::RParen);
                    self.depth -= 1;
                    return Ok(Expr::Call(word.to_ascii_lowercase(), args?));
                }
                if matches!(
                    upper.as_str(),
                    "SELECT" | "FROM" | "WHERE" | "AND" | "OR" | "NOT" | "SET" | "REMOVE"
                ) {
                    return Err(self.unexpected());
                }
                Ok(Expr::Path(self.path()?))
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `'name': value, ...}` after the `{`.
    fn struct_fields(&mut self) -> Result<Vec<(String, Expr)>, ApiError> {
        let mut fields = Vec::new();
        if self.eat(&Tok::RBrace) {
            return Ok(fields);
        }
        loop {
            let name = match self.next() {
                Tok::Str(name) | Tok::Quoted(name) => name,
                _ => {
                    self.pos -= 1;
                    return Err(self.expected("an attribute name in quotes"));
                }
            };
            self.expect(&Tok::Colon)?;
            let value = self.expr()?;
            fields.push((name, value));
            if self.eat(&Tok::RBrace) {
                return Ok(fields);
            }
            self.expect(&Tok::Comma)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Parsed {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(p) => panic!("{text}: parsed as {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn path(names: &[&str]) -> PathExpr {
        PathExpr(names.iter().map(|n| Step::Name((*n).into())).collect())
    }

    #[test]
    fn select_star_with_key_and_filter() {
        let p = ok(r#"SELECT * FROM "Music" WHERE Artist = ? AND Awards > 3"#);
        assert_eq!(p.parameters, 1);
        let Statement::Select(s) = p.statement else {
            panic!()
        };
        assert_eq!(s.projection, None);
        assert_eq!(s.source.table, "Music");
        assert_eq!(s.source.index, None);
        assert_eq!(
            s.filter,
            Some(Expr::And(
                Box::new(Expr::Compare(
                    Comparator::Eq,
                    Box::new(Expr::Path(path(&["Artist"]))),
                    Box::new(Expr::Param(0))
                )),
                Box::new(Expr::Compare(
                    Comparator::Gt,
                    Box::new(Expr::Path(path(&["Awards"]))),
                    Box::new(Expr::Literal(Literal::Num("3".into())))
                ))
            ))
        );
    }

    #[test]
    fn select_index_projection_and_order() {
        let p =
            ok(r#"select a, "b c", m.x[2], m['y'] from "T"."ByB" where a = 'x' order by s desc"#);
        let Statement::Select(s) = p.statement else {
            panic!()
        };
        assert_eq!(s.source.index.as_deref(), Some("ByB"));
        let projection = s.projection.unwrap();
        assert_eq!(projection[1], path(&["b c"]));
        assert_eq!(
            projection[2],
            PathExpr(vec![
                Step::Name("m".into()),
                Step::Name("x".into()),
                Step::Index(2)
            ])
        );
        assert_eq!(projection[3], path(&["m", "y"]));
        assert_eq!(s.order_by, vec![(path(&["s"]), true)]);
    }

    #[test]
    fn insert_value_struct() {
        let p = ok(
            "INSERT INTO Music VALUE {'Artist': 'Acme', 'n': -1.5e3, 'ok': true, 'nil': null, 'l': [1, 'a'], 's': <<'a', 'b'>>, 'p': ?}",
        );
        assert_eq!(p.parameters, 1);
        let Statement::Insert(i) = p.statement else {
            panic!()
        };
        let Expr::Struct(fields) = i.value else {
            panic!()
        };
        assert_eq!(fields.len(), 7);
        assert_eq!(fields[1].1, Expr::Literal(Literal::Num("-1.5e3".into())));
        assert_eq!(fields[6].1, Expr::Param(0));
    }

    #[test]
    fn update_set_remove_returning() {
        let p = ok(
            "UPDATE \"T\" SET a = a + 1, l = list_append(l, [2]) SET b = ? REMOVE c, d[0] WHERE pk = 'k' RETURNING ALL NEW *",
        );
        let Statement::Update(u) = p.statement else {
            panic!()
        };
        assert_eq!(u.actions.len(), 5);
        assert!(matches!(
            &u.actions[0],
            UpdateAction::Set(_, Expr::Arith(ArithOp::Plus, _, _))
        ));
        assert!(
            matches!(&u.actions[1], UpdateAction::Set(_, Expr::Call(name, args)) if name == "list_append" && args.len() == 2)
        );
        assert_eq!(u.returning, Some(Returning::AllNew));
    }

    #[test]
    fn delete_and_exists() {
        let p = ok("DELETE FROM T WHERE pk = 1 AND sk = 'a' RETURNING ALL OLD *");
        assert!(
            matches!(p.statement, Statement::Delete(d) if d.returning == Some(Returning::AllOld))
        );
        let p = ok("EXISTS(SELECT * FROM T WHERE pk = 1 AND attribute_exists(x))");
        assert!(matches!(p.statement, Statement::Exists(_)));
    }

    #[test]
    fn predicates() {
        let p = ok("SELECT * FROM t WHERE a BETWEEN 1 AND 5 AND b NOT IN ['x', 'y'] AND c IS NOT MISSING AND NOT begins_with(d, 'p') OR e <> 2");
        assert!(
            matches!(p.statement, Statement::Select(s) if matches!(s.filter, Some(Expr::Or(..))))
        );
    }

    #[test]
    fn quoting_rules() {
        let p = ok("SELECT * FROM \"my-table\" WHERE \"select\" = 'it''s'");
        let Statement::Select(s) = p.statement else {
            panic!()
        };
        assert_eq!(s.source.table, "my-table");
        assert_eq!(
            s.filter,
            Some(Expr::Compare(
                Comparator::Eq,
                Box::new(Expr::Path(path(&["select"]))),
                Box::new(Expr::Literal(Literal::Str("it's".into())))
            ))
        );
    }

    #[test]
    fn syntax_errors_are_dynamodb_shaped() {
        for text in [
            "",
            "SELEC * FROM t",
            "SELECT * FROM",
            "SELECT * FROM t WHERE",
            "SELECT * FROM t WHERE a = 'unterminated",
            "INSERT INTO t VALUE {'a': }",
            "UPDATE t WHERE a = 1",
            "DELETE t WHERE a = 1",
            "SELECT * FROM t extra",
            "SELECT * FROM t WHERE a = #",
        ] {
            let message = err(text);
            assert!(
                message.starts_with("Statement wasn't well formed, can't be processed: "),
                "{text}: {message}"
            );
        }
    }

    #[test]
    fn unsupported_clauses() {
        assert_eq!(err("SELECT * FROM t LIMIT 5"), "Unsupported clause: LIMIT");
        assert_eq!(
            err("SELECT a, * FROM t"),
            "Other attributes should not be present in the projection when '*' is used."
        );
        assert_eq!(
            err("SELECT * FROM a.b.c"),
            "A path may contain at most 2 components in the FROM clause"
        );
        assert!(err("INSERT INTO t VALUES {'a': 1}").starts_with("Unsupported operation"));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!(
            "SELECT * FROM t WHERE {}a = 1{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(err(&text).starts_with("Statement wasn't well formed"));
        let text = format!(
            "SELECT * FROM t WHERE a = {}1{}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(err(&text).starts_with("Statement wasn't well formed"));
        let text = format!("SELECT * FROM t WHERE {}a = 1", "NOT ".repeat(10_000));
        assert!(err(&text).starts_with("Statement wasn't well formed"));
    }

    proptest::proptest! {
        /// Whatever the text, parsing answers (a statement or a ValidationException) and
        /// never panics.
        #[test]
        fn arbitrary_text_never_panics(text in "[ -~é€\\n]{0,80}") {
            if let Err(e) = parse(&text) {
                proptest::prop_assert!(matches!(e, ApiError::Validation(_)));
            }
        }

        /// Statement-shaped noise: keywords, quotes and punctuation in random order.
        #[test]
        fn token_soup_never_panics(words in proptest::collection::vec(
            proptest::sample::select(vec![
                "SELECT", "*", "FROM", "\"t\"", ".", "WHERE", "a", "=", "?", "'s'", "1.5e3",
                "AND", "OR", "NOT", "(", ")", "[", "]", "{", "}", "<<", ">>", ":", ",", "IN",
                "BETWEEN", "IS", "MISSING", "INSERT", "INTO", "VALUE", "UPDATE", "SET", "REMOVE",
                "DELETE", "RETURNING", "ALL", "OLD", "EXISTS", "-", "+", "'", "\"",
            ]),
            0..24,
        )) {
            let text = words.join(" ");
            if let Err(e) = parse(&text) {
                proptest::prop_assert!(matches!(e, ApiError::Validation(_)));
            }
        }
    }

    #[test]
    fn comments_and_semicolon() {
        ok("SELECT * -- all of it\nFROM t /* the table */ ;");
    }
}
