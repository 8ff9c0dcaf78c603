//! Filter tests. Expected packet lists are tshark 4.0.17's answers on samples/coalesced.pcap:
//! `tshark -r samples/coalesced.pcap -d tcp.port==9103,http -Y EXPR -T fields -e frame.number`
//! (the packets of the model in testreg.rs carry the same values tshark decodes there).

use super::testreg::{Owned, Pkt, Reg, coalesced};
use super::{FieldRegistry, Filter, FilterError};

fn hits(expr: &str) -> Vec<u64> {
    let f = Filter::compile(expr, &Reg).unwrap_or_else(|e| panic!("{expr}: {}", e.render()));
    coalesced()
        .into_iter()
        .filter(|(_, p)| f.matches(p))
        .map(|(n, _)| n)
        .collect()
}

fn err(expr: &str) -> FilterError {
    match Filter::compile(expr, &Reg) {
        Ok(_) => panic!("{expr} compiled"),
        Err(e) => e,
    }
}

fn all() -> Vec<u64> {
    (1..=22).collect()
}

#[test]
fn multi_valued_fields_follow_tshark_4_0() {
    // Packet 8 carries opcodes 1,1,2,9; 9: 10,1,1,2; 13: 1,1; 17: 2; 19: 1,0,0; 21, 22: 8.
    assert_eq!(hits("websocket.opcode == 1"), [8, 9, 13, 19]);
    assert_eq!(hits("websocket.opcode eq 1"), [8, 9, 13, 19]);
    assert_eq!(hits("websocket.opcode any_eq 1"), [8, 9, 13, 19]);
    // `!=` is "present and all differ": absent fields never match (non-websocket packets).
    assert_eq!(hits("websocket.opcode != 1"), [17, 21, 22]);
    assert_eq!(hits("websocket.opcode ne 1"), [17, 21, 22]);
    assert_eq!(hits("websocket.opcode all_ne 1"), [17, 21, 22]);
    // `~=` / `!==` / any_ne: some value differs.
    assert_eq!(hits("websocket.opcode ~= 1"), [8, 9, 17, 19, 21, 22]);
    assert_eq!(hits("websocket.opcode !== 1"), [8, 9, 17, 19, 21, 22]);
    assert_eq!(hits("websocket.opcode any_ne 1"), [8, 9, 17, 19, 21, 22]);
    // `===` / all_eq: present and all equal.
    assert_eq!(hits("websocket.opcode === 1"), [13]);
    assert_eq!(hits("websocket.opcode all_eq 1"), [13]);
    // `!(a == b)` is not `a != b`: it matches packets without the field.
    let not_eq: Vec<u64> = all()
        .into_iter()
        .filter(|n| ![8, 9, 13, 19].contains(n))
        .collect();
    assert_eq!(hits("!(websocket.opcode == 1)"), not_eq);
}

#[test]
fn ordering_operators_and_words() {
    assert_eq!(
        hits("websocket.opcode > 1 && websocket.opcode < 9"),
        [8, 9, 17, 21, 22]
    );
    assert_eq!(
        hits("websocket.opcode gt 1 and websocket.opcode lt 9"),
        [8, 9, 17, 21, 22]
    );
    assert_eq!(hits("websocket.opcode ge 8"), [8, 9, 21, 22]);
    assert_eq!(hits("websocket.opcode >= 8"), [8, 9, 21, 22]);
    assert_eq!(hits("websocket.opcode <= 0"), [19]);
    assert_eq!(hits("websocket.opcode le 0"), [19]);
    assert_eq!(
        hits("websocket.opcode eq 8 ||  websocket.opcode ne 8"),
        [8, 9, 13, 17, 19, 21, 22]
    );
}

#[test]
fn precedence_and_over_or_not_over_and() {
    // tshark: `frame.number == 1 or frame.number == 2 and frame.number == 3` -> 1
    assert_eq!(
        hits("frame.number == 1 or frame.number == 2 and frame.number == 3"),
        [1]
    );
    assert_eq!(
        hits("frame.number == 3 and frame.number == 2 or frame.number == 1"),
        [1]
    );
    assert_eq!(
        hits("(frame.number == 1 or frame.number == 2) and frame.number == 3"),
        Vec::<u64>::new()
    );
    // tshark: `not frame.number == 1 and frame.number <= 3` -> 2 3
    assert_eq!(hits("not frame.number == 1 and frame.number <= 3"), [2, 3]);
    // tshark: `websocket.opcode == 1 && ! websocket.mask == 1` -> 9 19
    assert_eq!(
        hits("websocket.opcode == 1 && ! websocket.mask == 1"),
        [9, 19]
    );
    assert_eq!(hits("frame.number == 4 and not not frame.number == 4"), [4]);
    assert_eq!(
        hits("frame.number eq 4 || frame.number == 5 && frame.number == 5 || frame.number == 6"),
        [4, 5, 6]
    );
    assert_eq!(hits("((((frame.number == 2))))"), [2]);
}

#[test]
fn sets_and_ranges() {
    assert_eq!(hits("websocket.opcode in {1,2}"), [8, 9, 13, 17, 19]);
    assert_eq!(hits("websocket.opcode in {1, 2}"), [8, 9, 13, 17, 19]);
    // Whitespace-separated members: Wireshark 3.x and the syntax (tshark 4.0 rejects).
    assert_eq!(hits("websocket.opcode in {1 2}"), [8, 9, 13, 17, 19]);
    assert_eq!(hits("websocket.opcode in {8..10}"), [8, 9, 21, 22]);
    assert_eq!(hits("websocket.opcode in {8 .. 10}"), [8, 9, 21, 22]);
    assert_eq!(hits("frame.number in {4 .. 6, 9}"), [4, 5, 6, 9]);
    assert_eq!(hits("websocket.opcode in {3..1}"), Vec::<u64>::new());
    assert_eq!(
        hits("websocket.payload.close.status_code in {1000..1015}"),
        [21, 22]
    );
    // tshark: `frame.number not in {1, 2}` -> 3..26
    assert_eq!(
        hits("frame.number not in {1, 2}"),
        (3..=22).collect::<Vec<_>>()
    );
    assert_eq!(
        hits("websocket.masking_key in {01:02:03:04, 37fa213d}"),
        [17, 21]
    );
    assert_eq!(hits("ip.addr in {10.0.0.0/8, 127.0.0.1}"), all());
}

#[test]
fn literal_kinds() {
    // Integers: decimal, hex, octal, binary, signed, char.
    assert_eq!(hits("frame.number == 010"), [8]);
    assert_eq!(hits("frame.number == 0x0a"), [10]);
    assert_eq!(hits("frame.number == 0b11"), [3]);
    assert_eq!(hits("frame.number == +1"), [1]);
    assert_eq!(hits("frame.number == -1"), Vec::<u64>::new());
    assert_eq!(hits("frame.number == '\\x10'"), [16]);
    // Value names (tshark: `websocket.opcode == Text` and `== "Text"` -> 8 9 13 19).
    assert_eq!(hits("websocket.opcode == Text"), [8, 9, 13, 19]);
    assert_eq!(hits("websocket.opcode == \"Text\""), [8, 9, 13, 19]);
    assert_eq!(hits("websocket.opcode in {Ping, \"Pong\"}"), [8, 9]);
    // Booleans: true/True/1, and any non-zero number.
    for e in [
        "websocket.fin == 1",
        "websocket.fin == true",
        "websocket.fin == True",
        "websocket.fin == 2",
    ] {
        assert_eq!(hits(e), [8, 9, 13, 17, 19, 21, 22], "{e}");
    }
    assert_eq!(hits("websocket.fin == 0"), [19]);
    assert_eq!(hits("websocket.fin == false"), [19]);
    // Presence of a boolean is presence, whatever its value (tshark: `tcp.flags.syn` -> all).
    assert_eq!(hits("tcp.flags.syn"), all());
    assert_eq!(hits("tcp.flags.syn == 1"), [1, 2]);
    // Byte strings in every spelling.
    for e in ["11:22:33:44", "11-22-33-44", "11.22.33.44", "11223344"] {
        assert_eq!(hits(&format!("websocket.masking_key == {e}")), [8], "{e}");
    }
    // A quoted string against bytes compares its characters (tshark: no match).
    assert_eq!(
        hits("websocket.masking_key == \"11223344\""),
        Vec::<u64>::new()
    );
    // Strings: quoted with escapes, bare words, chars.
    assert_eq!(hits("websocket.payload.text == \"one\""), [8]);
    assert_eq!(hits("websocket.payload.text == \"\\x6fne\""), [8]);
    assert_eq!(hits("websocket.payload.text == \"\\157ne\""), [8]);
    assert_eq!(hits("websocket.payload.text == tail"), [13]);
    assert_eq!(hits("websocket.payload.text contains 'b'"), [19]);
    // Addresses and networks.
    assert_eq!(hits("ip.addr == 127.0.0.0/8"), all());
    assert_eq!(hits("ip.addr == 127.0.0.1/32"), all());
    assert_eq!(hits("ip.addr == 127.0.0.1"), all());
    assert_eq!(hits("ip.addr == 10.0.0.0/8"), Vec::<u64>::new());
    assert_eq!(hits("ip.addr != 10.0.0.0/8"), all());
    assert_eq!(hits("ip.addr > 127.0.0.0"), all());
    // Absolute times (TZ=UTC tshark -r samples/basic.pcap -Y
    // 'frame.time >= "2026-11-21 11:27:55.350"' -> 8..36; packet 6 is at 11:27:55.299504).
    let f = Filter::compile("frame.time >= \"2026-11-21 11:27:55.350\"", &Reg).unwrap();
    let at = |ns| Pkt::default().with("frame.time", Owned::Tm(ns));
    assert!(f.matches(&at(1_795_260_475_350_072_000)));
    assert!(!f.matches(&at(1_795_260_475_299_504_000)));
    assert!(
        err("frame.time == \"yesterday\"")
            .message
            .starts_with("\"yesterday\" is not a valid absolute time.")
    );
    // Times in seconds.
    let f = Filter::compile("frame.time_relative >= 0.05", &Reg).unwrap();
    let p = |ns| Pkt::default().with("frame.time_relative", Owned::Tm(ns));
    assert!(f.matches(&p(50_000_000)));
    assert!(!f.matches(&p(49_999_999)));
}

#[test]
fn ipv6_ether_and_signed() {
    let v6 = |a: &str| Pkt::default().with("ipv6.addr", Owned::Ip(a.parse().unwrap()));
    let m = |e: &str, p: &Pkt| Filter::compile(e, &Reg).unwrap().matches(p);
    assert!(m("ipv6.addr == ::1", &v6("::1")));
    assert!(m("ipv6.addr == ::/64", &v6("::1")));
    assert!(!m("ipv6.addr == fe80::/10", &v6("::1")));
    assert!(m("ipv6.addr == fe80::/10", &v6("fe80::1")));
    assert!(m("ipv6.addr == 0:0:0:0:0:0:0:1", &v6("::1")));
    let eth = Pkt::default().with("eth.src", Owned::E([0, 0x1b, 0, 0, 0, 0xff]));
    // tshark: eth.src == 00:00:00:00:00:00 / 00-00-... / 0000.0000.0000 all match.
    assert!(m("eth.src == 00:1b:00:00:00:ff", &eth));
    assert!(m("eth.src == 00-1b-00-00-00-ff", &eth));
    assert!(m("eth.src == 001b.0000.00ff", &eth));
    assert!(m("eth.src > 00:00:00:00:00:00", &eth));
    let d = Pkt::default().with("wsd.delta", Owned::I(-5));
    assert!(m("wsd.delta == -5", &d));
    assert!(m("wsd.delta < 0", &d));
    assert!(m("wsd.delta >= -0x5", &d));
}

#[test]
fn contains_matches_and_slices() {
    assert_eq!(hits("websocket.masking_key contains 22:33"), [8]);
    assert_eq!(hits("websocket.masking_key contains 22"), [8]);
    assert_eq!(hits("websocket.payload.text contains \"ai\""), [13]);
    // tshark 4.0 `matches` is caseless unless (?-i).
    assert_eq!(hits("websocket.payload.text matches \"^ONE$\""), [8]);
    assert_eq!(hits("websocket.payload.text ~ \"^ONE$\""), [8]);
    assert_eq!(
        hits("websocket.payload.text matches \"(?-i)^ONE$\""),
        Vec::<u64>::new()
    );
    assert_eq!(
        hits("websocket.payload.text matches \"^(uno|abc)$\""),
        [9, 19]
    );
    assert_eq!(hits("websocket.masking_key matches \"\\\\x11\\\"3\""), [8]);
    // Slices: [i], [i:len], [i-j], [:n], [n:], negative; past the end gives no value.
    assert_eq!(hits("websocket.masking_key[0] == 11"), [8]);
    assert_eq!(hits("websocket.masking_key[0:2] == 11:22"), [8]);
    assert_eq!(hits("websocket.masking_key[1-2] == 22:33"), [8]);
    assert_eq!(hits("websocket.masking_key[:2] == 11:22"), [8]);
    assert_eq!(hits("websocket.masking_key[2:] == 33:44"), [8]);
    assert_eq!(hits("websocket.masking_key[-1] == 44"), [8]);
    assert_eq!(hits("websocket.masking_key[-2:] == 33:44"), [8]);
    assert_eq!(hits("websocket.masking_key[3:]"), [8, 13, 17, 21]);
    assert_eq!(hits("websocket.masking_key[4:]"), Vec::<u64>::new());
    assert_eq!(
        hits("websocket.masking_key[2:5] == 33:44"),
        Vec::<u64>::new()
    );
    assert_eq!(
        hits("websocket.masking_key[2-9] == 33:44"),
        Vec::<u64>::new()
    );
    // A slice of a string is bytes; compare with a string or with hex.
    assert_eq!(hits("websocket.payload.text[0:2] == \"ta\""), [13]);
    assert_eq!(hits("websocket.payload.text[0:2] == 74:61"), [13]);
    assert_eq!(hits("websocket.payload.text[0:2] contains \"a\""), [13, 19]);
    // Field against field.
    let p = Pkt::default()
        .with("frame.len", Owned::U(60))
        .with("frame.cap_len", Owned::U(60));
    assert!(
        Filter::compile("frame.len == frame.cap_len", &Reg)
            .unwrap()
            .matches(&p)
    );
    assert!(
        !Filter::compile("frame.len > frame.cap_len", &Reg)
            .unwrap()
            .matches(&p)
    );
}

#[test]
fn empty_filter_matches_everything() {
    let f = Filter::compile("   ", &Reg).unwrap();
    assert!(f.is_empty());
    assert_eq!(hits(""), all());
    assert!(f.fields().is_empty());
}

#[test]
fn fields_lists_what_the_filter_reads() {
    let f = Filter::compile(
        "websocket.opcode == 8 && tcp.port in {1} || websocket.opcode",
        &Reg,
    )
    .unwrap();
    let id = |n| Reg.lookup(n).unwrap().0;
    let mut want = vec![id("websocket.opcode"), id("tcp.port")];
    want.sort();
    assert_eq!(f.fields(), want.as_slice());
}

#[test]
fn errors_read_like_tshark_with_position() {
    // tshark: websocket.opcod is neither a field nor a protocol name.
    let e = err("websocket.opcod");
    assert_eq!(
        e.message,
        "websocket.opcod is neither a field nor a protocol name."
    );
    assert_eq!(e.span, 0..15);
    assert_eq!(e.suggestion.as_deref(), Some("websocket.opcode"));
    assert_eq!(
        e.render(),
        "websocket.opcod is neither a field nor a protocol name.\n    websocket.opcod\n    ^~~~~~~~~~~~~~~\nDid you mean websocket.opcode?"
    );
    let e = err("tcp.port == 1 && websocket.opcod == 8");
    assert_eq!(e.span, 17..32);
    assert_eq!(e.suggestion.as_deref(), Some("websocket.opcode"));
    assert_eq!(err("zzzz").suggestion, None);
    // A misspelt field on the right: the literal fails, the nearest field is suggested.
    let e = err("frame.len == frame.cap_lem");
    assert_eq!(e.message, "\"frame.cap_lem\" is not a valid number.");
    assert_eq!(e.suggestion.as_deref(), Some("frame.cap_len"));
    assert_eq!(
        err("\"abc\"").message,
        "\"abc\" is neither a field nor a protocol name."
    );
    assert!(
        err("ip.addr in {1.1.1.1..2.0.0.0/8}")
            .message
            .contains("cannot end at a network")
    );
    // tshark: Unsigned integer (4 bytes) cannot be converted from a string ("3"). (the width
    // is not known here)
    let e = err("frame.number == \"3\"");
    assert_eq!(
        e.message,
        "Unsigned integer cannot be converted from a string (\"3\")."
    );
    assert_eq!(e.span, 16..19);
    // tshark: "3.0" is not a valid number.
    let e = err("frame.number == 3.0");
    assert_eq!(
        (e.message.as_str(), e.span),
        ("\"3.0\" is not a valid number.", 16..19)
    );
    assert_eq!(
        err("frame.number == 09").message,
        "\"09\" is not a valid number."
    );
    // tshark: "Foo" cannot be found among the possible values for websocket.opcode.
    assert_eq!(
        err("websocket.opcode == Foo").message,
        "\"Foo\" cannot be found among the possible values for websocket.opcode."
    );
    assert_eq!(
        err("websocket.fin == yes").message,
        "\"yes\" cannot be found among the possible values for websocket.fin."
    );
    // tshark: websocket.opcode (type=Unsigned integer (1 byte)) cannot participate in contains
    // comparison. (caret under the field)
    let e = err("websocket.opcode contains 1");
    assert_eq!(
        e.message,
        "websocket.opcode (type=Unsigned integer) cannot participate in contains comparison."
    );
    assert_eq!(e.span, 0..16);
    assert!(
        err("websocket.opcode matches \"1\"")
            .message
            .contains("cannot participate in matches")
    );
    // tshark: Matches requires a double quoted string on the right side.
    let e = err("websocket.payload.text matches one");
    assert_eq!(
        (e.message.as_str(), e.span),
        (
            "Matches requires a double quoted string on the right side.",
            31..34
        )
    );
    // tshark: "websocket.opcode" is a Unsigned integer (1 byte) and cannot be sliced ...
    assert_eq!(
        err("websocket.opcode[0] == 1").message,
        "\"websocket.opcode\" is a Unsigned integer and cannot be sliced into a sequence of bytes."
    );
    // tshark: "2" was unexpected in this context.
    let e = err("frame.len == 1 2");
    assert_eq!(
        (e.message.as_str(), e.span),
        ("\"2\" was unexpected in this context.", 15..16)
    );
    let e = err("frame.number == 1)");
    assert_eq!(
        (e.message.as_str(), e.span),
        ("\")\" was unexpected in this context.", 17..18)
    );
    let e = err("frame.number == 1 AND frame.number == 1");
    assert_eq!(
        (e.message.as_str(), e.span),
        ("\"AND\" was unexpected in this context.", 18..21)
    );
    assert_eq!(
        err("websocket.opcode in {}").message,
        "\"}\" was unexpected in this context."
    );
    assert_eq!(
        err("websocket.opcode in {1..}").message,
        "\"}\" was unexpected in this context."
    );
    // tshark: Unexpected end of filter expression.
    for e in [
        "(frame.number == 1",
        "frame.number ==",
        "frame.number == 4 &&",
        "not",
    ] {
        let e = err(e);
        assert_eq!(e.message, "Unexpected end of filter expression.");
        assert_eq!(e.span.start, e.expr.len());
    }
    // tshark: Left side of "==" expression must be a field or function, not "GET".
    assert_eq!(
        err("\"GET\" == http.request.method").message,
        "Left side of \"==\" expression must be a field or function, not \"GET\"."
    );
    // tshark: "localhost" is not a valid hostname or IPv4 address.
    assert_eq!(
        err("ip.addr == localhost").message,
        "\"localhost\" is not a valid hostname or IPv4 address."
    );
    assert_eq!(
        err("ip.addr == ::1").message,
        "\"::1\" is not a valid hostname or IPv4 address."
    );
    assert_eq!(
        err("ipv6.addr == 1.2.3.4").message,
        "\"1.2.3.4\" is not a valid hostname or IPv6 address."
    );
    // tshark: IPv4 address cannot be converted from a string ("127.0.0.1").
    assert_eq!(
        err("ip.addr == \"127.0.0.1\"").message,
        "IPv4 address cannot be converted from a string (\"127.0.0.1\")."
    );
    // tshark: Netmask bits in a CIDR IPv4 address should be <= 32, not 33
    let e = err("ip.addr == 127.0.0.1/33");
    assert_eq!(
        (e.message.as_str(), e.span),
        (
            "Netmask bits in a CIDR IPv4 address should be <= 32, not 33",
            11..23
        )
    );
    // tshark: "zz" is not a valid byte string.
    assert_eq!(
        err("websocket.masking_key == zz").message,
        "\"zz\" is not a valid byte string."
    );
    // tshark: "abc" is not a valid time.
    assert_eq!(
        err("frame.time_relative < abc").message,
        "\"abc\" is not a valid time."
    );
    // tshark: Regex compilation error: missing terminating ] for character class.
    assert!(
        err("websocket.payload.text matches \"[\"")
            .message
            .starts_with("Regex compilation error:")
    );
    // Impossible comparisons are errors (tshark accepts `websocket == 1` and matches nothing).
    assert!(err("websocket == 1").message.contains("cannot participate"));
    assert!(
        err("ip.addr < 127.0.0.0/8")
            .message
            .starts_with("A network can only be compared")
    );
    assert!(
        err("frame.number == websocket.payload.text")
            .message
            .contains("not of compatible types")
    );
    // tshark: http.upgrade and websocket are not of compatible types. (caret under `websocket`:
    // a bare word that names a field is the field)
    let e = err("http.request.method == websocket");
    assert_eq!(
        e.message,
        "http.request.method and websocket are not of compatible types."
    );
    assert_eq!(e.span, 23..32);
    assert!(
        err("frame.number == 99999999999999999999999")
            .message
            .contains("too big")
    );
}

#[test]
fn render_places_the_caret_by_characters() {
    let e = err("websocket.payload.text == \"é\" && nope");
    assert_eq!(e.span, 34..38);
    let r = e.render();
    let lines: Vec<&str> = r.lines().collect();
    assert_eq!(lines[1], "    websocket.payload.text == \"é\" && nope");
    assert_eq!(lines[2], format!("    {}^~~~", " ".repeat(33)));
}

/// A tiny xorshift generator: the fuzz loop needs no crate and is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_expressions_never_panic() {
    let seeds = [
        "websocket.opcode == 8 && websocket.payload.close.status_code != 1000",
        "websocket.masking_key[0:2] == 11:22 or not (ip.addr == 127.0.0.0/8)",
        "websocket.payload.text matches \"(?i)err\\x41|fail\" || frame.number in {1..3, 7}",
        "ipv6.addr == ::1 and eth.src == 00:00:00:00:00:00 and frame.time_relative >= 0.5",
        "websocket.payload.text[-2:] contains 'a' && websocket.fin == true",
        "!(tcp.flags.syn) && wsd.delta < -3 && websocket.opcode ~= Text",
    ];
    let pieces = [
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "\"",
        "'",
        "\\",
        "..",
        ",",
        "==",
        "!=",
        "===",
        "!==",
        "~=",
        "~",
        "<",
        ">=",
        "&&",
        "||",
        "!",
        " and ",
        " or ",
        " not ",
        " in ",
        " contains ",
        " matches ",
        "-",
        ":",
        "/",
        "0x",
        "9999999999999999999999",
        "\\x",
        "\\u",
        "é",
        "[-1]",
        "[0:99]",
        "[1-]",
        "frame.number",
        "websocket",
        "websocket.payload",
        "ip.addr",
        "1",
        "true",
        " ",
    ];
    let packets = coalesced();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut compiled = 0;
    for _ in 0..20_000 {
        let mut s: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
        for _ in 0..1 + rng.below(2) {
            let at = rng.below(s.len() + 1);
            match rng.below(3) {
                0 if !s.is_empty() => {
                    let end = (at + 1 + rng.below(6)).min(s.len());
                    s.drain(at.min(s.len() - 1)..end);
                }
                1 => {
                    let p: Vec<char> = pieces[rng.below(pieces.len())].chars().collect();
                    s.splice(at..at, p);
                }
                _ => {
                    let c = char::from_u32(rng.below(0x80) as u32).unwrap_or(' ');
                    s.insert(at, c);
                }
            }
        }
        let expr: String = s.into_iter().collect();
        match Filter::compile(&expr, &Reg) {
            Ok(f) => {
                compiled += 1;
                for (_, p) in &packets[..10] {
                    f.matches(p);
                }
                f.matches(&packets[7].1);
            }
            Err(e) => {
                assert!(
                    e.span.start <= expr.len() && e.span.end <= expr.len(),
                    "{expr}: {e:?}"
                );
                e.render();
            }
        }
    }
    // The mutations keep a fair share of the expressions valid, so evaluation is exercised too.
    assert!(compiled > 300, "{compiled}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let e = format!(
        "{}frame.number == 1{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert!(err(&e).message.contains("nested too deeply"));
    let e = format!("{}frame.number == 1", "!".repeat(10_000));
    assert!(err(&e).message.contains("nested too deeply"));
    // A long flat chain is fine (kept as a list, not a deep tree).
    let chain = vec!["frame.number == 3"; 20_000].join(" && ");
    assert_eq!(hits(&chain), [3]);
}

#[test]
fn filters_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Filter>();
}
