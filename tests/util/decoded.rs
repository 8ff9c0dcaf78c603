//! The library pipeline (Dissector + a collecting sink) on a sample with one upgraded
//! WebSocket connection, and its data messages through the payload decoder chosen for it:
//! what tests/payload.rs and tests/appproto.rs check against the generators' manifests.

use super::sample;
use serde_json::Value;
use std::collections::HashMap;
use std::io;
use wsdissect::app;
use wsdissect::capture::open_path;
use wsdissect::dissect::{DissectConfig, Dissector};
use wsdissect::event::{Event, EventSink};
use wsdissect::flow::analysis::Direction;
use wsdissect::payload::{self, AnomalyKind, AppInput, AppOutput, AppPacket, Context, Exchange};
use wsdissect::ws::OpCode;

/// One data message as the pipeline delivered it.
struct Msg {
    conn: u32,
    dir: Direction,
    text: bool,
    payload: Vec<u8>,
    complete: bool,
    packet: u64,
}

/// Collects handshakes, data messages and every packet's timestamp.
#[derive(Default)]
struct Collect {
    handshakes: HashMap<u32, (String, Option<String>)>,
    msgs: Vec<Msg>,
    times: HashMap<u64, u64>,
}

impl EventSink for Collect {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Handshake(h) if h.upgraded => {
                let sp = h
                    .response
                    .header("Sec-WebSocket-Protocol")
                    .map(str::to_string);
                self.handshakes.insert(h.conn, (h.request.path.clone(), sp));
            }
            Event::Message(m) if matches!(m.opcode, OpCode::Text | OpCode::Binary) => {
                self.msgs.push(Msg {
                    conn: m.conn,
                    dir: m.dir,
                    text: m.opcode == OpCode::Text,
                    payload: m.payload.to_vec(),
                    complete: m.payload_complete,
                    packet: m.last_packet,
                });
            }
            Event::Packet(p) => {
                let ns = p.timestamp.secs as u64 * 1_000_000_000 + u64::from(p.timestamp.nanos);
                self.times.insert(p.number, ns);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The one upgraded connection of a sample: how the decoder was chosen and what it
/// yielded, with every packet's capture time (ns).
pub struct Decoded {
    pub choice: payload::Choice,
    pub out: Vec<AppOutput>,
    pub times: HashMap<u64, u64>,
}

impl Decoded {
    pub fn packets(&self) -> Vec<&AppPacket> {
        self.out
            .iter()
            .filter_map(|o| match o {
                AppOutput::Packet(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    pub fn exchanges(&self) -> Vec<&Exchange> {
        self.out
            .iter()
            .filter_map(|o| match o {
                AppOutput::Exchange(x) => Some(x),
                _ => None,
            })
            .collect()
    }

    pub fn anomalies(&self) -> Vec<AnomalyKind> {
        self.out
            .iter()
            .filter_map(|o| match o {
                AppOutput::Anomaly(a) => Some(a.kind),
                _ => None,
            })
            .collect()
    }

    pub fn unanswered(&self) -> usize {
        self.out
            .iter()
            .filter(|o| matches!(o, AppOutput::Unanswered(_)))
            .count()
    }

    /// The application packets that end at capture packet `packet`.
    pub fn packet_at(&self, packet: u64) -> Vec<&AppPacket> {
        self.packets()
            .into_iter()
            .filter(|p| p.packet == packet)
            .collect()
    }

    /// The exchange whose request is `packet`.
    pub fn exchange_of(&self, packet: u64) -> &Exchange {
        self.exchanges()
            .into_iter()
            .find(|x| x.request_packet == packet)
            .unwrap_or_else(|| panic!("no exchange for packet {packet}"))
    }

    /// Packets of `dir` whose field `name` is `value`.
    pub fn with(&self, dir: Direction, name: &str, value: Value) -> Vec<&AppPacket> {
        self.packets()
            .into_iter()
            .filter(|p| p.dir == dir && p.field(name) == Some(&value))
            .collect()
    }

    /// A clean session: latencies as [`check_latencies`](Self::check_latencies), no
    /// anomaly, every request answered.
    pub fn check_clean(&self) {
        self.check_latencies();
        assert!(self.anomalies().is_empty(), "{:?}", self.anomalies());
        assert_eq!(self.unanswered(), 0);
    }

    /// Every exchange's latency and duration equal its packets' timestamp differences.
    pub fn check_latencies(&self) {
        let t = |n: u64| self.times[&n];
        for x in self.exchanges() {
            assert_eq!(
                x.latency_ns,
                t(x.answer_packet) - t(x.request_packet),
                "{x:?}"
            );
            assert_eq!(
                x.duration_ns,
                t(x.end_packet) - t(x.request_packet),
                "{x:?}"
            );
            assert!(x.answer_packet > x.request_packet, "{x:?}");
        }
    }
}

/// Reads sample `name` (one upgraded WebSocket connection, every message complete) and
/// decodes its data messages with the decoder `payload::choose` picks for it; every field a
/// decoded packet carries must be declared in its decoder's registry entry.
pub fn decode(name: &str) -> Decoded {
    let mut source = open_path(&sample(name)).expect("sample opens");
    let mut dissector = Dissector::new(DissectConfig::default());
    let mut c = Collect::default();
    app::run(source.as_mut(), &mut dissector, &mut c).expect("no sink error");
    assert_eq!(c.handshakes.len(), 1, "one WebSocket connection in {name}");
    let (&conn, (uri, sp)) = c.handshakes.iter().next().expect("one");
    let msgs: Vec<&Msg> = c.msgs.iter().filter(|m| m.conn == conn).collect();
    assert!(msgs.iter().all(|m| m.complete));
    let first = msgs.first().map(|m| (m.text, m.payload.as_slice()));
    let choice = payload::choose(sp.as_deref(), uri, first).expect("a decoder is chosen");
    let ctx = Context {
        request_uri: uri,
        subprotocol: sp.as_deref(),
        summary_only: false,
        ..Context::default()
    };
    let mut d = payload::new_decoder(choice.protocol, &ctx).expect("registered");
    let mut out = Vec::new();
    for m in &msgs {
        let input = AppInput {
            dir: m.dir,
            text: m.text,
            payload: &m.payload,
            complete: m.complete,
            packet: m.packet,
            time_ns: c.times[&m.packet],
        };
        d.message(&input, &mut out);
    }
    d.end(&mut out);
    for o in &out {
        if let AppOutput::Packet(p) = o {
            let declared = payload::decoder_info(p.protocol)
                .expect("registered")
                .fields;
            for (field, _) in &p.fields {
                assert!(
                    declared.iter().any(|(n, _)| n == field),
                    "{} {field}",
                    p.protocol
                );
            }
        }
    }
    Decoded {
        choice,
        out,
        times: c.times,
    }
}
