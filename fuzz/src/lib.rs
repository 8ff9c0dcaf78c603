//! Shared pieces of the fuzz targets: each target is a function from bytes, called by the
//! AFL harness in `src/bin/` (and by `tests` below on the seed corpus).
#![forbid(unsafe_code)]

use std::io::{self, Cursor, Write};
use std::ops::ControlFlow;
use wsdissect::app;
use wsdissect::capture::PacketSource;
use wsdissect::capture::FileSource;
use wsdissect::check::{CheckConfig, FileCheck};
use wsdissect::dissect::{DissectConfig, Dissector};
use wsdissect::event::{Event, EventSink};
use wsdissect::http::extensions::{Side, deflate_params, parse_extension_list};
use wsdissect::http::{HeadBuffer, negotiate, parse_request, parse_response};
use wsdissect::check::report::junit::{JunitReport, JunitSuite};
use wsdissect::check::report::{diagnostic, summary};
use wsdissect::output::{JsonLines, Timeline, TimelineOptions};
use wsdissect::printer::{OutputConfig, printer};
use wsdissect::views::{View, ViewOptions};

/// The renderer of a human view, through the one factory.
fn view_renderer<'w>(options: &ViewOptions, out: &'w mut dyn Write) -> Box<dyn EventSink + 'w> {
    let config = OutputConfig {
        view: options.clone(),
        ..OutputConfig::default()
    };
    printer(&config, out)
}
use wsdissect::ws::{DecoderLimits, FrameDecoder, Inflater};

/// Packets read from one input at most (a fuzz input is small; this bounds a loop).
const MAX_PACKETS: usize = 100_000;

/// pcap / pcapng bytes → packets, until the end or the first error.
pub fn capture(data: &[u8]) {
    let Ok(mut source) = FileSource::new(Cursor::new(data.to_vec())) else {
        return;
    };
    for _ in 0..MAX_PACKETS {
        match source.next_packet() {
            Ok(Some(p)) => {
                std::hint::black_box(&p);
            }
            Ok(None) | Err(_) => break,
        }
    }
}

/// HTTP heads: request and response parsers, the incremental head buffer fed in two
/// pieces, and the extension negotiation between the headers parsed.
pub fn http_head(data: &[u8]) {
    let request = parse_request(data);
    let response = parse_response(data);
    if let (Ok(req), Ok(resp)) = (&request, &response) {
        std::hint::black_box(negotiate(&req.headers, &resp.headers));
    }
    if let Ok(req) = &request {
        std::hint::black_box((req.is_websocket_upgrade(), req.body_length()));
        std::hint::black_box(negotiate(&req.headers, &req.headers));
    }
    if let Ok(resp) = &response {
        std::hint::black_box((resp.is_websocket_upgrade(), resp.body_length(Some("GET"))));
    }
    let split = usize::from(data.first().copied().unwrap_or(0)).min(data.len());
    let mut buf = HeadBuffer::new(8192);
    let (a, b) = data.split_at(split);
    std::hint::black_box(buf.feed(a));
    std::hint::black_box(buf.feed(b));
    std::hint::black_box(buf.take());
}

/// `Sec-WebSocket-Extensions` values: the list parser and the permessage-deflate
/// parameter check on both sides.
pub fn extensions(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = parse_extension_list(text) {
        for ext in &list {
            std::hint::black_box(deflate_params(ext, Side::Offer).ok());
            std::hint::black_box(deflate_params(ext, Side::Response).ok());
        }
    }
}

/// The frame decoder, fed in pieces whose sizes come from the input's first byte, with a
/// gap in the middle when the second byte is odd.
pub fn frame_decoder(data: &[u8]) {
    let (Some(&step), Some(&mode)) = (data.first(), data.get(1)) else {
        return;
    };
    let body = data.get(2..).unwrap_or_default();
    let limits = DecoderLimits {
        max_retained_payload: if mode & 2 == 0 { 0 } else { 1 << 16 },
    };
    let mut decoder = FrameDecoder::new(limits);
    let step = usize::from(step).max(1);
    let mut emit = |f: wsdissect::ws::DecodedFrame<'_>| {
        std::hint::black_box(&f);
    };
    for (i, chunk) in body.chunks(step).enumerate() {
        decoder.feed(i as u64, chunk, &mut emit);
        if mode & 1 == 1 && i == 1 {
            std::hint::black_box(decoder.gap(i as u64, u64::from(mode)));
        }
    }
    let _ = decoder.flush(&mut |f| {
        emit(f);
        Ok(())
    });
    std::hint::black_box((decoder.pending(), decoder.stream_offset()));
}

/// The permessage-deflate inflater: messages separated by the byte 0xFF in the input,
/// output capped at 1 MiB per message (as the dissector caps it).
pub fn inflate(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let mut inflater = Inflater::new(mode & 1 == 1);
    for message in body.split(|&b| b == 0xFF) {
        if inflater.begin_message().is_err() {
            continue;
        }
        let mut total = 0usize;
        let mut sink = |out: &[u8]| {
            total += out.len();
            if total > 1 << 20 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let half = message.len() / 2;
        let (a, b) = message.split_at(half);
        if inflater.feed(a, &mut sink).is_err() || inflater.feed(b, &mut sink).is_err() {
            inflater.abandon_message();
            continue;
        }
        if mode & 2 == 2 {
            inflater.abandon_message();
        } else {
            let _ = inflater.end_message(&mut sink);
        }
    }
}

/// Hands every event to every renderer and to the checker.
struct FanOut<'a> {
    sinks: Vec<Box<dyn EventSink + 'a>>,
    check: FileCheck<'a>,
    suite: JunitSuite,
}

impl EventSink for FanOut<'_> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        for sink in &mut self.sinks {
            sink.event(event)?;
        }
        let suite = &mut self.suite;
        self.check.observe(event, &mut |d| {
            std::hint::black_box(diagnostic::text_line("fuzz.pcap", d));
            std::hint::black_box(diagnostic::json_record("fuzz.pcap", d));
            suite.diagnostic(d);
        });
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sinks.iter_mut().try_for_each(|s| s.flush())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.sinks.iter_mut().try_for_each(|s| s.finish())
    }
}

/// Bytes → capture → Dissector → every renderer (packet list, -V, JSON Lines, each view,
/// follow, check text/JSON/JUnit) into `io::sink()`.
pub fn pipeline(data: &[u8]) {
    let Ok(mut source) = FileSource::new(Cursor::new(data.to_vec())) else {
        return;
    };
    let config = CheckConfig::default();
    let mut outs = [
        io::sink(),
        io::sink(),
        io::sink(),
        io::sink(),
        io::sink(),
        io::sink(),
    ];
    let [explain, conversations, flow, messages, mermaid, follow] = &mut outs;
    let mut sinks: Vec<Box<dyn EventSink + '_>> = vec![
        Box::new(Timeline::new(io::sink(), TimelineOptions::default())),
        Box::new(Timeline::new(
            io::sink(),
            TimelineOptions {
                verbose: true,
                wireshark_compat: true,
                ..TimelineOptions::default()
            },
        )),
        Box::new(JsonLines::new(io::sink(), false)),
    ];
    let views: [(View, &mut dyn Write); 4] = [
        (View::Explain, explain),
        (View::Conversations, conversations),
        (View::Flow, flow),
        (View::Messages, messages),
    ];
    for (view, out) in views {
        let options = ViewOptions {
            view,
            ..ViewOptions::default()
        };
        sinks.push(view_renderer(&options, out));
    }
    let options = ViewOptions {
        view: View::Flow,
        mermaid: true,
        frames_only: true,
        ..ViewOptions::default()
    };
    sinks.push(view_renderer(&options, mermaid));
    let options = ViewOptions {
        follow: Some(0),
        ..ViewOptions::default()
    };
    sinks.push(view_renderer(&options, follow));
    let mut fan = FanOut {
        sinks,
        check: FileCheck::new(&config),
        suite: JunitSuite::new("fuzz.pcap"),
    };
    let mut dissector = Dissector::new(DissectConfig::default());
    let _ = app::run(&mut source, &mut dissector, &mut fan);
    let FanOut {
        check, mut suite, ..
    } = fan;
    let file_summary = check.finish(&mut |d| suite.diagnostic(d));
    std::hint::black_box(summary::json_record("fuzz.pcap", &file_summary));
    suite.set_summary(summary::text(
        "fuzz.pcap",
        &file_summary,
        Default::default(),
    ));
    let mut report = JunitReport::new(false);
    report.push(suite);
    std::hint::black_box(report.xml());
}

/// Most messages one input is cut into (bounds the loop).
const MAX_APP_MESSAGES: usize = 4096;

/// Application-payload decoders: the input is a sequence of messages, each a header byte
/// (bit 0: from the server, bit 1: text, bit 2: incomplete), a big-endian 16-bit length
/// (cut to what is left) and the payload. Every registered decoder (built for a Socket.IO
/// URL, a subprotocol, and with summaries only) and an Engine.IO polling decoder read the
/// whole sequence and end; a summary past its cap is a finding.
pub fn app_decoders(data: &[u8]) {
    use wsdissect::flow::analysis::Direction;
    use wsdissect::payload::{
        self, AppInput, AppOutput, Context, DECODERS, Decoder, bound, socketio::SocketIoDecoder,
    };
    let contexts = [
        Context {
            request_uri: "/socket.io/?EIO=4&transport=websocket",
            subprotocol: None,
            summary_only: false,
            proto_message: None,
        },
        Context {
            request_uri: "/graphql",
            subprotocol: Some("graphql-transport-ws"),
            summary_only: true,
            proto_message: None,
        },
    ];
    let mut decoders: Vec<Box<dyn Decoder>> = Vec::new();
    for ctx in &contexts {
        decoders.extend(DECODERS.iter().map(|d| (d.new)(ctx)));
    }
    for uri in [
        "/socket.io/?EIO=4&transport=polling&sid=x",
        "/socket.io/?EIO=3&transport=polling&sid=x",
    ] {
        if let Some(d) = SocketIoDecoder::polling(uri) {
            decoders.push(Box::new(d));
        }
    }
    let mut out = Vec::new();
    let check = |out: &mut Vec<AppOutput>| {
        for o in out.drain(..) {
            if let AppOutput::Packet(p) = &o {
                assert!(p.summary.chars().count() <= bound::MAX_SUMMARY);
                std::hint::black_box(p.to_json(Some(payload::ChosenBy::Content)));
            }
            std::hint::black_box(&o);
        }
    };
    let mut rest = data;
    let mut packet = 0u64;
    while let [head, hi, lo, tail @ ..] = rest {
        if packet as usize >= MAX_APP_MESSAGES {
            break;
        }
        packet += 1;
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (body, after) = tail.split_at(len);
        rest = after;
        let input = AppInput {
            dir: if head & 1 == 0 {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            },
            text: head & 2 != 0,
            payload: body,
            complete: head & 4 == 0,
            packet,
            time_ns: packet * 1_000,
        };
        for d in &mut decoders {
            d.message(&input, &mut out);
            check(&mut out);
        }
    }
    for d in &mut decoders {
        d.end(&mut out);
        check(&mut out);
    }
}
