//! `Sec-WebSocket-Extensions` (RFC 6455 §9.1) and the permessage-deflate parameters
//! (RFC 7692 §7.1).
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//! Several header fields concatenate into one list. Optional whitespace is accepted
//! around the separators, as is an empty list element (RFC 9110 §5.6.1). A quoted value
//! must unescape to a token.

use crate::http::head::Header;
use std::fmt;

/// Extension token of permessage-deflate.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";
/// Smallest LZ77 window size a peer may ask for (RFC 7692 §7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// Largest LZ77 window size (RFC 7692 §7.1.2).
pub const MAX_WINDOW_BITS: u8 = 15;

/// One extension parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionParam {
    /// Parameter name as sent.
    pub name: String,
    /// Value (unquoted), if the parameter had one.
    pub value: Option<String>,
}

/// One element of an extension list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension {
    /// Extension token as sent.
    pub name: String,
    /// Parameters in order.
    pub params: Vec<ExtensionParam>,
}

impl Extension {
    /// Whether this is permessage-deflate (tokens compare case-insensitively).
    pub fn is_permessage_deflate(&self) -> bool {
        self.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)
    }
}

/// Where and why an extension list does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    /// Byte offset in the (concatenated) header value.
    pub offset: usize,
    /// What the grammar wanted there.
    pub expected: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.offset)
    }
}

impl std::error::Error for SyntaxError {}

/// A `tchar` of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a non-empty token.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// A cursor over a header value.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            expected,
        }
    }

    fn token(&mut self, expected: &'static str) -> Result<String, SyntaxError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        match self.s.get(start..self.pos) {
            Some(t) if !t.is_empty() => Ok(String::from_utf8_lossy(t).into_owned()),
            _ => Err(self.error(expected)),
        }
    }

    /// A quoted-string (RFC 9110 §5.6.4), unescaped; the opening quote is next.
    fn quoted(&mut self) -> Result<String, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(SyntaxError {
                        offset: open,
                        expected: "a closing quote",
                    });
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if b == b'\t' || b == b' ' || b >= 0x21 && b != 0x7f => {
                            out.push(b);
                            self.pos += 1;
                        }
                        _ => return Err(self.error("an escaped character")),
                    }
                }
                Some(b) if b == b'\t' || b == b' ' || b >= 0x21 && b != 0x7f => {
                    out.push(b);
                    self.pos += 1;
                }
                Some(_) => return Err(self.error("a quoted-string character")),
            }
        }
        let value = String::from_utf8_lossy(&out).into_owned();
        if is_token(&value) {
            Ok(value)
        } else {
            // RFC 6455 §9.1: the unescaped value must be a token.
            Err(SyntaxError {
                offset: open,
                expected: "a quoted value that is a token",
            })
        }
    }
}

/// Parses one `Sec-WebSocket-Extensions` value.
pub fn parse_extension_list(value: &str) -> Result<Vec<Extension>, SyntaxError> {
    let mut c = Cursor {
        s: value.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        c.skip_ows();
        match c.peek() {
            None => break,
            // An empty list element.
            Some(b',') => {
                c.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = c.token("an extension token")?;
        let mut params = Vec::new();
        loop {
            c.skip_ows();
            if !c.eat(b';') {
                break;
            }
            c.skip_ows();
            let pname = c.token("a parameter name")?;
            c.skip_ows();
            let pvalue = if c.eat(b'=') {
                c.skip_ows();
                Some(if c.peek() == Some(b'"') {
                    c.quoted()?
                } else {
                    c.token("a parameter value")?
                })
            } else {
                None
            };
            params.push(ExtensionParam {
                name: pname,
                value: pvalue,
            });
        }
        out.push(Extension { name, params });
        c.skip_ows();
        match c.peek() {
            None => break,
            Some(b',') => c.pos += 1,
            Some(_) => return Err(c.error("',' or ';'")),
        }
    }
    Ok(out)
}

/// The extension list of every `Sec-WebSocket-Extensions` field in `headers`, joined in
/// order; `None` when there is none.
pub fn header_extensions(headers: &[Header]) -> Option<Result<Vec<Extension>, SyntaxError>> {
    let mut fields = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .peekable();
    fields.peek()?;
    let joined = fields
        .map(|h| h.value.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Some(parse_extension_list(&joined))
}

/// The comma-separated elements of every `name` field, trimmed, empty ones skipped
/// (e.g. `Sec-WebSocket-Protocol`).
pub fn header_list<'h>(headers: &'h [Header], name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .flat_map(|h| h.value.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether a parameter list is an offer (request) or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// In the client's request.
    Offer,
    /// In the server's 101 response.
    Response,
}

/// `client_max_window_bits` as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowBits {
    /// Without a value (only in an offer: "I can honour a limit").
    NoValue,
    /// With a value of 8 to 15.
    Bits(u8),
}

/// The parameters of one permessage-deflate offer or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeflateParams {
    /// The server resets its compressor for each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor for each message.
    pub client_no_context_takeover: bool,
    /// Largest window the server may use.
    pub server_max_window_bits: Option<u8>,
    /// Largest window the client may use.
    pub client_max_window_bits: Option<WindowBits>,
}

/// Why a permessage-deflate parameter list is invalid (RFC 7692 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeflateParamError {
    /// A parameter RFC 7692 does not define (for this side).
    Unknown(String),
    /// A parameter given twice.
    Duplicate(String),
    /// A value on a parameter that takes none.
    UnexpectedValue(String),
    /// No value on a parameter that needs one.
    MissingValue(String),
    /// A window size that is not a decimal 8-15 without leading zeros.
    BadWindowBits {
        /// The parameter.
        name: String,
        /// What was sent.
        value: String,
    },
}

impl fmt::Display for DeflateParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateParamError::Unknown(n) => write!(f, "unknown parameter {n}"),
            DeflateParamError::Duplicate(n) => write!(f, "parameter {n} given twice"),
            DeflateParamError::UnexpectedValue(n) => write!(f, "parameter {n} takes no value"),
            DeflateParamError::MissingValue(n) => write!(f, "parameter {n} needs a value"),
            DeflateParamError::BadWindowBits { name, value } => {
                write!(f, "{name}={value} is not a window size of 8 to 15")
            }
        }
    }
}

impl std::error::Error for DeflateParamError {}

/// A window size value: a decimal integer 8-15 without leading zeros (RFC 7692 §7.1.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value
        .parse::<u8>()
        .ok()
        .filter(|b| (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(b))
}

/// Reads the parameters of one permessage-deflate element.
pub fn deflate_params(ext: &Extension, side: Side) -> Result<DeflateParams, DeflateParamError> {
    let mut p = DeflateParams::default();
    let mut seen = [false; 4];
    for param in &ext.params {
        let name = param.name.to_ascii_lowercase();
        let idx = match name.as_str() {
            "server_no_context_takeover" => 0,
            "client_no_context_takeover" => 1,
            "server_max_window_bits" => 2,
            "client_max_window_bits" => 3,
            _ => return Err(DeflateParamError::Unknown(param.name.clone())),
        };
        if let Some(s) = seen.get_mut(idx) {
            if *s {
                return Err(DeflateParamError::Duplicate(param.name.clone()));
            }
            *s = true;
        }
        let value = param.value.as_deref();
        let bad_bits = |v: &str| DeflateParamError::BadWindowBits {
            name: param.name.clone(),
            value: v.to_string(),
        };
        match (idx, value) {
            (0 | 1, Some(_)) => return Err(DeflateParamError::UnexpectedValue(param.name.clone())),
            (0, None) => p.server_no_context_takeover = true,
            (1, None) => p.client_no_context_takeover = true,
            (2, Some(v)) => {
                p.server_max_window_bits = Some(window_bits(v).ok_or_else(|| bad_bits(v))?)
            }
            (3, Some(v)) => {
                p.client_max_window_bits =
                    Some(WindowBits::Bits(window_bits(v).ok_or_else(|| bad_bits(v))?))
            }
            (3, None) if side == Side::Offer => {
                p.client_max_window_bits = Some(WindowBits::NoValue)
            }
            _ => return Err(DeflateParamError::MissingValue(param.name.clone())),
        }
    }
    Ok(p)
}

/// Why an accepted permessage-deflate configuration answers none of the client's offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferMismatch {
    /// `client_max_window_bits` in the response, absent from the offer (§7.1.2.2).
    ClientWindowNotOffered,
    /// A `client_max_window_bits` larger than the offered value.
    ClientWindowTooLarge {
        /// Offered limit.
        offered: u8,
        /// Accepted value.
        accepted: u8,
    },
    /// `server_max_window_bits` was offered but the response lacks it or exceeds it
    /// (§7.1.2.1).
    ServerWindow {
        /// Offered limit.
        offered: u8,
        /// Accepted value, if any.
        accepted: Option<u8>,
    },
    /// `server_no_context_takeover` was offered but the response lacks it (§7.1.1.1).
    ServerNoContextTakeoverDropped,
}

impl fmt::Display for OfferMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OfferMismatch::ClientWindowNotOffered => f.write_str(
                "client_max_window_bits in the response but not in the offer (RFC 7692 §7.1.2.2)",
            ),
            OfferMismatch::ClientWindowTooLarge { offered, accepted } => write!(
                f,
                "client_max_window_bits={accepted} exceeds the offered {offered} (RFC 7692 §7.1.2.2)"
            ),
            OfferMismatch::ServerWindow {
                offered,
                accepted: Some(a),
            } => write!(
                f,
                "server_max_window_bits={a} exceeds the offered {offered} (RFC 7692 §7.1.2.1)"
            ),
            OfferMismatch::ServerWindow {
                offered,
                accepted: None,
            } => write!(
                f,
                "server_max_window_bits={offered} was offered but the response omits it (RFC 7692 §7.1.2.1)"
            ),
            OfferMismatch::ServerNoContextTakeoverDropped => f.write_str(
                "server_no_context_takeover was offered but the response omits it (RFC 7692 §7.1.1.1)",
            ),
        }
    }
}

/// Checks an accepted configuration against one offer.
pub fn fits_offer(offer: &DeflateParams, accepted: &DeflateParams) -> Result<(), OfferMismatch> {
    match (
        offer.client_max_window_bits,
        accepted.client_max_window_bits,
    ) {
        (None, Some(_)) => return Err(OfferMismatch::ClientWindowNotOffered),
        (Some(WindowBits::Bits(o)), Some(WindowBits::Bits(a))) if a > o => {
            return Err(OfferMismatch::ClientWindowTooLarge {
                offered: o,
                accepted: a,
            });
        }
        _ => {}
    }
    if let Some(o) = offer.server_max_window_bits {
        match accepted.server_max_window_bits {
            Some(a) if a <= o => {}
            a => {
                return Err(OfferMismatch::ServerWindow {
                    offered: o,
                    accepted: a,
                });
            }
        }
    }
    if offer.server_no_context_takeover && !accepted.server_no_context_takeover {
        return Err(OfferMismatch::ServerNoContextTakeoverDropped);
    }
    Ok(())
}

/// A problem found while negotiating extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiationProblem {
    /// The request's extension list does not parse.
    OfferSyntax(SyntaxError),
    /// A permessage-deflate offer has invalid parameters (the server must decline it).
    OfferParams(DeflateParamError),
    /// The response's extension list does not parse.
    ResponseSyntax(SyntaxError),
    /// The accepted permessage-deflate has invalid parameters.
    ResponseParams(DeflateParamError),
    /// permessage-deflate accepted more than once (both would use RSV1, RFC 7692 §5).
    AcceptedTwice,
    /// The response names an extension the client did not offer.
    NotOffered(String),
    /// The accepted permessage-deflate matches none of the valid offers; the mismatch
    /// with the first of them.
    DeflateMismatch(OfferMismatch),
}

impl fmt::Display for NegotiationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationProblem::OfferSyntax(e) => write!(f, "malformed offer: {e}"),
            NegotiationProblem::OfferParams(e) => {
                write!(f, "invalid permessage-deflate offer: {e}")
            }
            NegotiationProblem::ResponseSyntax(e) => write!(f, "malformed response: {e}"),
            NegotiationProblem::ResponseParams(e) => {
                write!(f, "invalid permessage-deflate response: {e}")
            }
            NegotiationProblem::AcceptedTwice => {
                f.write_str("permessage-deflate accepted more than once (RFC 7692 §5)")
            }
            NegotiationProblem::NotOffered(name) => {
                write!(f, "extension {name} was not offered by the client")
            }
            NegotiationProblem::DeflateMismatch(m) => write!(f, "{m}"),
        }
    }
}

/// What the opening handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Negotiation {
    /// Extensions the client offered, in order (empty when the list did not parse).
    pub offered: Vec<Extension>,
    /// Extensions the server accepted, in order (empty when the list did not parse).
    pub accepted: Vec<Extension>,
    /// The permessage-deflate parameters in use, when the server accepted it with valid
    /// parameters (even if they answer no offer: the peers will still compress).
    pub deflate: Option<DeflateParams>,
    /// Whether an extension other than permessage-deflate was accepted (its RSV bits and
    /// payload transformations are unknown).
    pub other_extensions: bool,
    /// Problems, in the order found.
    pub problems: Vec<NegotiationProblem>,
}

/// Negotiates extensions from the request's and the 101 response's header fields.
pub fn negotiate(request: &[Header], response: &[Header]) -> Negotiation {
    let mut n = Negotiation::default();
    match header_extensions(request) {
        Some(Ok(list)) => n.offered = list,
        Some(Err(e)) => n.problems.push(NegotiationProblem::OfferSyntax(e)),
        None => {}
    }
    let offers_parsed = !matches!(n.problems.first(), Some(NegotiationProblem::OfferSyntax(_)));
    let mut deflate_offers = Vec::new();
    for ext in n.offered.iter().filter(|e| e.is_permessage_deflate()) {
        match deflate_params(ext, Side::Offer) {
            Ok(p) => deflate_offers.push(p),
            Err(e) => n.problems.push(NegotiationProblem::OfferParams(e)),
        }
    }
    match header_extensions(response) {
        Some(Ok(list)) => n.accepted = list,
        Some(Err(e)) => n.problems.push(NegotiationProblem::ResponseSyntax(e)),
        None => {}
    }
    let mut deflate_seen = false;
    for ext in &n.accepted {
        // With an unparsable offer, nothing can be said about what was offered.
        if offers_parsed
            && !n
                .offered
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&ext.name))
        {
            n.problems
                .push(NegotiationProblem::NotOffered(ext.name.clone()));
        }
        if !ext.is_permessage_deflate() {
            n.other_extensions = true;
            continue;
        }
        if deflate_seen {
            n.problems.push(NegotiationProblem::AcceptedTwice);
            continue;
        }
        deflate_seen = true;
        match deflate_params(ext, Side::Response) {
            Ok(p) => {
                n.deflate = Some(p);
                if !deflate_offers.is_empty()
                    && !deflate_offers.iter().any(|o| fits_offer(o, &p).is_ok())
                    && let Some(Err(m)) = deflate_offers.first().map(|o| fits_offer(o, &p))
                {
                    n.problems.push(NegotiationProblem::DeflateMismatch(m));
                }
            }
            Err(e) => n.problems.push(NegotiationProblem::ResponseParams(e)),
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
        Extension {
            name: name.into(),
            params: params
                .iter()
                .map(|(n, v)| ExtensionParam {
                    name: (*n).into(),
                    value: v.map(Into::into),
                })
                .collect(),
        }
    }

    fn headers(name: &str, values: &[&str]) -> Vec<Header> {
        values
            .iter()
            .map(|v| Header {
                name: name.into(),
                value: (*v).into(),
            })
            .collect()
    }

    #[test]
    fn rfc6455_9_1_examples() {
        // The §9.1 example header, split over two fields as the RFC shows.
        let h = headers("Sec-WebSocket-Extensions", &["foo", "bar; baz=2"]);
        assert_eq!(
            header_extensions(&h).unwrap().unwrap(),
            vec![ext("foo", &[]), ext("bar", &[("baz", Some("2"))])]
        );
        // §9.1: "deflate-stream" and "mux; max-channels=4; flow-control, deflate-stream".
        assert_eq!(
            parse_extension_list("mux; max-channels=4; flow-control, deflate-stream").unwrap(),
            vec![
                ext(
                    "mux",
                    &[("max-channels", Some("4")), ("flow-control", None)]
                ),
                ext("deflate-stream", &[]),
            ]
        );
    }

    #[test]
    fn browser_and_library_offers() {
        // Chromium's offer.
        assert_eq!(
            parse_extension_list("permessage-deflate; client_max_window_bits").unwrap(),
            vec![ext(PERMESSAGE_DEFLATE, &[("client_max_window_bits", None)])]
        );
        // Python websockets' offer.
        assert_eq!(
            parse_extension_list(
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
            )
            .unwrap(),
            vec![ext(
                PERMESSAGE_DEFLATE,
                &[
                    ("server_max_window_bits", Some("12")),
                    ("client_max_window_bits", Some("12"))
                ]
            )]
        );
        // RFC 7692 §5.2 style fallback offers.
        let list = parse_extension_list(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn whitespace_quotes_and_empty_elements() {
        assert_eq!(
            parse_extension_list(" , foo ;a = \"10\" ; b\t,, bar ,").unwrap(),
            vec![
                ext("foo", &[("a", Some("10")), ("b", None)]),
                ext("bar", &[])
            ]
        );
        assert_eq!(
            parse_extension_list("foo; x=\"a\\-b\"").unwrap(),
            vec![ext("foo", &[("x", Some("a-b"))])]
        );
        assert_eq!(parse_extension_list("").unwrap(), vec![]);
    }

    #[test]
    fn syntax_errors_with_offsets() {
        let e = |s| parse_extension_list(s).unwrap_err();
        assert_eq!(e("foo bar").offset, 4);
        assert_eq!(e("foo;").expected, "a parameter name");
        assert_eq!(e("foo; a=").expected, "a parameter value");
        assert_eq!(e("foo; a=\"10").expected, "a closing quote");
        assert_eq!(
            e("foo; a=\"1 0\"").expected,
            "a quoted value that is a token"
        );
        assert_eq!(e("foo; a=\"\"").expected, "a quoted value that is a token");
        assert_eq!(e("=x").offset, 0);
        assert_eq!(e("foo; a=b=c").offset, 8);
        assert_eq!(e("foo(").offset, 3);
    }

    #[test]
    fn deflate_params_offer_and_response() {
        let p = deflate_params(
            &parse_extension_list(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits",
            )
            .unwrap()[0],
            Side::Offer,
        )
        .unwrap();
        assert_eq!(
            p,
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(8),
                client_max_window_bits: Some(WindowBits::NoValue),
            }
        );
        let p = deflate_params(
            &parse_extension_list("permessage-deflate; client_max_window_bits=\"15\"").unwrap()[0],
            Side::Response,
        )
        .unwrap();
        assert_eq!(p.client_max_window_bits, Some(WindowBits::Bits(15)));
    }

    #[test]
    fn deflate_param_errors() {
        let err =
            |s: &str, side| deflate_params(&parse_extension_list(s).unwrap()[0], side).unwrap_err();
        use DeflateParamError::*;
        assert_eq!(
            err("permessage-deflate; foo", Side::Offer),
            Unknown("foo".into())
        );
        assert_eq!(
            err(
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                Side::Offer
            ),
            Duplicate("client_no_context_takeover".into())
        );
        assert_eq!(
            err(
                "permessage-deflate; server_no_context_takeover=1",
                Side::Response
            ),
            UnexpectedValue("server_no_context_takeover".into())
        );
        assert_eq!(
            err("permessage-deflate; server_max_window_bits", Side::Offer),
            MissingValue("server_max_window_bits".into())
        );
        assert_eq!(
            err("permessage-deflate; client_max_window_bits", Side::Response),
            MissingValue("client_max_window_bits".into())
        );
        for bad in ["7", "16", "08", "1O", "-9", "255", "256"] {
            assert_eq!(
                err(
                    &format!("permessage-deflate; server_max_window_bits={bad}"),
                    Side::Offer
                ),
                BadWindowBits {
                    name: "server_max_window_bits".into(),
                    value: bad.into()
                },
                "{bad}"
            );
        }
        for good in 8..=15 {
            let s = format!("permessage-deflate; server_max_window_bits={good}");
            let p = deflate_params(&parse_extension_list(&s).unwrap()[0], Side::Response).unwrap();
            assert_eq!(p.server_max_window_bits, Some(good));
        }
    }

    #[test]
    fn offer_fit() {
        let offer = DeflateParams {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(WindowBits::Bits(12)),
            ..Default::default()
        };
        let ok = DeflateParams {
            server_no_context_takeover: true,
            server_max_window_bits: Some(9),
            client_max_window_bits: Some(WindowBits::Bits(12)),
            client_no_context_takeover: true,
        };
        assert_eq!(fits_offer(&offer, &ok), Ok(()));
        assert_eq!(
            fits_offer(
                &offer,
                &DeflateParams {
                    server_max_window_bits: Some(11),
                    ..ok
                }
            ),
            Err(OfferMismatch::ServerWindow {
                offered: 10,
                accepted: Some(11)
            })
        );
        assert_eq!(
            fits_offer(
                &offer,
                &DeflateParams {
                    server_no_context_takeover: false,
                    ..ok
                }
            ),
            Err(OfferMismatch::ServerNoContextTakeoverDropped)
        );
        assert_eq!(
            fits_offer(
                &offer,
                &DeflateParams {
                    client_max_window_bits: Some(WindowBits::Bits(13)),
                    ..ok
                }
            ),
            Err(OfferMismatch::ClientWindowTooLarge {
                offered: 12,
                accepted: 13
            })
        );
        assert_eq!(
            fits_offer(
                &DeflateParams::default(),
                &DeflateParams {
                    client_max_window_bits: Some(WindowBits::Bits(13)),
                    ..Default::default()
                }
            ),
            Err(OfferMismatch::ClientWindowNotOffered)
        );
        // The server may add server_no_context_takeover, client_no_context_takeover and
        // server_max_window_bits unasked.
        assert_eq!(
            fits_offer(
                &DeflateParams::default(),
                &DeflateParams {
                    server_no_context_takeover: true,
                    client_no_context_takeover: true,
                    server_max_window_bits: Some(9),
                    client_max_window_bits: None
                }
            ),
            Ok(())
        );
    }

    #[test]
    fn negotiation() {
        let req = headers(
            "Sec-WebSocket-Extensions",
            &["permessage-deflate; client_max_window_bits"],
        );
        let resp = headers(
            "sec-websocket-extensions",
            &["permessage-deflate; server_no_context_takeover; client_max_window_bits=15"],
        );
        let n = negotiate(&req, &resp);
        assert!(n.problems.is_empty(), "{:?}", n.problems);
        let d = n.deflate.unwrap();
        assert!(d.server_no_context_takeover && !d.client_no_context_takeover);
        assert!(!n.other_extensions);

        // Nothing offered, something accepted.
        let n = negotiate(&[], &resp);
        assert_eq!(
            n.problems,
            vec![NegotiationProblem::NotOffered("permessage-deflate".into())]
        );
        assert!(n.deflate.is_some(), "still used for decoding");

        // An unknown extension, accepted because offered.
        let n = negotiate(
            &headers("Sec-WebSocket-Extensions", &["x-foo"]),
            &headers("Sec-WebSocket-Extensions", &["x-foo"]),
        );
        assert!(n.problems.is_empty() && n.other_extensions && n.deflate.is_none());

        // Second of two offers matches.
        let n = negotiate(
            &headers(
                "Sec-WebSocket-Extensions",
                &[
                    "permessage-deflate; server_max_window_bits=10",
                    "permessage-deflate",
                ],
            ),
            &headers(
                "Sec-WebSocket-Extensions",
                &["permessage-deflate; server_max_window_bits=12"],
            ),
        );
        assert!(n.problems.is_empty(), "{:?}", n.problems);
        // None matches.
        let n = negotiate(
            &headers(
                "Sec-WebSocket-Extensions",
                &["permessage-deflate; server_max_window_bits=10"],
            ),
            &headers(
                "Sec-WebSocket-Extensions",
                &["permessage-deflate; server_max_window_bits=12"],
            ),
        );
        assert_eq!(
            n.problems,
            vec![NegotiationProblem::DeflateMismatch(
                OfferMismatch::ServerWindow {
                    offered: 10,
                    accepted: Some(12)
                }
            )]
        );

        // Bad syntax both ways, invalid params, accepted twice.
        let n = negotiate(
            &headers("Sec-WebSocket-Extensions", &["permessage-deflate;"]),
            &headers(
                "Sec-WebSocket-Extensions",
                &["permessage-deflate, permessage-deflate; x"],
            ),
        );
        assert!(matches!(n.problems[0], NegotiationProblem::OfferSyntax(_)));
        assert_eq!(n.problems[1], NegotiationProblem::AcceptedTwice);
        assert_eq!(n.problems.len(), 2);
        let n = negotiate(
            &headers(
                "Sec-WebSocket-Extensions",
                &["permessage-deflate; client_max_window_bits=7"],
            ),
            &headers(
                "Sec-WebSocket-Extensions",
                &["permessage-deflate; server_max_window_bits"],
            ),
        );
        assert!(matches!(
            n.problems[0],
            NegotiationProblem::OfferParams(DeflateParamError::BadWindowBits { .. })
        ));
        assert!(matches!(
            n.problems[1],
            NegotiationProblem::ResponseParams(DeflateParamError::MissingValue(_))
        ));
        assert!(n.deflate.is_none());
    }

    #[test]
    fn header_lists() {
        let h = headers("Sec-WebSocket-Protocol", &["chat, superchat", " v2 ,"]);
        assert_eq!(
            header_list(&h, "sec-websocket-protocol").collect::<Vec<_>>(),
            ["chat", "superchat", "v2"]
        );
        assert!(header_extensions(&h).is_none());
    }
}
