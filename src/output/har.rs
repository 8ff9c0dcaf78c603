//! `read --format har`: a HAR 1.2 log (W3C Web Performance WG draft, "HTTP Archive 1.2")
//! with one entry per WebSocket connection: the upgrade request and its response, and
//! Chrome DevTools' `_webSocketMessages` extension: `{type: send|receive, time: epoch
//! seconds, opcode, data}` per data message, Binary payloads in base64 as Chrome writes
//! them. Such a file opens in Chrome DevTools' Network panel, HAR viewers and
//! Playwright-based tooling.
//!
//! Like Chrome, the messages are the data messages (Text, Binary), joined and inflated;
//! control frames are not listed. A HAR is one JSON document, so it is written at the end;
//! each message's payload is kept up to `--max-payload` bytes until then.
//!
//! Times: `startedDateTime` is the capture time of the connection's first packet, `time`
//! and `timings.wait` run from there to the packet that completed the response, and a
//! message's `time` is the capture time of the packet that completed it.

use crate::event::{ConnId, Event, EventSink, Handshake, MessageEvent, PacketBody};
use crate::flow::analysis::Direction;
use crate::ws::OpCode;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// One connection's entry in the making.
#[derive(Debug, Default)]
struct Entry {
    /// Capture time of the connection's first packet, seconds since the epoch.
    start: Option<f64>,
    /// The handshake, as HAR `request` and `response` objects, and `serverIPAddress`.
    request: Option<Value>,
    response: Option<Value>,
    server_ip: Option<String>,
    /// Packet that completed the response, and its time once that packet's record came.
    response_packet: u64,
    response_time: Option<f64>,
    /// Whether the connection carried TLS (the URL is then `wss://`).
    tls: bool,
    messages: Vec<Value>,
}

/// The HAR renderer.
pub struct Har<W: Write> {
    out: W,
    /// Epoch seconds of relative time 0 (the first packet), once a packet was seen.
    base: Option<f64>,
    entries: BTreeMap<ConnId, Entry>,
}

impl<W: Write> Har<W> {
    /// A renderer writing the HAR to `out` at the end.
    pub fn new(out: W) -> Self {
        Har {
            out,
            base: None,
            entries: BTreeMap::new(),
        }
    }

    fn handshake(&mut self, h: &Handshake<'_>) {
        let e = self.entries.entry(h.conn).or_default();
        let req = h.request;
        let host = req
            .headers
            .iter()
            .find(|hd| hd.name.eq_ignore_ascii_case("host"))
            .map(|hd| hd.value.clone())
            .unwrap_or_else(|| h.endpoints.server.to_string());
        let scheme = if e.tls { "wss" } else { "ws" };
        let headers = |list: &[crate::http::head::Header]| -> Value {
            list.iter()
                .map(|hd| json!({"name": hd.name, "value": hd.value}))
                .collect()
        };
        let query: Value = req
            .path
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (n, v) = p.split_once('=').unwrap_or((p, ""));
                        json!({"name": n, "value": v})
                    })
                    .collect()
            })
            .unwrap_or_else(|| json!([]));
        e.request = Some(json!({
            "method": req.method,
            "url": format!("{scheme}://{host}{}", req.path),
            "httpVersion": format!("HTTP/1.{}", req.version),
            "cookies": [],
            "headers": headers(&req.headers),
            "queryString": query,
            "headersSize": -1,
            "bodySize": 0,
        }));
        let resp = h.response;
        e.response = Some(json!({
            "status": resp.status,
            "statusText": resp.reason,
            "httpVersion": format!("HTTP/1.{}", resp.version),
            "cookies": [],
            "headers": headers(&resp.headers),
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        }));
        e.server_ip = Some(h.endpoints.server.ip().to_string());
        e.response_packet = h.response_packet;
    }

    fn message(&mut self, m: &MessageEvent<'_>) {
        if !m.opcode.is_data() {
            return;
        }
        let time = self.base.unwrap_or(0.0) + m.rel_time;
        let data = match m.opcode {
            OpCode::Text => String::from_utf8_lossy(m.payload).into_owned(),
            _ => base64::engine::general_purpose::STANDARD.encode(m.payload),
        };
        let e = self.entries.entry(m.conn).or_default();
        e.messages.push(json!({
            "type": match m.dir {
                Direction::ClientToServer => "send",
                Direction::ServerToClient => "receive",
            },
            "time": time,
            "opcode": u8::from(m.opcode),
            "data": data,
        }));
    }

    fn log(&self) -> Value {
        let entries: Vec<Value> = self
            .entries
            .iter()
            .filter_map(|(conn, e)| {
                // Only connections whose upgrade was captured: an entry needs its request.
                let (request, response) = (e.request.clone()?, e.response.clone()?);
                let start = e.start.or(self.base).unwrap_or(0.0);
                let wait = e
                    .response_time
                    // Milliseconds to the microsecond, as the capture's clock gives them.
                    .map(|t| (((t - start) * 1e6).round() / 1e3).max(0.0))
                    .unwrap_or(0.0);
                let mut entry = Map::new();
                entry.insert("startedDateTime".into(), iso8601(start).into());
                entry.insert("time".into(), json!(wait));
                entry.insert("request".into(), request);
                entry.insert("response".into(), response);
                entry.insert("cache".into(), json!({}));
                entry.insert(
                    "timings".into(),
                    json!({"send": 0, "wait": wait, "receive": 0}),
                );
                if let Some(ip) = &e.server_ip {
                    entry.insert("serverIPAddress".into(), ip.clone().into());
                }
                entry.insert("connection".into(), conn.to_string().into());
                entry.insert("_resourceType".into(), "websocket".into());
                entry.insert("_webSocketMessages".into(), e.messages.clone().into());
                Some(Value::Object(entry))
            })
            .collect();
        json!({
            "log": {
                "version": "1.2",
                "creator": {"name": "wsdissect", "version": env!("CARGO_PKG_VERSION")},
                "pages": [],
                "entries": entries,
            }
        })
    }
}

/// `2023-11-14T22:13:20.123Z` for `epoch` seconds (UTC, milliseconds, as HAR's ISO 8601
/// dates are usually written).
fn iso8601(epoch: f64) -> String {
    let millis = (epoch * 1000.0).round() as i64;
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = crate::filter::tfields::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

impl<W: Write> EventSink for Har<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Packet(p) => {
                let epoch = p.timestamp.secs as f64 + f64::from(p.timestamp.nanos) / 1e9;
                let base = *self.base.get_or_insert(epoch - p.rel_time);
                if let PacketBody::Tcp(rec) = &p.body {
                    let e = self.entries.entry(rec.conn).or_default();
                    e.start.get_or_insert(base + p.rel_time);
                    if e.response_packet == p.number && e.response_time.is_none() {
                        e.response_time = Some(base + p.rel_time);
                    }
                }
            }
            Event::Tls(t) => self.entries.entry(t.conn).or_default().tls = true,
            Event::Handshake(h) => self.handshake(h),
            Event::Message(m) => self.message(m),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let log = self.log();
        serde_json::to_writer_pretty(&mut self.out, &log)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601_utc() {
        // `date -u -d @1700000000.123 +%FT%T.%3NZ`
        assert_eq!(iso8601(1_700_000_000.123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00.000Z");
        // 2024 is a leap year: `date -u -d @1709164800` is 2024-02-29.
        assert_eq!(iso8601(1_709_164_800.0), "2024-02-29T00:00:00.000Z");
    }
}
