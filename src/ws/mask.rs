//! Payload masking (RFC 6455 §5.3), word-wise.
//!
//! Octet `i` of the payload is XORed with octet `i % 4` of the masking key; masking and
//! unmasking are the same operation.

/// Size of the masking key.
pub const KEY_LEN: usize = 4;
/// Bytes processed per word in [`apply_mask`].
const WORD_LEN: usize = 8;

/// XORs `buf` in place with `key`, where `offset` is the payload position of `buf[0]`
/// (so a payload can be unmasked piece by piece as it arrives).
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Unaligned head byte by byte, so the word loop reads aligned memory.
    let head_len = buf.as_ptr().align_offset(WORD_LEN).min(buf.len());
    let (head, body) = buf.split_at_mut(head_len);
    apply_mask_simple(head, key, offset);

    let phase = offset.wrapping_add(head_len) % KEY_LEN;
    let (words, tail) = body.as_chunks_mut::<WORD_LEN>();
    let key_word = u64::from_ne_bytes(std::array::from_fn(|i| key[(phase + i) % KEY_LEN]));
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ key_word).to_ne_bytes();
    }
    // WORD_LEN is a multiple of KEY_LEN, so the tail starts at the same key phase.
    apply_mask_simple(tail, key, phase);
}

/// Byte-by-byte reference for [`apply_mask`], same contract.
pub fn apply_mask_simple(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[offset.wrapping_add(i) % KEY_LEN];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes (xorshift64).
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn fast_matches_simple_at_every_offset_and_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        // Start positions inside a larger buffer vary the alignment too.
        let backing = noise(200, 0x9E37_79B9_7F4A_7C15);
        for start in 0..8 {
            for offset in 0..8 {
                for len in 0..100 {
                    let src = &backing[start..start + len];
                    let mut fast = backing.clone();
                    let mut slow = backing.clone();
                    apply_mask(&mut fast[start..start + len], key, offset);
                    apply_mask_simple(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} offset {offset} len {len}");
                    let mut again = fast[start..start + len].to_vec();
                    apply_mask(&mut again, key, offset);
                    assert_eq!(again, src, "involution");
                }
            }
        }
    }

    #[test]
    fn rfc6455_masked_hello() {
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn piecewise_equals_whole() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data = noise(77, 42);
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for cut in 0..data.len() {
            let mut parts = data.clone();
            let (a, b) = parts.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            assert_eq!(parts, whole, "cut {cut}");
        }
    }

    #[test]
    fn huge_offset_wraps() {
        let mut a = [1u8, 2, 3];
        let mut b = a;
        apply_mask(&mut a, [9, 8, 7, 6], usize::MAX);
        apply_mask_simple(&mut b, [9, 8, 7, 6], usize::MAX);
        assert_eq!(a, b);
    }
}
