//! The Time column of the packet list in tshark's `-t` formats.
//!
//! Times print with microseconds, as tshark shows them for microsecond captures (pcap,
//! pcapng's default resolution): `r` seconds since the first packet (the default), `a` /
//! `ad` / `adoy` local time of day, date and time, year/day-of-year and time (the system
//! time zone: `TZ`, else /etc/localtime), `u` / `ud` / `udoy` the same in UTC, `e` seconds
//! since the epoch, `d` seconds since the previous packet captured, `dd` since the previous
//! packet shown.

use crate::capture::Timestamp;
use crate::event::PacketRecord;
use crate::term::escape;
use std::fmt::Write as _;

/// A `-t` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// `r`: seconds since the first packet.
    #[default]
    Relative,
    /// `a`: local time of day.
    Absolute,
    /// `ad`: local date and time.
    AbsoluteDate,
    /// `adoy`: local year/day-of-year and time.
    AbsoluteDoy,
    /// `d`: seconds since the previous packet captured.
    Delta,
    /// `dd`: seconds since the previous packet shown.
    DeltaDisplayed,
    /// `e`: seconds since 1970-01-01 UTC.
    Epoch,
    /// `u`: UTC time of day.
    Utc,
    /// `ud`: UTC date and time.
    UtcDate,
    /// `udoy`: UTC year/day-of-year and time.
    UtcDoy,
}

impl TimeFormat {
    /// The format tshark's `-t` letter names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "r" => TimeFormat::Relative,
            "a" => TimeFormat::Absolute,
            "ad" => TimeFormat::AbsoluteDate,
            "adoy" => TimeFormat::AbsoluteDoy,
            "d" => TimeFormat::Delta,
            "dd" => TimeFormat::DeltaDisplayed,
            "e" => TimeFormat::Epoch,
            "u" => TimeFormat::Utc,
            "ud" => TimeFormat::UtcDate,
            "udoy" => TimeFormat::UtcDoy,
            _ => return None,
        })
    }
}

/// Writes the Time column; remembers the previous packet shown for `dd`.
#[derive(Debug, Default)]
pub struct TimeColumn {
    format: TimeFormat,
    previous_shown: Option<Timestamp>,
    zone: Option<jiff::tz::TimeZone>,
}

fn micros_since(t: Timestamp, earlier: Timestamp) -> i128 {
    t.nanos_since(earlier) / 1000
}

fn push_signed_micros(out: &mut String, us: i128) {
    if us < 0 {
        out.push('-');
    }
    let a = us.unsigned_abs();
    let _ = write!(out, "{}.{:06}", a / 1_000_000, a % 1_000_000);
}

impl TimeColumn {
    /// A column in `format`.
    pub fn new(format: TimeFormat) -> Self {
        let zone = matches!(
            format,
            TimeFormat::Absolute | TimeFormat::AbsoluteDate | TimeFormat::AbsoluteDoy
        )
        .then(jiff::tz::TimeZone::system);
        TimeColumn {
            format,
            previous_shown: None,
            zone,
        }
    }

    /// Appends `p`'s time. `d` and `dd` both count from the previous packet this column
    /// showed: the same packet unless a display filter hides some (then `d` is `dd`).
    pub fn push(&mut self, out: &mut String, p: &PacketRecord<'_>) {
        self.push_at(out, p.timestamp, p.rel_time);
    }

    /// Appends the time of something that happened at `ts`, `rel_time` seconds after the
    /// first packet (views date messages and frames, not only packets).
    pub fn push_at(&mut self, out: &mut String, ts: Timestamp, rel_time: f64) {
        match self.format {
            TimeFormat::Relative => escape::push_secs6_str(out, rel_time),
            TimeFormat::Delta | TimeFormat::DeltaDisplayed => {
                let prev = self.previous_shown.unwrap_or(ts);
                push_signed_micros(out, micros_since(ts, prev));
            }
            TimeFormat::Epoch => push_signed_micros(
                out,
                i128::from(ts.secs) * 1_000_000 + i128::from(ts.nanos / 1000),
            ),
            _ => self.push_calendar(out, ts),
        }
        self.previous_shown = Some(ts);
    }

    fn push_calendar(&self, out: &mut String, ts: Timestamp) {
        let Ok(t) = jiff::Timestamp::new(ts.secs, ts.nanos as i32) else {
            return push_signed_micros(out, i128::from(ts.secs) * 1_000_000);
        };
        let zone = self.zone.clone().unwrap_or(jiff::tz::TimeZone::UTC);
        let dt = t.to_zoned(zone).datetime();
        let _ = match self.format {
            TimeFormat::AbsoluteDate | TimeFormat::UtcDate => {
                write!(out, "{:04}-{:02}-{:02} ", dt.year(), dt.month(), dt.day())
            }
            TimeFormat::AbsoluteDoy | TimeFormat::UtcDoy => {
                write!(out, "{:04}/{:03} ", dt.year(), dt.day_of_year())
            }
            _ => Ok(()),
        };
        let _ = write!(
            out,
            "{:02}:{:02}:{:02}.{:06}",
            dt.hour(),
            dt.minute(),
            dt.second(),
            ts.nanos / 1000
        );
    }
}
