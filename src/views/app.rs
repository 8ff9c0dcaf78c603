//! What the views say about application packets (the payload decoders' output): the line
//! naming the decoder and how it was chosen, one line per application packet, answered
//! exchanges with their latency and requests left unanswered. Shared by `--follow` and
//! `--view explain`; every text from the capture is escaped here.

use crate::flow::analysis::Direction;
use crate::payload::{AppPacket, ChosenBy, Exchange, Outcome, Protocol, Unanswered};
use crate::term::escape::escape_line;

/// Characters of an application packet's summary shown.
pub const APP_PREVIEW: usize = 200;

/// `decoded as socket.io (chosen by path)`.
pub fn decoded_as(protocol: Protocol, chosen_by: ChosenBy) -> String {
    format!(
        "decoded as {} (chosen by {})",
        protocol.name(),
        chosen_by.name()
    )
}

/// The escaped one-line summary of each packet, e.g. `socket.io EVENT /chat "chat message"
/// ["hi"] ack=3`.
pub fn packet_lines(app: &[AppPacket]) -> impl Iterator<Item = String> + '_ {
    app.iter()
        .map(|p| escape_line(p.summary.as_bytes(), APP_PREVIEW))
}

/// Whether a message's packets deserve lines of their own: generic JSON says nothing the
/// payload text does not.
pub fn worth_showing(app: &[AppPacket]) -> bool {
    app.iter().any(|p| p.protocol != Protocol::Json)
}

fn who(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

/// `ms` with three decimals.
fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

/// What was asked, escaped: `"sum" id=1`.
fn asked(name: Option<&str>, id: &str) -> String {
    match name {
        Some(n) => format!(
            "\"{}\" id={}",
            escape_line(n.as_bytes(), 80),
            escape_line(id.as_bytes(), 40)
        ),
        None => format!("id={}", escape_line(id.as_bytes(), 40)),
    }
}

/// `socket.io "sum" id=1 (packet 20) answered in packet 22 after 0.441 ms`, with the stream's
/// answer count and end when it was one.
pub fn exchange_line(x: &Exchange) -> String {
    let mut s = format!(
        "{} {} (packet {})",
        x.protocol.name(),
        asked(x.name.as_deref(), &x.id),
        x.request_packet
    );
    if x.answers == 0 {
        s.push_str(" ended with no answer");
    } else {
        s.push_str(&format!(
            " answered in packet {} after {}",
            x.answer_packet,
            ms(x.latency_ns)
        ));
    }
    if x.answers > 1 || x.end_packet != x.answer_packet {
        s.push_str(&format!(
            ", {} answer{}, {} in packet {} after {}",
            x.answers,
            if x.answers == 1 { "" } else { "s" },
            match x.outcome {
                Outcome::Cancelled => "cancelled",
                Outcome::Complete => "completed",
                Outcome::Error => "error",
                Outcome::Result => "ended",
            },
            x.end_packet,
            ms(x.duration_ns)
        ));
    } else if x.outcome == Outcome::Error {
        s.push_str(" (error)");
    }
    s
}

/// `unanswered: jsonrpc "sum" id=4 sent by the client in packet 8`.
pub fn unanswered_line(u: &Unanswered) -> String {
    let mut s = format!(
        "unanswered: {} {} sent by the {} in packet {}",
        u.protocol.name(),
        asked(u.name.as_deref(), &u.id),
        who(u.request_dir),
        u.request_packet
    );
    if u.answers > 0 {
        s.push_str(&format!(
            " ({} answer{} received, not ended)",
            u.answers,
            if u.answers == 1 { "" } else { "s" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_and_unanswered_lines_say_ids_packets_and_latency() {
        let x = Exchange {
            protocol: Protocol::SocketIo,
            id: "1".into(),
            name: Some("sum".into()),
            request_dir: Direction::ClientToServer,
            request_packet: 20,
            answer_packet: 22,
            latency_ns: 441_000,
            end_packet: 22,
            duration_ns: 441_000,
            answers: 1,
            outcome: Outcome::Result,
        };
        assert_eq!(
            exchange_line(&x),
            "socket.io \"sum\" id=1 (packet 20) answered in packet 22 after 0.441 ms"
        );
        let stream = Exchange {
            answers: 3,
            end_packet: 30,
            duration_ns: 2_000_000,
            outcome: Outcome::Complete,
            ..x.clone()
        };
        assert!(
            exchange_line(&stream).ends_with(", 3 answers, completed in packet 30 after 2.000 ms"),
            "{}",
            exchange_line(&stream)
        );
        let u = Unanswered {
            protocol: Protocol::JsonRpc,
            id: "\u{1b}[31m".into(),
            name: None,
            request_dir: Direction::ClientToServer,
            request_packet: 8,
            answers: 0,
        };
        let line = unanswered_line(&u);
        assert!(!line.contains('\u{1b}'), "escaped: {line}");
        assert!(line.ends_with("sent by the client in packet 8"), "{line}");
    }
}
