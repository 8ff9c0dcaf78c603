//! The proxy-prefix analyzer: a connection to a SOCKS4, SOCKS5 or HTTP CONNECT proxy first
//! carries the proxy's own handshake, then the tunnelled bytes (usually TLS). This analyzer
//! reads the handshake (RFC 1928 for SOCKS5, the SOCKS4 and 4a protocol notes, RFC 9110
//! §9.3.6 for CONNECT), labels its packets as Wireshark does ("Socks"; the CONNECT request
//! and response go to the HTTP analyzer, as plain HTTP heads), then chooses the tunnel's
//! analyzer from its first bytes (TLS or HTTP) and hands it every byte after the handshake.
//! Anything that does not parse as the expected handshake goes to the HTTP analyzer as it is,
//! as if no proxy had been recognised.

use super::http::HttpAnalyzer;
use super::tls::TlsAnalyzer;
use super::{Analyzer, ConnState, Cx, Side};
use crate::flow::analysis::Direction;
use std::io;

/// Which proxy protocol the client spoke first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// SOCKS version 4 (and 4a: a host name after the user id).
    Socks4,
    /// SOCKS version 5 (RFC 1928), with or without username/password (RFC 1929).
    Socks5,
    /// An HTTP `CONNECT host:port` request.
    HttpConnect,
}

/// Longest SOCKS message kept while incomplete: a SOCKS5 request with a 255-byte host name
/// is 262 bytes, a username/password negotiation 513; SOCKS4 user ids and 4a host names
/// longer than this are not seen in practice.
const MAX_SOCKS_MESSAGE: usize = 1024;

impl ProxyKind {
    /// Recognises a proxy handshake from the client's first bytes (`None`: not one).
    /// SOCKS4: version 4, command connect or bind; SOCKS5: version 5 and a plausible
    /// method list, alone or followed by a request (version 5 again); HTTP: `CONNECT `.
    /// First bytes too short to tell (a handshake cut into small segments) count as the
    /// handshake they begin: the analyzer hands them to HTTP if the rest does not follow.
    pub fn detect(first: &[u8]) -> Option<ProxyKind> {
        match first {
            [4] | [4, 1 | 2, ..] => {
                // A whole first segment without the user id's NUL is not SOCKS4.
                let whole = first.len() > 8 && !first[8..].contains(&0);
                (!whole || first.len() < 8).then_some(ProxyKind::Socks4)
            }
            [5] => Some(ProxyKind::Socks5),
            [5, n, rest @ ..] if *n > 0 => {
                let n = usize::from(*n);
                let methods = rest.get(..n).unwrap_or(rest);
                // Defined methods: none, GSSAPI, username/password, and the private range.
                let plausible = methods
                    .iter()
                    .all(|&m| m <= 3 || (0x80..=0xFE).contains(&m));
                let after = rest.get(n..).unwrap_or_default();
                (plausible && (after.is_empty() || after.first() == Some(&5)))
                    .then_some(ProxyKind::Socks5)
            }
            _ if first.starts_with(b"CONNECT ")
                || (!first.is_empty() && b"CONNECT ".starts_with(first)) =>
            {
                Some(ProxyKind::HttpConnect)
            }
            _ => None,
        }
    }
}

/// One side's progress through the handshake.
#[derive(Debug, Default)]
struct SideState {
    /// Bytes of the message being read.
    buf: Vec<u8>,
    /// Messages of this side read so far.
    messages: u32,
    /// The handshake is over on this side: what follows is the tunnel.
    done: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct ProxyAnalyzer {
    kind: ProxyKind,
    sides: [SideState; 2],
    /// SOCKS5: the method the server chose (2: username/password, one more exchange).
    socks5_method: Option<u8>,
    /// SOCKS5: the command of the client's request (its reply is labelled with it).
    socks5_command: Option<u8>,
    /// CONNECT: the request and response heads go here; if the handshake fails, everything.
    http: HttpAnalyzer,
    /// The handshake could not be read: everything goes to `http` as it is.
    failed: bool,
    /// The tunnel's analyzer, chosen from its first bytes.
    tunnel: Option<Box<dyn Analyzer>>,
    /// TLS settings for a tunnel that turns out to be TLS.
    tls_hold: usize,
    inject_secrets: bool,
    max_head: usize,
}

/// What reading one message from a side's buffer found.
enum Parsed {
    /// A whole message of this many bytes.
    Message(usize),
    /// More bytes are needed.
    Incomplete,
    /// Not the expected message.
    Invalid,
}

impl ProxyAnalyzer {
    /// The handshake of `kind`; a TLS tunnel gets `tls_hold` and `inject_secrets` as a TLS
    /// root would, an HTTP head may be `max_head` bytes.
    pub fn new(kind: ProxyKind, tls_hold: usize, inject_secrets: bool, max_head: usize) -> Self {
        ProxyAnalyzer {
            kind,
            sides: [SideState::default(), SideState::default()],
            socks5_method: None,
            socks5_command: None,
            http: HttpAnalyzer::new(),
            failed: false,
            tunnel: None,
            tls_hold,
            inject_secrets,
            max_head,
        }
    }

    /// The next message the client (`client`) or the server sends, from `b`.
    fn parse(&self, client: bool, messages: u32, b: &[u8]) -> Parsed {
        match self.kind {
            ProxyKind::Socks4 if client => socks4_request(b),
            ProxyKind::Socks4 => fixed(b, 8, |b| b[0] == 0),
            ProxyKind::Socks5 => match (client, messages, self.socks5_method) {
                (true, 0, _) => match b {
                    [5, n, ..] => need(b, 2 + usize::from(*n)),
                    [] | [5] => Parsed::Incomplete,
                    _ => Parsed::Invalid,
                },
                // RFC 1929: version 1, username, password.
                (true, 1, Some(2)) => match b {
                    [1, ulen, rest @ ..] => match rest.get(usize::from(*ulen)) {
                        Some(plen) => need(b, 3 + usize::from(*ulen) + usize::from(*plen)),
                        None => Parsed::Incomplete,
                    },
                    [] | [1] => Parsed::Incomplete,
                    _ => Parsed::Invalid,
                },
                (true, _, _) => socks5_address_message(b),
                (false, 0, _) => fixed(b, 2, |b| b[0] == 5 && b[1] != 0xFF),
                (false, 1, Some(2)) => fixed(b, 2, |b| b[0] == 1 && b[1] == 0),
                (false, _, _) => socks5_address_message(b),
            },
            // Only the client's first message must be a CONNECT (the detection may have
            // seen just its first bytes).
            ProxyKind::HttpConnect
                if client && !b.starts_with(b"CONNECT ") && !b"CONNECT ".starts_with(b) =>
            {
                Parsed::Invalid
            }
            ProxyKind::HttpConnect => match b.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(end) => Parsed::Message(end + 4),
                None if b.len() > self.max_head => Parsed::Invalid,
                None => Parsed::Incomplete,
            },
        }
    }

    /// Messages each side sends before the tunnel (the same number both ways).
    fn messages_before_tunnel(&self) -> u32 {
        match self.kind {
            ProxyKind::Socks4 | ProxyKind::HttpConnect => 1,
            // Greeting / method choice, (username and password / status,) request / reply.
            ProxyKind::Socks5 if self.socks5_method == Some(2) => 3,
            ProxyKind::Socks5 => 2,
        }
    }

    /// Wireshark's Info for SOCKS message number `n` of a side (tshark 4.0.17 on
    /// samples/tls13-proxied.pcap; the username/password exchange, not in a sample, is
    /// labelled with the version alone).
    fn socks_info(&self, client: bool, n: u32, message: &[u8]) -> &'static str {
        let auth = self.socks5_method == Some(2);
        match (self.kind, client, n) {
            (ProxyKind::Socks4, true, _) => "Version: 4 Connect to server request",
            (ProxyKind::Socks4, false, _) => "Version: 4 Connect Response",
            (_, true, 0) => "Version: 5 Connect to server request",
            (_, false, 0) => "Version: 5 Connect to server response",
            (_, _, 1) if auth => "Version: 5",
            (_, true, _) => match message.get(1) {
                Some(1) => "Version: 5 Command Request - Connect",
                Some(2) => "Version: 5 Command Request - Bind",
                Some(3) => "Version: 5 Command Request - UdpAssociate",
                _ => "Version: 5 Command Request - Unknown",
            },
            (_, false, _) => match self.socks5_command {
                Some(1) => "Version: 5 Command Response - Connect",
                Some(2) => "Version: 5 Command Response - Bind",
                Some(3) => "Version: 5 Command Response - UdpAssociate",
                _ => "Version: 5 Command Response - Unknown",
            },
        }
    }

    /// Gives up on the handshake: what was kept, and all that follows, goes to HTTP.
    fn fail(&mut self, conn: &mut ConnState, cx: &mut Cx<'_>, packet: u64) -> io::Result<()> {
        self.failed = true;
        for side in 0..2 {
            let kept = std::mem::take(&mut self.sides[side].buf);
            if !kept.is_empty() {
                self.http.data(conn, cx, side, packet, &kept)?;
            }
        }
        Ok(())
    }

    /// Tunnel bytes of `side`: to the tunnel's analyzer, chosen now if it is the first.
    fn tunnel_data(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        packet: u64,
        bytes: &[u8],
    ) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let (hold, inject) = (self.tls_hold, self.inject_secrets);
        let tunnel = self.tunnel.get_or_insert_with(|| {
            if crate::tls::looks_like_tls(bytes) {
                Box::new(TlsAnalyzer::new(hold).injecting_secrets(inject))
            } else {
                Box::new(HttpAnalyzer::new())
            }
        });
        tunnel.data(conn, cx, side, packet, bytes)
    }
}

/// `b` holds a whole message of `len` bytes?
fn need(b: &[u8], len: usize) -> Parsed {
    if b.len() >= len {
        Parsed::Message(len)
    } else {
        Parsed::Incomplete
    }
}

/// A fixed-size message whose bytes `ok` accepts.
fn fixed(b: &[u8], len: usize, ok: impl Fn(&[u8]) -> bool) -> Parsed {
    match b.get(..len) {
        Some(m) if ok(m) => Parsed::Message(len),
        Some(_) => Parsed::Invalid,
        None => Parsed::Incomplete,
    }
}

/// SOCKS4 request: version 4, command, port, IPv4, user id and NUL; SOCKS4a (address
/// 0.0.0.x, x ≠ 0): a NUL-terminated host name follows.
fn socks4_request(b: &[u8]) -> Parsed {
    let [4, 1 | 2, _, _, a, b1, c, d, rest @ ..] = b else {
        return match b {
            [] | [4] => Parsed::Incomplete,
            [4, 1 | 2, rest @ ..] if rest.len() < 6 => Parsed::Incomplete,
            _ => Parsed::Invalid,
        };
    };
    let Some(user_end) = rest.iter().position(|&x| x == 0) else {
        return Parsed::Incomplete;
    };
    let mut len = 8 + user_end + 1;
    if [*a, *b1, *c] == [0, 0, 0] && *d != 0 {
        let Some(host_end) = rest[user_end + 1..].iter().position(|&x| x == 0) else {
            return Parsed::Incomplete;
        };
        len += host_end + 1;
    }
    Parsed::Message(len)
}

/// A SOCKS5 request or reply: version 5, command or status, reserved, address type, the
/// address (IPv4, a length-prefixed name, IPv6), the port.
fn socks5_address_message(b: &[u8]) -> Parsed {
    match b {
        [5, _, 0, 1, ..] => need(b, 4 + 4 + 2),
        [5, _, 0, 3, n, ..] => need(b, 5 + usize::from(*n) + 2),
        [5, _, 0, 4, ..] => need(b, 4 + 16 + 2),
        [] | [5] | [5, _] | [5, _, 0] | [5, _, 0, 3] => Parsed::Incomplete,
        _ => Parsed::Invalid,
    }
}

impl Analyzer for ProxyAnalyzer {
    fn data(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        packet: u64,
        bytes: &[u8],
    ) -> io::Result<()> {
        if self.failed {
            return self.http.data(conn, cx, side, packet, bytes);
        }
        if self.sides[side].done {
            return self.tunnel_data(conn, cx, side, packet, bytes);
        }
        let client = conn.direction(side) == Direction::ClientToServer;
        self.sides[side].buf.extend_from_slice(bytes);
        loop {
            let st = &self.sides[side];
            let parsed = self.parse(client, st.messages, &st.buf);
            let len = match parsed {
                Parsed::Message(len) => len,
                Parsed::Incomplete => {
                    let limit = match self.kind {
                        ProxyKind::HttpConnect => self.max_head,
                        _ => MAX_SOCKS_MESSAGE,
                    };
                    if self.sides[side].buf.len() > limit {
                        return self.fail(conn, cx, packet);
                    }
                    cx.delivered_into_pdu = true;
                    return Ok(());
                }
                Parsed::Invalid => return self.fail(conn, cx, packet),
            };
            let rest = self.sides[side].buf.split_off(len);
            let message = std::mem::take(&mut self.sides[side].buf);
            match self.kind {
                ProxyKind::HttpConnect => {
                    // The server refused the tunnel (not 2xx): plain HTTP from here on.
                    let refused = !client
                        && !matches!(message.get(8..10), Some([b' ', b'2']) if message.starts_with(b"HTTP/1."));
                    self.http.data(conn, cx, side, packet, &message)?;
                    if refused {
                        self.failed = true;
                        return self.http.data(conn, cx, side, packet, &rest);
                    }
                }
                _ => {
                    if self.kind == ProxyKind::Socks5 && !client && self.sides[side].messages == 0 {
                        self.socks5_method = message.get(1).copied();
                    }
                    // A refused SOCKS request: no tunnel follows.
                    let last_reply =
                        !client && self.sides[side].messages + 1 == self.messages_before_tunnel();
                    let granted = match self.kind {
                        ProxyKind::Socks4 => message.get(1) == Some(&0x5A),
                        _ => message.get(1) == Some(&0),
                    };
                    let n = self.sides[side].messages;
                    if self.kind == ProxyKind::Socks5
                        && client
                        && n + 1 == self.messages_before_tunnel()
                    {
                        self.socks5_command = message.get(1).copied();
                    }
                    cx.tls_label
                        .set_other("Socks", self.socks_info(client, n, &message));
                    cx.pdus_completed += 1;
                    if last_reply && !granted {
                        self.failed = true;
                        return self.http.data(conn, cx, side, packet, &rest);
                    }
                }
            }
            let needed = self.messages_before_tunnel();
            let st = &mut self.sides[side];
            st.messages += 1;
            if st.messages >= needed {
                st.done = true;
                return self.tunnel_data(conn, cx, side, packet, &rest);
            }
            self.sides[side].buf = rest;
            if self.sides[side].buf.is_empty() {
                return Ok(());
            }
        }
    }

    fn gap(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        len: u64,
    ) -> io::Result<()> {
        if self.sides[side].done && !self.failed {
            return match &mut self.tunnel {
                Some(t) => t.gap(conn, cx, side, len),
                // Nothing of the tunnel seen yet: its analyzer cannot be chosen.
                None => Ok(()),
            };
        }
        // A handshake with a hole cannot be followed.
        let packet = cx.packet;
        if !self.failed {
            self.fail(conn, cx, packet)?;
        }
        self.http.gap(conn, cx, side, len)
    }

    fn end(&mut self, conn: &mut ConnState, cx: &mut Cx<'_>) -> io::Result<()> {
        if let Some(t) = &mut self.tunnel {
            t.end(conn, cx)?;
        }
        self.http.end(conn, cx)
    }

    fn decodes_pdus(&self, side: Side) -> bool {
        if self.failed {
            return self.http.decodes_pdus(side);
        }
        if self.sides[side].done {
            return self.tunnel.as_ref().is_none_or(|t| t.decodes_pdus(side));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_three_handshakes_and_nothing_else() {
        // RFC 1928 §3: version 5, one method, "no authentication".
        assert_eq!(ProxyKind::detect(&[5, 1, 0]), Some(ProxyKind::Socks5));
        assert_eq!(
            ProxyKind::detect(&[5, 2, 0, 2, 5, 1, 0, 1]),
            Some(ProxyKind::Socks5)
        );
        assert_eq!(ProxyKind::detect(&[5, 1, 0x42]), None);
        assert_eq!(ProxyKind::detect(&[5, 2, 0, 0x42]), None);
        // SOCKS4: version 4, connect, port 80, 10.0.0.1, user "u".
        assert_eq!(
            ProxyKind::detect(&[4, 1, 0, 80, 10, 0, 0, 1, b'u', 0]),
            Some(ProxyKind::Socks4)
        );
        assert_eq!(
            ProxyKind::detect(&[4, 1, 0, 80, 10, 0, 0, 1, b'u']),
            None,
            "a whole first segment without the user id's end"
        );
        // Cut short: the beginning of a handshake.
        assert_eq!(ProxyKind::detect(&[5]), Some(ProxyKind::Socks5));
        assert_eq!(ProxyKind::detect(&[5, 2, 0]), Some(ProxyKind::Socks5));
        assert_eq!(ProxyKind::detect(&[4, 1, 0]), Some(ProxyKind::Socks4));
        assert_eq!(ProxyKind::detect(b"CON"), Some(ProxyKind::HttpConnect));
        assert_eq!(ProxyKind::detect(b"COPY /x HTTP/1.1\r\n"), None);
        assert_eq!(
            ProxyKind::detect(b"CONNECT example.com:443 HTTP/1.1\r\n"),
            Some(ProxyKind::HttpConnect)
        );
        assert_eq!(ProxyKind::detect(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(ProxyKind::detect(&[22, 3, 1, 0, 200]), None);
        assert_eq!(ProxyKind::detect(&[]), None);
    }

    #[test]
    fn socks_messages_are_measured() {
        assert!(matches!(
            socks4_request(&[4, 1, 0, 80, 10, 0, 0, 1, b'u', 0, 22]),
            Parsed::Message(10)
        ));
        // SOCKS4a: 0.0.0.1 and a host name after the user id.
        let mut a = vec![4, 1, 1, 187, 0, 0, 0, 1, 0];
        a.extend_from_slice(b"example.com\0");
        assert!(matches!(socks4_request(&a), Parsed::Message(21)));
        assert!(matches!(socks4_request(&a[..15]), Parsed::Incomplete));
        let mut r = vec![5, 1, 0, 3, 9];
        r.extend_from_slice(b"localhost");
        r.extend_from_slice(&443u16.to_be_bytes());
        assert!(matches!(socks5_address_message(&r), Parsed::Message(16)));
        assert!(matches!(
            socks5_address_message(&r[..10]),
            Parsed::Incomplete
        ));
        assert!(matches!(
            socks5_address_message(&[5, 0, 0, 1, 127, 0, 0, 1, 1, 187]),
            Parsed::Message(10)
        ));
        assert!(matches!(
            socks5_address_message(&[5, 0, 0, 9]),
            Parsed::Invalid
        ));
    }
}
