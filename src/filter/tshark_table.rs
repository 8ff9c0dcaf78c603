//! The filter engine against tshark on every sample, independently of the dissector: the field
//! values are tshark's own (`samples/expected/filters/NAME.values.tsv`), the expressions those of
//! `samples/gen/filters.txt`, and the answers tshark's (`samples/expected/filters/NAME.tsv`), all
//! written by `samples/gen/make_filter_expected.sh`. Any difference is a difference of filter
//! semantics (operators, quantifiers, literals, slices, precedence), not of decoding.

use std::collections::HashMap;
use std::fs;
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::path::Path;

use super::{FieldId, FieldRegistry, FieldType, FieldValues, Filter, Value};

/// Types of the fields the reference files hold, as tshark declares them (`tshark -G fields`).
const TYPES: &[(&str, FieldType)] = &[
    ("frame.number", FieldType::UInt),
    ("frame.time_epoch", FieldType::Time),
    ("frame.time_relative", FieldType::Time),
    ("frame.time_delta", FieldType::Time),
    ("frame.len", FieldType::UInt),
    ("frame.cap_len", FieldType::UInt),
    ("eth.src", FieldType::Ether),
    ("eth.dst", FieldType::Ether),
    ("ip", FieldType::Protocol),
    ("ip.src", FieldType::Ipv4),
    ("ip.dst", FieldType::Ipv4),
    ("ip.addr", FieldType::Ipv4),
    ("ipv6", FieldType::Protocol),
    ("ipv6.src", FieldType::Ipv6),
    ("ipv6.dst", FieldType::Ipv6),
    ("ipv6.addr", FieldType::Ipv6),
    ("tcp", FieldType::Protocol),
    ("tcp.srcport", FieldType::UInt),
    ("tcp.dstport", FieldType::UInt),
    ("tcp.port", FieldType::UInt),
    ("tcp.stream", FieldType::UInt),
    ("tcp.len", FieldType::UInt),
    ("tcp.seq", FieldType::UInt),
    ("tcp.ack", FieldType::UInt),
    ("tcp.flags.syn", FieldType::Bool),
    ("tcp.flags.ack", FieldType::Bool),
    ("tcp.flags.fin", FieldType::Bool),
    ("tcp.flags.reset", FieldType::Bool),
    ("tcp.flags.push", FieldType::Bool),
    ("tcp.analysis.retransmission", FieldType::Protocol),
    ("tcp.analysis.duplicate_ack", FieldType::Protocol),
    ("tcp.analysis.window_update", FieldType::Protocol),
    ("tcp.analysis.window_full", FieldType::Protocol),
    ("tcp.analysis.ack_lost_segment", FieldType::Protocol),
    ("tcp.analysis.lost_segment", FieldType::Protocol),
    ("http", FieldType::Protocol),
    ("http.request", FieldType::Bool),
    ("http.request.method", FieldType::Str),
    ("http.request.uri", FieldType::Str),
    ("http.host", FieldType::Str),
    ("http.response.code", FieldType::UInt),
    ("http.upgrade", FieldType::Str),
    ("http.connection", FieldType::Str),
    ("http.sec_websocket_key", FieldType::Str),
    ("http.sec_websocket_accept", FieldType::Str),
    ("http.sec_websocket_version", FieldType::UInt),
    ("websocket", FieldType::Protocol),
    ("websocket.fin", FieldType::Bool),
    ("websocket.rsv", FieldType::UInt),
    ("websocket.opcode", FieldType::UInt),
    ("websocket.mask", FieldType::Bool),
    ("websocket.payload_length", FieldType::UInt),
    ("websocket.masking_key", FieldType::Bytes),
    ("websocket.payload.text", FieldType::Str),
    ("websocket.payload.close.status_code", FieldType::UInt),
    ("websocket.payload.close.reason", FieldType::Str),
    ("websocket.payload.ping", FieldType::Bytes),
    ("websocket.payload.pong", FieldType::Bytes),
];

struct Reg;

impl FieldRegistry for Reg {
    fn lookup(&self, name: &str) -> Option<(FieldId, FieldType)> {
        TYPES
            .iter()
            .position(|t| t.0 == name)
            .map(|i| (FieldId(i as u32), TYPES[i].1))
    }
    fn names(&self) -> Vec<&str> {
        TYPES.iter().map(|t| t.0).collect()
    }
}

enum Owned {
    P,
    B(bool),
    U(u64),
    T(i64),
    S(String),
    X(Vec<u8>),
    Ip(IpAddr),
    E([u8; 6]),
}

/// One packet: values per field id.
struct Row(HashMap<u32, Vec<Owned>>);

impl FieldValues for Row {
    fn for_each(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> ControlFlow<()>) {
        for v in self.0.get(&field.0).into_iter().flatten() {
            let v = match v {
                Owned::P => Value::Present,
                Owned::B(b) => Value::Bool(*b),
                Owned::U(u) => Value::UInt(*u),
                Owned::T(t) => Value::Time(*t),
                Owned::S(s) => Value::Str(s),
                Owned::X(x) => Value::Bytes(x),
                Owned::Ip(a) => Value::Ip(*a),
                Owned::E(e) => Value::Ether(*e),
            };
            if f(v).is_break() {
                return;
            }
        }
    }
}

/// A value as tshark printed it, back to a typed value.
fn parse(ty: FieldType, s: &str) -> Owned {
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    match ty {
        FieldType::Protocol => Owned::P,
        FieldType::Bool => Owned::B(s == "1"),
        FieldType::UInt => Owned::U(match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).unwrap(),
            None => s.parse().unwrap(),
        }),
        FieldType::Time => Owned::T(super::compile::parse_seconds(s).unwrap()),
        FieldType::Str => Owned::S(
            s.replace("\\t", "\t")
                .replace("\\n", "\n")
                .replace("\\r", "\r"),
        ),
        FieldType::Bytes => Owned::X(hex(s)),
        FieldType::Ipv4 | FieldType::Ipv6 => Owned::Ip(s.parse().unwrap()),
        FieldType::Ether => Owned::E(hex(&s.replace(':', "")).try_into().unwrap()),
        FieldType::Int | FieldType::Float => unreachable!("no such field in the table"),
    }
}

fn rows(path: &Path) -> Vec<(u64, Row)> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let mut out = Vec::new();
    for line in lines {
        let mut row = HashMap::new();
        let mut number = 0;
        for (name, cell) in header.iter().zip(line.split('\t')) {
            let Some((id, ty)) = Reg.lookup(name) else {
                continue;
            };
            if cell.is_empty() {
                continue;
            }
            let vals: Vec<Owned> = cell.split('\u{1f}').map(|v| parse(ty, v)).collect();
            if *name == "frame.number" {
                number = cell.parse().unwrap();
            }
            row.insert(id.0, vals);
        }
        out.push((number, Row(row)));
    }
    out
}

#[test]
fn every_reference_expression_agrees_with_tshark_on_tsharks_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/expected/filters");
    let mut files = 0;
    let mut checked = 0;
    let mut diffs = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".values.tsv"))
        else {
            continue;
        };
        let packets = rows(&path);
        files += 1;
        let answers = fs::read_to_string(dir.join(format!("{name}.tsv"))).unwrap();
        for line in answers.lines().filter(|l| !l.starts_with('#')) {
            let (expr, want) = line.split_once('\t').unwrap();
            let f = Filter::compile(expr, &Reg).unwrap_or_else(|e| panic!("{}", e.render()));
            let got: Vec<String> = packets
                .iter()
                .filter(|(_, p)| f.matches(p))
                .map(|(n, _)| n.to_string())
                .collect();
            checked += 1;
            if got.join(" ") != want {
                diffs.push(format!(
                    "{name}: {expr}\n  tshark: {want}\n  filter: {}",
                    got.join(" ")
                ));
            }
        }
    }
    assert!(files >= 20, "only {files} samples have references");
    assert!(
        diffs.is_empty(),
        "{} of {checked} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `-T fields` text from typed values: tshark's values (from `NAME.values.tsv`) written back by
/// [`FieldsWriter`](super::tfields::FieldsWriter) must give tshark's `-T fields` output
/// (`samples/expected/fields/NAME.tsv`) byte for byte, for every field of fields.txt.
#[test]
fn fields_output_equals_tsharks_on_every_sample() {
    use super::tfields::{Column, Display, FieldsOptions, FieldsWriter};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/expected");
    let mut files = 0;
    for entry in fs::read_dir(root.join("fields")).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".tsv"))
        else {
            continue;
        };
        let values = root.join(format!("filters/{name}.values.tsv"));
        if !values.exists() {
            continue;
        }
        let want = fs::read_to_string(&path).unwrap();
        let names: Vec<&str> = want.lines().next().unwrap().split('\t').collect();
        let cols = names
            .iter()
            .map(|n| match *n {
                // frame.time is frame.time_epoch shown as a date (tshark: same instant).
                "frame.time" => Column {
                    field: Reg.lookup("frame.time_epoch").unwrap().0,
                    display: Display::AbsTimeUtc,
                },
                // FT_UINT8 BASE_HEX (tshark -G fields): 0x00
                "websocket.rsv" => Column {
                    field: Reg.lookup(n).unwrap().0,
                    display: Display::Hex { digits: 2 },
                },
                _ => Column {
                    field: Reg.lookup(n).unwrap_or_else(|| panic!("{n}")).0,
                    display: Display::Plain,
                },
            })
            .collect();
        let mut opts = FieldsOptions::default();
        opts.apply("header=y").unwrap();
        let w = FieldsWriter::new(opts, cols);
        let mut got = String::new();
        w.start(&names, &mut got);
        for (_, row) in rows(&values) {
            w.row(&row, &mut got);
        }
        for (i, (g, t)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, t, "{name} line {}", i + 1);
        }
        assert_eq!(got.lines().count(), want.lines().count(), "{name}");
        files += 1;
    }
    assert!(files >= 20, "only {files} samples have references");
}
