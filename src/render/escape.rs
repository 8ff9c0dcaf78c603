//! Making capture bytes safe to show: no control characters, escape sequences or
//! bidirectional overrides from a capture ever reach the terminal.

use std::fmt::Write;

/// Whether a character would be interpreted by a terminal (C0/C1 controls, DEL) or could
/// reorder or hide text (bidi controls, zero-width formatting).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Appends `bytes` to `out` as text: valid UTF-8 kept, unsafe characters written as
/// `\n`, `\r`, `\t`, `\xNN` or `\u{NNNN}`, invalid UTF-8 bytes as `\xNN`, backslashes
/// doubled. At most `max_chars` characters of input are shown; returns whether all were.
pub fn escape_into(out: &mut String, bytes: &[u8], max_chars: usize) -> bool {
    let mut shown = 0usize;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if shown >= max_chars {
                return false;
            }
            shown += 1;
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if is_unsafe(c) => {
                    if (c as u32) < 0x100 {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    } else {
                        let _ = write!(out, "\\u{{{:04x}}}", c as u32);
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            if shown >= max_chars {
                return false;
            }
            shown += 1;
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    true
}

/// `bytes` escaped as one line, with `…` appended when cut at `max_chars`.
pub fn escape_line(bytes: &[u8], max_chars: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(max_chars) + 8);
    if !escape_into(&mut out, bytes, max_chars) {
        out.push('…');
    }
    out
}

/// Appends a hex dump in Wireshark's layout (`0000  48 65 6c 6c 6f ...  Hello`), each line
/// prefixed by `indent`, showing at most `max_bytes`.
pub fn hex_dump_into(out: &mut String, bytes: &[u8], indent: &str, max_bytes: usize) {
    let shown = &bytes[..bytes.len().min(max_bytes)];
    for (row, chunk) in shown.chunks(16).enumerate() {
        let _ = write!(out, "{indent}{:04x}  ", row * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        for &b in chunk {
            out.push(if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            });
        }
        out.push('\n');
    }
    if bytes.len() > shown.len() {
        let _ = writeln!(out, "{indent}… {} more bytes", bytes.len() - shown.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_escape_sequences_are_neutralised() {
        let s = escape_line(b"a\x1b[31mred\x07\r\n\x7f", 100);
        assert_eq!(s, "a\\x1b[31mred\\x07\\r\\n\\x7f");
        assert!(!s.chars().any(|c| c.is_control()));
    }

    #[test]
    fn c1_controls_bidi_and_invalid_utf8() {
        let s = escape_line("x\u{9b}y\u{202e}z".as_bytes(), 100);
        assert_eq!(s, "x\\x9by\\u{202e}z");
        assert_eq!(escape_line(&[0x66, 0xff, 0x67], 100), "f\\xffg");
    }

    #[test]
    fn cut_is_marked() {
        assert_eq!(escape_line("héllo".as_bytes(), 3), "hél…");
        assert_eq!(escape_line(b"abc", 3), "abc");
    }

    #[test]
    fn every_byte_value_escapes_to_printable() {
        let all: Vec<u8> = (0..=255).collect();
        let s = escape_line(&all, 1000);
        assert!(!s.chars().any(|c| c.is_control()));
        let mut dump = String::new();
        hex_dump_into(&mut dump, &all, "  ", 1000);
        assert!(!dump.chars().any(|c| c.is_control() && c != '\n'));
    }

    #[test]
    fn hex_dump_layout() {
        let mut out = String::new();
        hex_dump_into(&mut out, b"Hello", "", 64);
        assert_eq!(
            out,
            "0000  48 65 6c 6c 6f                                    Hello\n"
        );
    }
}
