//! tshark's `-T fields` output: `-E` options and the text of each value type.
//!
//! Every format here was checked against tshark 4.0.17 on the samples (commands in the tests):
//! booleans and labels print `1`/`0` and `1`, byte fields lowercase hex without separators,
//! times 9 decimals, `frame.time` as `Nov 21, 2026 11:27:58.769944000 UTC`, hex-displayed
//! integers zero-padded to the field's width (`0x0002`, `0x00`), strings raw except tab, newline
//! and carriage return, which print as `\t`, `\n`, `\r`. Values of one field join with the
//! aggregator; empty fields are never quoted.

use std::fmt::{self, Write as _};
use std::ops::ControlFlow;

use super::{FieldId, FieldValues, Value};

/// Which quote characters surround each non-empty value (`-E quote=d|s|n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    /// `n` (default): none.
    None,
    /// `d`: `"`.
    Double,
    /// `s`: `'`.
    Single,
}

/// Which values of a field with several print (`-E occurrence=f|l|a`, or a number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    /// `a` (default): all, joined by the aggregator.
    All,
    /// `f`: the first.
    First,
    /// `l`: the last.
    Last,
    /// A number: the n-th (1-based), or counted from the end when negative. tshark 4.0.17
    /// rejects numbers; later Wireshark versions accept them with this meaning.
    Nth(i32),
}

/// The `-E` options of `-T fields`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldsOptions {
    /// `header=y`: print the field names first.
    pub header: bool,
    /// `separator=/t|/s|<char>`: between fields (tab by default).
    pub separator: char,
    /// `quote=d|s|n`.
    pub quote: Quote,
    /// `occurrence=f|l|a`.
    pub occurrence: Occurrence,
    /// `aggregator=,|/s|<char>`: between the values of one field (comma by default).
    pub aggregator: char,
    /// `bom=y`: a UTF-8 byte-order mark before the output.
    pub bom: bool,
}

impl Default for FieldsOptions {
    fn default() -> Self {
        FieldsOptions {
            header: false,
            separator: '\t',
            quote: Quote::None,
            occurrence: Occurrence::All,
            aggregator: ',',
            bom: false,
        }
    }
}

/// An `-E` string tshark would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionError {
    /// The option name (`quote`), or the whole string when it has no `=`.
    pub option: String,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not a valid field output option=value pair.",
            self.option
        )
    }
}

impl std::error::Error for OptionError {}

/// tshark's separators: `/t` tab, `/s` space, otherwise the first character
/// (tshark: `-E separator=ab` separates with `a`).
fn sep_char(v: &str) -> Option<char> {
    match v {
        "/t" => Some('\t'),
        "/s" => Some(' '),
        _ => v.chars().next(),
    }
}

impl FieldsOptions {
    /// Applies one `-E name=value` string.
    pub fn apply(&mut self, e: &str) -> Result<(), OptionError> {
        let (name, v) = e.split_once('=').unwrap_or((e, ""));
        let bad = || OptionError {
            option: name.to_string(),
        };
        let yn = |v: &str| match v {
            "y" | "Y" => Ok(true),
            "n" | "N" => Ok(false),
            _ => Err(bad()),
        };
        match name {
            "header" => self.header = yn(v)?,
            "bom" => self.bom = yn(v)?,
            "separator" => self.separator = sep_char(v).ok_or_else(bad)?,
            "aggregator" => self.aggregator = sep_char(v).ok_or_else(bad)?,
            "quote" => {
                self.quote = match v {
                    "d" => Quote::Double,
                    "s" => Quote::Single,
                    "n" => Quote::None,
                    _ => return Err(bad()),
                }
            }
            "occurrence" => {
                self.occurrence = match v {
                    "a" => Occurrence::All,
                    "f" => Occurrence::First,
                    "l" => Occurrence::Last,
                    _ => match v.parse::<i32>() {
                        Ok(n) if n != 0 => Occurrence::Nth(n),
                        _ => return Err(bad()),
                    },
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }
}

/// How a field's values print, beyond what their type says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Display {
    /// By type: integers decimal, times as seconds with 9 decimals.
    #[default]
    Plain,
    /// `0x` and `digits` lowercase hex digits (`tcp.flags` 0x0002: 4; `websocket.rsv` 0x00: 2).
    Hex {
        /// Zero-padded width in hex digits.
        digits: u8,
    },
    /// An epoch time as `Nov 21, 2026 11:27:58.769944000 UTC` (`frame.time`; tshark prints the
    /// local zone, the references are made with TZ=UTC).
    AbsTimeUtc,
}

/// Appends the text tshark prints for one value.
pub fn write_value(out: &mut String, v: Value<'_>, d: Display) {
    // Writing to a String cannot fail.
    let _ = match v {
        // tshark prints `1` for a label (FT_NONE, e.g. websocket.payload) that is present.
        Value::Present => out.write_str("1"),
        Value::Bool(b) => out.write_str(if b { "1" } else { "0" }),
        Value::UInt(u) => match d {
            Display::Hex { digits } => write!(out, "0x{u:0w$x}", w = usize::from(digits)),
            _ => write!(out, "{u}"),
        },
        Value::Int(i) => write!(out, "{i}"),
        Value::Float(f) => write!(out, "{f}"),
        Value::Time(t) => match d {
            Display::AbsTimeUtc => write_abs_time_utc(out, t),
            _ => write_seconds(out, t),
        },
        Value::Str(s) => {
            for c in s.chars() {
                let _ = match c {
                    '\t' => out.write_str("\\t"),
                    '\n' => out.write_str("\\n"),
                    '\r' => out.write_str("\\r"),
                    c => out.write_char(c),
                };
            }
            Ok(())
        }
        Value::Bytes(b) => {
            for x in b {
                let _ = write!(out, "{x:02x}");
            }
            Ok(())
        }
        Value::Ip(a) => write!(out, "{a}"),
        Value::Ether(e) => write!(
            out,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            e[0], e[1], e[2], e[3], e[4], e[5]
        ),
    };
}

/// Seconds with 9 decimals (`0.050539000`, `1795260478.769944000`, `-0.000001000`).
fn write_seconds(out: &mut String, ns: i64) -> fmt::Result {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    write!(out, "{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000)
}

fn write_abs_time_utc(out: &mut String, ns: i64) -> fmt::Result {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let month = MONTHS
        .get(usize::try_from(m - 1).unwrap_or(0))
        .copied()
        .unwrap_or("???");
    // `%2d` day: tshark prints `Nov  1, 2026` (checked with editcap -t on basic.pcap).
    write!(
        out,
        "{month} {d:2}, {y} {:02}:{:02}:{:02}.{nanos:09} UTC",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
///
/// Hand-written: it is the standard 10-line era computation (Howard Hinnant's
/// `civil_from_days`), and this is the only calendar conversion the crate needs; a date crate
/// would be a dependency for one function.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// One `-e` column: the field and how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The field.
    pub field: FieldId,
    /// Its display.
    pub display: Display,
}

/// Writes `-T fields` lines for a fixed list of columns.
#[derive(Clone, Debug)]
pub struct FieldsWriter {
    opts: FieldsOptions,
    cols: Vec<Column>,
}

impl FieldsWriter {
    /// A writer for `cols` (in `-e` order) with options `opts`.
    pub fn new(opts: FieldsOptions, cols: Vec<Column>) -> Self {
        FieldsWriter { opts, cols }
    }

    /// What goes before the first row: the BOM (`bom=y`) and the header line of `names`
    /// (`header=y`, never quoted, as tshark prints it). Empty when neither is asked for.
    pub fn start(&self, names: &[&str], out: &mut String) {
        if self.opts.bom {
            out.push('\u{feff}');
        }
        if self.opts.header {
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.push(self.opts.separator);
                }
                out.push_str(n);
            }
            out.push('\n');
        }
    }

    /// Appends one packet's line (ending in `\n`).
    pub fn row(&self, v: &dyn FieldValues, out: &mut String) {
        let q = match self.opts.quote {
            Quote::None => None,
            Quote::Double => Some('"'),
            Quote::Single => Some('\''),
        };
        for (i, c) in self.cols.iter().enumerate() {
            if i > 0 {
                out.push(self.opts.separator);
            }
            let start = out.len();
            if let Some(q) = q {
                out.push(q);
            }
            let body = out.len();
            self.values(v, *c, out);
            match q {
                // An empty field stays empty: tshark prints no `""` for it.
                Some(_) if out.len() == body => out.truncate(start),
                Some(q) => out.push(q),
                None => {}
            }
        }
        out.push('\n');
    }

    fn values(&self, v: &dyn FieldValues, c: Column, out: &mut String) {
        let agg = self.opts.aggregator;
        match self.opts.occurrence {
            Occurrence::All => {
                let mut first = true;
                v.for_each(c.field, &mut |val| {
                    if !first {
                        out.push(agg);
                    }
                    first = false;
                    write_value(out, val, c.display);
                    ControlFlow::Continue(())
                });
            }
            Occurrence::First | Occurrence::Nth(1) => {
                v.for_each(c.field, &mut |val| {
                    write_value(out, val, c.display);
                    ControlFlow::Break(())
                });
            }
            Occurrence::Nth(n) if n > 0 => {
                let mut i = 0;
                v.for_each(c.field, &mut |val| {
                    i += 1;
                    if i == n {
                        write_value(out, val, c.display);
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                });
            }
            Occurrence::Last | Occurrence::Nth(_) => {
                // Counting from the end needs the count first: one pass to count, one to print
                // (values are borrowed, so there is nothing to keep between the passes).
                let back = match self.opts.occurrence {
                    Occurrence::Nth(n) => n.unsigned_abs() as usize,
                    _ => 1,
                };
                let mut count = 0usize;
                v.for_each(c.field, &mut |_| {
                    count += 1;
                    ControlFlow::Continue(())
                });
                if back > count {
                    return;
                }
                let want = count - back;
                let mut i = 0usize;
                v.for_each(c.field, &mut |val| {
                    if i == want {
                        write_value(out, val, c.display);
                        return ControlFlow::Break(());
                    }
                    i += 1;
                    ControlFlow::Continue(())
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::FieldRegistry;
    use super::super::testreg::{Owned, Pkt, Reg};
    use super::*;

    fn col(name: &str, display: Display) -> Column {
        Column {
            field: Reg.lookup(name).unwrap().0,
            display,
        }
    }

    fn fmt(v: Value<'_>, d: Display) -> String {
        let mut s = String::new();
        write_value(&mut s, v, d);
        s
    }

    #[test]
    fn value_texts_as_tshark_prints_them() {
        // tshark -r samples/coalesced.pcap -d tcp.port==9103,http -T fields -e websocket.fin
        //   -e websocket.rsv -e websocket.masking_key -e websocket.payload -e tcp.flags
        //   -e frame.time_relative -e frame.time_epoch -e frame.time -e eth.src -e ip.src
        // packet 8: 1,1,1,1  0x00,...  11223344,...  1,1,1,1  0x0018  0.050539000
        //   1795260478.820483000  Nov 21, 2026 11:27:58.820483000 UTC  00:00:00:00:00:00  127.0.0.1
        assert_eq!(fmt(Value::Bool(true), Display::Plain), "1");
        assert_eq!(fmt(Value::Bool(false), Display::Plain), "0");
        assert_eq!(fmt(Value::UInt(0), Display::Hex { digits: 2 }), "0x00");
        assert_eq!(fmt(Value::UInt(0x18), Display::Hex { digits: 4 }), "0x0018");
        assert_eq!(
            fmt(Value::Bytes(&[0x11, 0x22, 0x33, 0x44]), Display::Plain),
            "11223344"
        );
        assert_eq!(fmt(Value::Present, Display::Plain), "1");
        assert_eq!(fmt(Value::Time(50_539_000), Display::Plain), "0.050539000");
        assert_eq!(
            fmt(Value::Time(1_795_260_478_820_483_000), Display::Plain),
            "1795260478.820483000"
        );
        assert_eq!(
            fmt(Value::Time(1_795_260_478_820_483_000), Display::AbsTimeUtc),
            "Nov 21, 2026 11:27:58.820483000 UTC"
        );
        // editcap -t -1728000 samples/basic.pcap x.pcap; TZ=UTC tshark -r x.pcap -e frame.time
        // -> `Nov  1, 2026 11:27:55.298465000 UTC` (day padded to two columns)
        assert_eq!(
            fmt(Value::Time(1_793_532_475_298_465_000), Display::AbsTimeUtc),
            "Nov  1, 2026 11:27:55.298465000 UTC"
        );
        assert_eq!(fmt(Value::Time(-1_000), Display::Plain), "-0.000001000");
        assert_eq!(
            fmt(Value::Ether([0, 0, 0, 0, 0, 0]), Display::Plain),
            "00:00:00:00:00:00"
        );
        assert_eq!(
            fmt(Value::Ip([127, 0, 0, 1].into()), Display::Plain),
            "127.0.0.1"
        );
        // tshark -r samples/ipv6.pcap ... -e ipv6.src -> `::1`
        assert_eq!(
            fmt(
                Value::Ip(std::net::Ipv6Addr::LOCALHOST.into()),
                Display::Plain
            ),
            "::1"
        );
        assert_eq!(fmt(Value::UInt(1000), Display::Plain), "1000");
    }

    #[test]
    fn strings_escape_only_tab_newline_return() {
        // A hand-made capture (websocket text frames "a\tb\nc\\d\"e\x01f" and "q,r;s\rz\x7f",
        // Decode-As websocket): tshark -T fields -E quote=d -e websocket.payload.text prints
        // "a\tb\nc\d"e<01>f" and "q,r;s\rz<7f>": backslash, quotes and other controls stay raw.
        assert_eq!(
            fmt(Value::Str("a\tb\nc\\d\"e\x01f"), Display::Plain),
            "a\\tb\\nc\\d\"e\x01f"
        );
        assert_eq!(
            fmt(Value::Str("q,r;s\rz\x7f"), Display::Plain),
            "q,r;s\\rz\x7f"
        );
        assert_eq!(fmt(Value::Str("é€😀"), Display::Plain), "é€😀");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
    }

    #[test]
    fn options_parse_like_tshark() {
        let mut o = FieldsOptions::default();
        for e in [
            "header=y",
            "separator=,",
            "quote=d",
            "occurrence=f",
            "aggregator=/s",
            "bom=y",
        ] {
            o.apply(e).unwrap();
        }
        assert_eq!(
            o,
            FieldsOptions {
                header: true,
                separator: ',',
                quote: Quote::Double,
                occurrence: Occurrence::First,
                aggregator: ' ',
                bom: true
            }
        );
        // tshark -E separator=ab separates with `a`; /t and /s are tab and space.
        o.apply("separator=ab").unwrap();
        assert_eq!(o.separator, 'a');
        o.apply("separator=/t").unwrap();
        assert_eq!(o.separator, '\t');
        o.apply("occurrence=-1").unwrap();
        assert_eq!(o.occurrence, Occurrence::Nth(-1));
        // tshark: "quote" is not a valid field output option=value pair.
        let e = o.apply("quote=x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"quote\" is not a valid field output option=value pair."
        );
        assert!(o.apply("escape=n").is_err());
        assert!(o.apply("occurrence=x").is_err());
        assert!(o.apply("separator=").is_err());
    }

    fn packet8() -> Pkt {
        use Owned::*;
        Pkt::default()
            .with("frame.number", U(8))
            .with("websocket.opcode", U(1))
            .with("websocket.opcode", U(1))
            .with("websocket.opcode", U(2))
            .with("websocket.opcode", U(9))
            .with("websocket.masking_key", X(vec![0x11, 0x22, 0x33, 0x44]))
            .with("websocket.masking_key", X(vec![0x55, 0x66, 0x77, 0x88]))
            .with("websocket.masking_key", X(vec![0x99, 0xaa, 0xbb, 0xcc]))
            .with("websocket.masking_key", X(vec![0xdd, 0xee, 0xff, 0x00]))
    }

    fn rows(opts: &[&str]) -> String {
        let mut o = FieldsOptions::default();
        for e in opts {
            o.apply(e).unwrap();
        }
        let w = FieldsWriter::new(
            o,
            vec![
                col("frame.number", Display::Plain),
                col("websocket.opcode", Display::Plain),
                col("websocket.masking_key", Display::Plain),
                col("http.request.method", Display::Plain),
            ],
        );
        let mut s = String::new();
        w.start(
            &[
                "frame.number",
                "websocket.opcode",
                "websocket.masking_key",
                "http.request.method",
            ],
            &mut s,
        );
        w.row(&Pkt::default().with("frame.number", Owned::U(1)), &mut s);
        w.row(&packet8(), &mut s);
        s
    }

    #[test]
    fn rows_like_tshark() {
        // tshark -r samples/coalesced.pcap -d tcp.port==9103,http -Y 'frame.number in {1,8}'
        //   -T fields [OPTIONS] -e frame.number -e websocket.opcode -e websocket.masking_key
        //   -e http.request.method
        assert_eq!(
            rows(&[]),
            "1\t\t\t\n8\t1,1,2,9\t11223344,55667788,99aabbcc,ddeeff00\t\n"
        );
        assert_eq!(
            rows(&["quote=d"]),
            "\"1\"\t\t\t\n\"8\"\t\"1,1,2,9\"\t\"11223344,55667788,99aabbcc,ddeeff00\"\t\n"
        );
        assert_eq!(
            rows(&["quote=s", "occurrence=f"]),
            "'1'\t\t\t\n'8'\t'1'\t'11223344'\t\n"
        );
        assert_eq!(rows(&["occurrence=l"]), "1\t\t\t\n8\t9\tddeeff00\t\n");
        assert_eq!(
            rows(&["aggregator=/s"]),
            "1\t\t\t\n8\t1 1 2 9\t11223344 55667788 99aabbcc ddeeff00\t\n"
        );
        assert_eq!(
            rows(&["separator=,", "quote=d"]),
            "\"1\",,,\n\"8\",\"1,1,2,9\",\"11223344,55667788,99aabbcc,ddeeff00\",\n"
        );
        assert_eq!(
            rows(&["header=y", "quote=d"]),
            "frame.number\twebsocket.opcode\twebsocket.masking_key\thttp.request.method\n\
             \"1\"\t\t\t\n\"8\"\t\"1,1,2,9\"\t\"11223344,55667788,99aabbcc,ddeeff00\"\t\n"
        );
        assert_eq!(
            rows(&["bom=y"]),
            "\u{feff}1\t\t\t\n8\t1,1,2,9\t11223344,55667788,99aabbcc,ddeeff00\t\n"
        );
        // Numbered occurrences (not in tshark 4.0.17; later Wireshark's meaning). They apply to
        // every column, so the single-valued frame.number has no 2nd value.
        assert_eq!(rows(&["occurrence=1"]), rows(&["occurrence=f"]));
        assert_eq!(rows(&["occurrence=2"]), "\t\t\t\n\t1\t55667788\t\n");
        assert_eq!(rows(&["occurrence=-2"]), "\t\t\t\n\t2\t99aabbcc\t\n");
        assert_eq!(rows(&["occurrence=-1"]), rows(&["occurrence=l"]));
        assert_eq!(rows(&["occurrence=9"]), "\t\t\t\n\t\t\t\n");
    }
}
