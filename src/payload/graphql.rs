//! GraphQL over WebSocket: `graphql-transport-ws` (the graphql-ws library's PROTOCOL.md)
//! and the legacy `graphql-ws` (subscriptions-transport-ws). Every message is a JSON object
//! with a string `type`; operations carry an `id`, and a client's subscribe/start is
//! answered by next/data items ended by complete or error.

use super::bound::{self, Line};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Outcome, Protocol,
};
use crate::flow::analysis::Direction;
use serde_json::{Map, Value};

/// Who may send a message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    Client,
    Server,
    Both,
}

/// What a message type does to an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// connection_init (only one allowed in graphql-transport-ws).
    Init,
    /// connection_ack.
    Ack,
    /// Starts an operation (subscribe / start).
    Start,
    /// One result item (next / data).
    Item,
    /// Ends an operation with an error.
    Error,
    /// Ends an operation (complete; from the client: cancels it).
    Complete,
    /// Client cancels (legacy stop).
    Stop,
    /// Anything else (ping, pong, ka, connection_error, connection_terminate).
    Other,
}

/// graphql-transport-ws message types.
const TRANSPORT_WS: &[(&str, Sender, Role)] = &[
    ("connection_init", Sender::Client, Role::Init),
    ("connection_ack", Sender::Server, Role::Ack),
    ("ping", Sender::Both, Role::Other),
    ("pong", Sender::Both, Role::Other),
    ("subscribe", Sender::Client, Role::Start),
    ("next", Sender::Server, Role::Item),
    ("error", Sender::Server, Role::Error),
    ("complete", Sender::Both, Role::Complete),
];

/// subscriptions-transport-ws message types.
const LEGACY: &[(&str, Sender, Role)] = &[
    ("connection_init", Sender::Client, Role::Init),
    ("connection_ack", Sender::Server, Role::Ack),
    ("connection_error", Sender::Server, Role::Other),
    ("ka", Sender::Server, Role::Other),
    ("connection_terminate", Sender::Client, Role::Other),
    ("start", Sender::Client, Role::Start),
    ("data", Sender::Server, Role::Item),
    ("error", Sender::Server, Role::Error),
    ("complete", Sender::Server, Role::Complete),
    ("stop", Sender::Client, Role::Stop),
];

/// Cancelled ids remembered (late answers to them are not anomalies).
const MAX_CANCELLED: usize = 256;

/// Per-connection GraphQL over WebSocket decoder.
#[derive(Debug)]
pub struct GraphqlDecoder {
    legacy: bool,
    init_seen: bool,
    acked: bool,
    pending: Pending<String, Request>,
    /// Ids the client cancelled: the server's late items and complete for them are normal.
    cancelled: Pending<String, ()>,
    last: Option<(Direction, u64)>,
}

impl GraphqlDecoder {
    /// A decoder for `graphql-transport-ws` (`legacy` false) or `graphql-ws`.
    pub fn new(legacy: bool) -> Self {
        GraphqlDecoder {
            legacy,
            init_seen: false,
            acked: false,
            pending: Pending::new(MAX_PENDING),
            cancelled: Pending::new(MAX_CANCELLED),
            last: None,
        }
    }

    fn protocol_id(&self) -> Protocol {
        if self.legacy {
            Protocol::GraphqlWs
        } else {
            Protocol::GraphqlTransportWs
        }
    }

    fn anomaly(msg: &AppInput<'_>, kind: AnomalyKind, detail: String, out: &mut Vec<AppOutput>) {
        out.push(AppOutput::Anomaly(AppAnomaly::new(kind, msg, detail)));
    }
}

/// The operation name: `operationName`, else the name after `query`/`mutation`/
/// `subscription` at the start of the document.
pub fn operation_name(payload: &Map<String, Value>) -> Option<String> {
    if let Some(Value::String(n)) = payload.get("operationName") {
        return Some(bound::cap_str(n, bound::MAX_ID));
    }
    let q = payload.get("query")?.as_str()?.trim_start();
    let rest = ["query", "mutation", "subscription"]
        .iter()
        .find_map(|k| q.strip_prefix(k))?;
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(bound::MAX_ID)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `query`, `mutation` or `subscription` (a document starting with `{` is a query).
fn operation_kind(payload: &Map<String, Value>) -> Option<&'static str> {
    let q = payload.get("query")?.as_str()?.trim_start();
    if q.starts_with('{') {
        return Some("query");
    }
    ["query", "mutation", "subscription"]
        .into_iter()
        .find(|k| q.starts_with(k))
}

impl Decoder for GraphqlDecoder {
    fn protocol(&self) -> Protocol {
        self.protocol_id()
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        // The packet goes before the exchanges and anomalies it causes.
        let start = out.len();
        self.last = Some((msg.dir, msg.packet));
        let mut obj = match bound::parse_json(msg.payload) {
            Ok(Value::Object(o)) => o,
            Ok(_) if msg.complete => {
                return Self::anomaly(
                    msg,
                    AnomalyKind::GraphqlMalformedMessage,
                    "not a JSON object".into(),
                    out,
                );
            }
            Err(e) if msg.complete => {
                return Self::anomaly(
                    msg,
                    AnomalyKind::GraphqlMalformedMessage,
                    e.to_string(),
                    out,
                );
            }
            _ => return,
        };
        let Some(ty) = obj.get("type").and_then(Value::as_str) else {
            return Self::anomaly(
                msg,
                AnomalyKind::GraphqlMalformedMessage,
                "no string `type`".into(),
                out,
            );
        };
        let table = if self.legacy { LEGACY } else { TRANSPORT_WS };
        let Some(&(ty, sender, role)) = table.iter().find(|(n, _, _)| *n == ty) else {
            return Self::anomaly(
                msg,
                AnomalyKind::GraphqlMalformedMessage,
                format!("unknown type {}", bound::cap_str(ty, bound::MAX_ID)),
                out,
            );
        };
        let from_client = msg.dir == Direction::ClientToServer;
        if (sender == Sender::Client && !from_client) || (sender == Sender::Server && from_client) {
            Self::anomaly(
                msg,
                AnomalyKind::GraphqlWrongDirection,
                format!(
                    "{ty} from the {}",
                    if from_client { "client" } else { "server" }
                ),
                out,
            );
        }
        let id = obj.get("id").map(bound::id_text);
        let payload = obj.remove("payload");
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("graphql ");
        line.push(ty);
        let mut fields = vec![("type", Value::from(ty))];
        if let Some(id) = &id {
            line.push(" id=");
            line.push(id);
            fields.push(("id", Value::from(id.clone())));
        }
        let mut op_name = None;
        match (role, payload) {
            (Role::Start, Some(Value::Object(p))) => {
                op_name = operation_name(&p);
                if let Some(n) = &op_name {
                    line.push(" ");
                    line.push(n);
                    fields.push(("operation_name", Value::from(n.clone())));
                }
                if let Some(k) = operation_kind(&p) {
                    fields.push(("operation", Value::from(k)));
                }
                if let Some(q) = p.get("query").and_then(Value::as_str) {
                    if op_name.is_none() {
                        line.push(" ");
                        line.push(&q.split_whitespace().collect::<Vec<_>>().join(" "));
                    }
                    fields.push((
                        "query",
                        Value::from(bound::cap_str(q, bound::MAX_FIELD_STRING)),
                    ));
                }
                if let Some(v) = p.get("variables").filter(|v| !v.is_null()) {
                    line.push(" ");
                    bound::write_compact(&mut line, v, &|_| None);
                    fields.push(("variables", bound::cap_value(v)));
                }
            }
            (_, Some(p)) if !p.is_null() => {
                line.push(" ");
                bound::write_compact(&mut line, &p, &|_| None);
                fields.push(("payload", bound::cap_owned(p)));
            }
            _ => {}
        }
        // Pairing and rules.
        match role {
            Role::Init => {
                if self.init_seen && !self.legacy {
                    Self::anomaly(
                        msg,
                        AnomalyKind::GraphqlDuplicateInit,
                        "second connection_init".into(),
                        out,
                    );
                }
                self.init_seen = true;
            }
            Role::Ack => self.acked = true,
            Role::Start => match &id {
                None => Self::anomaly(
                    msg,
                    AnomalyKind::GraphqlMalformedMessage,
                    format!("{ty} without an id"),
                    out,
                ),
                Some(id) => {
                    if !self.acked && !self.legacy {
                        Self::anomaly(
                            msg,
                            AnomalyKind::GraphqlSubscribeBeforeAck,
                            format!("{ty} id={id}"),
                            out,
                        );
                    }
                    if self
                        .pending
                        .insert(id.clone(), Request::new(msg, op_name.clone()))
                        .is_some()
                    {
                        Self::anomaly(
                            msg,
                            AnomalyKind::GraphqlDuplicateId,
                            format!("id={id} already active"),
                            out,
                        );
                    }
                }
            },
            Role::Item | Role::Error | Role::Complete | Role::Stop => {
                let Some(id) = &id else {
                    return Self::anomaly(
                        msg,
                        AnomalyKind::GraphqlMalformedMessage,
                        format!("{ty} without an id"),
                        out,
                    );
                };
                let requester_side = !from_client;
                match role {
                    Role::Item if requester_side => match self.pending.get_mut(id) {
                        Some(r) => r.item(msg),
                        None if self.cancelled.get_mut(id).is_some() => {}
                        None => Self::anomaly(
                            msg,
                            AnomalyKind::GraphqlNextUnknownId,
                            format!("{ty} id={id}"),
                            out,
                        ),
                    },
                    Role::Error | Role::Complete if requester_side => match self.pending.remove(id)
                    {
                        Some(r) => {
                            let (outcome, counts) = if role == Role::Error {
                                (Outcome::Error, true)
                            } else {
                                (Outcome::Complete, false)
                            };
                            out.push(AppOutput::Exchange(r.finish(
                                self.protocol_id(),
                                id.clone(),
                                msg,
                                outcome,
                                counts,
                            )));
                        }
                        None if self.cancelled.remove(id).is_some() => {}
                        None => Self::anomaly(
                            msg,
                            AnomalyKind::GraphqlNextUnknownId,
                            format!("{ty} id={id}"),
                            out,
                        ),
                    },
                    Role::Complete | Role::Stop if from_client => {
                        // The client cancels; the server may already have completed it.
                        if let Some(r) = self.pending.remove(id) {
                            self.cancelled.insert(id.clone(), ());
                            out.push(AppOutput::Exchange(r.finish(
                                self.protocol_id(),
                                id.clone(),
                                msg,
                                Outcome::Cancelled,
                                false,
                            )));
                        }
                    }
                    _ => {}
                }
            }
            Role::Other => {}
        }
        let start = start.min(out.len());
        out.insert(
            start,
            AppOutput::Packet(AppPacket {
                protocol: self.protocol_id(),
                dir: msg.dir,
                first_packet: msg.packet,
                packet: msg.packet,
                messages: 1,
                summary: line.finish(),
                fields,
            }),
        );
    }

    fn end(&mut self, out: &mut Vec<AppOutput>) {
        let protocol = self.protocol_id();
        for (id, req) in self.pending.drain() {
            out.push(AppOutput::Unanswered(req.unanswered(protocol, id)));
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

/// Registry constructor: graphql-transport-ws.
pub fn new_transport_ws(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(GraphqlDecoder::new(false))
}

/// Registry constructor: legacy graphql-ws.
pub fn new_legacy(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(GraphqlDecoder::new(true))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    // The flow of graphql-ws PROTOCOL.md: init, ack, subscribe, next…, complete; ping/pong.
    #[test]
    fn transport_ws_flow() {
        let mut d = GraphqlDecoder::new(false);
        let out = run(
            &mut d,
            &[
                (C2S, r#"{"type":"connection_init"}"#),
                (S2C, r#"{"type":"connection_ack"}"#),
                (C2S, r#"{"type":"ping"}"#),
                (S2C, r#"{"type":"pong"}"#),
                (
                    C2S,
                    r#"{"id":"1","type":"subscribe","payload":{"query":"subscription OnMessage { messages }"}}"#,
                ),
                (
                    S2C,
                    r#"{"id":"1","type":"next","payload":{"data":{"messages":"a"}}}"#,
                ),
                (
                    S2C,
                    r#"{"id":"1","type":"next","payload":{"data":{"messages":"b"}}}"#,
                ),
                (S2C, r#"{"id":"1","type":"complete"}"#),
                (
                    C2S,
                    r#"{"id":"2","type":"subscribe","payload":{"query":"{ boom }"}}"#,
                ),
                (
                    S2C,
                    r#"{"id":"2","type":"error","payload":[{"message":"Boom"}]}"#,
                ),
                (
                    C2S,
                    r#"{"id":"3","type":"subscribe","payload":{"query":"query Q { a }","operationName":"Q"}}"#,
                ),
                (C2S, r#"{"id":"3","type":"complete"}"#),
                (S2C, r#"{"id":"7","type":"next","payload":{}}"#),
                (
                    C2S,
                    r#"{"id":"4","type":"subscribe","payload":{"query":"{ a }"}}"#,
                ),
            ],
        );
        let p = packets(&out);
        assert_eq!(p[4].summary, "graphql subscribe id=1 OnMessage");
        assert_eq!(p[4].field("operation"), Some(&json!("subscription")));
        assert_eq!(p[8].summary, "graphql subscribe id=2 { boom }");
        assert_eq!(
            p[5].summary,
            r#"graphql next id=1 {"data":{"messages":"a"}}"#
        );
        let x = exchanges(&out);
        assert_eq!(x.len(), 3);
        assert_eq!(
            (
                x[0].request_packet,
                x[0].answer_packet,
                x[0].end_packet,
                x[0].answers
            ),
            (5, 6, 8, 2)
        );
        assert_eq!(
            (x[0].latency_ns, x[0].duration_ns, x[0].outcome),
            (1_000_000, 3_000_000, Outcome::Complete)
        );
        assert_eq!((x[1].outcome, x[1].answers), (Outcome::Error, 1));
        assert_eq!(
            (x[2].outcome, x[2].name.as_deref()),
            (Outcome::Cancelled, Some("Q"))
        );
        assert_eq!(anomalies(&out), vec![AnomalyKind::GraphqlNextUnknownId]);
        assert_eq!(unanswered(&out)[0].id, "4");
    }

    #[test]
    fn transport_ws_rules() {
        let mut d = GraphqlDecoder::new(false);
        let out = run(
            &mut d,
            &[
                (
                    C2S,
                    r#"{"id":"1","type":"subscribe","payload":{"query":"{a}"}}"#,
                ),
                (C2S, r#"{"type":"connection_init"}"#),
                (C2S, r#"{"type":"connection_init"}"#),
                (
                    C2S,
                    r#"{"id":"1","type":"subscribe","payload":{"query":"{a}"}}"#,
                ),
                (C2S, r#"{"type":"start","id":"1"}"#),
                (C2S, r#"{"id":"1","type":"next"}"#),
                (C2S, "nope"),
            ],
        );
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::GraphqlSubscribeBeforeAck,
                AnomalyKind::GraphqlDuplicateInit,
                AnomalyKind::GraphqlSubscribeBeforeAck,
                AnomalyKind::GraphqlDuplicateId,
                AnomalyKind::GraphqlMalformedMessage,
                AnomalyKind::GraphqlWrongDirection,
                AnomalyKind::GraphqlMalformedMessage,
            ]
        );
    }

    // subscriptions-transport-ws PROTOCOL.md: start, data, complete, stop, ka.
    #[test]
    fn legacy_flow() {
        let mut d = GraphqlDecoder::new(true);
        let out = run(
            &mut d,
            &[
                (C2S, r#"{"type":"connection_init","payload":{}}"#),
                (S2C, r#"{"type":"connection_ack"}"#),
                (S2C, r#"{"type":"ka"}"#),
                (
                    C2S,
                    r#"{"id":"1","type":"start","payload":{"query":"subscription S { s }","variables":{"a":1},"operationName":"S"}}"#,
                ),
                (
                    S2C,
                    r#"{"id":"1","type":"data","payload":{"data":{"s":1}}}"#,
                ),
                (C2S, r#"{"id":"1","type":"stop"}"#),
                (S2C, r#"{"id":"1","type":"complete"}"#),
            ],
        );
        let p = packets(&out);
        assert_eq!(p[3].summary, r#"graphql start id=1 S {"a":1}"#);
        let x = exchanges(&out);
        assert_eq!(
            (x.len(), x[0].outcome, x[0].answers),
            (1, Outcome::Cancelled, 1)
        );
        // complete after stop answers the stop: no anomaly
        assert!(anomalies(&out).is_empty());
    }

    #[test]
    fn mutated_inputs_do_not_panic() {
        for legacy in [false, true] {
            let make = move || -> Box<dyn Decoder> { Box::new(GraphqlDecoder::new(legacy)) };
            mutate_all(
                &make,
                &[
                    br#"{"id":"1","type":"subscribe","payload":{"query":"subscription OnMessage { m }"}}"#,
                    br#"{"id":"1","type":"next","payload":{"data":{"m":[1,2]}}}"#,
                ],
            );
        }
    }
}
