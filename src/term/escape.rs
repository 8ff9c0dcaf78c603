//! Making capture bytes safe to show: no control characters, escape sequences or
//! bidirectional overrides from a capture ever reach the terminal. Also the renderers'
//! allocation-free writers for numbers, capture times, JSON strings and base64.

use std::fmt::Write;

/// Whether a character is invisible or can reorder or disguise text, so that it must never
/// reach a terminal or a raw JSON reader as itself: general categories Cc (C0, DEL, C1),
/// Cf (bidi controls such as U+061C, U+200E/F, U+202A-E, U+2066-9; soft hyphen U+00AD;
/// zero-width characters; interlinear annotations U+FFF9-B; tag characters), Zl and Zp,
/// plus the other Default_Ignorable_Code_Point ranges of Unicode's
/// DerivedCoreProperties.txt (fillers, variation selectors, reserved ignorables), which
/// render as nothing whatever their category.
pub fn is_invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory as Gc, UnicodeGeneralCategory as _};
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    // Latin, Greek, Cyrillic, Armenian, Hebrew: only these two, no table lookup needed.
    if ('\u{A0}'..'\u{600}').contains(&c) {
        return c == '\u{AD}' || c == '\u{34F}';
    }
    matches!(
        c.general_category(),
        Gc::Control | Gc::Format | Gc::LineSeparator | Gc::ParagraphSeparator
    ) || matches!(c,
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// An emoji character (Emoji=Yes in UTS #51) other than the ASCII digits, `#` and `*`.
fn is_pictographic(c: char) -> bool {
    use unicode_properties::UnicodeEmoji as _;
    !c.is_ascii() && c.is_emoji_char()
}

/// Whether invisible `c`, between `prev` and `next`, belongs to an emoji sequence (UTS #51
/// §1.4) and is shown as itself: a ZWJ joining two emoji (`👨‍👩`), or VS15/VS16 choosing
/// the presentation of the emoji before it (`❤️`, keycap `1️⃣`). Anywhere else these hide
/// text and are escaped. Tag characters are always escaped: they can carry invisible ASCII.
fn kept_in_emoji_sequence(prev: Option<char>, c: char, next: Option<char>) -> bool {
    use unicode_properties::UnicodeEmoji as _;
    match c {
        '\u{200D}' => {
            prev.is_some_and(|p| is_pictographic(p) || p == '\u{FE0F}')
                && next.is_some_and(is_pictographic)
        }
        '\u{FE0E}' | '\u{FE0F}' => prev.is_some_and(|p| p.is_emoji_char()),
        _ => false,
    }
}

/// Appends `bytes` to `out` as text: valid UTF-8 kept, invisible and reordering characters
/// (see [`is_invisible`]; ZWJ and VS16 kept inside emoji sequences) written as `\n`, `\r`,
/// `\t`, `\xNN` or `\u{NNNN}`, invalid UTF-8 bytes as `\xNN`, backslashes doubled. At most
/// `max_chars` characters of input are shown; returns whether all were.
///
/// Runs of printable ASCII are copied in one piece, and characters are decoded one at a
/// time rather than by validating all of `bytes` first (a message preview shows 80
/// characters of payloads of any length): together ~4x fewer instructions than a
/// `utf8_chunks` walk pushing a `char` at a time (callgrind, `--view messages` on
/// small-20.pcap). The output is the same: each invalid sequence is the one
/// `Utf8Chunks` reports, and the character before (`prev`) is forgotten after it, as a
/// new chunk starts there.
pub fn escape_into(out: &mut String, bytes: &[u8], max_chars: usize) -> bool {
    let mut shown = 0usize;
    let mut rest = bytes;
    // The previous character of the current run of valid UTF-8.
    let mut prev: Option<char> = None;
    loop {
        let run = plain_ascii_run(rest.get(..max_chars.saturating_sub(shown)).unwrap_or(rest));
        if let (Some(ascii), Some(tail)) = (rest.get(..run), rest.get(run..))
            && let Some(&last) = ascii.last()
        {
            out.push_str(std::str::from_utf8(ascii).unwrap_or_default());
            shown += run;
            prev = Some(char::from(last));
            rest = tail;
        }
        if rest.is_empty() {
            return true;
        }
        if shown >= max_chars {
            return false;
        }
        let (c, len) = match next_char(rest) {
            Ok(c) => c,
            Err(invalid) => {
                for &b in rest.get(..invalid).unwrap_or_default() {
                    if shown >= max_chars {
                        return false;
                    }
                    shown += 1;
                    out.push_str("\\x");
                    push_hex_digits(out, u32::from(b), 2);
                }
                rest = rest.get(invalid..).unwrap_or_default();
                prev = None;
                continue;
            }
        };
        shown += 1;
        rest = rest.get(len..).unwrap_or_default();
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_invisible(c)
                && !kept_in_emoji_sequence(prev, c, next_char(rest).ok().map(|(c, _)| c)) =>
            {
                if (c as u32) < 0x100 {
                    out.push_str("\\x");
                    push_hex_digits(out, c as u32, 2);
                } else {
                    out.push_str("\\u{");
                    push_hex_digits(out, c as u32, 4);
                    out.push('}');
                }
            }
            c => out.push(c),
        }
        prev = Some(c);
    }
}

/// How many bytes at the start of `bytes` are printable ASCII other than `\\` (shown as
/// themselves), eight at a time while they are.
fn plain_ascii_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut run = 0;
    while let Some(word) = bytes.get(run..).and_then(|b| b.first_chunk::<8>()) {
        let word = u64::from_le_bytes(*word);
        // A byte's high bit is set (somewhere in the word, if not exactly in its lane)
        // when it is below 0x20, 0x7f or above, or a backslash.
        let below_space = word.wrapping_sub(ONES * 0x20) & !word;
        let del_or_above = word | word.wrapping_add(ONES);
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
        if (below_space | del_or_above | is_backslash) & HIGH != 0 {
            break;
        }
        run += 8;
    }
    run + bytes
        .get(run..)
        .unwrap_or_default()
        .iter()
        .position(|&b| !(0x20..0x7f).contains(&b) || b == b'\\')
        .unwrap_or(bytes.len().saturating_sub(run))
}

/// The character `bytes` starts with and its length in bytes, or (`Err`, at least 1) how
/// many bytes at its start `Utf8Chunks` would report as one invalid sequence.
fn next_char(bytes: &[u8]) -> Result<(char, usize), usize> {
    let len = match bytes.first() {
        None => return Err(1),
        Some(0xc2..=0xdf) => 2,
        Some(0xe0..=0xef) => 3,
        Some(0xf0..=0xf4) => 4,
        Some(_) => 1,
    };
    if let Some(c) = bytes
        .get(..len)
        .and_then(|seq| std::str::from_utf8(seq).ok())
        .and_then(|s| s.chars().next())
    {
        return Ok((c, len));
    }
    // Invalid: the maximal subpart that `from_utf8` (and `Utf8Chunks`) report; a sequence
    // cut by the end of `bytes` is all of them (four bytes hold any character).
    let window = bytes.get(..bytes.len().min(4)).unwrap_or_default();
    match std::str::from_utf8(window) {
        Err(e) if e.valid_up_to() == 0 => Err(e.error_len().unwrap_or(window.len()).max(1)),
        _ => Err(1),
    }
}

/// Appends `v` in lowercase hex, at least `min_digits` digits (as `{:0N$x}` does).
fn push_hex_digits(out: &mut String, v: u32, min_digits: u32) {
    let digits = (32 - v.leading_zeros()).div_ceil(4).max(min_digits);
    for shift in (0..digits).rev() {
        out.push(char::from(HEX_LOWER[((v >> (shift * 4)) & 0xf) as usize]));
    }
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

/// Decimal digits of a `u64`, formatted on the stack (no `fmt` machinery, no allocation).
#[derive(Debug, Clone, Copy)]
pub struct Digits {
    buf: [u8; 20],
    start: usize,
}

/// "00" to "99".
const DIGIT_PAIRS_STR: &str = "0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
const DIGIT_PAIRS: &[u8] = DIGIT_PAIRS_STR.as_bytes();

impl Digits {
    /// The digits of `v`, two at a time.
    pub fn new(v: u64) -> Self {
        let mut buf = [0u8; 20];
        let start = write_digits_before(&mut buf, 20, v);
        Digits { buf, start }
    }

    /// Appends `v` in decimal to a `String`, two digits at a time from a `&str` table: no
    /// UTF-8 validation of a byte buffer (`str::from_utf8` cost ~110 instructions a call
    /// for these short numbers, callgrind on small-20.pcap).
    pub fn push_to(out: &mut String, mut v: u64) {
        // Pairs, least significant first; a u64 has at most 9 below its leading one or two
        // digits.
        let mut pairs = [0u8; 10];
        let mut n = 0;
        while v >= 100 && n < pairs.len() {
            if let Some(p) = pairs.get_mut(n) {
                *p = (v % 100) as u8;
            }
            v /= 100;
            n += 1;
        }
        if v >= 10 {
            push_pair(out, v as usize);
        } else {
            out.push(char::from(b'0' + v as u8));
        }
        for &p in pairs.get(..n).unwrap_or_default().iter().rev() {
            push_pair(out, p.into());
        }
    }

    /// As ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// As a string.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("0")
    }
}

/// Appends `pair` (below 100) as two digits.
/// (Two `char` pushes instead: +6 M instructions on small-20.pcap.)
fn push_pair(out: &mut String, pair: usize) {
    out.push_str(DIGIT_PAIRS_STR.get(pair * 2..pair * 2 + 2).unwrap_or("00"));
}

/// Writes the digits of `v` so that they end at `buf[end]` (exclusive), two at a time,
/// and returns where they start. `buf[..end]` must hold them (20 bytes hold any `u64`);
/// digits that do not fit are left out rather than panicking.
fn write_digits_before(buf: &mut [u8], end: usize, mut v: u64) -> usize {
    let mut start = end;
    while v >= 100 && start >= 2 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        start -= 2;
        if let (Some(dst), Some(src)) = (
            buf.get_mut(start..start + 2),
            DIGIT_PAIRS.get(pair..pair + 2),
        ) {
            dst.copy_from_slice(src);
        }
    }
    if v >= 10 && start >= 2 {
        let pair = v as usize * 2;
        start -= 2;
        if let (Some(dst), Some(src)) = (
            buf.get_mut(start..start + 2),
            DIGIT_PAIRS.get(pair..pair + 2),
        ) {
            dst.copy_from_slice(src);
        }
    } else if start >= 1 {
        start -= 1;
        if let Some(d) = buf.get_mut(start) {
            *d = b'0' + (v % 10) as u8;
        }
    }
    start
}

/// Appends `v` in decimal.
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(Digits::new(v).as_bytes());
}

/// Appends `v` in decimal to a `String`.
pub fn push_u64_str(out: &mut String, v: u64) {
    // Two digits at a time from a `&str` table, no UTF-8 check: the packet list went
    // from 392.4 M to 377.6 M instructions (callgrind, prof build, small-20.pcap).
    Digits::push_to(out, v);
}

/// Appends ASCII bytes (digits) to a `String`. One validated copy: pushing them one `char`
/// at a time cost ~10% of the packet list's instructions (callgrind, small-20.pcap).
pub fn push_ascii(out: &mut String, ascii: &[u8]) {
    out.push_str(std::str::from_utf8(ascii).unwrap_or_default());
}

/// `us` microseconds as `S.ffffff`, laid out in one stack buffer (integer digits end at
/// byte 20, then the point and six decimals) so that it is copied once: two `Digits` and
/// two validated copies cost ~400 instructions a Time column (callgrind, small-20.pcap).
fn secs6_ascii(us: u64, buf: &mut [u8; 27]) -> &[u8] {
    let start = write_digits_before(buf, 20, us / 1_000_000);
    buf[20] = b'.';
    write_digits_before(buf, 27, 1_000_000 + us % 1_000_000);
    // The leading 1 of 1_000_000 + frac landed on the point: put the point back.
    buf[20] = b'.';
    buf.get(start..).unwrap_or_default()
}

/// Seconds below which [`push_secs6`] formats from integers (far below where an `f64`
/// stops resolving nanoseconds).
const INTEGER_SECS_LIMIT: f64 = 1e6;

/// Appends `secs` with six decimals, exactly as `format!("{secs:.6}")` does, but from
/// integers when `secs` holds a whole number of nanoseconds (capture times do), which is
/// several times faster than float formatting.
pub fn push_secs6(out: &mut Vec<u8>, secs: f64) {
    match secs_as_micros(secs) {
        Some(us) => out.extend_from_slice(secs6_ascii(us, &mut [0; 27])),
        None => {
            use std::io::Write as _;
            let _ = write!(out, "{secs:.6}");
        }
    }
}

/// [`push_secs6`] for a `String`.
pub fn push_secs6_str(out: &mut String, secs: f64) {
    match secs_as_micros(secs) {
        // Digits pushed from a `&str` table: laying them out in a stack buffer and one
        // validated copy (`secs6_ascii`) cost ~270 instructions a call, two `Digits` and
        // two validated copies ~400 (callgrind, small-20.pcap).
        Some(us) => {
            Digits::push_to(out, us / 1_000_000);
            out.push('.');
            let frac = (us % 1_000_000) as usize;
            push_pair(out, frac / 10_000);
            push_pair(out, frac / 100 % 100);
            push_pair(out, frac % 100);
        }
        None => {
            let _ = write!(out, "{secs:.6}");
        }
    }
}

/// `secs` rounded to microseconds as `{:.6}` rounds it, when that is certain from integer
/// arithmetic: `secs` must be `ns / 1e9` for a whole `ns` (checked by recomputing it) that
/// is not exactly halfway between two microseconds (then the float's binary value decides,
/// and the caller falls back to float formatting). Below 10^6 s the f64 is within far less
/// than a nanosecond of `ns / 1e9`, so rounding the integer rounds the float the same way.
fn secs_as_micros(secs: f64) -> Option<u64> {
    if !(0.0..INTEGER_SECS_LIMIT).contains(&secs) {
        return None;
    }
    let ns = (secs * 1e9).round() as u64;
    if ns as f64 / 1e9 != secs || ns % 1000 == 500 {
        return None;
    }
    Some((ns + 500) / 1000)
}

/// What JSON needs escaped: 0 = copy as is; otherwise the escape letter (`u` = `\u00XX`).
const JSON_ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    // DEL: serde_json leaves it raw; escaped with the other controls (see `push_json_str`).
    t[0x7f] = b'u';
    t
};

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal, quotes included, escaped as serde_json escapes it
/// (`\"`, `\\`, `\b \f \n \r \t`, other C0 controls as `\u00xx`) and, beyond serde_json,
/// every [`is_invisible`] character (C1 controls, bidi controls, zero-width and tag
/// characters, line and paragraph separators...) as `\uXXXX` (a surrogate pair above
/// U+FFFF), so JSON printed raw on a terminal shows them as text.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_json_str_body(out, s);
    out.push(b'"');
}

/// [`push_json_str`] without the quotes. A string cut at character boundaries and written
/// piece by piece gives the same bytes as written whole: every escape is of one character.
///
/// Measured (callgrind, JSON Lines of small-20.pcap, whose texts are JSON with a quote every
/// few bytes): the scan jumps straight to the first byte to escape in each 8-byte word
/// (the lowest flagged byte of the SWAR mask is exact: borrows only run upwards), and runs
/// of up to 16 bytes are copied as one fixed-size store (then cut back) instead of a
/// `memcpy` call of variable length; with the 2-byte fast path for U+00C0-U+05FF below,
/// this took push_json_str from ~470 M to ~280 M instructions (inclusive).
pub fn push_json_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none of them needs a look (text rarely does).
        if let Some(word) = bytes.get(i..).and_then(|b| b.first_chunk::<8>()) {
            let mask = json_escape_mask(u64::from_le_bytes(*word));
            if mask == 0 {
                i += 8;
                continue;
            }
            i += (mask.trailing_zeros() / 8) as usize;
        }
        let Some(&b) = bytes.get(i) else {
            break;
        };
        if b >= 0x80 {
            // `i` is on a character boundary: every step moves by whole characters.
            let next = bytes.get(i + 1).copied().unwrap_or(0);
            // U+00A0-U+05FF (Latin-1 letters to Hebrew) are never invisible except U+00AD
            // and U+034F ([`is_invisible`]): skipped without decoding the character.
            if matches!(b, 0xC3..=0xCC | 0xCE..=0xD7) || (b == 0xC2 && next >= 0xA0 && next != 0xAD)
            {
                i += 2;
                continue;
            }
            let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
                i += 1;
                continue;
            };
            let len = c.len_utf8();
            if is_invisible(c) {
                copy_run(out, bytes, run, i);
                run = i + len;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_json_u_escape(out, *unit);
                }
            }
            i += len;
            continue;
        }
        let esc = JSON_ESCAPE[usize::from(b)];
        if esc != 0 {
            copy_run(out, bytes, run, i);
            run = i + 1;
            if esc == b'u' {
                push_json_u_escape(out, u16::from(b));
            } else {
                out.extend_from_slice(&[b'\\', esc]);
            }
        }
        i += 1;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
}

/// Appends `bytes[from..to]`. A short run with 16 bytes readable from `from` is copied as
/// one fixed-size store and cut back, which the compiler inlines, instead of a `memcpy` call.
#[inline(always)]
fn copy_run(out: &mut Vec<u8>, bytes: &[u8], from: usize, to: usize) {
    let len = to.saturating_sub(from);
    if len <= 16
        && let Some(chunk) = bytes.get(from..).and_then(|b| b.first_chunk::<16>())
    {
        let end = out.len() + len;
        out.extend_from_slice(chunk);
        out.truncate(end);
    } else {
        out.extend_from_slice(bytes.get(from..to).unwrap_or_default());
    }
}

/// [`push_json_str`] into a `String`.
pub fn push_json_string(out: &mut String, s: &str) {
    let mut buf = Vec::with_capacity(s.len() + 2);
    push_json_str(&mut buf, s);
    // Only ASCII escapes were added to valid UTF-8 runs.
    out.push_str(&String::from_utf8_lossy(&buf));
}

/// `\uxxxx` for one UTF-16 code unit, lowercase as serde_json writes it.
fn push_json_u_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX_LOWER[usize::from((unit >> shift) & 0xf)]);
    }
}

/// The bytes of `word` (little-endian) that are below 0x20, `"`, `\`, DEL or not ASCII:
/// each such byte's high bit set (SWAR). Bytes above a flagged one may be flagged falsely
/// (a borrow carries upwards); the lowest flagged byte is always a true one.
fn json_escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    below_space
        | (word & HIGH)
        | has_zero(word ^ (ONES * u64::from(b'"')))
        | has_zero(word ^ (ONES * u64::from(b'\\')))
        | has_zero(word ^ (ONES * 0x7f))
}

/// Appends `bytes` in standard padded base64 (RFC 4648 §4), with base64-simd (SIMD chosen
/// at run time): see Cargo.toml for the measured reason.
pub fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    base64_simd::STANDARD.encode_append(bytes, out);
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

    /// The `utf8_chunks` walk `escape_into` replaced (a `char` at a time), kept as the
    /// oracle of the fast one.
    fn escape_into_by_chunks(out: &mut String, bytes: &[u8], max_chars: usize) -> bool {
        let mut shown = 0usize;
        for chunk in bytes.utf8_chunks() {
            let mut prev = None;
            let mut chars = chunk.valid().chars().peekable();
            while let Some(c) = chars.next() {
                if shown >= max_chars {
                    return false;
                }
                shown += 1;
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if is_invisible(c)
                        && !kept_in_emoji_sequence(prev, c, chars.peek().copied()) =>
                    {
                        if (c as u32) < 0x100 {
                            let _ = write!(out, "\\x{:02x}", c as u32);
                        } else {
                            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
                        }
                    }
                    c => out.push(c),
                }
                prev = Some(c);
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

    fn assert_escapes_as_by_chunks(bytes: &[u8], max_chars: usize) {
        let (mut fast, mut slow) = (String::from("<"), String::from("<"));
        let all_fast = escape_into(&mut fast, bytes, max_chars);
        let all_slow = escape_into_by_chunks(&mut slow, bytes, max_chars);
        assert_eq!(
            (fast, all_fast),
            (slow, all_slow),
            "{bytes:02x?} max {max_chars}"
        );
    }

    #[test]
    fn plain_ascii_runs_stop_at_the_first_other_byte() {
        for special in 0..=255u8 {
            let plain = (0x20..0x7f).contains(&special) && special != b'\\';
            for at in 0..20 {
                let mut bytes = vec![b'a'; 20];
                bytes[at] = special;
                let expected = if plain { 20 } else { at };
                assert_eq!(plain_ascii_run(&bytes), expected, "{special:#x} at {at}");
            }
        }
        // Neighbours that could carry or borrow into a lane.
        assert_eq!(plain_ascii_run(b"\xff~~~~~~~"), 0);
        assert_eq!(plain_ascii_run(b"~~~~~~~\xff"), 7);
        assert_eq!(plain_ascii_run(b" ~ ~ ~ ~ ~"), 10);
    }

    #[test]
    fn fast_escape_matches_the_char_walk() {
        // Every one- and two-byte input, at every cut.
        for a in 0..=255u8 {
            assert_escapes_as_by_chunks(&[a], 1);
            assert_escapes_as_by_chunks(&[a], 0);
            for b in 0..=255u8 {
                for max in [1, 2, 3] {
                    assert_escapes_as_by_chunks(&[a, b], max);
                }
            }
        }
        // Random strings over pieces that matter: printable and control ASCII, backslash,
        // multi-byte characters, emoji, ZWJ, VS15/16, keycaps, tags, bidi controls, stray
        // continuation and lead bytes, and sequences cut short.
        let pieces: &[&[u8]] = &[
            b"a",
            b"Z ~",
            b"1",
            b"#",
            b"\\",
            b"\n",
            b"\r\t",
            b"\x1b[31m",
            b"\x7f",
            b"\x00",
            "é".as_bytes(),
            "日本".as_bytes(),
            "\u{1F468}".as_bytes(),
            "\u{2764}".as_bytes(),
            "\u{200D}".as_bytes(),
            "\u{FE0F}".as_bytes(),
            "\u{FE0E}".as_bytes(),
            "\u{20E3}".as_bytes(),
            "\u{E0041}".as_bytes(),
            "\u{202E}".as_bytes(),
            "\u{85}".as_bytes(),
            "\u{AD}".as_bytes(),
            b"\x80",
            b"\xbf\xbf",
            b"\xc3",
            b"\xe6\x97",
            b"\xf0\x9f\x91",
            b"\xf0\x9f",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"\xff",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200_000 {
            let mut bytes = Vec::new();
            for _ in 0..next() % 12 {
                bytes.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let max = (next() % 16) as usize;
            assert_escapes_as_by_chunks(&bytes, max);
            assert_escapes_as_by_chunks(&bytes, 1000);
        }
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

    #[test]
    fn digits_and_numbers() {
        for v in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
            let mut s = String::new();
            push_u64_str(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn secs6_matches_float_formatting() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut cases: Vec<f64> = vec![0.0, 1e-9, 4.999_999_5, 0.000_000_5, 0.000_001_5, 999_999.0];
        for ns in [
            0u64,
            1,
            499,
            500,
            501,
            999,
            1000,
            1_000_500,
            2_500,
            123_456_789_500,
        ] {
            cases.push(ns as f64 / 1e9);
        }
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Whole nanoseconds up to ~3 days, and whole microseconds.
            let ns = seed % 300_000_000_000_000;
            cases.push(ns as f64 / 1e9);
            cases.push((ns / 1000 * 1000) as f64 / 1e9);
            cases.push(f64::from_bits(seed >> 2) % 1e7);
        }
        cases.extend([-1.0, 1e6, 2e9, f64::NAN, f64::INFINITY]);
        for secs in cases {
            let mut out = Vec::new();
            push_secs6(&mut out, secs);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{secs:.6}"),
                "{secs:e}"
            );
            let mut s = String::new();
            push_secs6_str(&mut s, secs);
            assert_eq!(s, format!("{secs:.6}"), "{secs:e}");
        }
    }

    /// serde_json is the oracle: text without invisible characters is written byte for byte
    /// as serde_json writes it; with them, serde_json reads back the same string and no
    /// invisible character is left raw in the output.
    #[test]
    fn json_strings_as_serde_json_writes_them() {
        let mut cases: Vec<String> = (0u32..0x800)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .collect();
        cases.extend(
            [
                "",
                "\"\\",
                "plain",
                "\u{7f}\u{2028}é€😀",
                "\n\r\t\u{8}\u{c}\u{0}\u{1f}",
                "tag [\u{E0041}] family [\u{1F468}\u{200D}\u{1F469}] é12345678\u{202E}",
            ]
            .map(String::from),
        );
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        cases.push(all);
        let astral: String = (0xE0000u32..0xE0200).filter_map(char::from_u32).collect();
        cases.push(astral);
        for s in cases {
            let mut out = Vec::new();
            push_json_str(&mut out, &s);
            let out = String::from_utf8(out).unwrap();
            if !s.chars().any(|c| c >= '\u{7f}' && is_invisible(c)) {
                assert_eq!(out, serde_json::to_string(&s).unwrap());
            }
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
            assert!(!out.chars().any(is_invisible), "{out:?}");
            let mut string = String::new();
            push_json_string(&mut string, &s);
            assert_eq!(string, out);
        }
    }

    /// The word-at-a-time scan and the short-run copies: every character of interest at
    /// every position of a 40-byte text (around the 8-byte words and 16-byte runs), with
    /// other escapes and non-ASCII text before it; serde_json is the oracle as above, and a
    /// string written in pieces cut at character boundaries gives the same bytes.
    #[test]
    fn json_strings_at_every_offset() {
        let specials = [
            '"',
            '\\',
            '\n',
            '\u{0}',
            '\u{1f}',
            '\u{7f}',
            'é',
            '\u{a0}',
            '\u{ad}',
            '\u{9b}',
            '\u{34f}',
            '\u{5ff}',
            '\u{600}',
            '\u{61c}',
            '€',
            '\u{202e}',
            '😀',
            '\u{e0041}',
            'x',
        ];
        let fillers = [
            "0123456789abcdefghijklmnopqrstuvwxyzABCD",
            "\"a\"b\"c\"d\"eéé\u{2028}\\012345678901234",
        ];
        for filler in fillers {
            for c in specials {
                for at in 0..=filler.chars().count() {
                    let mut s: String = filler.chars().take(at).collect();
                    s.push(c);
                    s.extend(filler.chars().skip(at));
                    let mut out = Vec::new();
                    push_json_str(&mut out, &s);
                    let text = String::from_utf8(out.clone()).unwrap();
                    if !s.chars().any(|c| c >= '\u{7f}' && is_invisible(c)) {
                        assert_eq!(text, serde_json::to_string(&s).unwrap());
                    }
                    assert_eq!(serde_json::from_str::<String>(&text).unwrap(), s);
                    assert!(!text.chars().any(is_invisible), "{text:?}");
                    let cut = s.char_indices().nth(at / 2).map_or(s.len(), |(i, _)| i);
                    let mut pieces = vec![b'"'];
                    push_json_str_body(&mut pieces, &s[..cut]);
                    push_json_str_body(&mut pieces, &s[cut..]);
                    pieces.push(b'"');
                    assert_eq!(pieces, out);
                }
            }
        }
    }

    #[test]
    fn json_escapes_c1_bidi_and_invisible_as_u_escapes() {
        let mut out = Vec::new();
        push_json_str(
            &mut out,
            "\u{85}\u{9b}\u{61c}\u{ad}\u{fff9}\u{e0041}\u{202e}\u{2028}\u{200d}\u{fe0f}",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"\\u0085\\u009b\\u061c\\u00ad\\ufff9\\udb40\\udc41\\u202e\\u2028\\u200d\\ufe0f\""
        );
    }

    /// The issue's characters, each with its Unicode general category from UnicodeData.txt:
    /// U+061C ARABIC LETTER MARK (Cf), U+00AD SOFT HYPHEN (Cf), U+FFF9 INTERLINEAR ANNOTATION
    /// ANCHOR (Cf), U+E0041 TAG LATIN CAPITAL LETTER A (Cf), U+202E RIGHT-TO-LEFT OVERRIDE
    /// (Cf), U+0085 NEXT LINE (Cc), U+2029 PARAGRAPH SEPARATOR (Zp), U+FE00 VARIATION
    /// SELECTOR-1 (Mn, default ignorable).
    #[test]
    fn invisible_and_reordering_characters_are_escaped() {
        for (input, shown) in [
            ("a\u{61c}b", "a\\u{061c}b"),
            ("a\u{ad}b", "a\\xadb"),
            (
                "a\u{fff9}b\u{fffa}c\u{fffb}",
                "a\\u{fff9}b\\u{fffa}c\\u{fffb}",
            ),
            ("a\u{e0041}b", "a\\u{e0041}b"),
            ("a\u{202e}b", "a\\u{202e}b"),
            ("a\u{2066}b\u{2069}", "a\\u{2066}b\\u{2069}"),
            ("a\u{200e}\u{200f}", "a\\u{200e}\\u{200f}"),
            ("a\u{85}b", "a\\x85b"),
            ("a\u{2029}b", "a\\u{2029}b"),
            ("a\u{fe00}b", "a\\u{fe00}b"),
            ("a\u{3164}b", "a\\u{3164}b"),
        ] {
            assert_eq!(escape_line(input.as_bytes(), 100), shown, "{input:?}");
        }
    }

    /// UTS #51: U+200D joins two emoji (👨‍👩 is an RGI ZWJ sequence) and U+FE0F after an
    /// emoji asks for emoji presentation (❤️, keycap 1️⃣); elsewhere they only hide text.
    #[test]
    fn zwj_and_vs16_kept_only_inside_emoji_sequences() {
        let family = "\u{1F468}\u{200D}\u{1F469}";
        assert_eq!(escape_line(family.as_bytes(), 100), family);
        let heart = "\u{2764}\u{FE0F}";
        assert_eq!(escape_line(heart.as_bytes(), 100), heart);
        let keycap = "1\u{FE0F}\u{20E3}";
        assert_eq!(escape_line(keycap.as_bytes(), 100), keycap);
        assert_eq!(escape_line("a\u{200D}b".as_bytes(), 100), "a\\u{200d}b");
        assert_eq!(
            escape_line("\u{1F468}\u{200D}".as_bytes(), 100),
            "\u{1F468}\\u{200d}"
        );
        assert_eq!(
            escape_line("\u{200D}\u{1F469}".as_bytes(), 100),
            "\\u{200d}\u{1F469}"
        );
        assert_eq!(escape_line("a\u{FE0F}".as_bytes(), 100), "a\\u{fe0f}");
        // Tag characters are escaped even inside a flag tag sequence: they can carry text.
        assert_eq!(
            escape_line("\u{1F3F4}\u{E0067}\u{E007F}".as_bytes(), 100),
            "\u{1F3F4}\\u{e0067}\\u{e007f}"
        );
    }

    /// Every code point: the terminal escape leaves no Cc, Cf, Zl or Zp character raw
    /// except a ZWJ or VS16 inside an emoji sequence.
    #[test]
    fn no_invisible_character_survives_outside_emoji() {
        use unicode_properties::{GeneralCategory as Gc, UnicodeGeneralCategory as _};
        for c in (0u32..0x11_0000).filter_map(char::from_u32) {
            let text = format!("a{c}b");
            let shown = escape_line(text.as_bytes(), 10);
            let raw = shown.chars().any(|s| {
                s != '\n'
                    && (matches!(
                        s.general_category(),
                        Gc::Control | Gc::Format | Gc::LineSeparator | Gc::ParagraphSeparator
                    ) || is_invisible(s))
            });
            assert!(!raw, "U+{:04X} shown raw: {shown:?}", c as u32);
        }
    }

    #[test]
    fn base64_as_the_base64_crate_writes_it() {
        use base64::Engine as _;
        let data: Vec<u8> = (0..300u32).map(|i| (i * 97 + 13) as u8).collect();
        for len in 0..data.len() {
            let mut out = Vec::new();
            push_base64(&mut out, &data[..len]);
            let expected = base64::engine::general_purpose::STANDARD.encode(&data[..len]);
            assert_eq!(out, expected.as_bytes(), "len {len}");
        }
        // RFC 4648 §10 test vectors.
        for (input, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = Vec::new();
            push_base64(&mut out, input.as_bytes());
            assert_eq!(out, b64.as_bytes());
        }
    }
}
