//! PartiQL tokens: identifiers (bare or `"quoted"`), `'strings'`, numbers, `?` parameters
//! and punctuation. Keywords are bare identifiers; the parser compares them case-insensitively,
//! so a quoted identifier is never a keyword.

use super::{malformed, ApiError};

/// One token and where it starts (byte offset), for error messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: Tok,
    pub(crate) at: usize,
}

/// A token's kind and text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A bare identifier or keyword.
    Ident(String),
    /// A `"double-quoted"` identifier.
    Quoted(String),
    /// A `'single-quoted'` string literal.
    Str(String),
    /// A number literal, as written (unsigned).
    Num(String),
    /// `?`.
    Param,
    Comma,
    Dot,
    Star,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    /// `<<`.
    BagOpen,
    /// `>>`.
    BagClose,
    Colon,
    Semicolon,
    Plus,
    Minus,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

impl Tok {
    /// How the token is shown in an error message.
    pub(crate) fn shown(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Quoted(s) => format!("\"{s}\""),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(s) => s.clone(),
            Tok::Param => "?".into(),
            Tok::Comma => ",".into(),
            Tok::Dot => ".".into(),
            Tok::Star => "*".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::LBracket => "[".into(),
            Tok::RBracket => "]".into(),
            Tok::LBrace => "{".into(),
            Tok::RBrace => "}".into(),
            Tok::BagOpen => "<<".into(),
            Tok::BagClose => ">>".into(),
            Tok::Colon => ":".into(),
            Tok::Semicolon => ";".into(),
            Tok::Plus => "+".into(),
            Tok::Minus => "-".into(),
            Tok::Eq => "=".into(),
            Tok::Ne => "<>".into(),
            Tok::Lt => "<".into(),
            Tok::Le => "<=".into(),
            Tok::Gt => ">".into(),
            Tok::Ge => ">=".into(),
            Tok::Eof => "end of statement".into(),
        }
    }
}

/// Splits a statement into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ApiError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let at = i;
        let single = |kind: Tok| Some((kind, 1));
        let two = |kind: Tok| Some((kind, 2));
        let next = bytes.get(i + 1).copied();
        let punct = match (c, next) {
            (b'-', Some(b'-')) => {
                // A comment to the end of the line.
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => {
                let end = text[i + 2..]
                    .find("*/")
                    .ok_or_else(|| malformed("unterminated comment"))?;
                i += 2 + end + 2;
                continue;
            }
            (b'<', Some(b'<')) => two(Tok::BagOpen),
            (b'>', Some(b'>')) => two(Tok::BagClose),
            (b'<', Some(b'=')) => two(Tok::Le),
            (b'<', Some(b'>')) => two(Tok::Ne),
            (b'!', Some(b'=')) => two(Tok::Ne),
            (b'>', Some(b'=')) => two(Tok::Ge),
            (b'=', Some(b'=')) => two(Tok::Eq),
            (b'<', _) => single(Tok::Lt),
            (b'>', _) => single(Tok::Gt),
            (b'=', _) => single(Tok::Eq),
            (b',', _) => single(Tok::Comma),
            (b'.', Some(d)) if d.is_ascii_digit() => None,
            (b'.', _) => single(Tok::Dot),
            (b'*', _) => single(Tok::Star),
            (b'(', _) => single(Tok::LParen),
            (b')', _) => single(Tok::RParen),
            (b'[', _) => single(Tok::LBracket),
            (b']', _) => single(Tok::RBracket),
            (b'{', _) => single(Tok::LBrace),
            (b'}', _) => single(Tok::RBrace),
            (b':', _) => single(Tok::Colon),
            (b';', _) => single(Tok::Semicolon),
            (b'+', _) => single(Tok::Plus),
            (b'-', _) => single(Tok::Minus),
            (b'?', _) => single(Tok::Param),
            _ => None,
        };
        if let Some((kind, len)) = punct {
            out.push(Token { kind, at });
            i += len;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'\'' || c == b'"' {
            let (value, end) = quoted(text, i, c)?;
            let kind = if c == b'\'' {
                Tok::Str(value)
            } else {
                Tok::Quoted(value)
            };
            out.push(Token { kind, at });
            i = end;
            continue;
        }
        if c.is_ascii_digit() || c == b'.' {
            let end = number_end(bytes, i);
            out.push(Token {
                kind: Tok::Num(text[i..end].to_owned()),
                at,
            });
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let mut end = i + 1;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b'$')
            {
                end += 1;
            }
            out.push(Token {
                kind: Tok::Ident(text[i..end].to_owned()),
                at,
            });
            i = end;
            continue;
        }
        let shown: String = text[i..].chars().take(1).collect();
        return Err(malformed(format!(
            "unexpected character '{shown}' at offset {i}"
        )));
    }
    out.push(Token {
        kind: Tok::Eof,
        at: bytes.len(),
    });
    Ok(out)
}

/// A quoted string or identifier starting at `start` (the quote); a doubled quote stands for
/// one. Returns the text and the offset after the closing quote.
fn quoted(text: &str, start: usize, quote: u8) -> Result<(String, usize), ApiError> {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut i = start + 1;
    let mut run = i;
    loop {
        match bytes.get(i) {
            None => {
                return Err(malformed(format!(
                    "unterminated quoted text at offset {start}"
                )))
            }
            Some(&b) if b == quote => {
                value.push_str(&text[run..i]);
                if bytes.get(i + 1) == Some(&quote) {
                    value.push(char::from(quote));
                    i += 2;
                    run = i;
                } else {
                    return Ok((value, i + 1));
                }
            }
            Some(_) => i += 1,
        }
    }
}

/// The end of a number literal: digits, an optional fraction and an optional exponent.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let digits = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    if bytes.get(i) == Some(&b'.') {
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            i = digits(j);
        }
    }
    i
}
