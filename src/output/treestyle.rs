//! Colour and width for the detail tree (`-V`) after it is written: layer names bold,
//! field names blue, bit pictures faint, verdicts green or red, payload lines as they
//! are. Working on the finished lines keeps [`super::tree`] a plain writer that every layer
//! (HTTP, WebSocket, the application decoders) adds to in the same shape: a layer name at
//! the left margin, its fields indented, `[...]` lines for wsdissect's own findings.

use crate::term::style::{Role, Style};
use crate::term::width::fit_width;

/// Appends `tree` (lines ending in `\n`, already escaped) to `out`, each line cut to
/// `width` columns when known and coloured by `style`.
pub fn push_tree(out: &mut String, tree: &str, style: Style, width: Option<usize>) {
    // Lines under a payload section are capture bytes: shown, never coloured as fields.
    let mut in_payload = false;
    for line in tree.lines() {
        if !line.starts_with(' ') {
            in_payload = line.starts_with("Line-based text data") || line.starts_with("Data (");
        }
        let fitted;
        let line = match width {
            Some(w) => {
                fitted = fit_width(line, w);
                fitted.as_str()
            }
            None => line,
        };
        let body = line.trim_start_matches(' ');
        let indent = &line[..line.len() - body.len()];
        if indent.is_empty() {
            style.push(out, Role::Heading, body);
        } else if in_payload || !style.enabled() {
            out.push_str(line);
        } else {
            out.push_str(indent);
            push_field(out, body, style);
        }
        out.push('\n');
    }
}

/// One indented tree line: a finding in brackets, a bit field, or `name: value`.
fn push_field(out: &mut String, body: &str, style: Style) {
    if body.starts_with('[') {
        let role = if body.starts_with("[Sec-WebSocket-Accept: valid") {
            Role::Good
        } else if body.starts_with("[Sec-WebSocket-Accept")
            || body.starts_with("[Malformed")
            || body.starts_with("[Payload incomplete")
        {
            Role::Bad
        } else {
            Role::Dim
        };
        style.push(out, role, body);
        return;
    }
    // Wireshark's bit pictures: "1... .... = Fin: True".
    let (bits, rest) = match body.split_once(" = ") {
        Some((bits, rest)) if bits.chars().all(|c| matches!(c, '0' | '1' | '.' | ' ')) => {
            (Some(bits), rest)
        }
        _ => (None, body),
    };
    if let Some(bits) = bits {
        style.push(out, Role::Dim, bits);
        out.push_str(" = ");
    }
    match rest.split_once(": ") {
        Some((name, value)) if !name.is_empty() => {
            style.push(out, Role::Field, name);
            out.push_str(": ");
            out.push_str(value);
        }
        _ => out.push_str(rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::style::strip;

    const TREE: &str = "WebSocket\n    1... .... = Fin: True\n    Masking-Key: 0a0b0c0d\n\
        Line-based text data (1 line)\n    key: value\n";

    #[test]
    fn plain_and_wide_is_the_tree_itself() {
        let mut out = String::new();
        push_tree(&mut out, TREE, Style::plain(), None);
        assert_eq!(out, TREE);
    }

    #[test]
    fn colours_names_not_payload() {
        let mut out = String::new();
        push_tree(&mut out, TREE, Style::new(true), None);
        assert_eq!(strip(&out), TREE);
        assert!(out.starts_with("\x1b[1mWebSocket\x1b[0m\n"));
        assert!(out.contains("\x1b[2m1... ....\x1b[0m = \x1b[34mFin\x1b[0m: True"));
        assert!(out.contains("\x1b[34mMasking-Key\x1b[0m: 0a0b0c0d"));
        // Payload text that looks like a field stays uncoloured.
        assert!(out.ends_with("\n    key: value\n"), "{out:?}");
    }

    #[test]
    fn cut_to_the_width() {
        let mut out = String::new();
        push_tree(&mut out, TREE, Style::plain(), Some(16));
        assert!(out.lines().all(|l| l.chars().count() <= 16), "{out}");
        assert!(out.contains("    Masking-Key…\n"), "{out}");
        assert!(out.ends_with("Line-based text…\n    key: value\n"), "{out}");
    }
}
