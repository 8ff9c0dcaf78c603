//! One TLS connection: records across segment boundaries, the handshake, key selection from
//! the key log and record decryption, pushed out as events.
//!
//! Record framing (5-byte header) and handshake framing (4-byte header) are done here, not
//! with tls-parser's record parsers: they must resume across TCP segments with a bounded
//! buffer and run on decrypted TLS 1.3 content, and tls-parser's record parser collects
//! every message of a record into a Vec. tls-parser parses the message bodies
//! (handshake.rs).

use super::crypto::{self, DecryptError, RecordCipher, Suite};
use super::handshake::{self, ClientHello, HandshakeType, ServerHello};
use super::keylog::{KeyLog, Secret};
use super::{
    ContentType, Dir, HEADER_LEN, MAX_HANDSHAKE_LEN, MAX_RECORD_LEN, RecordHeader, TlsAnomalyKind,
};

/// Whether (and why not) a connection's records are decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptStatus {
    /// Nothing encrypted seen yet (or no handshake yet).
    Pending,
    /// Records are being decrypted and authenticated.
    Decrypted,
    /// The key log has no (usable) secret for this connection's client random.
    NoKey,
    /// The negotiated suite (IANA number) is not one this tool decrypts.
    UnsupportedCipher(u16),
    /// Encrypted records came without a handshake: the capture started after it.
    MissedHandshake,
    /// A record failed authentication; decryption stopped in that direction.
    TagMismatch,
    /// Bytes were missing from the stream; decryption stopped in that direction.
    Gap,
}

impl DecryptStatus {
    /// A short phrase: "decrypted", "no key for this client random", ...
    pub fn describe(self) -> &'static str {
        match self {
            DecryptStatus::Pending => "not encrypted yet",
            DecryptStatus::Decrypted => "decrypted",
            DecryptStatus::NoKey => "no key for this client random",
            DecryptStatus::UnsupportedCipher(_) => "unsupported cipher suite",
            DecryptStatus::MissedHandshake => "capture started after the handshake",
            DecryptStatus::TagMismatch => "record authentication failed (tag mismatch)",
            DecryptStatus::Gap => "bytes missing from the stream",
        }
    }
}

/// One record as it went by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    /// Direction as fed.
    pub dir: Dir,
    /// The header as sent.
    pub header: RecordHeader,
    /// The record was protected (sent after the keys changed).
    pub encrypted: bool,
    /// The record was decrypted and authenticated.
    pub decrypted: bool,
    /// The content type inside a decrypted TLS 1.3 record (else the header's).
    pub inner_type: ContentType,
    /// The version Wireshark shows in its protocol column for this record: the negotiated
    /// one once a ServerHello was read, else the header's.
    pub display_version: u16,
    /// Offset of the header in this direction's stream (bytes fed, gaps included).
    pub stream_offset: u64,
    /// Offset just after the record's last byte in the `bytes` of the current
    /// [`TlsConnection::data`] call (the record ends in this chunk).
    pub end_in_chunk: usize,
}

/// What a [`TlsConnection`] reports, in stream order. A record's inner events
/// (handshake messages, alerts, plaintext) come before its [`TlsEvent::Record`].
#[derive(Debug)]
pub enum TlsEvent<'a> {
    /// A ClientHello was read.
    ClientHello {
        /// Direction as fed.
        dir: Dir,
        /// Its summary.
        hello: &'a ClientHello,
    },
    /// A ServerHello (or HelloRetryRequest, see [`ServerHello::hello_retry_request`]) was read.
    ServerHello {
        /// Direction as fed.
        dir: Dir,
        /// Its summary.
        hello: &'a ServerHello,
    },
    /// Any handshake message (ClientHello and ServerHello too), plaintext or decrypted.
    Handshake {
        /// Direction as fed.
        dir: Dir,
        /// Message type.
        msg_type: HandshakeType,
        /// Body length.
        length: u32,
        /// Read from a decrypted record.
        decrypted: bool,
    },
    /// TLS 1.3 EncryptedExtensions with the selected ALPN protocol, if any.
    EncryptedExtensions {
        /// Direction as fed.
        dir: Dir,
        /// Selected ALPN protocol.
        alpn: Option<&'a str>,
    },
    /// TLS 1.3 KeyUpdate: this direction moved to its next traffic secret.
    KeyUpdate {
        /// Direction as fed.
        dir: Dir,
        /// The sender asked the peer to update too.
        update_requested: bool,
    },
    /// ChangeCipherSpec.
    ChangeCipherSpec {
        /// Direction as fed.
        dir: Dir,
    },
    /// An alert (plaintext or decrypted).
    Alert {
        /// Direction as fed.
        dir: Dir,
        /// 1 warning, 2 fatal.
        level: u8,
        /// Alert description number.
        description: u8,
    },
    /// Decrypted, authenticated application data for the layer above.
    Plaintext {
        /// Direction as fed.
        dir: Dir,
        /// The bytes.
        data: &'a [u8],
    },
    /// Plaintext of this direction is missing (bytes of the TCP stream were not captured)
    /// and nothing before the next [`TlsEvent::Plaintext`] fills it; tell the layer above.
    PlaintextGap {
        /// Direction as fed.
        dir: Dir,
        /// At most this many plaintext bytes are missing (one lost record) and decryption
        /// goes on after them; `None`: decryption of this direction stopped.
        len: Option<u64>,
    },
    /// A record (after its inner events).
    Record(RecordInfo),
    /// The connection's decryption status changed.
    Status(DecryptStatus),
    /// Something wrong or noteworthy.
    Anomaly {
        /// Direction as fed.
        dir: Dir,
        /// What.
        kind: TlsAnomalyKind,
        /// Offset in this direction's stream where it was noticed.
        stream_offset: u64,
    },
}

/// What the connection learned, for the conversations table and JSON records.
#[derive(Debug, Clone, Default)]
pub struct TlsSummary {
    /// The ClientHello (the last one, after a HelloRetryRequest).
    pub client_hello: Option<ClientHello>,
    /// The ServerHello.
    pub server_hello: Option<ServerHello>,
    /// A HelloRetryRequest was seen.
    pub hello_retry_request: bool,
    /// ALPN selected by the server (ServerHello in 1.2, EncryptedExtensions in 1.3).
    pub alpn: Option<String>,
    /// The ClientHello came from [`Dir::ServerToClient`]: roles swapped.
    pub roles_swapped: bool,
    /// KeyUpdates seen.
    pub key_updates: u32,
    /// Records seen, both directions.
    pub records: u64,
    /// Records decrypted, both directions.
    pub decrypted_records: u64,
}

impl TlsSummary {
    /// The negotiated version, once a ServerHello was read.
    pub fn version(&self) -> Option<u16> {
        self.server_hello.as_ref().map(|s| s.version)
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<u16> {
        self.server_hello.as_ref().map(|s| s.cipher_suite)
    }

    /// The SNI host name.
    pub fn sni(&self) -> Option<&str> {
        self.client_hello.as_ref().and_then(|c| c.sni.as_deref())
    }
}

#[derive(Debug, Default)]
struct Side {
    /// An incomplete record (header included), at most HEADER_LEN + MAX_RECORD_LEN bytes.
    buf: Vec<u8>,
    /// Stream offset of the next byte fed.
    pos: u64,
    /// Handshake bytes not yet forming a whole message.
    hs: Vec<u8>,
    /// Skipping the rest of a handshake message that was too long: bytes left.
    hs_skip: usize,
    /// Decrypted plaintext of the current record.
    plain: Vec<u8>,
    /// Protection of this side's records, once known.
    cipher: Option<RecordCipher>,
    /// TLS 1.2: keys waiting for this side's ChangeCipherSpec.
    pending: Option<RecordCipher>,
    /// This side's records are protected from now on.
    encrypted: bool,
    /// TLS 1.3: the current traffic secret (for KeyUpdate).
    secret: Option<Secret>,
    /// An encrypted record went by undecrypted: late keys cannot catch up.
    skipped: bool,
    /// Record parsing stopped (bad header or gap).
    dead: bool,
    /// TLS 1.2: this side's ChangeCipherSpec went by.
    ccs_seen: bool,
    /// TLS 1.3: this side's Finished was read.
    finished: bool,
    /// Bytes still to drop: the rest of a record that lost bytes to a gap.
    discard: usize,
    /// After a gap at a record boundary: the next record is tried under up to this many
    /// following sequence numbers (the records the gap may have held).
    resync: Option<u64>,
    /// Protected records kept while the key log lacks this connection (live capture: the
    /// key log line may be read after the records), back to back, at most `hold_limit` bytes.
    held: Vec<u8>,
    /// Stream offset of each held record.
    held_starts: Vec<u64>,
}

/// One TCP connection's TLS state. Feed both directions' reassembled bytes in order.
#[derive(Debug)]
pub struct TlsConnection {
    sides: [Side; 2],
    summary: TlsSummary,
    status: DecryptStatus,
    /// Index of the client side (0 unless the ClientHello came the other way).
    client: usize,
    suite: Option<&'static Suite>,
    tls13: bool,
    /// Most bytes of protected records held per direction waiting for keys (0: none).
    hold_limit: usize,
    /// The version a HelloRetryRequest selected (shown until the ServerHello).
    hrr_version: Option<u16>,
    /// While records are held for a key that may still come (live): the `tls-no-key`
    /// finding not reported yet (where it arose), reported once holding gives up or the
    /// connection ends without the key, dropped when the key arrives.
    no_key_deferred: Option<(Dir, u64)>,
}

impl Default for TlsConnection {
    fn default() -> Self {
        TlsConnection::new()
    }
}

fn hdr_bytes(rec: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    if let Some(src) = rec.get(..HEADER_LEN) {
        h.copy_from_slice(src);
    }
    h
}

impl TlsConnection {
    /// A connection with nothing seen.
    pub fn new() -> TlsConnection {
        TlsConnection {
            sides: [Side::default(), Side::default()],
            summary: TlsSummary::default(),
            status: DecryptStatus::Pending,
            client: 0,
            suite: None,
            tls13: false,
            hold_limit: 0,
            hrr_version: None,
            no_key_deferred: None,
        }
    }

    /// A connection that keeps up to `limit` bytes of protected records per direction while
    /// the key log has no secret for it, and decrypts them once the secret shows up (see
    /// [`TlsConnection::retry_keys`]). For live captures, where the key log is re-read as
    /// it grows and its line for a new connection may come after the first records.
    pub fn with_hold_limit(limit: usize) -> TlsConnection {
        TlsConnection {
            hold_limit: limit,
            ..TlsConnection::new()
        }
    }

    /// What was learned so far.
    pub fn summary(&self) -> &TlsSummary {
        &self.summary
    }

    /// Decryption status.
    pub fn status(&self) -> DecryptStatus {
        self.status
    }

    /// Bytes held for incomplete records and handshake messages (both directions).
    pub fn buffered_bytes(&self) -> usize {
        self.sides
            .iter()
            .map(|s| s.buf.len() + s.hs.len() + s.held.len())
            .sum()
    }

    fn set_status(&mut self, s: DecryptStatus, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if self.status != s {
            self.status = s;
            out(TlsEvent::Status(s));
        }
    }

    /// Takes the next in-order bytes of direction `dir`.
    pub fn data(
        &mut self,
        dir: Dir,
        bytes: &[u8],
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        if self.status == DecryptStatus::NoKey {
            self.retry_keys(keys, out);
        }
        let i = dir.index();
        let mut at = 0;
        if self.sides[i].pos == 0
            && self.summary.client_hello.is_none()
            && let Some((len, hello)) = handshake::parse_sslv2_client_hello(bytes)
        {
            self.sslv2_client_hello(i, len, hello, out);
            at = len;
        }
        while at < bytes.len() {
            if self.sides[i].dead {
                self.sides[i].pos += (bytes.len() - at) as u64;
                return;
            }
            let side = &mut self.sides[i];
            if side.discard > 0 {
                let drop = side.discard.min(bytes.len() - at);
                side.discard -= drop;
                side.pos += drop as u64;
                at += drop;
                continue;
            }
            let rest = &bytes[at..];
            if side.buf.is_empty() {
                // Fast path: whole records straight from the input.
                if let Some(h) = RecordHeader::parse(rest) {
                    if !self.header_ok(i, &h, out) {
                        continue;
                    }
                    let total = HEADER_LEN + usize::from(h.length);
                    if let Some(rec) = rest.get(..total) {
                        let start = self.sides[i].pos;
                        self.sides[i].pos += total as u64;
                        at += total;
                        self.record(i, h, rec, start, at, keys, out);
                        continue;
                    }
                }
                let side = &mut self.sides[i];
                side.buf.extend_from_slice(rest);
                side.pos += rest.len() as u64;
                // A header split by the segment boundary is checked once it is whole.
                return;
            }
            // Continue a buffered record.
            let have = side.buf.len();
            let need = if have < HEADER_LEN {
                HEADER_LEN - have
            } else {
                let len = RecordHeader::parse(&side.buf).map_or(0, |h| usize::from(h.length));
                HEADER_LEN + len - have
            };
            let take = need.min(rest.len());
            side.buf.extend_from_slice(&rest[..take]);
            side.pos += take as u64;
            at += take;
            let Some(h) = RecordHeader::parse(&side.buf) else {
                continue;
            };
            if have < HEADER_LEN && !self.header_ok_buffered(i, &h, out) {
                return;
            }
            let side = &mut self.sides[i];
            if side.buf.len() == HEADER_LEN + usize::from(h.length) {
                let rec = std::mem::take(&mut side.buf);
                let start = side.pos - rec.len() as u64;
                self.record(i, h, &rec, start, at, keys, out);
                let mut rec = rec;
                rec.clear();
                if self.sides[i].buf.is_empty() {
                    self.sides[i].buf = rec;
                }
            }
        }
    }

    /// The stream of side `i` began with an SSL 2.0-compatible ClientHello of `len` bytes
    /// (whole in the first chunk): it is reported as Wireshark shows it (an `SSLv2` record,
    /// "Client Hello") and the records that follow are TLS.
    fn sslv2_client_hello(
        &mut self,
        i: usize,
        len: usize,
        hello: handshake::ClientHello,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        let dir = Dir::from_index(i);
        if i == 1 {
            self.client = 1;
            self.summary.roles_swapped = true;
        }
        out(TlsEvent::ClientHello { dir, hello: &hello });
        out(TlsEvent::Handshake {
            dir,
            msg_type: HandshakeType::CLIENT_HELLO,
            length: (len - 2) as u32,
            decrypted: false,
        });
        self.summary.client_hello = Some(hello);
        self.summary.records += 1;
        self.sides[i].pos = len as u64;
        out(TlsEvent::Record(RecordInfo {
            dir,
            header: RecordHeader {
                content_type: ContentType::Handshake,
                version: 0x0002,
                length: (len - 2) as u16,
            },
            encrypted: false,
            decrypted: false,
            inner_type: ContentType::Handshake,
            display_version: 0x0002,
            stream_offset: 0,
            end_in_chunk: len,
        }));
    }

    /// Validates a header found at the start of unbuffered input; on failure the side is
    /// dead (the caller's loop then skips the rest).
    fn header_ok(&mut self, i: usize, h: &RecordHeader, out: &mut dyn FnMut(TlsEvent<'_>)) -> bool {
        self.check_header(i, h, self.sides[i].pos, out)
    }

    fn header_ok_buffered(
        &mut self,
        i: usize,
        h: &RecordHeader,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> bool {
        let start = self.sides[i].pos - self.sides[i].buf.len() as u64;
        let ok = self.check_header(i, h, start, out);
        if !ok {
            self.sides[i].buf = Vec::new();
        }
        ok
    }

    fn check_header(
        &mut self,
        i: usize,
        h: &RecordHeader,
        at: u64,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> bool {
        if h.is_plausible() {
            return true;
        }
        if self.sides[i].resync.take().is_some() {
            // After a gap the bytes did not start at a record boundary: sync is lost.
            let decrypting = self.sides[i].cipher.is_some();
            self.sides[i].dead = true;
            if decrypting {
                out(TlsEvent::PlaintextGap {
                    dir: Dir::from_index(i),
                    len: None,
                });
            }
            if self.status == DecryptStatus::Decrypted {
                self.set_status(DecryptStatus::Gap, out);
            }
            return false;
        }
        let kind = if matches!(h.content_type.to_u8(), 20..=24)
            && (0x0300..=0x0304).contains(&h.version)
        {
            TlsAnomalyKind::RecordTooLong
        } else {
            TlsAnomalyKind::BadRecordHeader
        };
        out(TlsEvent::Anomaly {
            dir: Dir::from_index(i),
            kind,
            stream_offset: at,
        });
        self.sides[i].dead = true;
        false
    }

    /// `len` bytes of direction `dir` were not captured. When they fall inside one record
    /// whose header was seen, that record is lost but the record boundaries and sequence
    /// numbers are known, so parsing and decryption go on after it. Otherwise this
    /// direction is not parsed any further.
    pub fn gap(&mut self, dir: Dir, len: u64, out: &mut dyn FnMut(TlsEvent<'_>)) {
        let i = dir.index();
        let side = &mut self.sides[i];
        let at = side.pos;
        side.pos = side.pos.saturating_add(len);
        if side.dead {
            return;
        }
        out(TlsEvent::Anomaly {
            dir,
            kind: TlsAnomalyKind::Gap,
            stream_offset: at,
        });
        let decrypting = side.cipher.is_some();
        let header = RecordHeader::parse(&side.buf);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if side.discard > 0 {
            // Already dropping the rest of a damaged record.
            if len <= side.discard {
                side.discard -= len;
                return;
            }
        } else if side.buf.is_empty() {
            // At a record boundary (segments often carry whole records): assume the next
            // bytes start a record too, and find its sequence number by trial.
            let min_record = (HEADER_LEN + 1) as u64;
            let records = (len as u64 / min_record).clamp(1, MAX_RESYNC_RECORDS);
            side.resync = Some(side.resync.unwrap_or(0).saturating_add(records));
            if decrypting {
                out(TlsEvent::PlaintextGap {
                    dir,
                    len: Some(len as u64),
                });
            }
            return;
        } else if let Some(h) = header {
            let total = HEADER_LEN + usize::from(h.length);
            let remaining = total.saturating_sub(side.buf.len());
            if len <= remaining {
                side.discard = remaining - len;
                side.buf.clear();
                self.summary.records += 1;
                if let Some(c) = side.cipher.as_mut() {
                    c.skip_record();
                }
                if decrypting {
                    out(TlsEvent::PlaintextGap {
                        dir,
                        len: Some(u64::from(h.length)),
                    });
                }
                return;
            }
        }
        side.dead = true;
        side.buf = Vec::new();
        side.hs = Vec::new();
        if decrypting {
            out(TlsEvent::PlaintextGap { dir, len: None });
        }
        if self.status == DecryptStatus::Decrypted {
            self.set_status(DecryptStatus::Gap, out);
        }
    }

    /// Reports the `tls-no-key` finding held back while waiting for the key, if any.
    fn report_deferred_no_key(&mut self, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if let Some((dir, stream_offset)) = self.no_key_deferred.take() {
            out(TlsEvent::Anomaly {
                dir,
                kind: TlsAnomalyKind::NoKey,
                stream_offset,
            });
        }
    }

    /// Direction `dir` ended (FIN, RST or end of capture).
    pub fn end(&mut self, dir: Dir, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if self.status == DecryptStatus::NoKey {
            self.report_deferred_no_key(out);
        }
        let side = &mut self.sides[dir.index()];
        if !side.buf.is_empty() && !side.dead {
            out(TlsEvent::Anomaly {
                dir,
                kind: TlsAnomalyKind::TruncatedRecord,
                stream_offset: side.pos - side.buf.len() as u64,
            });
        }
        side.buf = Vec::new();
        side.hs = Vec::new();
        side.plain = Vec::new();
        side.held = Vec::new();
        side.held_starts = Vec::new();
        side.dead = true;
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        i: usize,
        h: RecordHeader,
        rec: &[u8],
        start: u64,
        end_in_chunk: usize,
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        let dir = Dir::from_index(i);
        let body = rec.get(HEADER_LEN..).unwrap_or(&[]);
        self.summary.records += 1;
        // TLS 1.3 middlebox-compatibility ChangeCipherSpec records are never protected.
        let mut protected =
            self.sides[i].encrypted && h.content_type != ContentType::ChangeCipherSpec;
        if !protected && self.summary.client_hello.is_none() {
            // No handshake seen (capture started late): application data, alerts that are
            // not two bytes, and handshake records after those are protected records.
            protected = match h.content_type {
                ContentType::ApplicationData => true,
                ContentType::Alert => body.len() != 2,
                ContentType::Handshake => self.status == DecryptStatus::MissedHandshake,
                _ => false,
            };
        }
        let mut decrypted = false;
        let mut inner = h.content_type;
        let mut plain = std::mem::take(&mut self.sides[i].plain);
        if protected {
            match self.sides[i].cipher.as_mut() {
                Some(c) => {
                    match Self::open(c, self.sides[i].resync.take(), rec, body, &mut plain) {
                        Ok(t) => {
                            decrypted = true;
                            inner = ContentType::from_u8(t);
                            self.summary.decrypted_records += 1;
                            if self.status == DecryptStatus::Pending {
                                self.set_status(DecryptStatus::Decrypted, out);
                            }
                        }
                        Err(Opened::LostSync) => {
                            // The first record after a gap did not open under any plausible
                            // sequence number: the gap was not at a record boundary.
                            let side = &mut self.sides[i];
                            side.cipher = None;
                            side.skipped = true;
                            side.dead = true;
                            side.buf = Vec::new();
                            side.hs = Vec::new();
                            out(TlsEvent::PlaintextGap { dir, len: None });
                            self.set_status(DecryptStatus::Gap, out);
                            return;
                        }
                        Err(Opened::Failed(_)) if self.early_data_possible(i) => {
                            // 0-RTT data (or EndOfEarlyData) under the early traffic secret,
                            // which is not used here: shown, not decrypted, not an anomaly.
                        }
                        Err(Opened::Failed(e)) => {
                            let _: DecryptError = e;
                            self.sides[i].cipher = None;
                            self.sides[i].skipped = true;
                            out(TlsEvent::Anomaly {
                                dir,
                                kind: TlsAnomalyKind::TagMismatch,
                                stream_offset: start,
                            });
                            self.set_status(DecryptStatus::TagMismatch, out);
                        }
                    }
                }
                None => {
                    if self.status == DecryptStatus::NoKey && self.hold(i, rec, start) {
                        // Kept for retry_keys.
                    } else {
                        self.sides[i].skipped = true;
                        self.report_deferred_no_key(out);
                    }
                    if self.summary.client_hello.is_none() && self.status == DecryptStatus::Pending
                    {
                        out(TlsEvent::Anomaly {
                            dir,
                            kind: TlsAnomalyKind::MissedHandshake,
                            stream_offset: start,
                        });
                        self.set_status(DecryptStatus::MissedHandshake, out);
                    }
                }
            }
        }
        let content: Option<&[u8]> = if decrypted {
            Some(&plain)
        } else if protected {
            None
        } else {
            Some(body)
        };
        if let Some(content) = content {
            match inner {
                ContentType::Handshake => self.handshake(i, content, decrypted, start, keys, out),
                ContentType::ChangeCipherSpec => {
                    out(TlsEvent::ChangeCipherSpec { dir });
                    // TLS 1.2 switches keys here; a ChangeCipherSpec before the ServerHello
                    // (TLS 1.3 middlebox compatibility around a HelloRetryRequest) or in
                    // TLS 1.3 changes nothing.
                    if !self.tls13 && self.summary.server_hello.is_some() {
                        let side = &mut self.sides[i];
                        side.encrypted = true;
                        side.ccs_seen = true;
                        side.cipher = side.pending.take();
                    }
                }
                ContentType::Alert => {
                    if let [level, description] = content {
                        out(TlsEvent::Alert {
                            dir,
                            level: *level,
                            description: *description,
                        });
                    }
                }
                ContentType::ApplicationData if decrypted => {
                    out(TlsEvent::Plaintext { dir, data: content });
                }
                _ => {}
            }
        }
        plain.clear();
        self.sides[i].plain = plain;
        // A record went by after a gap without needing the trial: the sync assumption held.
        self.sides[i].resync = None;
        let display_version = self
            .summary
            .version()
            .or(self.hrr_version)
            .unwrap_or(h.version);
        out(TlsEvent::Record(RecordInfo {
            dir,
            header: h,
            encrypted: protected,
            decrypted,
            inner_type: inner,
            display_version,
            stream_offset: start,
            end_in_chunk,
        }));
    }

    /// Splits handshake content into messages (reassembling across records).
    fn handshake(
        &mut self,
        i: usize,
        content: &[u8],
        decrypted: bool,
        start: u64,
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        let mut content = content;
        let skip = self.sides[i].hs_skip.min(content.len());
        if skip > 0 {
            self.sides[i].hs_skip -= skip;
            content = &content[skip..];
        }
        let mut hs = std::mem::take(&mut self.sides[i].hs);
        let owned = !hs.is_empty();
        if owned {
            hs.extend_from_slice(content);
        }
        let data: &[u8] = if owned { &hs } else { content };
        let mut at = 0;
        while let Some(head) = data.get(at..at + 4) {
            let len = usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]);
            if len > MAX_HANDSHAKE_LEN {
                out(TlsEvent::Anomaly {
                    dir: Dir::from_index(i),
                    kind: TlsAnomalyKind::HandshakeTooLong,
                    stream_offset: start,
                });
                let avail = data.len() - at - 4;
                self.sides[i].hs_skip = len - avail.min(len);
                at = data.len();
                break;
            }
            let Some(body) = data.get(at + 4..at + 4 + len) else {
                break;
            };
            self.message(i, HandshakeType(head[0]), body, decrypted, start, keys, out);
            at += 4 + len;
        }
        if owned {
            hs.drain(..at.min(hs.len()));
        } else {
            hs.clear();
            hs.extend_from_slice(content.get(at..).unwrap_or(&[]));
        }
        self.sides[i].hs = hs;
    }

    #[allow(clippy::too_many_arguments)]
    fn message(
        &mut self,
        i: usize,
        t: HandshakeType,
        body: &[u8],
        decrypted: bool,
        start: u64,
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        let dir = Dir::from_index(i);
        let malformed = |out: &mut dyn FnMut(TlsEvent<'_>)| {
            out(TlsEvent::Anomaly {
                dir,
                kind: TlsAnomalyKind::MalformedHandshake,
                stream_offset: start,
            })
        };
        let shown = if t == HandshakeType::SERVER_HELLO && handshake::is_hello_retry_request(body) {
            HandshakeType::HELLO_RETRY_REQUEST
        } else {
            t
        };
        out(TlsEvent::Handshake {
            dir,
            msg_type: shown,
            length: body.len() as u32,
            decrypted,
        });
        match t {
            HandshakeType::CLIENT_HELLO => match handshake::parse_client_hello(body) {
                Some(ch) => {
                    if self.summary.client_hello.is_none() && i == 1 {
                        self.client = 1;
                        self.summary.roles_swapped = true;
                    }
                    out(TlsEvent::ClientHello { dir, hello: &ch });
                    self.summary.client_hello = Some(ch);
                }
                None => malformed(out),
            },
            HandshakeType::SERVER_HELLO => match handshake::parse_server_hello(body) {
                Some(sh) => {
                    out(TlsEvent::ServerHello { dir, hello: &sh });
                    if sh.hello_retry_request {
                        self.summary.hello_retry_request = true;
                        self.hrr_version = Some(sh.version);
                        return;
                    }
                    if sh.alpn.is_some() {
                        self.summary.alpn.clone_from(&sh.alpn);
                    }
                    self.tls13 = sh.version == 0x0304;
                    self.summary.server_hello = Some(sh);
                    self.install_keys(keys, out);
                }
                None => malformed(out),
            },
            HandshakeType::ENCRYPTED_EXTENSIONS => {
                match handshake::parse_encrypted_extensions(body) {
                    Ok(alpn) => {
                        out(TlsEvent::EncryptedExtensions {
                            dir,
                            alpn: alpn.as_deref(),
                        });
                        if alpn.is_some() {
                            self.summary.alpn = alpn;
                        }
                    }
                    Err(()) => malformed(out),
                }
            }
            HandshakeType::FINISHED if self.tls13 => {
                self.sides[i].finished = true;
                // The sender's next records use its application traffic secret.
                let secrets = self.client_random().and_then(|r| keys.get(&r));
                let secret = secrets.and_then(|s| {
                    if i == self.client {
                        s.client_traffic.clone()
                    } else {
                        s.server_traffic.clone()
                    }
                });
                let may_come =
                    matches!(self.status, DecryptStatus::Decrypted | DecryptStatus::NoKey);
                if secret.is_none() && self.hold_limit > 0 && may_come {
                    // Live: a client writes its traffic secrets only once it has read the
                    // server's Finished, which may be dissected first. This side's next
                    // records are held for `retry_keys`; said only if the key never comes.
                    let side = &mut self.sides[i];
                    side.cipher = None;
                    side.secret = None;
                    if self.no_key_deferred.is_none() {
                        self.no_key_deferred = Some((dir, start));
                    }
                    self.set_status(DecryptStatus::NoKey, out);
                } else if secrets.is_some() {
                    self.set_tls13_secret(i, secret);
                } else {
                    self.sides[i].cipher = None;
                }
                if self.sides[i].cipher.is_none() && self.status == DecryptStatus::Decrypted {
                    out(TlsEvent::Anomaly {
                        dir,
                        kind: TlsAnomalyKind::NoKey,
                        stream_offset: start,
                    });
                    self.set_status(DecryptStatus::NoKey, out);
                }
            }
            HandshakeType::KEY_UPDATE if self.tls13 => {
                let [req] = body else {
                    malformed(out);
                    return;
                };
                self.summary.key_updates += 1;
                out(TlsEvent::KeyUpdate {
                    dir,
                    update_requested: *req == 1,
                });
                let next = match (self.suite, self.sides[i].secret.as_ref()) {
                    (Some(suite), Some(s)) => crypto::next_traffic_secret(suite.hash, s),
                    _ => None,
                };
                self.set_tls13_secret(i, next);
            }
            _ => {}
        }
    }

    fn client_random(&self) -> Option<[u8; 32]> {
        self.summary.client_hello.as_ref().map(|c| c.random)
    }

    fn set_tls13_secret(&mut self, i: usize, secret: Option<Secret>) {
        let side = &mut self.sides[i];
        side.cipher = match (self.suite, secret.as_ref()) {
            (Some(suite), Some(s)) => RecordCipher::tls13(suite, s),
            _ => None,
        };
        if side.cipher.is_none() {
            side.skipped = true;
        }
        side.secret = secret;
    }

    /// After the ServerHello: find the suite and the connection's secrets.
    fn install_keys(&mut self, keys: &KeyLog, out: &mut dyn FnMut(TlsEvent<'_>)) {
        let Some(sh) = self.summary.server_hello.as_ref() else {
            return;
        };
        let server = 1 - self.client;
        if self.tls13 {
            // Everything after the ServerHello is protected in both directions.
            self.sides[0].encrypted = true;
            self.sides[1].encrypted = true;
        }
        let Some(suite) = crypto::suite(sh.cipher_suite) else {
            let id = sh.cipher_suite;
            out(TlsEvent::Anomaly {
                dir: Dir::from_index(server),
                kind: TlsAnomalyKind::UnsupportedCipher,
                stream_offset: self.sides[server].pos,
            });
            self.set_status(DecryptStatus::UnsupportedCipher(id), out);
            return;
        };
        if suite.tls13 != self.tls13 {
            out(TlsEvent::Anomaly {
                dir: Dir::from_index(server),
                kind: TlsAnomalyKind::UnsupportedCipher,
                stream_offset: self.sides[server].pos,
            });
            self.set_status(DecryptStatus::UnsupportedCipher(suite.id), out);
            return;
        }
        self.suite = Some(suite);
        if !self.try_keys(keys) {
            let at = (Dir::from_index(server), self.sides[server].pos);
            if self.hold_limit > 0 {
                // The key log may still grow (live): say nothing unless the key never comes.
                self.no_key_deferred = Some(at);
            } else {
                out(TlsEvent::Anomaly {
                    dir: at.0,
                    kind: TlsAnomalyKind::NoKey,
                    stream_offset: at.1,
                });
            }
            self.set_status(DecryptStatus::NoKey, out);
        }
    }

    /// Installs keys from the key log; false when it has none usable for this connection.
    fn try_keys(&mut self, keys: &KeyLog) -> bool {
        let (Some(suite), Some(random), Some(sh)) = (
            self.suite,
            self.client_random(),
            self.summary.server_hello.as_ref(),
        ) else {
            return false;
        };
        let Some(secrets) = keys.get(&random) else {
            return false;
        };
        let (c, s) = (self.client, 1 - self.client);
        if self.tls13 {
            // A side without keys takes its handshake secret, or its application traffic
            // secret once its Finished went by; a side that has keys keeps them (and its
            // record sequence number). Nothing is installed unless every secret is there.
            let wanted = |i: usize| {
                let secret = match (i == c, self.sides[i].finished) {
                    (true, false) => &secrets.client_handshake,
                    (true, true) => &secrets.client_traffic,
                    (false, false) => &secrets.server_handshake,
                    (false, true) => &secrets.server_traffic,
                };
                secret.clone()
            };
            let (for_c, for_s) = (
                self.sides[c].cipher.is_none().then(|| wanted(c)),
                self.sides[s].cipher.is_none().then(|| wanted(s)),
            );
            if matches!(for_c, Some(None)) || matches!(for_s, Some(None)) {
                return false;
            }
            if let Some(secret) = for_c {
                self.set_tls13_secret(c, secret);
            }
            if let Some(secret) = for_s {
                self.set_tls13_secret(s, secret);
            }
            self.sides[c].cipher.is_some() && self.sides[s].cipher.is_some()
        } else {
            let Some(master) = secrets.master.as_ref() else {
                return false;
            };
            let Some((cw, sw)) =
                RecordCipher::tls12_pair(suite, master, &random, &sh.random, sh.encrypt_then_mac)
            else {
                return false;
            };
            self.sides[c].pending = Some(cw);
            self.sides[s].pending = Some(sw);
            true
        }
    }

    /// Whether a record of side `i` that failed to open may be TLS 1.3 early data: the
    /// client offered early_data and has not sent its Finished yet.
    fn early_data_possible(&self, i: usize) -> bool {
        self.tls13
            && i == self.client
            && !self.sides[i].finished
            && self
                .summary
                .client_hello
                .as_ref()
                .is_some_and(|c| c.early_data)
    }

    /// Keeps a protected record for later decryption; false when holding is off or the
    /// limit is reached (then everything held is dropped: this side will not decrypt).
    fn hold(&mut self, i: usize, rec: &[u8], start: u64) -> bool {
        let side = &mut self.sides[i];
        if side.skipped || side.held.len() + rec.len() > self.hold_limit {
            side.held = Vec::new();
            side.held_starts = Vec::new();
            return false;
        }
        side.held.extend_from_slice(rec);
        side.held_starts.push(start);
        true
    }

    /// Looks the connection up in `keys` again when it had no key: a key log that grew since
    /// (live capture). When the secret is there now, the records held so far (see
    /// [`TlsConnection::with_hold_limit`]) are decrypted and their plaintext, status and
    /// anomalies are reported through `out`; their record, handshake, alert and change
    /// cipher spec events are not repeated (they went with their own segments).
    /// [`TlsConnection::data`] calls this itself; call it when no more data is coming.
    pub fn retry_keys(&mut self, keys: &KeyLog, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if self.status != DecryptStatus::NoKey
            || self.suite.is_none()
            || self.sides.iter().any(|s| s.skipped)
            || !self.try_keys(keys)
        {
            return;
        }
        if !self.tls13 {
            for side in &mut self.sides {
                if side.ccs_seen {
                    side.cipher = side.pending.take();
                }
            }
        }
        self.status = DecryptStatus::Pending;
        self.no_key_deferred = None;
        let mut filtered = |ev: TlsEvent<'_>| match ev {
            TlsEvent::Record(_)
            | TlsEvent::Handshake { .. }
            | TlsEvent::ChangeCipherSpec { .. }
            | TlsEvent::Alert { .. } => {}
            other => out(other),
        };
        for i in 0..2 {
            let held = std::mem::take(&mut self.sides[i].held);
            let starts = std::mem::take(&mut self.sides[i].held_starts);
            let mut at = 0;
            for start in starts {
                let Some(h) = held.get(at..).and_then(RecordHeader::parse) else {
                    break;
                };
                let end = at + HEADER_LEN + usize::from(h.length);
                let Some(rec) = held.get(at..end) else {
                    break;
                };
                self.record(i, h, rec, start, 0, keys, &mut filtered);
                at = end;
            }
        }
    }
}

const _: () = assert!(MAX_RECORD_LEN < u16::MAX as usize);

/// Most sequence numbers tried for the first record after a gap at a record boundary.
const MAX_RESYNC_RECORDS: u64 = 64;

/// Why [`TlsConnection::open`] failed.
enum Opened {
    /// Authentication failed.
    Failed(DecryptError),
    /// After a gap: no sequence number fits.
    LostSync,
}

impl TlsConnection {
    /// Decrypts one record; after a gap (`resync`: how many records may be missing) the
    /// record is tried under each following sequence number.
    fn open(
        c: &mut RecordCipher,
        resync: Option<u64>,
        rec: &[u8],
        body: &[u8],
        plain: &mut Vec<u8>,
    ) -> Result<u8, Opened> {
        let header = hdr_bytes(rec);
        let Some(tries) = resync else {
            return c.decrypt(&header, body, plain).map_err(Opened::Failed);
        };
        for _ in 0..tries {
            c.skip_record();
            if let Ok(t) = c.decrypt(&header, body, plain) {
                return Ok(t);
            }
        }
        Err(Opened::LostSync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::SegmentLabel;

    fn handshake_record(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let mut hs = vec![msg_type, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(body);
        let mut rec = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    /// A ClientHello with SNI "example.com", ALPN [h2, http/1.1], supported_versions [1.3, 1.2].
    fn client_hello() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0xaa; 32]);
        b.extend_from_slice(&[0, 0, 4, 0x13, 0x01, 0xc0, 0x2f, 1, 0]);
        let sni_name = b"example.com";
        let mut sni = vec![0, (sni_name.len() + 3) as u8, 0, 0, sni_name.len() as u8];
        sni.extend_from_slice(sni_name);
        let alpn_list = b"\x02h2\x08http/1.1";
        let mut exts = Vec::new();
        exts.extend_from_slice(&[0, 0, 0, sni.len() as u8]);
        exts.extend_from_slice(&sni);
        exts.extend_from_slice(&[
            0,
            16,
            0,
            (alpn_list.len() + 2) as u8,
            0,
            alpn_list.len() as u8,
        ]);
        exts.extend_from_slice(alpn_list);
        exts.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
        b.extend_from_slice(&[0, exts.len() as u8]);
        b.extend_from_slice(&exts);
        handshake_record(1, &b)
    }

    fn server_hello(random: [u8; 32], suite: u16, tls13: bool) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&suite.to_be_bytes());
        b.push(0);
        if tls13 {
            b.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
        } else {
            b.extend_from_slice(&[0, 0]);
        }
        handshake_record(2, &b)
    }

    fn collect(conn: &mut TlsConnection, dir: Dir, bytes: &[u8], keys: &KeyLog) -> Vec<String> {
        let mut evs = Vec::new();
        conn.data(dir, bytes, keys, &mut |e| evs.push(format!("{e:?}")));
        evs
    }

    /// A TLS 1.3 record sealed with AES-128-GCM under `secret` (RFC 8446 §5.2, §7.3).
    fn seal13(secret: &[u8], seq: u64, inner: u8, content: &[u8]) -> Vec<u8> {
        use aes_gcm::aead::AeadInOut;
        use aes_gcm::{Aes128Gcm, KeyInit};
        let (mut key, mut iv) = ([0u8; 16], [0u8; 12]);
        assert!(crypto::hkdf_expand_label(
            crypto::HashAlg::Sha256,
            secret,
            b"key",
            &mut key
        ));
        assert!(crypto::hkdf_expand_label(
            crypto::HashAlg::Sha256,
            secret,
            b"iv",
            &mut iv
        ));
        for (n, s) in iv[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        let mut body = content.to_vec();
        body.push(inner);
        let len = body.len() + 16;
        let header = [23, 3, 3, (len >> 8) as u8, len as u8];
        let tag = Aes128Gcm::new_from_slice(&key)
            .expect("key")
            .encrypt_inout_detached(&iv.into(), &header, body.as_mut_slice().into())
            .expect("seal");
        let mut rec = header.to_vec();
        rec.extend_from_slice(&body);
        rec.extend_from_slice(&tag);
        rec
    }

    #[test]
    fn early_data_records_are_skipped_not_a_tag_mismatch() {
        let hs = [0x31u8; 32];
        let ap = [0x32u8; 32];
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let r = hex(&[0xaa; 32]);
        let keys = KeyLog::from_bytes(
            format!(
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {r} {}\n\
                 CLIENT_TRAFFIC_SECRET_0 {r} {}\n",
                hex(&hs),
                hex(&hs),
                hex(&ap)
            )
            .as_bytes(),
        );
        let finished = [20u8, 0, 0, 32]
            .iter()
            .copied()
            .chain([7u8; 32])
            .collect::<Vec<_>>();
        for offered in [true, false] {
            let mut ch = client_hello();
            if offered {
                // Append early_data (42, empty) to the extensions and fix the lengths.
                ch.extend_from_slice(&[0, 42, 0, 0]);
                let body_len = ch.len() - 9;
                ch[3..5].copy_from_slice(&((body_len + 4) as u16).to_be_bytes());
                ch[6..9].copy_from_slice(&(body_len as u32).to_be_bytes()[1..]);
                // extensions length: 2 bytes after the compression methods
                let at = 9 + 2 + 32 + 1 + 2 + 4 + 2;
                let ext_len = u16::from_be_bytes([ch[at], ch[at + 1]]) + 4;
                ch[at..at + 2].copy_from_slice(&ext_len.to_be_bytes());
            }
            let mut conn = TlsConnection::new();
            let mut evs = Vec::new();
            let mut plain = Vec::new();
            {
                let mut sink = |e: TlsEvent<'_>| {
                    if let TlsEvent::Plaintext { data, .. } = &e {
                        plain.extend_from_slice(data);
                    }
                    evs.push(format!("{e:?}"));
                };
                conn.data(Dir::ClientToServer, &ch, &keys, &mut sink);
                assert_eq!(
                    conn.summary().client_hello.as_ref().map(|c| c.early_data),
                    Some(offered)
                );
                let sh = server_hello([5; 32], 0x1301, true);
                conn.data(Dir::ServerToClient, &sh, &keys, &mut sink);
                // 0-RTT record (under the early secret, unknown here), then the real Finished.
                conn.data(
                    Dir::ClientToServer,
                    &seal13(&[0x99; 32], 0, 23, b"early"),
                    &keys,
                    &mut sink,
                );
                conn.data(
                    Dir::ClientToServer,
                    &seal13(&hs, 0, 22, &finished),
                    &keys,
                    &mut sink,
                );
                conn.data(
                    Dir::ClientToServer,
                    &seal13(&ap, 0, 23, b"hello"),
                    &keys,
                    &mut sink,
                );
            }
            if offered {
                assert!(!evs.iter().any(|e| e.contains("TagMismatch")), "{evs:?}");
                assert_eq!(plain, b"hello");
                assert_eq!(conn.status(), DecryptStatus::Decrypted);
            } else {
                assert!(evs.iter().any(|e| e.contains("TagMismatch")), "{evs:?}");
                assert!(plain.is_empty());
            }
        }
    }

    #[test]
    fn client_hello_in_any_split() {
        let ch = client_hello();
        for split in 0..=ch.len() {
            let mut conn = TlsConnection::new();
            let mut hellos = Vec::new();
            let mut label = SegmentLabel::new();
            for part in [&ch[..split], &ch[split..]] {
                conn.data(Dir::ClientToServer, part, &KeyLog::new(), &mut |e| {
                    label.push(&e);
                    if let TlsEvent::ClientHello { hello, .. } = e {
                        hellos.push(hello.clone());
                    }
                });
            }
            assert_eq!(hellos.len(), 1, "split {split}");
            let h = &hellos[0];
            assert_eq!(h.sni.as_deref(), Some("example.com"));
            assert_eq!(h.alpn, vec!["h2".to_string(), "http/1.1".to_string()]);
            assert_eq!(h.supported_versions, vec![0x0304, 0x0303]);
            assert_eq!(h.random, [0xaa; 32]);
            assert_eq!(h.cipher_suites, 2);
            assert_eq!(label.protocol(), Some("TLSv1"));
            assert_eq!(label.to_string(), "Client Hello");
            assert_eq!(conn.buffered_bytes(), 0);
        }
    }

    #[test]
    fn server_hello_without_keys_and_hello_retry_request() {
        let mut conn = TlsConnection::new();
        collect(
            &mut conn,
            Dir::ClientToServer,
            &client_hello(),
            &KeyLog::new(),
        );
        // RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
        let hrr = server_hello(super::super::handshake::tests_hrr_random(), 0x1301, true);
        collect(&mut conn, Dir::ServerToClient, &hrr, &KeyLog::new());
        assert!(conn.summary().hello_retry_request);
        assert_eq!(conn.summary().version(), None, "an HRR does not negotiate");
        assert_eq!(conn.status(), DecryptStatus::Pending);
        let evs = collect(
            &mut conn,
            Dir::ServerToClient,
            &server_hello([5; 32], 0x1301, true),
            &KeyLog::new(),
        );
        assert_eq!(conn.summary().version(), Some(0x0304));
        assert_eq!(conn.status(), DecryptStatus::NoKey);
        assert!(evs.iter().any(|e| e.contains("NoKey")), "{evs:?}");
        // Encrypted records now: shown as Application Data, nothing handed up.
        let mut label = SegmentLabel::new();
        let rec = [23, 3, 3, 0, 20]
            .iter()
            .copied()
            .chain([0u8; 20])
            .collect::<Vec<_>>();
        conn.data(Dir::ServerToClient, &rec, &KeyLog::new(), &mut |e| {
            assert!(!matches!(e, TlsEvent::Plaintext { .. }));
            label.push(&e);
        });
        assert_eq!(
            (label.protocol(), label.to_string().as_str()),
            (Some("TLSv1.3"), "Application Data")
        );
    }

    #[test]
    fn unsupported_cipher() {
        let mut conn = TlsConnection::new();
        collect(
            &mut conn,
            Dir::ClientToServer,
            &client_hello(),
            &KeyLog::new(),
        );
        collect(
            &mut conn,
            Dir::ServerToClient,
            &server_hello([5; 32], 0x000a, false),
            &KeyLog::new(),
        );
        assert_eq!(conn.status(), DecryptStatus::UnsupportedCipher(0x000a));
    }

    #[test]
    fn bad_headers_and_too_long_records_stop_the_direction() {
        let mut conn = TlsConnection::new();
        let evs = collect(
            &mut conn,
            Dir::ClientToServer,
            b"GET / HTTP/1.1\r\n\r\n",
            &KeyLog::new(),
        );
        assert!(evs.iter().any(|e| e.contains("BadRecordHeader")), "{evs:?}");
        // The other direction is independent; a declared length of 0xffff is too long.
        let evs = collect(
            &mut conn,
            Dir::ServerToClient,
            &[23, 3, 3, 0xff, 0xff, 1, 2],
            &KeyLog::new(),
        );
        assert!(evs.iter().any(|e| e.contains("RecordTooLong")), "{evs:?}");
        // Split header: the check happens once the 5 bytes are there.
        let mut conn = TlsConnection::new();
        assert!(collect(&mut conn, Dir::ServerToClient, &[23, 3], &KeyLog::new()).is_empty());
        let evs = collect(
            &mut conn,
            Dir::ServerToClient,
            &[3, 0x48, 0x01],
            &KeyLog::new(),
        );
        assert!(evs.iter().any(|e| e.contains("RecordTooLong")), "{evs:?}");
        assert!(collect(&mut conn, Dir::ServerToClient, &[0; 100], &KeyLog::new()).is_empty());
        assert_eq!(conn.buffered_bytes(), 0);
    }

    #[test]
    fn capture_after_handshake_gap_and_truncation() {
        let mut conn = TlsConnection::new();
        let rec = [23, 3, 3, 0, 20]
            .iter()
            .copied()
            .chain([0u8; 20])
            .collect::<Vec<_>>();
        let evs = collect(&mut conn, Dir::ClientToServer, &rec, &KeyLog::new());
        assert!(evs.iter().any(|e| e.contains("MissedHandshake")), "{evs:?}");
        assert_eq!(conn.status(), DecryptStatus::MissedHandshake);
        let mut evs = Vec::new();
        conn.data(Dir::ServerToClient, &rec[..10], &KeyLog::new(), &mut |e| {
            evs.push(format!("{e:?}"))
        });
        conn.end(Dir::ServerToClient, &mut |e| evs.push(format!("{e:?}")));
        assert!(evs.iter().any(|e| e.contains("TruncatedRecord")), "{evs:?}");
        let mut evs = Vec::new();
        conn.gap(Dir::ClientToServer, 100, &mut |e| {
            evs.push(format!("{e:?}"))
        });
        assert!(evs.iter().any(|e| e.contains("Gap")), "{evs:?}");
        // At a record boundary: the next bytes are taken as a record when they look like one.
        let evs = collect(&mut conn, Dir::ClientToServer, &rec, &KeyLog::new());
        assert!(evs.iter().any(|e| e.contains("Record(")), "{evs:?}");
        // Then a gap followed by bytes that are not a record header: this direction stops,
        // without a bad-header anomaly (the gap explains it).
        conn.gap(Dir::ClientToServer, 3, &mut |_| {});
        let evs = collect(
            &mut conn,
            Dir::ClientToServer,
            b"GET / HTTP/1.1",
            &KeyLog::new(),
        );
        assert!(
            !evs.iter().any(|e| e.contains("BadRecordHeader")),
            "{evs:?}"
        );
        assert!(collect(&mut conn, Dir::ClientToServer, &rec, &KeyLog::new()).is_empty());
    }

    #[test]
    fn malformed_handshake_messages_are_anomalies() {
        let mut conn = TlsConnection::new();
        let evs = collect(
            &mut conn,
            Dir::ClientToServer,
            &handshake_record(1, &[3, 3, 0]),
            &KeyLog::new(),
        );
        assert!(
            evs.iter().any(|e| e.contains("MalformedHandshake")),
            "{evs:?}"
        );
        // A handshake message declaring 16 MiB: skipped, never allocated.
        let mut conn = TlsConnection::new();
        let rec = [22, 3, 3, 0, 8, 11, 0xff, 0xff, 0xff, 1, 2, 3, 4];
        let evs = collect(&mut conn, Dir::ClientToServer, &rec, &KeyLog::new());
        assert!(
            evs.iter().any(|e| e.contains("HandshakeTooLong")),
            "{evs:?}"
        );
        assert_eq!(conn.buffered_bytes(), 0);
    }
}
