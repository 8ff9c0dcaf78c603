//! zlib streams inside messages (Discord's gateway `?compress=zlib-stream`): each
//! direction is one zlib stream (RFC 1950; raw DEFLATE when the first bytes are not a zlib
//! header) across all of its messages; a sender flushes
//! with Z_SYNC_FLUSH, so each logical payload ends with `00 00 ff ff` (a payload may span
//! several messages: bytes are inflated as they come and the payload is complete at the
//! suffix). Inflated with the same bomb cap as permessage-deflate
//! ([`DEFAULT_MAX_INFLATED`]), then read as JSON. Erlang's External Term Format
//! (`encoding=etf`, first byte 131) is recognised but not decoded: the `eetf` crate
//! allocates by the lengths the input declares (`vec![0; size]`, `Vec::with_capacity(count)`
//! up to 2^32) and recurses without a depth limit, so hostile input could abort the process;
//! guarding it would take a hand-written ETF walker, which is the decoder itself.

use super::bound::{self, Line};
use super::{AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Protocol};
use crate::flow::analysis::Direction;
use crate::ws::deflate::{DEFAULT_MAX_INFLATED, SYNC_FLUSH_TAIL};
use flate2::{Decompress, FlushDecompress, Status};
use serde_json::Value;

/// Size of the inflation output chunks.
const CHUNK: usize = 16 << 10;
/// Inflated bytes kept of one payload for decoding (the rest is counted, up to the cap).
pub const MAX_KEPT: usize = 16 << 20;

/// One direction's stream.
struct Side {
    z: Decompress,
    /// Inflated bytes of the payload in progress (up to [`MAX_KEPT`]).
    kept: Vec<u8>,
    /// Inflated bytes of the payload in progress, all counted.
    inflated: u64,
    /// Compressed bytes of the payload in progress.
    compressed: u64,
    /// Packet and message count of the payload in progress.
    first_packet: Option<u64>,
    messages: u32,
    /// The stream cannot be read any more (corrupt, cut, or past the cap).
    lost: bool,
    /// The stream ended (a final block): later bytes start a new stream.
    ended: bool,
    /// The last four compressed bytes seen (the suffix may straddle two messages).
    tail: [u8; 4],
    /// zlib framing (else raw DEFLATE).
    zlib: bool,
}

impl Side {
    /// A stream whose first bytes are `first`: zlib when they are a zlib header (RFC 1950
    /// §2.2: CM 8, CMF·256 + FLG a multiple of 31), else raw DEFLATE.
    fn new(first: &[u8]) -> Self {
        let zlib = match first {
            [cmf, flg, ..] => {
                cmf & 0x0f == 8 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
            }
            _ => true,
        };
        Side {
            z: Decompress::new(zlib),
            zlib,
            kept: Vec::new(),
            inflated: 0,
            compressed: 0,
            first_packet: None,
            messages: 0,
            lost: false,
            ended: false,
            tail: [0xaa; 4],
        }
    }
}

/// Per-connection zlib-stream decoder.
pub struct ZlibStreamDecoder {
    sides: [Option<Box<Side>>; 2],
    /// Bomb cap per payload.
    max_inflated: u64,
    chunk: Vec<u8>,
}

impl std::fmt::Debug for ZlibStreamDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZlibStreamDecoder")
            .field("max_inflated", &self.max_inflated)
            .finish_non_exhaustive()
    }
}

impl Default for ZlibStreamDecoder {
    fn default() -> Self {
        ZlibStreamDecoder::new(DEFAULT_MAX_INFLATED)
    }
}

enum Inflated {
    Ok,
    Corrupt(String),
    TooLarge,
}

impl ZlibStreamDecoder {
    /// A decoder that stops a payload inflating past `max_inflated` bytes.
    pub fn new(max_inflated: u64) -> Self {
        ZlibStreamDecoder {
            sides: [None, None],
            max_inflated,
            chunk: Vec::new(),
        }
    }

    fn inflate(side: &mut Side, chunk: &mut [u8], mut input: &[u8], cap: u64) -> Inflated {
        loop {
            if side.ended {
                // A new stream after a final block (a client that reconnects its stream).
                side.z.reset(side.zlib);
                side.ended = false;
            }
            let (in0, out0) = (side.z.total_in(), side.z.total_out());
            let status = side.z.decompress(input, chunk, FlushDecompress::Sync);
            let used = usize::try_from(side.z.total_in() - in0)
                .unwrap_or(input.len())
                .min(input.len());
            let produced = usize::try_from(side.z.total_out() - out0)
                .unwrap_or(0)
                .min(chunk.len());
            input = input.get(used..).unwrap_or_default();
            let status = match status {
                Ok(s) => s,
                Err(e) => return Inflated::Corrupt(e.to_string()),
            };
            side.inflated += produced as u64;
            if side.inflated > cap {
                return Inflated::TooLarge;
            }
            let room = MAX_KEPT.saturating_sub(side.kept.len());
            side.kept
                .extend_from_slice(chunk.get(..produced.min(room)).unwrap_or_default());
            match status {
                Status::StreamEnd => {
                    side.ended = true;
                    if input.is_empty() {
                        return Inflated::Ok;
                    }
                }
                _ if produced == chunk.len() => {}
                _ if input.is_empty() || (used == 0 && produced == 0) => return Inflated::Ok,
                _ => {}
            }
        }
    }

    fn finish(side: &mut Side, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        let kept = std::mem::take(&mut side.kept);
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push(&format!(
            "zlib-stream {}→{} B ",
            side.compressed, side.inflated
        ));
        let mut fields: Vec<(&'static str, Value)> = vec![
            ("compressed", side.compressed.into()),
            ("inflated", side.inflated.into()),
        ];
        content(
            &kept,
            kept.len() as u64 == side.inflated,
            &mut line,
            &mut fields,
        );
        out.push(AppOutput::Packet(AppPacket {
            protocol: Protocol::ZlibStream,
            dir: msg.dir,
            first_packet: side.first_packet.unwrap_or(msg.packet),
            packet: msg.packet,
            messages: side.messages,
            summary: line.finish(),
            fields,
        }));
        side.inflated = 0;
        side.compressed = 0;
        side.first_packet = None;
        side.messages = 0;
    }
}

/// Describes inflated (or plain text) content: JSON with Discord's `op` and `t`, ETF by
/// its version byte (not decoded), else binary.
fn content(b: &[u8], whole: bool, line: &mut Line, fields: &mut Vec<(&'static str, Value)>) {
    let first = b.iter().find(|c| !c.is_ascii_whitespace()).copied();
    let json = match (first, whole) {
        (Some(b'{' | b'['), true) => bound::parse_json(b).ok(),
        _ => None,
    };
    if let Some(v) = json {
        line.push("json ");
        bound::write_compact(line, &v, &|_| None);
        fields.push(("content", "json".into()));
        fields.push(("type", super::json::kind(&v).into()));
        if let Some(o) = v.as_object() {
            if let Some(op) = o.get("op") {
                fields.push(("op", bound::cap_value(op)));
            }
            if let Some(t) = o.get("t").filter(|t| !t.is_null()) {
                fields.push(("t", bound::cap_value(t)));
            }
        }
        fields.push(("data", bound::cap_owned(v)));
    } else if first == Some(131) {
        line.push("etf ");
        line.push(&bound::hex_prefix(b, 32));
        fields.push(("content", "etf".into()));
    } else {
        line.push("binary ");
        line.push(&bound::hex_prefix(b, 32));
        fields.push(("content", "binary".into()));
    }
}

impl Decoder for ZlibStreamDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::ZlibStream
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        let i = match msg.dir {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        };
        // Discord's clients send plain JSON text: only binary messages are the stream.
        if msg.text {
            let mut line = Line::new(bound::MAX_SUMMARY);
            line.push("zlib-stream text ");
            let mut fields: Vec<(&'static str, Value)> = Vec::new();
            content(msg.payload, msg.complete, &mut line, &mut fields);
            out.push(AppOutput::Packet(AppPacket {
                protocol: Protocol::ZlibStream,
                dir: msg.dir,
                first_packet: msg.packet,
                packet: msg.packet,
                messages: 1,
                summary: line.finish(),
                fields,
            }));
            return;
        }
        let Some(slot) = self.sides.get_mut(i) else {
            return;
        };
        let side = slot.get_or_insert_with(|| Box::new(Side::new(msg.payload)));
        if side.lost {
            return;
        }
        if !msg.complete {
            // Bytes of the stream are missing: the window is gone.
            side.lost = true;
            return;
        }
        if self.chunk.len() != CHUNK {
            self.chunk = vec![0; CHUNK];
        }
        side.compressed += msg.payload.len() as u64;
        side.messages = side.messages.saturating_add(1);
        side.first_packet.get_or_insert(msg.packet);
        match Self::inflate(side, &mut self.chunk, msg.payload, self.max_inflated) {
            Inflated::Ok => {}
            Inflated::Corrupt(e) => {
                side.lost = true;
                out.push(AppOutput::Anomaly(AppAnomaly::new(
                    AnomalyKind::ZlibStreamCorrupt,
                    msg,
                    format!(
                        "after {} compressed bytes of this payload: {e}",
                        side.compressed
                    ),
                )));
                return;
            }
            Inflated::TooLarge => {
                side.lost = true;
                out.push(AppOutput::Anomaly(AppAnomaly::new(
                    AnomalyKind::ZlibStreamTooLarge,
                    msg,
                    format!("inflated past {} bytes", self.max_inflated),
                )));
                return;
            }
        }
        for b in msg.payload.iter().rev().take(4).rev() {
            side.tail.rotate_left(1);
            side.tail[3] = *b;
        }
        if side.tail == SYNC_FLUSH_TAIL || side.ended {
            Self::finish(side, msg, out);
        }
    }

    fn end(&mut self, _: &mut Vec<AppOutput>) {}
}

/// Whether a request-target asks for a zlib stream (`compress=zlib-stream` in the query).
pub fn requested(request_uri: &str) -> bool {
    request_uri
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "compress=zlib-stream"))
}

/// Registry constructor.
pub fn new_decoder(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(ZlibStreamDecoder::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};
    use serde_json::json;

    /// What a zlib-stream sender does: one compressor, a sync flush per payload.
    fn sender(payloads: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut c = Compress::new(Compression::default(), true);
        payloads
            .iter()
            .map(|p| {
                let mut out = Vec::with_capacity(p.len() + 64);
                c.compress_vec(p, &mut out, FlushCompress::Sync).unwrap();
                assert!(out.ends_with(&SYNC_FLUSH_TAIL));
                out
            })
            .collect()
    }

    #[test]
    fn one_stream_across_messages() {
        let hello = br#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#;
        let ready = br#"{"op":0,"d":{"v":10},"s":1,"t":"READY"}"#;
        let msgs = sender(&[hello, ready, ready]);
        let mut d = ZlibStreamDecoder::default();
        let mut out = Vec::new();
        d.message(&input(S2C, false, &msgs[0], 1), &mut out);
        // The third payload split over two messages: complete at the suffix.
        let (a, b) = msgs[2].split_at(5);
        d.message(&input(S2C, false, &msgs[1], 2), &mut out);
        d.message(&input(S2C, false, a, 3), &mut out);
        d.message(&input(S2C, false, b, 4), &mut out);
        d.message(&input(C2S, true, b"{\"op\":1}", 5), &mut out);
        let p = packets(&out);
        assert_eq!(p.len(), 4);
        assert_eq!(p[3].summary, "zlib-stream text json {\"op\":1}");
        assert_eq!(p[3].field("op"), Some(&json!(1)));
        assert_eq!(p[0].field("op"), Some(&json!(10)));
        assert_eq!(p[0].field("t"), None);
        assert_eq!(p[1].field("t"), Some(&json!("READY")));
        assert_eq!(
            p[1].field("data"),
            Some(&json!({"op":0,"d":{"v":10},"s":1,"t":"READY"}))
        );
        assert_eq!((p[2].first_packet, p[2].packet, p[2].messages), (3, 4, 2));
        assert_eq!(p[2].field("inflated"), Some(&json!(ready.len())));
        // Later payloads use the window: they compress smaller than the first.
        assert!(msgs[1].len() > msgs[2].len());
        assert!(p[0].summary.starts_with(&format!(
            "zlib-stream {}→{} B json {{\"op\":10",
            msgs[0].len(),
            hello.len()
        )));
        assert!(anomalies(&out).is_empty());
        assert!(requested("/?v=10&encoding=json&compress=zlib-stream"));
        assert!(!requested("/?compress=zlib"));
    }

    #[test]
    fn raw_deflate_stream_too() {
        let mut c = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(64);
        c.compress_vec(b"[1,2]", &mut out, FlushCompress::Sync)
            .unwrap();
        assert_ne!(out.first().map(|b| b & 0x0f), Some(8), "not a zlib header");
        let mut got = Vec::new();
        ZlibStreamDecoder::default().message(&input(S2C, false, &out, 1), &mut got);
        assert_eq!(packets(&got)[0].field("data"), Some(&json!([1, 2])));
    }

    #[test]
    fn bomb_and_corruption() {
        let big = vec![b'a'; 1 << 20];
        let msgs = sender(&[&big]);
        let mut d = ZlibStreamDecoder::new(100_000);
        let mut out = Vec::new();
        d.message(&input(S2C, false, &msgs[0], 1), &mut out);
        d.message(&input(S2C, false, &msgs[0], 2), &mut out);
        assert_eq!(anomalies(&out), vec![AnomalyKind::ZlibStreamTooLarge]);
        let mut out = Vec::new();
        let mut d = ZlibStreamDecoder::default();
        d.message(
            &input(S2C, false, &[0x78, 0x9c, 0xff, 0xff, 0, 0, 0xff, 0xff], 1),
            &mut out,
        );
        assert_eq!(anomalies(&out), vec![AnomalyKind::ZlibStreamCorrupt]);
        // ETF is recognised by its version byte.
        let etf = sender(&[&[131, 116, 0, 0, 0, 0]]);
        let mut out = Vec::new();
        ZlibStreamDecoder::default().message(&input(S2C, false, &etf[0], 1), &mut out);
        assert_eq!(packets(&out)[0].field("content"), Some(&json!("etf")));
    }

    #[test]
    fn mutations_never_panic() {
        let msgs = sender(&[br#"{"op":10,"d":{"heartbeat_interval":41250}}"#]);
        mutate_all(&|| Box::new(ZlibStreamDecoder::default()), &[&msgs[0]]);
    }
}
