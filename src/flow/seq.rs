//! Sequence-number arithmetic modulo 2^32 (RFC 793 §3.3, RFC 1982).
//!
//! TCP sequence numbers wrap around, so `a < b` means "`a` comes before `b` within half the
//! number space": the signed 32-bit difference `a - b` is negative. This is the definition
//! Wireshark uses (`LT_SEQ` and friends); for two numbers exactly 2^31 apart, which RFC 1982
//! leaves undefined, both `seq_lt(a, b)` and `seq_lt(b, a)` hold.

/// The signed distance from `b` to `a` (`a - b`), in `-2^31 ..= 2^31 - 1`.
///
/// `seq_diff(0x10, 0xFFFF_FFF0) == 0x20`: `0x10` lies 32 numbers after `0xFFFF_FFF0`.
pub fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// How far `to` lies ahead of `from`, modulo 2^32 (`to - from`, always non-negative).
pub fn seq_distance(from: u32, to: u32) -> u32 {
    to.wrapping_sub(from)
}

/// `a` comes strictly before `b`.
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a` comes before `b` or equals it.
pub fn seq_le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// `a` comes strictly after `b`.
pub fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// `a` comes after `b` or equals it.
pub fn seq_ge(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// The later of two sequence numbers (by [`seq_gt`]).
pub fn seq_max(a: u32, b: u32) -> u32 {
    if seq_gt(a, b) { a } else { b }
}

/// The earlier of two sequence numbers (by [`seq_lt`]).
pub fn seq_min(a: u32, b: u32) -> u32 {
    if seq_lt(a, b) { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_order() {
        assert!(seq_lt(1, 2));
        assert!(seq_le(1, 2));
        assert!(seq_le(2, 2));
        assert!(!seq_lt(2, 2));
        assert!(seq_gt(3, 2));
        assert!(seq_ge(3, 3));
        assert_eq!(seq_diff(10, 3), 7);
        assert_eq!(seq_diff(3, 10), -7);
    }

    #[test]
    fn across_the_wrap() {
        let before = 0xFFFF_FFF0;
        let after = 0x10;
        assert!(seq_lt(before, after));
        assert!(seq_le(before, after));
        assert!(seq_gt(after, before));
        assert!(seq_ge(after, before));
        assert!(!seq_gt(before, after));
        assert_eq!(seq_diff(after, before), 0x20);
        assert_eq!(seq_diff(before, after), -0x20);
        assert_eq!(seq_distance(before, after), 0x20);
        assert_eq!(seq_distance(after, before), 0xFFFF_FFE0);
        assert_eq!(seq_max(before, after), after);
        assert_eq!(seq_min(before, after), before);
        assert_eq!(seq_diff(0, u32::MAX), 1);
    }

    #[test]
    fn extremes() {
        assert_eq!(seq_diff(0x7FFF_FFFF, 0), i64::from(i32::MAX));
        assert_eq!(seq_diff(0x8000_0000, 0), i64::from(i32::MIN));
        // Exactly half the space apart: both orders hold (Wireshark's LT_SEQ behaviour).
        assert!(seq_lt(0, 0x8000_0000));
        assert!(seq_lt(0x8000_0000, 0));
    }
}
