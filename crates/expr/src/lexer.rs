//! Splits expression text into tokens. The lexer never fails: a character that starts no
//! token becomes an [`Tok::Unknown`] token, which the parser reports as a syntax error with
//! DynamoDB's `token: "…", near: "…"` context.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`: an attribute name, a keyword or a function name.
    Name,
    /// `[0-9]+`: only valid as a list index.
    Int,
    /// `#[A-Za-z0-9_]+`.
    NamePlaceholder,
    /// `:[A-Za-z0-9_]+`.
    ValuePlaceholder,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    /// Any other character (or a lone `#` / `:`).
    Unknown,
    /// The end of the text.
    Eof,
}

/// A token and its byte span in the expression text.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Tokenizes `text`; the last token is always [`Tok::Eof`].
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        let start = i;
        let run = |from: usize| {
            let mut j = from;
            while j < bytes.len() && is_name_char(bytes[j]) {
                j += 1;
            }
            j
        };
        let (tok, end) = match c {
            _ if is_name_start(c) => (Tok::Name, run(i + 1)),
            b'0'..=b'9' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                (Tok::Int, j)
            }
            b'#' | b':' => {
                let j = run(i + 1);
                if j == i + 1 {
                    (Tok::Unknown, i + 1)
                } else if c == b'#' {
                    (Tok::NamePlaceholder, j)
                } else {
                    (Tok::ValuePlaceholder, j)
                }
            }
            b'=' => (Tok::Eq, i + 1),
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => (Tok::Ne, i + 2),
                Some(b'=') => (Tok::Le, i + 2),
                _ => (Tok::Lt, i + 1),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => (Tok::Ge, i + 2),
                _ => (Tok::Gt, i + 1),
            },
            b'(' => (Tok::LParen, i + 1),
            b')' => (Tok::RParen, i + 1),
            b'[' => (Tok::LBracket, i + 1),
            b']' => (Tok::RBracket, i + 1),
            b',' => (Tok::Comma, i + 1),
            b'.' => (Tok::Dot, i + 1),
            b'+' => (Tok::Plus, i + 1),
            b'-' => (Tok::Minus, i + 1),
            _ => {
                // One whole UTF-8 character, so that spans stay on char boundaries.
                let width = text[i..].chars().next().map_or(1, char::len_utf8);
                (Tok::Unknown, i + width)
            }
        };
        tokens.push(Token { tok, start, end });
        i = end;
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: text.len(),
        end: text.len(),
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn t10_tokens() {
        assert_eq!(
            kinds("a.b[1] <> :v AND #n>=x"),
            vec![
                Tok::Name,
                Tok::Dot,
                Tok::Name,
                Tok::LBracket,
                Tok::Int,
                Tok::RBracket,
                Tok::Ne,
                Tok::ValuePlaceholder,
                Tok::Name,
                Tok::NamePlaceholder,
                Tok::Ge,
                Tok::Name,
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("ü : #"),
            vec![Tok::Unknown, Tok::Unknown, Tok::Unknown, Tok::Eof]
        );
    }
}
