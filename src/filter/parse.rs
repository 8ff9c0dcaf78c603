//! Tokens to syntax tree, by precedence climbing over the token list.
//!
//! Grammar (Wireshark 4.0; `and` binds tighter than `or`, checked with tshark:
//! `frame.number == 1 or frame.number == 2 and frame.number == 3` matches packet 1):
//! ```text
//! expr    = and ( ("or" | "||") and )*
//! and     = unary ( ("and" | "&&") unary )*
//! unary   = ("not" | "!") unary | "(" expr ")" | test
//! test    = operand [ relop operand | ["not"] "in" "{" member ( [","] member )* "}" ]
//! member  = operand [ ".." operand ]
//! operand = WORD [SLICE] | STRING | CHAR
//! ```
//! Kept as a hand-written descent over the tokens because Wireshark's errors are per token
//! ("X" was unexpected in this context, with the token underlined): the token list gives that
//! position directly, where a combinator grammar would report its furthest backtrack.

use std::ops::Range;

use super::FilterError;
use super::lex::{CmpOp, Tok, Token};

#[derive(Debug)]
pub(crate) enum Expr<'a> {
    /// Operands of a chain of `and`s (a flat list keeps long chains off the stack).
    And(Vec<Expr<'a>>),
    /// Operands of a chain of `or`s.
    Or(Vec<Expr<'a>>),
    Not(Box<Expr<'a>>),
    Test(Test<'a>),
}

#[derive(Debug)]
pub(crate) enum Rel {
    Cmp(CmpOp),
    Contains,
    Matches,
}

#[derive(Debug)]
pub(crate) struct Test<'a> {
    pub lhs: Operand<'a>,
    pub rel: Option<(Rel, Range<usize>, Operand<'a>)>,
    /// `in {..}` (negated for `not in`).
    pub set: Option<(bool, Vec<Member<'a>>)>,
}

#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub lo: Operand<'a>,
    pub hi: Option<Operand<'a>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Atom<'a> {
    Word(&'a str),
    Str(Vec<u8>),
    Char(u8),
}

#[derive(Debug, Clone)]
pub(crate) struct Operand<'a> {
    pub atom: Atom<'a>,
    pub span: Range<usize>,
    /// Slice text and its span (including the brackets).
    pub slice: Option<(&'a str, Range<usize>)>,
}

struct P<'a, 't> {
    expr: &'a str,
    toks: &'t [Token<'a>],
    pos: usize,
}

impl<'a> P<'a, '_> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn unexpected(&self) -> FilterError {
        match self.toks.get(self.pos) {
            Some(t) => FilterError::new(
                self.expr,
                t.span.clone(),
                format!(
                    "\"{}\" was unexpected in this context.",
                    &self.expr[t.span.clone()]
                ),
            ),
            None => FilterError::new(
                self.expr,
                self.expr.len()..self.expr.len(),
                "Unexpected end of filter expression.",
            ),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr<'a>, FilterError> {
        let mut v = vec![self.and(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            v.push(self.and(depth)?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr<'a>, FilterError> {
        let mut v = vec![self.unary(depth)?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            v.push(self.unary(depth)?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr<'a>, FilterError> {
        // Nesting is bounded so that a hostile expression cannot overflow the stack.
        if depth > 200 {
            let at = self
                .toks
                .get(self.pos)
                .map_or(self.expr.len()..self.expr.len(), |t| t.span.clone());
            return Err(FilterError::new(
                self.expr,
                at,
                "Filter expression nested too deeply.",
            ));
        }
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.unexpected());
                }
                self.pos += 1;
                Ok(e)
            }
            _ => self.test().map(Expr::Test),
        }
    }

    fn operand(&mut self) -> Result<Operand<'a>, FilterError> {
        let Some(t) = self.toks.get(self.pos) else {
            return Err(self.unexpected());
        };
        let atom = match &t.tok {
            Tok::Word(w) => Atom::Word(w),
            Tok::Str(s) => Atom::Str(s.clone()),
            Tok::Char(c) => Atom::Char(*c),
            _ => return Err(self.unexpected()),
        };
        let span = t.span.clone();
        self.pos += 1;
        let mut slice = None;
        if let Some(Token {
            tok: Tok::Slice(s),
            span,
        }) = self.toks.get(self.pos)
        {
            slice = Some((*s, span.clone()));
            self.pos += 1;
        }
        Ok(Operand { atom, span, slice })
    }

    fn test(&mut self) -> Result<Test<'a>, FilterError> {
        let lhs = self.operand()?;
        let rel = match self.peek() {
            Some(Tok::Cmp(op)) => Some(Rel::Cmp(*op)),
            Some(Tok::Contains) => Some(Rel::Contains),
            Some(Tok::Matches) => Some(Rel::Matches),
            _ => None,
        };
        if let Some(rel) = rel {
            let span = self.toks[self.pos].span.clone();
            self.pos += 1;
            let rhs = self.operand()?;
            return Ok(Test {
                lhs,
                rel: Some((rel, span, rhs)),
                set: None,
            });
        }
        let negated = match (self.peek(), self.toks.get(self.pos + 1).map(|t| &t.tok)) {
            (Some(Tok::In), _) => false,
            (Some(Tok::Not), Some(Tok::In)) => {
                self.pos += 1;
                true
            }
            _ => {
                return Ok(Test {
                    lhs,
                    rel: None,
                    set: None,
                });
            }
        };
        self.pos += 1;
        if self.peek() != Some(&Tok::LBrace) {
            return Err(self.unexpected());
        }
        self.pos += 1;
        let mut members = Vec::new();
        loop {
            let lo = self.operand()?;
            let hi = if self.peek() == Some(&Tok::DotDot) {
                self.pos += 1;
                Some(self.operand()?)
            } else {
                None
            };
            members.push(Member { lo, hi });
            match self.peek() {
                Some(Tok::RBrace) => {
                    self.pos += 1;
                    break;
                }
                // tshark 4.0 wants commas; whitespace alone (Wireshark 3.x, and the issue's
                // `{1 2 8}`) is accepted too.
                Some(Tok::Comma) => self.pos += 1,
                _ => {}
            }
        }
        Ok(Test {
            lhs,
            rel: None,
            set: Some((negated, members)),
        })
    }
}

/// Parses a whole expression; `None` for an empty (or all-blank) one, which matches everything.
pub(crate) fn parse<'a>(
    expr: &'a str,
    toks: &[Token<'a>],
) -> Result<Option<Expr<'a>>, FilterError> {
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = P { expr, toks, pos: 0 };
    let e = p.or(0)?;
    if p.pos < toks.len() {
        return Err(p.unexpected());
    }
    Ok(Some(e))
}
