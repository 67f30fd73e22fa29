//! The typed form of a parsed PartiQL statement, before parameters are bound or the table's
//! key schema is known.

use expr::Comparator;

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Statement {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    /// `EXISTS(SELECT ...)`: a condition check, only in write transactions.
    Exists(Select),
}

impl Statement {
    /// Whether the statement reads (SELECT); EXISTS counts as a write (a condition check).
    pub(crate) fn is_read(&self) -> bool {
        matches!(self, Statement::Select(_))
    }
}

/// `FROM "table"` or `FROM "table"."index"`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Source {
    pub(crate) table: String,
    pub(crate) index: Option<String>,
}

/// SELECT.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    /// None for `*`.
    pub(crate) projection: Option<Vec<PathExpr>>,
    pub(crate) source: Source,
    pub(crate) filter: Option<Expr>,
    /// ORDER BY: the key attributes named, each with whether it is DESC.
    pub(crate) order_by: Vec<(PathExpr, bool)>,
}

/// INSERT INTO table VALUE {...}.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Insert {
    pub(crate) table: String,
    pub(crate) value: Expr,
    pub(crate) returning: Option<Returning>,
}

/// UPDATE table SET ... REMOVE ... WHERE ...
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Update {
    pub(crate) source: Source,
    pub(crate) actions: Vec<UpdateAction>,
    pub(crate) filter: Option<Expr>,
    pub(crate) returning: Option<Returning>,
}

/// One SET or REMOVE of an UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UpdateAction {
    Set(PathExpr, Expr),
    Remove(PathExpr),
}

/// DELETE FROM table WHERE ...
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delete {
    pub(crate) source: Source,
    pub(crate) filter: Option<Expr>,
    pub(crate) returning: Option<Returning>,
}

/// `RETURNING (ALL | MODIFIED) (OLD | NEW) *`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returning {
    AllOld,
    AllNew,
    ModifiedOld,
    ModifiedNew,
}

impl Returning {
    /// As written.
    pub(crate) fn shown(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL OLD *",
            Returning::AllNew => "ALL NEW *",
            Returning::ModifiedOld => "MODIFIED OLD *",
            Returning::ModifiedNew => "MODIFIED NEW *",
        }
    }
}

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Name(String),
    Index(usize),
}

/// A document path: `a.b[2]."c d"`; the first step is always a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathExpr(pub(crate) Vec<Step>);

impl PathExpr {
    /// The top-level attribute, when the path is just that.
    pub(crate) fn top_level(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Step::Name(name)] => Some(name),
            _ => None,
        }
    }

    /// The first attribute of the path.
    pub(crate) fn first(&self) -> Option<&str> {
        match self.0.first() {
            Some(Step::Name(name)) => Some(name),
            _ => None,
        }
    }
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    /// As written, with its sign.
    Num(String),
    Bool(bool),
    Null,
    Missing,
}

/// `+` or `-` in a SET value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Plus,
    Minus,
}

/// The types `IS [NOT] <type>` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IsType {
    Missing,
    Null,
    Boolean,
    String,
    Numeric,
    Blob,
    List,
    Struct,
}

impl IsType {
    /// DynamoDB's attribute type for the test (None for MISSING).
    pub(crate) fn dynamo_type(self) -> Option<&'static str> {
        match self {
            IsType::Missing => None,
            IsType::Null => Some("NULL"),
            IsType::Boolean => Some("BOOL"),
            IsType::String => Some("S"),
            IsType::Numeric => Some("N"),
            IsType::Blob => Some("B"),
            IsType::List => Some("L"),
            IsType::Struct => Some("M"),
        }
    }
}

/// An expression: a WHERE condition, a value, or an operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Literal),
    /// `?`, numbered from 0 in the order written.
    Param(usize),
    Path(PathExpr),
    /// `{'name': value, ...}`.
    Struct(Vec<(String, Expr)>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `<<a, b>>`: a set.
    Bag(Vec<Expr>),
    Compare(Comparator, Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Between {
        operand: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    In {
        operand: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Is {
        operand: Box<Expr>,
        test: IsType,
        negated: bool,
    },
    /// A function call; the name is lower case.
    Call(String, Vec<Expr>),
}
