//! Tokens of a display filter, each with its byte span in the expression.
//!
//! Built from `nom` combinators (nom is already in the dependency tree through pcap-parser).
//! Wireshark's scanner treats any run of "word" characters as one unquoted literal: field names,
//! numbers, byte strings (`7b:22`), addresses (`127.0.0.0/8`, `::1`) all lex alike and only the
//! field type on the other side of the operator decides what the word means.

use std::ops::Range;

use nom::branch::alt;
use nom::bytes::complete::{escaped, is_not, tag, take_while1};
use nom::character::complete::{anychar, char, none_of};
use nom::combinator::{opt, recognize, value};
use nom::sequence::delimited;
use nom::{IResult, Parser};

use super::FilterError;

/// A comparison operator as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    /// `==`, `eq`, `any_eq`
    AnyEq,
    /// `===`, `all_eq`
    AllEq,
    /// `!=`, `ne`, `all_ne`
    AllNe,
    /// `!==`, `~=`, `any_ne`
    AnyNe,
    /// `<`, `lt`
    Lt,
    /// `<=`, `le`
    Le,
    /// `>`, `gt`
    Gt,
    /// `>=`, `ge`
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    DotDot,
    Cmp(CmpOp),
    Contains,
    Matches,
    In,
    And,
    Or,
    Not,
    /// An unquoted word: field name or literal.
    Word(&'a str),
    /// A double-quoted string, escapes decoded (may hold any bytes through `\xNN`).
    Str(Vec<u8>),
    /// A single-quoted character constant.
    Char(u8),
    /// The text between `[` and `]` right after a word.
    Slice(&'a str),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub span: Range<usize>,
}

/// Characters of an unquoted word (field names, numbers, byte strings, addresses).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | '+' | '%')
}

fn punct(i: &str) -> IResult<&str, Tok<'_>> {
    alt((
        value(Tok::Cmp(CmpOp::AllEq), tag("===")),
        value(Tok::Cmp(CmpOp::AnyNe), tag("!==")),
        value(Tok::Cmp(CmpOp::AnyEq), tag("==")),
        value(Tok::Cmp(CmpOp::AllNe), tag("!=")),
        value(Tok::Cmp(CmpOp::AnyNe), tag("~=")),
        value(Tok::Matches, tag("~")),
        value(Tok::Cmp(CmpOp::Le), tag("<=")),
        value(Tok::Cmp(CmpOp::Lt), tag("<")),
        value(Tok::Cmp(CmpOp::Ge), tag(">=")),
        value(Tok::Cmp(CmpOp::Gt), tag(">")),
        value(Tok::And, tag("&&")),
        value(Tok::Or, tag("||")),
        value(Tok::Not, tag("!")),
        value(Tok::LParen, tag("(")),
        value(Tok::RParen, tag(")")),
        value(Tok::LBrace, tag("{")),
        value(Tok::RBrace, tag("}")),
        value(Tok::Comma, tag(",")),
        value(Tok::DotDot, tag("..")),
    ))
    .parse(i)
}

/// A word, ending before `..` so that `1..3` is three tokens.
fn word(i: &str) -> IResult<&str, &str> {
    let (_, w) = take_while1(is_word_char).parse(i)?;
    let len = match w.find("..") {
        Some(0) => {
            return Err(nom::Err::Error(nom::error::Error::new(
                i,
                nom::error::ErrorKind::Tag,
            )));
        }
        Some(p) => p,
        None => w.len(),
    };
    Ok((&i[len..], &i[..len]))
}

fn keyword(w: &str) -> Option<Tok<'static>> {
    Some(match w {
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "eq" | "any_eq" => Tok::Cmp(CmpOp::AnyEq),
        "all_eq" => Tok::Cmp(CmpOp::AllEq),
        "ne" | "all_ne" => Tok::Cmp(CmpOp::AllNe),
        "any_ne" => Tok::Cmp(CmpOp::AnyNe),
        "lt" => Tok::Cmp(CmpOp::Lt),
        "le" => Tok::Cmp(CmpOp::Le),
        "gt" => Tok::Cmp(CmpOp::Gt),
        "ge" => Tok::Cmp(CmpOp::Ge),
        "contains" => Tok::Contains,
        "matches" => Tok::Matches,
        "in" => Tok::In,
        _ => return None,
    })
}

/// The raw body of a quoted string (`quote` is `"` or `'`), escapes still in place.
fn quoted(quote: char) -> impl Fn(&str) -> IResult<&str, &str> {
    move |i| {
        let normal = none_of(if quote == '"' { "\\\"" } else { "\\'" });
        delimited(
            char(quote),
            recognize(opt(escaped(
                recognize(nom::multi::many1(normal)),
                '\\',
                anychar,
            ))),
            char(quote),
        )
        .parse(i)
    }
}

/// Splits `expr` into tokens. Errors name the first character that starts no token.
pub(crate) fn tokens(expr: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut out = Vec::new();
    let mut rest = expr;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        let start = expr.len() - rest.len();
        let at = |r: &str| expr.len() - r.len();
        if let Some(q @ ('"' | '\'')) = rest.chars().next() {
            let Ok((r, body)) = quoted(q)(rest) else {
                return Err(FilterError::new(
                    expr,
                    start..start + 1,
                    "The final quote was missing from a quoted string.",
                ));
            };
            let body_start = start + 1;
            let bytes = unescape(expr, body, body_start)?;
            let tok = if q == '"' {
                Tok::Str(bytes)
            } else if let [b] = bytes[..] {
                Tok::Char(b)
            } else {
                return Err(FilterError::new(
                    expr,
                    start..at(r),
                    format!(
                        "{} is not a valid character constant.",
                        &rest[..at(r) - start]
                    ),
                ));
            };
            out.push(Token {
                tok,
                span: start..at(r),
            });
            rest = r;
            continue;
        }
        // A word goes before punctuation so that `-1` or `::1` stay whole; `..` is punctuation.
        if let Ok((r, w)) = word(rest) {
            let tok = keyword(w).unwrap_or(Tok::Word(w));
            let is_word = matches!(tok, Tok::Word(_));
            out.push(Token {
                tok,
                span: start..at(r),
            });
            rest = r;
            if is_word && rest.starts_with('[') {
                let s = at(rest);
                let Ok((r, inner)) = delimited(
                    char::<&str, nom::error::Error<&str>>('['),
                    is_not("]"),
                    char(']'),
                )
                .parse(rest) else {
                    return Err(FilterError::new(
                        expr,
                        s..s + 1,
                        "\"[\" was unexpected in this context.",
                    ));
                };
                out.push(Token {
                    tok: Tok::Slice(inner),
                    span: s..at(r),
                });
                rest = r;
            }
            continue;
        }
        if let Ok((r, tok)) = punct(rest) {
            out.push(Token {
                tok,
                span: start..at(r),
            });
            rest = r;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        return Err(FilterError::new(
            expr,
            start..start + c.len_utf8(),
            format!("\"{c}\" was unexpected in this context."),
        ));
    }
}

/// Decodes Wireshark's string escapes: `\" \\ \' \a \b \f \n \r \t \v`, `\xH`/`\xHH`,
/// octal `\NNN` (1 to 3 digits), `\uXXXX` and `\UXXXXXXXX` (as UTF-8).
fn unescape(expr: &str, body: &str, offset: usize) -> Result<Vec<u8>, FilterError> {
    let mut out = Vec::with_capacity(body.len());
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let esc_start = i;
        let Some(&c) = b.get(i + 1) else { break };
        i += 2;
        let simple = match c {
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            b'\\' => Some(b'\\'),
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            continue;
        }
        let digits = |from: usize, max: usize, radix: u32| {
            let n = b[from..]
                .iter()
                .take(max)
                .take_while(|d| (**d as char).is_digit(radix))
                .count();
            (
                n,
                body.get(from..from + n)
                    .and_then(|s| u32::from_str_radix(s, radix).ok()),
            )
        };
        let bad = |end: usize, what: &str| {
            let text = body.get(esc_start..end.min(b.len())).unwrap_or("\\");
            FilterError::new(
                expr,
                offset + esc_start..offset + end.min(b.len()),
                format!("{text} is not a valid {what}"),
            )
        };
        match c {
            b'x' => match digits(i, 2, 16) {
                (n @ 1.., Some(v)) => {
                    out.push(v as u8);
                    i += n;
                }
                _ => return Err(bad(i, "character escape sequence")),
            },
            b'0'..=b'7' => {
                let (n, v) = digits(i - 1, 3, 8);
                match v {
                    Some(v) if v <= 0xff => out.push(v as u8),
                    _ => return Err(bad(i - 1 + n, "character escape sequence")),
                }
                i += n - 1;
            }
            b'u' | b'U' => {
                let want = if c == b'u' { 4 } else { 8 };
                let (n, v) = digits(i, want, 16);
                match v.and_then(char::from_u32) {
                    Some(ch) if n == want => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += n;
                    }
                    _ => return Err(bad(i + n, "universal character name")),
                }
            }
            _ => {
                let end = esc_start
                    + 1
                    + body[esc_start + 1..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                return Err(bad(end, "character escape sequence"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(e: &str) -> Vec<Tok<'_>> {
        tokens(e).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_operators_and_ranges() {
        assert_eq!(
            toks("a.b==1&&!c||d in {1..3,4}"),
            vec![
                Tok::Word("a.b"),
                Tok::Cmp(CmpOp::AnyEq),
                Tok::Word("1"),
                Tok::And,
                Tok::Not,
                Tok::Word("c"),
                Tok::Or,
                Tok::Word("d"),
                Tok::In,
                Tok::LBrace,
                Tok::Word("1"),
                Tok::DotDot,
                Tok::Word("3"),
                Tok::Comma,
                Tok::Word("4"),
                Tok::RBrace
            ]
        );
        assert_eq!(
            toks("x !== ::1 ~= -1 === 7b:22"),
            vec![
                Tok::Word("x"),
                Tok::Cmp(CmpOp::AnyNe),
                Tok::Word("::1"),
                Tok::Cmp(CmpOp::AnyNe),
                Tok::Word("-1"),
                Tok::Cmp(CmpOp::AllEq),
                Tok::Word("7b:22")
            ]
        );
        assert_eq!(toks("p[0:2]"), vec![Tok::Word("p"), Tok::Slice("0:2")]);
    }

    #[test]
    fn string_escapes() {
        // tshark -Y 'http.request.method == "\x47ET"' and '"\107ET"' both match GET.
        assert_eq!(toks(r#""\x47E\124""#), vec![Tok::Str(b"GET".to_vec())]);
        assert_eq!(
            toks(r#""a\"b\\c\n\t""#),
            vec![Tok::Str(b"a\"b\\c\n\t".to_vec())]
        );
        assert_eq!(toks(r#""\xff\0""#), vec![Tok::Str(vec![0xff, 0])]);
        assert_eq!(toks(r#""\u00e9""#), vec![Tok::Str("é".as_bytes().to_vec())]);
        assert_eq!(toks("'a'"), vec![Tok::Char(b'a')]);
        assert_eq!(toks(r"'\n'"), vec![Tok::Char(b'\n')]);
        assert_eq!(toks(r#""""#), vec![Tok::Str(vec![])]);
    }

    #[test]
    fn lexical_errors_point_at_the_character() {
        // tshark: \E is not a valid character escape sequence, caret under `\E`.
        let e = tokens(r#"m == "G\ET""#).unwrap_err();
        assert_eq!(e.message, r"\E is not a valid character escape sequence");
        assert_eq!(e.span, 7..9);
        // tshark: The final quote was missing from a quoted string.
        let e = tokens(r#"frame.number == "1"#).unwrap_err();
        assert_eq!(
            e.message,
            "The final quote was missing from a quoted string."
        );
        assert_eq!(e.span, 16..17);
        // tshark: "=" was unexpected in this context.
        let e = tokens("frame.number = 1").unwrap_err();
        assert_eq!(e.message, "\"=\" was unexpected in this context.");
        assert_eq!(e.span, 13..14);
    }
}
