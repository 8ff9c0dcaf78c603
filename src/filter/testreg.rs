//! A small field table and packets for the unit tests, with the values tshark shows for
//! samples/coalesced.pcap (`tshark -r samples/coalesced.pcap -d tcp.port==9103,http -Y websocket
//! -T fields -e frame.number -e websocket.opcode -e websocket.fin -e websocket.mask
//! -e websocket.masking_key`).

use std::net::IpAddr;
use std::ops::ControlFlow;

use super::{FieldId, FieldRegistry, FieldType, FieldValues, Value};

pub(crate) const FIELDS: &[(&str, FieldType)] = &[
    ("frame.number", FieldType::UInt),
    ("frame.len", FieldType::UInt),
    ("frame.cap_len", FieldType::UInt),
    ("frame.time_relative", FieldType::Time),
    ("frame.time", FieldType::Time),
    ("eth.src", FieldType::Ether),
    ("ip", FieldType::Protocol),
    ("ip.addr", FieldType::Ipv4),
    ("ipv6.addr", FieldType::Ipv6),
    ("tcp", FieldType::Protocol),
    ("tcp.port", FieldType::UInt),
    ("tcp.flags.syn", FieldType::Bool),
    ("http.request.method", FieldType::Str),
    ("websocket", FieldType::Protocol),
    ("websocket.fin", FieldType::Bool),
    ("websocket.opcode", FieldType::UInt),
    ("websocket.mask", FieldType::Bool),
    ("websocket.masking_key", FieldType::Bytes),
    ("websocket.payload", FieldType::Bytes),
    ("websocket.payload.text", FieldType::Str),
    ("websocket.payload.close.status_code", FieldType::UInt),
    ("wsd.delta", FieldType::Int),
];

pub(crate) struct Reg;

impl FieldRegistry for Reg {
    fn lookup(&self, name: &str) -> Option<(FieldId, FieldType)> {
        FIELDS
            .iter()
            .position(|(n, _)| *n == name)
            .map(|i| (FieldId(i as u32), FIELDS[i].1))
    }
    fn names(&self) -> Vec<&str> {
        FIELDS.iter().map(|(n, _)| *n).collect()
    }
    fn has_value_names(&self, field: FieldId) -> bool {
        self.lookup("websocket.opcode").map(|x| x.0) == Some(field)
    }
    fn value_named(&self, field: FieldId, name: &str) -> Option<u64> {
        const OPCODES: &[(&str, u64)] = &[
            ("Continuation", 0),
            ("Text", 1),
            ("Binary", 2),
            ("Connection Close", 8),
            ("Ping", 9),
            ("Pong", 10),
        ];
        (self.lookup("websocket.opcode")?.0 == field)
            .then(|| OPCODES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
            .flatten()
    }
}

/// A packet: (field name, value) pairs; a name may repeat (several frames).
#[derive(Default)]
pub(crate) struct Pkt(pub Vec<(&'static str, Owned)>);

pub(crate) enum Owned {
    P,
    B(bool),
    U(u64),
    I(i64),
    Tm(i64),
    S(&'static str),
    X(Vec<u8>),
    Ip(IpAddr),
    E([u8; 6]),
}

impl Pkt {
    pub(crate) fn with(mut self, name: &'static str, v: Owned) -> Self {
        assert!(Reg.lookup(name).is_some(), "{name}");
        self.0.push((name, v));
        self
    }
}

impl FieldValues for Pkt {
    fn for_each(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> ControlFlow<()>) {
        for (name, v) in &self.0 {
            if Reg.lookup(name).map(|x| x.0) != Some(field) {
                continue;
            }
            let val = match v {
                Owned::P => Value::Present,
                Owned::B(b) => Value::Bool(*b),
                Owned::U(u) => Value::UInt(*u),
                Owned::I(i) => Value::Int(*i),
                Owned::Tm(t) => Value::Time(*t),
                Owned::S(s) => Value::Str(s),
                Owned::X(b) => Value::Bytes(b),
                Owned::Ip(a) => Value::Ip(*a),
                Owned::E(e) => Value::Ether(*e),
            };
            if f(val).is_break() {
                return;
            }
        }
    }
}

/// The websocket packets of samples/coalesced.pcap (numbers, opcodes, FIN, MASK, keys, text)
/// plus non-websocket TCP packets 1..=7, as tshark decodes them.
pub(crate) fn coalesced() -> Vec<(u64, Pkt)> {
    use Owned::*;
    type Frame = (u64, bool, bool, Option<[u8; 4]>);
    let ws: &[(u64, &[Frame], &[&'static str])] = &[
        (
            8,
            &[
                (1, true, true, Some([0x11, 0x22, 0x33, 0x44])),
                (1, true, true, Some([0x55, 0x66, 0x77, 0x88])),
                (2, true, true, Some([0x99, 0xaa, 0xbb, 0xcc])),
                (9, true, true, Some([0xdd, 0xee, 0xff, 0x00])),
            ],
            &["one", "two"],
        ),
        (
            9,
            &[
                (10, true, false, None),
                (1, true, false, None),
                (1, true, false, None),
                (2, true, false, None),
            ],
            &["uno", "dos"],
        ),
        (
            13,
            &[
                (1, true, true, Some([0x0f, 0x1e, 0x2d, 0x3c])),
                (1, true, true, Some([0xa1, 0xb2, 0xc3, 0xd4])),
            ],
            &["0123456789", "tail"],
        ),
        (17, &[(2, true, true, Some([1, 2, 3, 4]))], &[]),
        (
            19,
            &[
                (1, false, false, None),
                (0, false, false, None),
                (0, true, false, None),
            ],
            &["abc"],
        ),
        (21, &[(8, true, true, Some([0x37, 0xfa, 0x21, 0x3d]))], &[]),
        (22, &[(8, true, false, None)], &[]),
    ];
    let mut out = Vec::new();
    for n in 1..=22u64 {
        let mut p = Pkt::default()
            .with("frame.number", U(n))
            .with("ip", P)
            .with("ip.addr", Ip([127, 0, 0, 1].into()))
            .with("ip.addr", Ip([127, 0, 0, 1].into()))
            .with("tcp", P)
            .with("tcp.flags.syn", B(n <= 2));
        if let Some((_, frames, texts)) = ws.iter().find(|w| w.0 == n) {
            p = p.with("websocket", P);
            for (op, fin, mask, key) in frames.iter() {
                p = p
                    .with("websocket.opcode", U(*op))
                    .with("websocket.fin", B(*fin))
                    .with("websocket.mask", B(*mask));
                if let Some(k) = key {
                    p = p.with("websocket.masking_key", X(k.to_vec()));
                }
            }
            for t in texts.iter() {
                p = p.with("websocket.payload.text", S(t));
            }
            if n == 21 || n == 22 {
                p = p.with("websocket.payload.close.status_code", U(1000));
            }
        }
        out.push((n, p));
    }
    out
}
