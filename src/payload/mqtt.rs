//! MQTT 3.1, 3.1.1 and 5 over WebSocket (binary messages; OASIS MQTT 3.1.1 §6 and MQTT 5
//! §6: a message may hold several control packets or part of one). Each direction is a
//! byte stream cut into control packets by the fixed header's remaining length; packet
//! identifiers pair PUBLISH with PUBACK (QoS 1) or PUBREC/PUBREL/PUBCOMP (QoS 2),
//! SUBSCRIBE with SUBACK, UNSUBSCRIBE with UNSUBACK; CONNECT pairs with CONNACK and
//! PINGREQ with PINGRESP.
//!
//! Hand-written: the Rust MQTT codecs (rumqttc's, mqttbytes) stop at the first broken field
//! and return no partial packet, while a dissector must show every field it could read and
//! say where the packet broke; the format is fifteen fixed layouts over five primitive types.

use super::bound::{self, Line};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Outcome, Protocol,
};
use crate::flow::analysis::Direction;
use serde_json::{Map, Value};

/// Most bytes of one control packet held while it is reassembled. A longer packet is decoded
/// from its first `MAX_PACKET` bytes (its payload shown cut) and the rest is skipped.
pub const MAX_PACKET: usize = 4 << 20;
/// Most payload bytes copied into the `msg_text` / `msg_hex` fields.
const MAX_SHOWN_PAYLOAD: usize = 256;

/// Control packet type names, by type number (MQTT 5 §2.1.2; 15 AUTH is MQTT 5 only).
const TYPES: [&str; 16] = [
    "Reserved",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// The name of control packet type `t` (0-15).
pub fn type_name(t: u8) -> &'static str {
    TYPES.get(usize::from(t)).copied().unwrap_or("Reserved")
}

/// A Variable Byte Integer whose fourth byte still has its continuation bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarintTooLong;

impl std::fmt::Display for VarintTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MQTT Variable Byte Integer longer than 4 bytes")
    }
}

impl std::error::Error for VarintTooLong {}

/// Decodes a Variable Byte Integer (remaining length, property length) at the start of `b`:
/// `Ok(Some((value, bytes used)))`, `Ok(None)` when more bytes are needed, an error when a
/// fifth byte would be needed (MQTT 3.1.1 §2.2.3, MQTT 5 §1.5.5).
pub fn varint(b: &[u8]) -> Result<Option<(u32, usize)>, VarintTooLong> {
    let mut v: u32 = 0;
    for i in 0..4 {
        let Some(&x) = b.get(i) else {
            return Ok(None);
        };
        v |= u32::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Ok(Some((v, i + 1)));
        }
    }
    Err(VarintTooLong)
}

/// Why a packet body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Malformed {
    offset: usize,
    what: &'static str,
}

type R<T> = Result<T, Malformed>;

/// A checked reader over one packet's variable header and payload.
struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn new(b: &'a [u8]) -> Self {
        Rd { b, pos: 0 }
    }
    fn bad<T>(&self, what: &'static str) -> R<T> {
        Err(Malformed {
            offset: self.pos,
            what,
        })
    }
    fn left(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }
    fn take(&mut self, n: usize, what: &'static str) -> R<&'a [u8]> {
        match self.b.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => self.bad(what),
        }
    }
    fn u8(&mut self, what: &'static str) -> R<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> R<u16> {
        let s = self.take(2, what)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &'static str) -> R<u32> {
        let s = self.take(4, what)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn varint(&mut self, what: &'static str) -> R<u32> {
        match varint(self.b.get(self.pos..).unwrap_or_default()) {
            Ok(Some((v, n))) => {
                self.pos += n;
                Ok(v)
            }
            _ => self.bad(what),
        }
    }
    /// Two-byte length then that many bytes.
    fn bin(&mut self, what: &'static str) -> R<&'a [u8]> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what)
    }
    /// A UTF-8 Encoded String (MQTT 3.1.1 §1.5.3).
    fn str(&mut self, what: &'static str) -> R<String> {
        let start = self.pos;
        let b = self.bin(what)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(bound::cap_str(s, bound::MAX_FIELD_STRING)),
            Err(_) => Err(Malformed {
                offset: start,
                what: "string is not UTF-8",
            }),
        }
    }
    fn rest(&mut self) -> &'a [u8] {
        let r = self.b.get(self.pos..).unwrap_or_default();
        self.pos = self.b.len();
        r
    }
}

/// MQTT 5 property identifiers (§2.2.2.2): name and value type.
#[derive(Clone, Copy)]
enum PropType {
    Byte,
    U16,
    U32,
    Varint,
    Str,
    Bin,
    Pair,
}

fn property(id: u32) -> Option<(&'static str, PropType)> {
    use PropType::*;
    Some(match id {
        0x01 => ("payload_format_indicator", Byte),
        0x02 => ("message_expiry_interval", U32),
        0x03 => ("content_type", Str),
        0x08 => ("response_topic", Str),
        0x09 => ("correlation_data", Bin),
        0x0B => ("subscription_identifier", Varint),
        0x11 => ("session_expiry_interval", U32),
        0x12 => ("assigned_client_identifier", Str),
        0x13 => ("server_keep_alive", U16),
        0x15 => ("authentication_method", Str),
        0x16 => ("authentication_data", Bin),
        0x17 => ("request_problem_information", Byte),
        0x18 => ("will_delay_interval", U32),
        0x19 => ("request_response_information", Byte),
        0x1A => ("response_information", Str),
        0x1C => ("server_reference", Str),
        0x1F => ("reason_string", Str),
        0x21 => ("receive_maximum", U16),
        0x22 => ("topic_alias_maximum", U16),
        0x23 => ("topic_alias", U16),
        0x24 => ("maximum_qos", Byte),
        0x25 => ("retain_available", Byte),
        0x26 => ("user_property", Pair),
        0x27 => ("maximum_packet_size", U32),
        0x28 => ("wildcard_subscription_available", Byte),
        0x29 => ("subscription_identifier_available", Byte),
        0x2A => ("shared_subscription_available", Byte),
        _ => return None,
    })
}

/// Reads an MQTT 5 property list: an object of property names; `user_property` is a list of
/// `[key, value]` pairs, binary values are hex.
fn properties(r: &mut Rd<'_>) -> R<Value> {
    let len = r.varint("property length")?;
    let body = r.take(len as usize, "properties longer than the packet")?;
    let base = r.pos - body.len();
    let mut p = Rd::new(body);
    let mut m = Map::new();
    let mut users = Vec::new();
    while p.left() > 0 {
        let id = p.varint("property identifier")?;
        let Some((name, ty)) = property(id) else {
            return Err(Malformed {
                offset: base + p.pos,
                what: "unknown property identifier",
            });
        };
        let v: Value = match ty {
            PropType::Byte => p.u8(name)?.into(),
            PropType::U16 => p.u16(name)?.into(),
            PropType::U32 => p.u32(name)?.into(),
            PropType::Varint => p.varint(name)?.into(),
            PropType::Str => p.str(name)?.into(),
            PropType::Bin => bound::hex_prefix(p.bin(name)?, bound::MAX_FIELD_STRING / 2).into(),
            PropType::Pair => {
                let k = p.str(name)?;
                let v = p.str(name)?;
                if users.len() < bound::MAX_FIELD_ITEMS {
                    users.push(Value::Array(vec![k.into(), v.into()]));
                }
                continue;
            }
        };
        // A repeated subscription identifier is allowed in PUBLISH: keep them all.
        if id == 0x0B
            && let Some(old) = m.get_mut(name)
        {
            match old {
                Value::Array(a) => a.push(v),
                other => *other = Value::Array(vec![other.clone(), v]),
            }
            continue;
        }
        m.insert(name.into(), v);
    }
    if !users.is_empty() {
        m.insert("user_property".into(), Value::Array(users));
    }
    Ok(Value::Object(m))
}

/// The payload of a PUBLISH (or a will message) as fields: its length, and up to
/// [`MAX_SHOWN_PAYLOAD`] bytes as text when UTF-8, else as hex.
fn payload_fields(fields: &mut Vec<(&'static str, Value)>, b: &[u8], total: usize) {
    fields.push(("msg_len", total.into()));
    let shown = &b[..b.len().min(MAX_SHOWN_PAYLOAD)];
    match std::str::from_utf8(shown) {
        Ok(s) => fields.push(("msg_text", s.into())),
        // A cut may split a character: keep the valid prefix when it is most of it.
        Err(e) if e.valid_up_to() + 4 >= shown.len() && b.len() > shown.len() => fields.push((
            "msg_text",
            String::from_utf8_lossy(&shown[..e.valid_up_to()]).into(),
        )),
        Err(_) => fields.push((
            "msg_hex",
            bound::hex_prefix(shown, MAX_SHOWN_PAYLOAD).into(),
        )),
    }
}

/// One decoded control packet.
#[derive(Debug)]
struct Parsed {
    fields: Vec<(&'static str, Value)>,
    summary: Line,
    msgid: Option<u16>,
    topic: Option<String>,
    qos: u8,
    /// First reason code (CONNACK, PUBACK…), or every SUBACK/UNSUBACK code.
    codes: Vec<u8>,
    /// CONNECT's protocol level.
    level: Option<u8>,
    /// SUBSCRIBE/UNSUBSCRIBE topic filters.
    filters: Vec<String>,
}

impl Parsed {
    fn new() -> Self {
        Parsed {
            fields: Vec::new(),
            summary: Line::new(bound::MAX_SUMMARY),
            msgid: None,
            topic: None,
            qos: 0,
            codes: Vec::new(),
            level: None,
            filters: Vec::new(),
        }
    }
}

/// Parses one whole control packet: `header` is the first byte, `body` the remaining
/// length's bytes (possibly cut at [`MAX_PACKET`]: `total` is the declared length).
fn parse(header: u8, body: &[u8], total: usize, v5: bool, p: &mut Parsed) -> R<()> {
    let t = header >> 4;
    let flags = header & 0x0f;
    p.fields.push(("msgtype", t.into()));
    p.fields.push(("type", type_name(t).into()));
    p.summary.push("mqtt ");
    p.summary.push(type_name(t));
    let mut r = Rd::new(body);
    let expected_flags = match t {
        3 => flags,
        6 | 8 | 10 => 0b0010,
        _ => 0,
    };
    let flags_ok = flags == expected_flags;
    match t {
        1 => {
            let name = r.str("protocol name")?;
            let level = r.u8("protocol level")?;
            p.level = Some(level);
            let v5 = level == 5;
            let cf = r.u8("connect flags")?;
            let ka = r.u16("keep alive")?;
            p.fields.push(("protoname", name.clone().into()));
            p.fields.push(("ver", level.into()));
            p.fields.push(("cleansess", (cf & 0x02 != 0).into()));
            p.fields.push(("kalive", ka.into()));
            if v5 {
                let props = properties(&mut r)?;
                p.fields.push(("properties", props));
            }
            let cid = r.str("client identifier")?;
            p.summary.push(" ");
            p.summary.push(&name);
            p.summary.push(&format!(" v{level} client_id="));
            bound::push_json_string(&mut p.summary, &cid);
            p.fields.push(("clientid", cid.into()));
            if cf & 0x04 != 0 {
                if v5 {
                    let wp = properties(&mut r)?;
                    p.fields.push(("will_properties", wp));
                }
                let wt = r.str("will topic")?;
                let wm = r.bin("will message")?;
                p.fields.push(("willtopic", wt.into()));
                p.fields.push(("willmsg_len", wm.len().into()));
                p.fields.push(("will_qos", ((cf >> 3) & 3).into()));
                p.fields.push(("will_retain", (cf & 0x20 != 0).into()));
            }
            if cf & 0x80 != 0 {
                let u = r.str("user name")?;
                p.summary.push(" user=");
                bound::push_json_string(&mut p.summary, &u);
                p.fields.push(("username", u.into()));
            }
            if cf & 0x40 != 0 {
                // The password itself is not copied out.
                let pw = r.bin("password")?;
                p.fields.push(("passwd_len", pw.len().into()));
            }
            if cf & 0x01 != 0 {
                return Err(Malformed {
                    offset: 7 + name.len(),
                    what: "reserved connect flag set",
                });
            }
        }
        2 => {
            let af = r.u8("acknowledge flags")?;
            let rc = r.u8("return code")?;
            p.codes.push(rc);
            p.fields.push(("session_present", (af & 1 != 0).into()));
            p.fields.push(("reason_code", rc.into()));
            p.summary.push(&format!(" rc={rc}"));
            if af & 1 != 0 {
                p.summary.push(" session_present");
            }
            if v5 && r.left() > 0 {
                let props = properties(&mut r)?;
                p.fields.push(("properties", props));
            }
        }
        3 => {
            let qos = (flags >> 1) & 3;
            p.qos = qos;
            let dup = flags & 8 != 0;
            let retain = flags & 1 != 0;
            let topic = r.str("topic name")?;
            p.fields.push(("topic", topic.clone().into()));
            p.fields.push(("qos", qos.into()));
            p.fields.push(("dupflag", dup.into()));
            p.fields.push(("retain", retain.into()));
            p.summary.push(" topic=");
            p.summary.push(&topic);
            p.summary.push(&format!(" qos={qos}"));
            if qos > 0 {
                let id = r.u16("packet identifier")?;
                p.msgid = Some(id);
                p.fields.push(("msgid", id.into()));
                p.summary.push(&format!(" id={id}"));
            }
            if retain {
                p.summary.push(" retain");
            }
            if dup {
                p.summary.push(" dup");
            }
            p.topic = Some(topic);
            if v5 {
                let props = properties(&mut r)?;
                p.fields.push(("properties", props));
            }
            let head = r.pos;
            let data = r.rest();
            let len = total.saturating_sub(head);
            payload_fields(&mut p.fields, data, len);
            p.summary.push(&format!(" ({len} B)"));
            if qos == 3 {
                return Err(Malformed {
                    offset: 0,
                    what: "QoS 3 in a PUBLISH",
                });
            }
        }
        4..=7 => {
            let id = r.u16("packet identifier")?;
            p.msgid = Some(id);
            p.fields.push(("msgid", id.into()));
            p.summary.push(&format!(" id={id}"));
            if v5 && r.left() > 0 {
                let rc = r.u8("reason code")?;
                p.codes.push(rc);
                p.fields.push(("reason_code", rc.into()));
                if rc != 0 {
                    p.summary.push(&format!(" rc={rc}"));
                }
                if r.left() > 0 {
                    let props = properties(&mut r)?;
                    p.fields.push(("properties", props));
                }
            }
        }
        8 | 10 => {
            let id = r.u16("packet identifier")?;
            p.msgid = Some(id);
            p.fields.push(("msgid", id.into()));
            if v5 {
                let props = properties(&mut r)?;
                p.fields.push(("properties", props));
            }
            let mut topics = Vec::new();
            while r.left() > 0 {
                let f = r.str("topic filter")?;
                if t == 8 {
                    let o = r.u8("subscription options")?;
                    if topics.len() < bound::MAX_FIELD_ITEMS {
                        topics.push(serde_json::json!({"topic": f, "qos": o & 3, "options": o}));
                    }
                } else if topics.len() < bound::MAX_FIELD_ITEMS {
                    topics.push(Value::String(f.clone()));
                }
                if p.filters.len() < bound::MAX_FIELD_ITEMS {
                    p.filters.push(f);
                }
            }
            p.summary.push(" ");
            p.summary.push(&p.filters.join(","));
            p.summary.push(&format!(" id={id}"));
            p.fields.push(("topics", Value::Array(topics)));
            if p.filters.is_empty() {
                return r.bad("no topic filter");
            }
        }
        9 | 11 => {
            let id = r.u16("packet identifier")?;
            p.msgid = Some(id);
            p.fields.push(("msgid", id.into()));
            p.summary.push(&format!(" id={id}"));
            if v5 {
                let props = properties(&mut r)?;
                p.fields.push(("properties", props));
            }
            let codes = r.rest();
            p.codes = codes.iter().take(bound::MAX_FIELD_ITEMS).copied().collect();
            if t == 9 || v5 {
                let shown: Vec<String> = p.codes.iter().map(u8::to_string).collect();
                p.summary.push(&format!(" rc=[{}]", shown.join(",")));
                p.fields.push((
                    "reason_codes",
                    Value::Array(p.codes.iter().map(|&c| c.into()).collect()),
                ));
            }
        }
        12 | 13 => {}
        14 | 15 => {
            if r.left() > 0 {
                let rc = r.u8("reason code")?;
                p.codes.push(rc);
                p.fields.push(("reason_code", rc.into()));
                p.summary.push(&format!(" rc={rc}"));
                if r.left() > 0 {
                    let props = properties(&mut r)?;
                    p.fields.push(("properties", props));
                }
            }
        }
        _ => {
            return Err(Malformed {
                offset: 0,
                what: "reserved packet type 0",
            });
        }
    }
    if !flags_ok {
        return Err(Malformed {
            offset: 0,
            what: "reserved fixed-header flags",
        });
    }
    if r.left() > 0 {
        return r.bad("bytes after the packet's last field");
    }
    Ok(())
}

/// One direction's byte stream.
#[derive(Debug, Default)]
struct Stream {
    buf: Vec<u8>,
    /// Bytes of an over-long packet still to skip.
    skip: usize,
    /// Packet number and time of the message holding the first byte of `buf`.
    first: Option<u64>,
}

/// What a pending request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waits {
    PubAck,
    PubRec,
    PubComp,
    SubAck,
    UnsubAck,
    ConnAck,
    PingResp,
}

/// Per-connection MQTT decoder.
#[derive(Debug)]
pub struct MqttDecoder {
    streams: [Stream; 2],
    /// Protocol level from CONNECT (5 = properties everywhere); 4 until seen.
    level: u8,
    /// Key: (who asked, packet id; 0x1_0000 CONNECT, 0x1_0001 PINGREQ).
    pending: Pending<(Direction, u32), (Waits, Request)>,
    last: Option<(Direction, u64)>,
}

const CONNECT_KEY: u32 = 0x1_0000;
const PING_KEY: u32 = 0x1_0001;

impl MqttDecoder {
    /// A decoder for MQTT 3.1.1 until a CONNECT says the level (`v5`: MQTT 5 from the start,
    /// for captures that begin after the CONNECT).
    pub fn new(v5: bool) -> Self {
        MqttDecoder {
            streams: Default::default(),
            level: if v5 { 5 } else { 4 },
            pending: Pending::new(MAX_PENDING),
            last: None,
        }
    }

    fn one(
        &mut self,
        msg: &AppInput<'_>,
        header: u8,
        body: &[u8],
        total: usize,
        first_packet: u64,
        out: &mut Vec<AppOutput>,
    ) {
        let mut p = Parsed::new();
        let res = parse(header, body, total, self.level == 5, &mut p);
        // Wireshark's mqtt.len, after the type fields.
        let at = p.fields.len().min(2);
        p.fields.insert(at, ("len", total.into()));
        if let Some(level) = p.level
            && (3..=5).contains(&level)
        {
            self.level = level;
        }
        let start = out.len();
        let t = header >> 4;
        let mut extra = Vec::new();
        if let Err(e) = &res {
            p.summary.push(&format!(" <malformed: {}>", e.what));
            if msg.complete {
                out.push(AppOutput::Anomaly(AppAnomaly::new(
                    AnomalyKind::MqttMalformedPacket,
                    msg,
                    format!(
                        "{} at byte {} of the packet body: {}",
                        type_name(t),
                        e.offset,
                        e.what
                    ),
                )));
            }
        } else {
            self.pair(msg, t, &p, &mut extra, out);
        }
        for (k, v) in extra {
            if k == "latency_ns"
                && let Some(ns) = v.as_u64()
            {
                p.summary.push(&format!(" ({:.3} ms)", ns as f64 / 1e6));
            }
            p.fields.push((k, v));
        }
        let summary = p.summary.finish();
        out.insert(
            start.min(out.len()),
            AppOutput::Packet(AppPacket {
                protocol: Protocol::Mqtt,
                dir: msg.dir,
                first_packet,
                packet: msg.packet,
                messages: 1,
                summary,
                fields: p.fields,
            }),
        );
    }

    fn pair(
        &mut self,
        msg: &AppInput<'_>,
        t: u8,
        p: &Parsed,
        extra: &mut Vec<(&'static str, Value)>,
        out: &mut Vec<AppOutput>,
    ) {
        let dir = msg.dir;
        let id = p.msgid.map(u32::from);
        let ask = |w: Waits, name: String| (w, Request::new(msg, Some(name)));
        match (t, id) {
            (1, _) => {
                self.pending
                    .insert((dir, CONNECT_KEY), ask(Waits::ConnAck, "CONNECT".into()));
            }
            (12, _) => {
                self.pending
                    .insert((dir, PING_KEY), ask(Waits::PingResp, "PINGREQ".into()));
            }
            (3, Some(id)) => {
                let topic = p.topic.clone().unwrap_or_default();
                let w = if p.qos == 1 {
                    Waits::PubAck
                } else {
                    Waits::PubRec
                };
                let name = bound::cap_str(&format!("PUBLISH {topic}"), bound::MAX_ID);
                self.pending.insert((dir, id), ask(w, name));
            }
            (8 | 10, Some(id)) => {
                let w = if t == 8 {
                    Waits::SubAck
                } else {
                    Waits::UnsubAck
                };
                let name = format!("{} {}", type_name(t), p.filters.join(","));
                self.pending
                    .insert((dir, id), ask(w, bound::cap_str(&name, bound::MAX_ID)));
            }
            (6, Some(id)) => {
                // PUBREL goes the same way as the PUBLISH it releases.
                match self.pending.get_mut(&(dir, id)) {
                    Some((w @ Waits::PubRec, _)) => *w = Waits::PubComp,
                    Some((Waits::PubComp, _)) => {}
                    _ => out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::MqttUnknownPacketId,
                        msg,
                        format!("PUBREL id={id} matches no PUBREC"),
                    ))),
                }
            }
            (2 | 13 | 4 | 5 | 7 | 9 | 11, _) => {
                let key = match t {
                    2 => CONNECT_KEY,
                    13 => PING_KEY,
                    _ => match id {
                        Some(i) => i,
                        None => return,
                    },
                };
                let want = match t {
                    2 => Waits::ConnAck,
                    13 => Waits::PingResp,
                    4 => Waits::PubAck,
                    5 => Waits::PubRec,
                    7 => Waits::PubComp,
                    9 => Waits::SubAck,
                    _ => Waits::UnsubAck,
                };
                let k = (dir.reverse(), key);
                let matches = matches!(self.pending.get_mut(&k), Some((w, _)) if *w == want);
                let error = match t {
                    9 => !p.codes.is_empty() && p.codes.iter().all(|&c| c >= 0x80),
                    11 => p.codes.iter().any(|&c| c >= 0x80),
                    // MQTT 3.1.1 CONNACK return codes 1-5 refuse; MQTT 5 reason codes
                    // of 0x80 and above are failures.
                    _ => p
                        .codes
                        .first()
                        .is_some_and(|&c| c != 0 && (t == 2 || c >= 0x80)),
                };
                if !matches {
                    if t == 2 || t == 13 {
                        return;
                    }
                    return out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::MqttUnknownPacketId,
                        msg,
                        format!(
                            "{} id={key} matches no pending {} from the other side",
                            type_name(t),
                            if t == 9 {
                                "SUBSCRIBE"
                            } else if t == 11 {
                                "UNSUBSCRIBE"
                            } else {
                                "PUBLISH"
                            }
                        ),
                    )));
                }
                // PUBREC of a successful QoS 2 PUBLISH: the first answer; PUBCOMP ends it.
                if t == 5 && !error {
                    if let Some((_, req)) = self.pending.get_mut(&k) {
                        req.item(msg);
                        extra.push(("latency_ns", msg.time_ns.saturating_sub(req.time_ns).into()));
                    }
                    return;
                }
                let Some((_, req)) = self.pending.remove(&k) else {
                    return;
                };
                let shown = match key {
                    CONNECT_KEY => "connect".to_string(),
                    PING_KEY => "ping".to_string(),
                    i => i.to_string(),
                };
                let outcome = if error {
                    Outcome::Error
                } else {
                    Outcome::Result
                };
                let x = req.finish(Protocol::Mqtt, shown, msg, outcome, true);
                // PUBCOMP ends a QoS 2 flow: its own time since the PUBLISH, not PUBREC's.
                let own = if t == 7 { x.duration_ns } else { x.latency_ns };
                extra.push(("latency_ns", own.into()));
                out.push(AppOutput::Exchange(x));
            }
            _ => {}
        }
    }
}

impl Decoder for MqttDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::Mqtt
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        self.last = Some((msg.dir, msg.packet));
        let i = usize::from(msg.dir == Direction::ServerToClient);
        let mut data = msg.payload;
        // An over-long packet's tail.
        let skip = self.streams[i].skip.min(data.len());
        self.streams[i].skip -= skip;
        data = &data[skip..];
        if data.is_empty() {
            if !msg.complete {
                self.streams[i] = Stream::default();
            }
            return;
        }
        let mut buf = std::mem::take(&mut self.streams[i].buf);
        let mut first = self.streams[i].first.take().unwrap_or(msg.packet);
        buf.extend_from_slice(data);
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            if rest.is_empty() {
                break;
            }
            let header = rest[0];
            let (len, n) = match varint(&rest[1..]) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(VarintTooLong) => {
                    if msg.complete {
                        out.push(AppOutput::Anomaly(AppAnomaly::new(
                            AnomalyKind::MqttMalformedRemainingLength,
                            msg,
                            format!(
                                "{} remaining length longer than 4 bytes",
                                type_name(header >> 4)
                            ),
                        )));
                    }
                    // The packet boundaries are lost: start again with the next message.
                    pos = buf.len();
                    break;
                }
            };
            let len = len as usize;
            let hl = 1 + n;
            let avail = rest.len() - hl;
            if avail >= len {
                let body = &rest[hl..hl + len];
                self.one(msg, header, body, len, first, out);
                pos += hl + len;
                first = msg.packet;
            } else if hl + avail >= MAX_PACKET {
                // Too long to hold: decode what is here, skip the rest.
                let body = &rest[hl..];
                self.one(msg, header, body, len, first, out);
                self.streams[i].skip = len - avail;
                pos = buf.len();
                first = msg.packet;
            } else {
                break;
            }
        }
        buf.drain(..pos);
        if !msg.complete {
            // Bytes were lost: packet boundaries are unknown, the next message starts anew.
            buf.clear();
            self.streams[i].skip = 0;
        }
        if !buf.is_empty() {
            self.streams[i].first = Some(first);
        }
        self.streams[i].buf = buf;
    }

    fn end(&mut self, out: &mut Vec<AppOutput>) {
        for (i, s) in self.streams.iter_mut().enumerate() {
            if !s.buf.is_empty() {
                let dir = if i == 0 {
                    Direction::ClientToServer
                } else {
                    Direction::ServerToClient
                };
                out.push(AppOutput::Anomaly(AppAnomaly {
                    kind: AnomalyKind::MqttIncompletePacket,
                    dir,
                    packet: s.first.unwrap_or(0),
                    detail: format!(
                        "{} B of {} left at the end",
                        s.buf.len(),
                        type_name(s.buf[0] >> 4)
                    ),
                }));
                s.buf.clear();
            }
        }
        for ((_, key), (_, req)) in self.pending.drain() {
            let id = match key {
                CONNECT_KEY => "connect".to_string(),
                PING_KEY => "ping".to_string(),
                i => i.to_string(),
            };
            out.push(AppOutput::Unanswered(req.unanswered(Protocol::Mqtt, id)));
        }
        if self.pending.dropped > 0 {
            let (dir, packet) = self.last.unwrap_or((Direction::ClientToServer, 0));
            out.push(AppOutput::Anomaly(dropped_anomaly(
                self.pending.dropped,
                dir,
                packet,
            )));
        }
    }
}

/// Registry constructor: MQTT 3.1.1 until the CONNECT says otherwise.
pub fn new_decoder(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(MqttDecoder::new(false))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    fn feed(d: &mut MqttDecoder, msgs: &[(Direction, &[u8])]) -> Vec<AppOutput> {
        let mut out = Vec::new();
        for (i, (dir, b)) in msgs.iter().enumerate() {
            d.message(&input(*dir, false, b, i as u64 + 1), &mut out);
        }
        d.end(&mut out);
        out
    }

    // MQTT 3.1.1 §2.2.3 Table 2.4 and MQTT 5 §1.5.5: remaining length encodings.
    #[test]
    fn variable_byte_integer_table() {
        for (v, b) in [
            (0u32, &[0x00u8][..]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            assert_eq!(varint(b), Ok(Some((v, b.len()))), "{v}");
        }
        assert_eq!(varint(&[0x80, 0x80]), Ok(None));
        assert_eq!(varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]), Err(VarintTooLong));
    }

    /// CONNECT of MQTT 3.1.1 §3.1.2.10 Figure 3.11 (variable header 00 04 MQTT 04 CE 00 0A:
    /// user name, password, will QoS 1, will flag, clean session; keep alive 10).
    fn connect_311() -> Vec<u8> {
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0xCE, 0, 10];
        for s in [&b"cid"[..], b"will/t", b"bye", b"user", b"pw"] {
            body.extend_from_slice(&(s.len() as u16).to_be_bytes());
            body.extend_from_slice(s);
        }
        let mut p = vec![0x10, body.len() as u8];
        p.extend(body);
        p
    }

    #[test]
    fn connect_and_connack_311() {
        let mut d = MqttDecoder::new(false);
        let out = feed(&mut d, &[(C2S, &connect_311()), (S2C, &[0x20, 2, 0, 0])]);
        let p = packets(&out);
        assert_eq!(
            p[0].summary,
            r#"mqtt CONNECT MQTT v4 client_id="cid" user="user""#
        );
        assert_eq!(p[0].field("clientid"), Some(&json!("cid")));
        assert_eq!(p[0].field("kalive"), Some(&json!(10)));
        assert_eq!(p[0].field("cleansess"), Some(&json!(true)));
        assert_eq!(p[0].field("willtopic"), Some(&json!("will/t")));
        assert_eq!(p[0].field("will_qos"), Some(&json!(1)));
        assert_eq!(p[0].field("passwd_len"), Some(&json!(2)));
        assert_eq!(p[1].summary, "mqtt CONNACK rc=0 (1.000 ms)");
        let x = exchanges(&out);
        assert_eq!(
            (x[0].id.as_str(), x[0].outcome),
            ("connect", Outcome::Result)
        );
        assert_eq!(x[0].latency_ns, 1_000_000);
        assert!(anomalies(&out).is_empty());
    }

    // After MQTT 5 §3.1.2's variable header example (protocol name, level 5, keep alive 10,
    // session expiry interval 10) with clean start only and a receive maximum of 20 added.
    #[test]
    fn connect_v5_properties_then_publish_properties() {
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 10];
        body.extend_from_slice(&[8, 0x11, 0, 0, 0, 10, 0x21, 0, 20]);
        body.extend_from_slice(&[0, 1, b'c']);
        let mut connect = vec![0x10, body.len() as u8];
        connect.extend(body);
        // PUBLISH QoS 1 "a/b" id 10 (MQTT 5 §3.3.2.3 example), content type + user property.
        let mut pb = vec![0, 3, b'a', b'/', b'b', 0, 10];
        let props = [&[0x03, 0, 4][..], b"text", &[0x26, 0, 1, b'k', 0, 1, b'v']].concat();
        pb.push(props.len() as u8);
        pb.extend(props);
        pb.extend_from_slice(b"hi");
        let mut publish = vec![0x32, pb.len() as u8];
        publish.extend(pb);
        let mut d = MqttDecoder::new(false);
        let out = feed(
            &mut d,
            &[
                (C2S, &connect),
                (S2C, &[0x20, 3, 0, 0, 0]),
                (C2S, &publish),
                // PUBACK with reason 0x10 (no matching subscribers) and no properties
                (S2C, &[0x40, 3, 0, 10, 0x10]),
            ],
        );
        let p = packets(&out);
        assert_eq!(
            p[0].field("properties"),
            Some(&json!({"session_expiry_interval": 10, "receive_maximum": 20}))
        );
        assert_eq!(p[2].summary, "mqtt PUBLISH topic=a/b qos=1 id=10 (2 B)");
        assert_eq!(
            p[2].field("properties"),
            Some(&json!({"content_type": "text", "user_property": [["k", "v"]]}))
        );
        assert_eq!(p[2].field("msg_text"), Some(&json!("hi")));
        assert_eq!(p[3].field("reason_code"), Some(&json!(16)));
        let x = exchanges(&out);
        assert_eq!(x.len(), 2);
        assert_eq!((x[1].id.as_str(), x[1].outcome), ("10", Outcome::Result));
        assert_eq!(x[1].name.as_deref(), Some("PUBLISH a/b"));
        assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
    }

    #[test]
    fn qos2_flow_and_subscribe() {
        let publish = [0x34, 8, 0, 3, b'a', b'/', b'b', 0, 7, b'x'];
        // SUBSCRIBE id 1: "a/b" QoS 1, "c/d" QoS 2 (MQTT 3.1.1 §3.8.3.1 example).
        let sub = [
            0x82, 14, 0, 1, 0, 3, b'a', b'/', b'b', 1, 0, 3, b'c', b'/', b'd', 2,
        ];
        let mut d = MqttDecoder::new(false);
        let out = feed(
            &mut d,
            &[
                (C2S, &sub),
                (S2C, &[0x90, 4, 0, 1, 1, 0x80]),
                (C2S, &publish),
                (S2C, &[0x50, 2, 0, 7]),
                (C2S, &[0x62, 2, 0, 7]),
                (S2C, &[0x70, 2, 0, 7]),
                (C2S, &[0xC0, 0]),
                (S2C, &[0xD0, 0]),
                (S2C, &[0x40, 2, 0, 99]),
            ],
        );
        let s: Vec<&str> = packets(&out).iter().map(|p| p.summary.as_str()).collect();
        assert_eq!(s[0], "mqtt SUBSCRIBE a/b,c/d id=1");
        assert_eq!(s[1], "mqtt SUBACK id=1 rc=[1,128] (1.000 ms)");
        assert_eq!(s[2], "mqtt PUBLISH topic=a/b qos=2 id=7 (1 B)");
        let x = exchanges(&out);
        assert_eq!(x.len(), 3);
        assert_eq!(x[0].name.as_deref(), Some("SUBSCRIBE a/b,c/d"));
        // QoS 2: first answer PUBREC (packet 4), ended by PUBCOMP (packet 6)
        assert_eq!(
            (
                x[1].request_packet,
                x[1].answer_packet,
                x[1].end_packet,
                x[1].answers
            ),
            (3, 4, 6, 2)
        );
        assert_eq!(x[1].latency_ns, 1_000_000);
        assert_eq!(x[1].duration_ns, 3_000_000);
        assert_eq!(x[2].id, "ping");
        assert_eq!(anomalies(&out), vec![AnomalyKind::MqttUnknownPacketId]);
    }

    #[test]
    fn packets_split_and_joined_across_messages() {
        let mut big = vec![
            0x30,
            0x80 | (300 % 128) as u8,
            (300 / 128) as u8,
            0,
            1,
            b't',
        ];
        big.extend(std::iter::repeat_n(b'z', 297));
        // one message: PINGREQ + first 10 bytes of the big PUBLISH; then the rest + PINGREQ
        let m1 = [&[0xC0, 0][..], &big[..10]].concat();
        let m2 = [&big[10..], &[0xC0, 0][..]].concat();
        let mut d = MqttDecoder::new(false);
        let out = feed(&mut d, &[(C2S, &m1), (C2S, &m2[..50]), (C2S, &m2[50..])]);
        let p = packets(&out);
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].summary, "mqtt PUBLISH topic=t qos=0 (297 B)");
        assert_eq!((p[1].first_packet, p[1].packet), (1, 3));
        assert_eq!(p[1].field("msg_len"), Some(&json!(297)));
        assert_eq!(p[2].first_packet, 3);
        // the two PINGREQs: the first unanswered one is replaced by the second
        assert_eq!(unanswered(&out).len(), 1);
        assert!(anomalies(&out).is_empty());
    }

    #[test]
    fn malformed_packets() {
        let mut d = MqttDecoder::new(false);
        let out = feed(
            &mut d,
            &[
                (C2S, &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
                // PUBREL with flags 0 instead of 2
                (C2S, &[0x60, 2, 0, 1]),
                // topic length past the end
                (C2S, &[0x30, 3, 0, 9, b'a']),
                // a packet cut by the end of the connection
                (S2C, &[0x30, 10, 0, 1]),
            ],
        );
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::MqttMalformedRemainingLength,
                AnomalyKind::MqttMalformedPacket,
                AnomalyKind::MqttMalformedPacket,
                AnomalyKind::MqttIncompletePacket,
            ]
        );
    }

    #[test]
    fn over_long_packet_is_skipped() {
        let n = MAX_PACKET + 10;
        let mut head = vec![0x30];
        let mut v = n;
        loop {
            let b = (v % 128) as u8;
            v /= 128;
            head.push(if v > 0 { b | 0x80 } else { b });
            if v == 0 {
                break;
            }
        }
        head.extend_from_slice(&[0, 1, b'q']);
        let chunk = vec![b'a'; MAX_PACKET];
        let mut d = MqttDecoder::new(false);
        let mut out = Vec::new();
        d.message(
            &input(C2S, false, &[&head[..], &chunk[..]].concat(), 1),
            &mut out,
        );
        d.message(&input(C2S, false, &[b'b'; 7], 2), &mut out);
        d.message(&input(C2S, false, &[0xC0, 0], 3), &mut out);
        d.end(&mut out);
        let p = packets(&out);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].field("msg_len"), Some(&json!(n - 3)));
        assert_eq!(p[1].summary, "mqtt PINGREQ");
    }

    // MQTT 3.1 (subprotocol mqttv3.1): protocol name "MQIsdp", level 3; CONNACK return code
    // 5 (not authorized) refuses the connection.
    #[test]
    fn mqtt_31_connect_refused() {
        let mut body = vec![0, 6];
        body.extend_from_slice(b"MQIsdp");
        body.extend_from_slice(&[3, 0x02, 0, 60, 0, 2, b'c', b'1']);
        let connect = [&[0x10, body.len() as u8][..], &body].concat();
        let mut d = MqttDecoder::new(false);
        let out = feed(&mut d, &[(C2S, &connect), (S2C, &[0x20, 2, 0, 5])]);
        let p = packets(&out);
        assert_eq!(p[0].field("protoname"), Some(&json!("MQIsdp")));
        assert_eq!(p[0].field("ver"), Some(&json!(3)));
        assert_eq!(p[1].field("reason_code"), Some(&json!(5)));
        assert_eq!(exchanges(&out)[0].outcome, Outcome::Error);
        assert!(anomalies(&out).is_empty());
    }

    /// Random byte strings, random message cuts, both directions, both protocol levels.
    #[test]
    fn random_bytes_do_not_panic() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let mut out = Vec::new();
        for v5 in [false, true] {
            let mut d = MqttDecoder::new(v5);
            for n in 0..20_000u64 {
                let len = rnd(40);
                let mut m: Vec<u8> = (0..len).map(|_| rnd(256) as u8).collect();
                if let Some(b) = m.first_mut() {
                    // mostly plausible fixed headers
                    *b = (*b & 0xF0) | [0, 2, 0, 0][rnd(4)];
                }
                let dir = if rnd(2) == 0 { C2S } else { S2C };
                let mut msg = input(dir, false, &m, n);
                msg.complete = rnd(10) != 0;
                d.message(&msg, &mut out);
                out.clear();
            }
            d.end(&mut out);
            out.clear();
        }
    }

    #[test]
    fn mutated_inputs_do_not_panic() {
        let make = || -> Box<dyn Decoder> { Box::new(MqttDecoder::new(true)) };
        let c = connect_311();
        mutate_all(
            &make,
            &[
                &c,
                &[0x32, 12, 0, 3, b'a', b'/', b'b', 0, 10, 3, 0x23, 0, 1, b'x'],
                &[0x82, 9, 0, 1, 2, 0x0B, 5, 0, 1, b'a', 1],
                &[0x90, 4, 0, 1, 0, 0x80, 0xE0, 2, 0x8E, 0],
            ],
        );
        let make4 = || -> Box<dyn Decoder> { Box::new(MqttDecoder::new(false)) };
        mutate_all(&make4, &[&c, &[0x50, 2, 0, 7, 0x62, 2, 0, 7]]);
    }
}
