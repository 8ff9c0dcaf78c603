//! Handshake message summaries (RFC 8446 §4, RFC 5246 §7.4), parsed with rusticata's
//! tls-parser and kept as small owned values.

use tls_parser::{SNIType, TlsExtension};

/// A handshake message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandshakeType(pub u8);

impl HandshakeType {
    /// ClientHello.
    pub const CLIENT_HELLO: HandshakeType = HandshakeType(1);
    /// ServerHello.
    pub const SERVER_HELLO: HandshakeType = HandshakeType(2);
    /// Reported for a ServerHello that carries the HelloRetryRequest random (RFC 8446
    /// §4.1.3). On the wire it is a ServerHello (2); 6 was its own type in the TLS 1.3
    /// drafts, and "Hello Retry Request" is what Wireshark shows.
    pub const HELLO_RETRY_REQUEST: HandshakeType = HandshakeType(6);
    /// NewSessionTicket.
    pub const NEW_SESSION_TICKET: HandshakeType = HandshakeType(4);
    /// EncryptedExtensions (TLS 1.3).
    pub const ENCRYPTED_EXTENSIONS: HandshakeType = HandshakeType(8);
    /// Finished.
    pub const FINISHED: HandshakeType = HandshakeType(20);
    /// KeyUpdate (TLS 1.3).
    pub const KEY_UPDATE: HandshakeType = HandshakeType(24);

    /// Wireshark's name for the message ("Client Hello", "Encrypted Extensions", ...).
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "Hello Request",
            1 => "Client Hello",
            2 => "Server Hello",
            3 => "Hello Verify Request",
            4 => "New Session Ticket",
            5 => "End of Early Data",
            6 => "Hello Retry Request",
            8 => "Encrypted Extensions",
            11 => "Certificate",
            12 => "Server Key Exchange",
            13 => "Certificate Request",
            14 => "Server Hello Done",
            15 => "Certificate Verify",
            16 => "Client Key Exchange",
            20 => "Finished",
            21 => "Certificate URL",
            22 => "Certificate Status",
            23 => "Supplemental Data",
            24 => "Key Update",
            25 => "Compressed Certificate",
            254 => "Message Hash",
            _ => "Unknown Handshake Message",
        }
    }
}

/// Most ALPN protocols kept from a ClientHello (a real list has two or three).
const MAX_ALPN: usize = 16;
/// Most supported versions kept.
const MAX_VERSIONS: usize = 16;

/// What a ClientHello offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version` (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// The 32-byte random: the key log's lookup key.
    pub random: [u8; 32],
    /// Server Name Indication host name, when sent (lossy UTF-8).
    pub sni: Option<String>,
    /// ALPN protocol names offered, in order (lossy UTF-8; at most 16).
    pub alpn: Vec<String>,
    /// `supported_versions` (TLS 1.3 clients), in order (at most 16).
    pub supported_versions: Vec<u16>,
    /// Number of cipher suites offered.
    pub cipher_suites: usize,
    /// The early_data extension (TLS 1.3 0-RTT) was sent.
    pub early_data: bool,
}

/// What a ServerHello (or HelloRetryRequest) selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version`.
    pub legacy_version: u16,
    /// The negotiated version: `supported_versions` when present (TLS 1.3), else legacy.
    pub version: u16,
    /// The 32-byte random.
    pub random: [u8; 32],
    /// Selected cipher suite.
    pub cipher_suite: u16,
    /// Selected ALPN protocol (TLS 1.2; in TLS 1.3 it is in EncryptedExtensions).
    pub alpn: Option<String>,
    /// encrypt_then_mac was echoed (RFC 7366; CBC suites of TLS 1.2).
    pub encrypt_then_mac: bool,
    /// The random is RFC 8446's HelloRetryRequest value.
    pub hello_retry_request: bool,
}

/// SHA-256("HelloRetryRequest"), the ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses a ClientHello body (after the 4-byte handshake header).
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let (_, ch) = tls_parser::parse_tls_handshake_client_hello(body).ok()?;
    let mut out = ClientHello {
        legacy_version: ch.version.0,
        random: ch.random.try_into().ok()?,
        cipher_suites: ch.ciphers.len(),
        ..ClientHello::default()
    };
    if let Some(ext) = ch.ext {
        out.early_data = extension_types(ext).any(|t| t == EXT_EARLY_DATA);
        for e in extensions(ext) {
            match e {
                TlsExtension::SNI(names) => {
                    out.sni = names
                        .iter()
                        .find(|(t, _)| *t == SNIType::HostName)
                        .map(|(_, n)| lossy(n));
                }
                TlsExtension::ALPN(list) => {
                    out.alpn = list.iter().take(MAX_ALPN).map(|p| lossy(p)).collect();
                }
                TlsExtension::SupportedVersions(v) => {
                    out.supported_versions = v.iter().take(MAX_VERSIONS).map(|v| v.0).collect();
                }
                _ => {}
            }
        }
    }
    Some(out)
}

/// Whether a ServerHello body carries the HelloRetryRequest random.
pub fn is_hello_retry_request(body: &[u8]) -> bool {
    body.get(2..34) == Some(&HRR_RANDOM[..])
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let (_, sh) = tls_parser::parse_tls_handshake_server_hello(body).ok()?;
    let random: [u8; 32] = sh.random.try_into().ok()?;
    let mut out = ServerHello {
        legacy_version: sh.version.0,
        version: sh.version.0,
        random,
        cipher_suite: sh.cipher.0,
        hello_retry_request: random == HRR_RANDOM,
        ..ServerHello::default()
    };
    if let Some(ext) = sh.ext {
        if extension_types(ext).any(|t| t == EXT_ENCRYPT_THEN_MAC) {
            out.encrypt_then_mac = true;
        }
        for e in extensions(ext) {
            match e {
                TlsExtension::SupportedVersions(v) => {
                    if let Some(v) = v.first() {
                        out.version = v.0;
                    }
                }
                TlsExtension::ALPN(list) => out.alpn = list.first().map(|p| lossy(p)),
                _ => {}
            }
        }
    }
    Some(out)
}

/// The ALPN protocol in a TLS 1.3 EncryptedExtensions body; `Err` when malformed.
pub fn parse_encrypted_extensions(body: &[u8]) -> Result<Option<String>, ()> {
    let len = usize::from(u16::from_be_bytes(
        body.get(..2).ok_or(())?.try_into().map_err(|_| ())?,
    ));
    let exts = body.get(2..2 + len).ok_or(())?;
    Ok(extensions(exts).find_map(|e| match e {
        TlsExtension::ALPN(list) => list.first().map(|p| lossy(p)),
        _ => None,
    }))
}

/// early_data (RFC 8446 §4.2.10).
const EXT_EARLY_DATA: u16 = 42;
/// encrypt_then_mac (RFC 7366).
const EXT_ENCRYPT_THEN_MAC: u16 = 22;

/// Each extension of an extensions block as raw bytes (type, length, data), stopping at the
/// first one that does not fit. Walked here rather than with tls-parser's list parser
/// because that one stops silently at the first extension it cannot read (seen: OpenSSL's
/// ServerHello lost encrypt_then_mac behind ec_point_formats).
fn raw_extensions(mut block: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let head = block.get(..4)?;
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let one = block.get(..4 + len)?;
        block = &block[4 + len..];
        Some(one)
    })
}

fn extension_types(block: &[u8]) -> impl Iterator<Item = u16> + '_ {
    raw_extensions(block).map(|e| u16::from_be_bytes([e[0], e[1]]))
}

/// Each extension tls-parser can read, one at a time (an unreadable one is skipped).
fn extensions(block: &[u8]) -> impl Iterator<Item = TlsExtension<'_>> {
    raw_extensions(block).filter_map(|e| tls_parser::parse_tls_extension(e).ok().map(|(_, x)| x))
}

/// The HelloRetryRequest random, for tests elsewhere in the module.
#[cfg(test)]
pub(crate) fn tests_hrr_random() -> [u8; 32] {
    HRR_RANDOM
}

/// An SSL 2.0-compatible ClientHello (RFC 5246 Appendix E.2, the format of RFC 6101
/// Appendix E.2.1 with a TLS version): a two-byte header with the top bit set, message type
/// 1, version, the lengths of the cipher specs (3 bytes each), session id and challenge, then
/// those. `bytes` must hold the whole message; returns its length (header included) and the
/// hello, whose random is the challenge right-justified in 32 bytes (Appendix E.2), the key
/// a key log uses for such a connection.
pub fn parse_sslv2_client_hello(bytes: &[u8]) -> Option<(usize, ClientHello)> {
    let [h0, h1, 1, v0, v1, c0, c1, s0, s1, l0, l1, rest @ ..] = bytes else {
        return None;
    };
    if h0 & 0x80 == 0 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([h0 & 0x7F, *h1]));
    let version = u16::from_be_bytes([*v0, *v1]);
    let specs = usize::from(u16::from_be_bytes([*c0, *c1]));
    let session = usize::from(u16::from_be_bytes([*s0, *s1]));
    let challenge = usize::from(u16::from_be_bytes([*l0, *l1]));
    let plausible = (version == 0x0002 || (0x0300..=0x0303).contains(&version))
        && specs > 0
        && specs % 3 == 0
        && session <= 32
        && (16..=32).contains(&challenge)
        && len == 9 + specs + session + challenge;
    if !plausible {
        return None;
    }
    let body = rest.get(..specs + session + challenge)?;
    let mut random = [0u8; 32];
    random[32 - challenge..].copy_from_slice(body.get(specs + session..)?);
    Some((
        2 + len,
        ClientHello {
            legacy_version: version,
            random,
            cipher_suites: specs / 3,
            ..ClientHello::default()
        },
    ))
}

#[cfg(test)]
mod sslv2_tests {
    use super::*;

    /// The layout of RFC 5246 Appendix E.2, built here field by field.
    #[test]
    fn sslv2_client_hello() {
        let challenge: Vec<u8> = (0xA0..0xB0).collect();
        let mut body = vec![1, 3, 3, 0, 6, 0, 0, 0, 16];
        body.extend_from_slice(&[0, 0xC0, 0x2F, 0, 0, 0x9C]);
        body.extend_from_slice(&challenge);
        let mut msg = vec![0x80, body.len() as u8];
        msg.extend_from_slice(&body);
        let (len, hello) = parse_sslv2_client_hello(&msg).unwrap();
        assert_eq!(len, msg.len());
        assert_eq!(hello.legacy_version, 0x0303);
        assert_eq!(hello.cipher_suites, 2);
        assert_eq!(&hello.random[..16], &[0; 16]);
        assert_eq!(&hello.random[16..], &challenge[..]);
        // Cut short, a wrong message type, a length that does not add up: not one.
        assert!(parse_sslv2_client_hello(&msg[..msg.len() - 1]).is_none());
        let mut bad = msg.clone();
        bad[2] = 2;
        assert!(parse_sslv2_client_hello(&bad).is_none());
        let mut bad = msg.clone();
        bad[1] += 1;
        assert!(parse_sslv2_client_hello(&bad).is_none());
        // A TLS record is not one.
        assert!(parse_sslv2_client_hello(&[22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]).is_none());
    }
}
