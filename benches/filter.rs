//! Display-filter evaluation cost per packet: what `-Y` adds to the pipeline, for the filters
//! the issue names (a frame field, a set with a range, a substring, a regular expression).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::ops::ControlFlow;
use wsdissect::filter::{FieldId, FieldRegistry, FieldType, FieldValues, Filter, Value};

const NAMES: &[(&str, FieldType)] = &[
    ("frame.number", FieldType::UInt),
    ("tcp.stream", FieldType::UInt),
    ("websocket", FieldType::Protocol),
    ("websocket.opcode", FieldType::UInt),
    ("websocket.fin", FieldType::Bool),
    ("websocket.payload.text", FieldType::Str),
    ("websocket.payload.close.status_code", FieldType::UInt),
];

struct Reg;
impl FieldRegistry for Reg {
    fn lookup(&self, name: &str) -> Option<(FieldId, FieldType)> {
        NAMES
            .iter()
            .position(|n| n.0 == name)
            .map(|i| (FieldId(i as u32), NAMES[i].1))
    }
    fn names(&self) -> Vec<&str> {
        NAMES.iter().map(|n| n.0).collect()
    }
}

/// A packet as a dissector would expose it: fields computed, values borrowed.
struct Pkt {
    number: u64,
    stream: u64,
    frames: Vec<(u64, bool, &'static str)>,
}

impl FieldValues for Pkt {
    fn for_each(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> ControlFlow<()>) {
        let _ = match field.0 {
            0 => f(Value::UInt(self.number)),
            1 => f(Value::UInt(self.stream)),
            2 if !self.frames.is_empty() => f(Value::Present),
            3 => self.frames.iter().try_for_each(|fr| f(Value::UInt(fr.0))),
            4 => self.frames.iter().try_for_each(|fr| f(Value::Bool(fr.1))),
            5 => self.frames.iter().try_for_each(|fr| f(Value::Str(fr.2))),
            _ => ControlFlow::Continue(()),
        };
    }
}

fn filters(c: &mut Criterion) {
    let pkts: Vec<Pkt> = (0..64u64)
        .map(|i| Pkt {
            number: i + 1,
            stream: i % 8,
            frames: vec![(
                i % 3,
                i % 2 == 0,
                "{\"type\":\"update\",\"id\":17,\"note\":\"all fine\"}",
            )],
        })
        .collect();
    let mut g = c.benchmark_group("filter_64_packets");
    for expr in [
        "websocket.opcode == 1",
        "tcp.stream in {0, 2..4} && websocket && !websocket.fin",
        "websocket.payload.text contains \"error\"",
        "websocket.payload.text matches \"error|fail\"",
    ] {
        let f = Filter::compile(expr, &Reg).unwrap();
        g.bench_function(expr, |b| {
            b.iter(|| pkts.iter().filter(|p| f.matches(black_box(*p))).count())
        });
    }
    g.finish();
}

criterion_group!(benches, filters);
criterion_main!(benches);
