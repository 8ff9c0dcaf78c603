//! Caps on what decoders copy out of a payload: one-line summaries, JSON values in fields,
//! and compact JSON previews written without serializing a whole (possibly huge) value.

use serde_json::Value;

/// Most characters in a summary (the last one is `…` when cut).
pub const MAX_SUMMARY: usize = 200;
/// Most characters kept of one string inside a field value.
pub const MAX_FIELD_STRING: usize = 1024;
/// Most elements kept of one array or object inside a field value.
pub const MAX_FIELD_ITEMS: usize = 100;
/// Most nesting levels kept in a field value.
pub const MAX_FIELD_DEPTH: usize = 16;
/// Most values (nodes) kept in one field value overall.
pub const MAX_FIELD_NODES: usize = 2000;
/// Characters shown of one id.
pub const MAX_ID: usize = 64;

/// `s` cut to `max` characters, the last one replaced by `…` when cut.
pub fn cap_str(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some(_) => {
            let end = s
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(s.len(), |(i, _)| i);
            let mut t = s[..end].to_string();
            t.push('…');
            t
        }
    }
}

/// A one-line text of at most `max` characters; writes past the end are dropped and the
/// line ends with `…`.
#[derive(Debug)]
pub struct Line {
    s: String,
    chars: usize,
    max: usize,
    full: bool,
}

impl Line {
    /// An empty line of at most `max` characters.
    pub fn new(max: usize) -> Self {
        Line {
            // One allocation for a typical summary (ASCII text up to the cap).
            s: String::with_capacity(max.min(MAX_SUMMARY) + 8),
            chars: 0,
            max,
            full: false,
        }
    }

    /// Whether something was dropped.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Appends `t`, keeping one line: control characters stay as they are (the renderer
    /// escapes), but the cap holds.
    pub fn push(&mut self, t: &str) {
        if self.full {
            return;
        }
        // Fast path: a text of n bytes has at most n characters.
        if self.chars + t.len() + 1 < self.max {
            self.s.push_str(t);
            self.chars += t.chars().count();
            return;
        }
        for c in t.chars() {
            if self.full {
                break;
            }
            self.push_char(c);
        }
    }

    /// Appends one character (or the final `…`).
    pub fn push_char(&mut self, c: char) {
        if self.full {
            return;
        }
        if self.chars + 1 >= self.max {
            self.s.push('…');
            self.full = true;
            return;
        }
        self.s.push(c);
        self.chars += 1;
    }

    /// The text.
    pub fn finish(self) -> String {
        self.s
    }
}

impl std::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push(s);
        Ok(())
    }
}

/// Writes `v` as compact JSON into `line`, stopping as soon as the line is full (so a huge
/// value costs only what is shown). `subst` may replace a value by a text (e.g. Socket.IO
/// binary placeholders).
pub fn write_compact(line: &mut Line, v: &Value, subst: &dyn Fn(&Value) -> Option<String>) {
    write_compact_depth(line, v, subst, 0);
}

fn write_compact_depth(
    line: &mut Line,
    v: &Value,
    subst: &dyn Fn(&Value) -> Option<String>,
    depth: usize,
) {
    if line.is_full() {
        return;
    }
    if let Some(s) = subst(v) {
        line.push(&s);
        return;
    }
    if depth >= MAX_FIELD_DEPTH {
        line.push("…");
        return;
    }
    match v {
        Value::String(s) => push_json_string(line, s),
        Value::Array(a) => {
            line.push("[");
            for (i, x) in a.iter().enumerate() {
                if line.is_full() {
                    return;
                }
                if i > 0 {
                    line.push(",");
                }
                write_compact_depth(line, x, subst, depth + 1);
            }
            line.push("]");
        }
        Value::Object(o) => {
            line.push("{");
            for (i, (k, x)) in o.iter().enumerate() {
                if line.is_full() {
                    return;
                }
                if i > 0 {
                    line.push(",");
                }
                push_json_string(line, k);
                line.push(":");
                write_compact_depth(line, x, subst, depth + 1);
            }
            line.push("}");
        }
        Value::Number(n) => {
            use std::fmt::Write as _;
            let _ = write!(line, "{n}");
        }
        Value::Bool(true) => line.push("true"),
        Value::Bool(false) => line.push("false"),
        Value::Null => line.push("null"),
    }
}

/// A JSON string literal of `s`, escaped as serde_json escapes, written straight into the
/// line (escaping a whole megabyte string to show 200 characters of it would be waste).
pub fn push_json_string(line: &mut Line, s: &str) {
    line.push_char('"');
    for c in s.chars() {
        if line.is_full() {
            return;
        }
        match c {
            '"' => line.push("\\\""),
            '\\' => line.push("\\\\"),
            '\n' => line.push("\\n"),
            '\r' => line.push("\\r"),
            '\t' => line.push("\\t"),
            '\u{8}' => line.push("\\b"),
            '\u{c}' => line.push("\\f"),
            c if c < ' ' => {
                use std::fmt::Write as _;
                let _ = write!(line, "\\u{:04x}", u32::from(c));
            }
            c => line.push_char(c),
        }
    }
    line.push_char('"');
}

/// Writes JSON `text` (already known to be valid) without its insignificant whitespace:
/// members in the sender's order, numbers as written, nothing decoded or allocated.
pub fn minify_into(line: &mut Line, text: &str) {
    // Runs between insignificant whitespace are copied as slices (whitespace is ASCII, so
    // every cut is on a character boundary); long runs are flushed so a huge message costs
    // only what the line can hold.
    const FLUSH: usize = 1024;
    let b = text.as_bytes();
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    if !b.iter().any(is_space) {
        // Already compact (what most libraries send): one copy.
        line.push(text);
        return;
    }
    let (mut in_string, mut escaped) = (false, false);
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            if let Some(run) = text.get(start..i) {
                line.push(run);
            }
            start = i + 1;
        }
        if i.saturating_sub(start) >= FLUSH && text.is_char_boundary(i) {
            if let Some(run) = text.get(start..i) {
                line.push(run);
            }
            start = i;
        }
        if line.is_full() {
            return;
        }
    }
    if let Some(run) = text.get(start..) {
        line.push(run);
    }
}

/// Compact JSON of `v` in at most `max` characters.
pub fn compact(v: &Value, max: usize) -> String {
    let mut l = Line::new(max);
    write_compact(&mut l, v, &|_| None);
    l.finish()
}

/// A copy of `v` bounded for a field: long strings cut (`…`), long arrays/objects cut to
/// their first items (an extra `"…"` element / `"…": n` member says how many were left
/// out), deep nesting replaced by `"…"`.
pub fn cap_value(v: &Value) -> Value {
    let mut budget = MAX_FIELD_NODES;
    cap_rec(v, 0, &mut budget)
}

fn cap_rec(v: &Value, depth: usize, budget: &mut usize) -> Value {
    if *budget == 0 || depth >= MAX_FIELD_DEPTH {
        return Value::String("…".into());
    }
    *budget -= 1;
    match v {
        Value::String(s) => Value::String(cap_str(s, MAX_FIELD_STRING)),
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len().min(MAX_FIELD_ITEMS + 1));
            for x in a.iter().take(MAX_FIELD_ITEMS) {
                if *budget == 0 {
                    break;
                }
                out.push(cap_rec(x, depth + 1, budget));
            }
            if out.len() < a.len() {
                out.push(Value::String(format!("… {} more", a.len() - out.len())));
            }
            Value::Array(out)
        }
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, x) in o.iter().take(MAX_FIELD_ITEMS) {
                if *budget == 0 {
                    break;
                }
                out.insert(cap_str(k, MAX_FIELD_STRING), cap_rec(x, depth + 1, budget));
            }
            if out.len() < o.len() {
                out.insert("…".into(), Value::from(o.len() - out.len()));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// [`cap_value`] of a value the caller owns: cut in place, so the common case (a small
/// value within every cap) costs one walk and no copy.
pub fn cap_owned(mut v: Value) -> Value {
    let mut budget = MAX_FIELD_NODES;
    cap_in_place(&mut v, 0, &mut budget);
    v
}

fn cap_in_place(v: &mut Value, depth: usize, budget: &mut usize) {
    if *budget == 0 || depth >= MAX_FIELD_DEPTH {
        *v = Value::String("…".into());
        return;
    }
    *budget -= 1;
    match v {
        Value::String(s) if s.len() > MAX_FIELD_STRING => {
            *s = cap_str(s, MAX_FIELD_STRING);
        }
        Value::Array(a) => {
            let total = a.len();
            a.truncate(MAX_FIELD_ITEMS);
            let mut kept = 0;
            for x in a.iter_mut() {
                if *budget == 0 {
                    break;
                }
                cap_in_place(x, depth + 1, budget);
                kept += 1;
            }
            a.truncate(kept);
            if kept < total {
                a.push(Value::String(format!("… {} more", total - kept)));
            }
        }
        Value::Object(o) => {
            let total = o.len();
            let mut kept = 0;
            o.retain(|_, x| {
                if kept >= MAX_FIELD_ITEMS || *budget == 0 {
                    return false;
                }
                cap_in_place(x, depth + 1, budget);
                kept += 1;
                true
            });
            if o.keys().any(|k| k.len() > MAX_FIELD_STRING) {
                let old = std::mem::take(o);
                *o = old
                    .into_iter()
                    .map(|(k, x)| (cap_str(&k, MAX_FIELD_STRING), x))
                    .collect();
            }
            if kept < total {
                o.insert("…".into(), Value::from(total - kept));
            }
        }
        _ => {}
    }
}

/// An id as shown in summaries and exchanges: strings bare, other values as JSON, capped.
pub fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => cap_str(s, MAX_ID),
        other => cap_str(&compact(other, MAX_ID + 1), MAX_ID),
    }
}

/// A JSON value parsed from a message, or why not. serde_json limits nesting to 128
/// levels, so a hostile payload cannot overflow the stack.
pub fn parse_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Up to `max` bytes of `b` as lowercase hex.
pub fn hex_prefix(b: &[u8], max: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len().min(max) * 2);
    for x in b.iter().take(max) {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cap_str_counts_characters() {
        assert_eq!(cap_str("héllo", 10), "héllo");
        assert_eq!(cap_str("héllo", 3), "hé…");
        assert_eq!(cap_str("", 0), "");
    }

    #[test]
    fn line_stops_at_cap() {
        let mut l = Line::new(5);
        l.push("abcdefgh");
        assert!(l.is_full());
        assert_eq!(l.finish(), "abcd…");
    }

    #[test]
    fn compact_matches_serde_for_small_values() {
        let v = json!({"a": [1, "x", null, true], "b": {"c": 1.5}});
        assert_eq!(compact(&v, 200), serde_json::to_string(&v).unwrap());
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for s in ["plain", "q\"b\\n\n\r\t\u{8}\u{c}\u{1}\u{1f}é€😀", ""] {
            let mut l = Line::new(1000);
            push_json_string(&mut l, s);
            assert_eq!(l.finish(), serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn minify_keeps_order_and_strings() {
        let text = "{ \"b\" : [1, 2.50e3 ,\n \"x y\\\" z\"], \"a\":null }";
        let mut l = Line::new(200);
        minify_into(&mut l, text);
        assert_eq!(l.finish(), r#"{"b":[1,2.50e3,"x y\" z"],"a":null}"#);
    }

    #[test]
    fn minify_of_huge_text_is_capped() {
        let text = format!("[\"{}\", 1]", "é".repeat(1 << 20));
        let mut l = Line::new(MAX_SUMMARY);
        minify_into(&mut l, &text);
        let s = l.finish();
        assert_eq!(s.chars().count(), MAX_SUMMARY);
        assert!(s.starts_with("[\"éé") && s.ends_with('…'));
    }

    #[test]
    fn compact_of_huge_value_is_capped() {
        let v = Value::Array((0..100_000).map(Value::from).collect());
        let s = compact(&v, MAX_SUMMARY);
        assert_eq!(s.chars().count(), MAX_SUMMARY);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn cap_owned_equals_cap_value() {
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!([deep, {"k": "v"}]);
        }
        let cases = [
            json!({"a": [1, 2, {"b": "x".repeat(3000)}], "c": null}),
            Value::Array(
                (0..500)
                    .map(|i| json!({"i": i, "s": "y".repeat(i)}))
                    .collect(),
            ),
            Value::Object((0..300).map(|i| (format!("k{i}"), json!([i]))).collect()),
            // more nodes than the budget
            Value::Array(
                (0..100)
                    .map(|_| Value::Array((0..100).map(Value::from).collect()))
                    .collect(),
            ),
            Value::Object(
                (0..100)
                    .map(|i| {
                        (
                            format!("k{i}"),
                            Value::Array((0..100).map(Value::from).collect()),
                        )
                    })
                    .collect(),
            ),
            deep,
        ];
        for v in cases {
            assert_eq!(cap_owned(v.clone()), cap_value(&v));
        }
    }

    #[test]
    fn cap_value_bounds_size() {
        let v = Value::Array((0..1000).map(|_| json!({"s": "x".repeat(5000)})).collect());
        let c = cap_value(&v);
        let a = c.as_array().unwrap();
        assert_eq!(a.len(), MAX_FIELD_ITEMS + 1);
        assert_eq!(
            a[0]["s"].as_str().unwrap().chars().count(),
            MAX_FIELD_STRING
        );
        assert_eq!(a[MAX_FIELD_ITEMS], json!("… 900 more"));
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        assert!(
            serde_json::to_string(&cap_value(&deep))
                .unwrap()
                .contains('…')
        );
    }
}
