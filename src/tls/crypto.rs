//! Cipher suites, the TLS 1.2 PRF and TLS 1.3 HKDF-Expand-Label key schedules, and record
//! decryption. Every primitive comes from RustCrypto crates; this file is protocol glue
//! (which bytes go into the MAC, the nonce, the additional data).

use super::keylog::Secret;
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};

/// Hash of a suite's PRF / HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl HashAlg {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }
}

/// Record MAC of a CBC suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
}

impl MacAlg {
    fn len(self) -> usize {
        match self {
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }
}

/// Bulk encryption of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bulk {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
    /// AES-CBC with a key of `key_len` bytes and an HMAC.
    AesCbc {
        /// 16 or 32.
        key_len: usize,
        /// The record MAC.
        mac: MacAlg,
    },
}

/// A cipher suite this module can decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// IANA number.
    pub id: u16,
    /// IANA name.
    pub name: &'static str,
    /// A TLS 1.3 suite (HKDF schedule) rather than a TLS 1.2 one (PRF).
    pub tls13: bool,
    /// Bulk cipher.
    pub bulk: Bulk,
    /// PRF hash (1.2) or HKDF hash (1.3).
    pub hash: HashAlg,
}

const fn s(id: u16, name: &'static str, tls13: bool, bulk: Bulk, hash: HashAlg) -> Suite {
    Suite {
        id,
        name,
        tls13,
        bulk,
        hash,
    }
}

use Bulk::{Aes128Gcm as G128, Aes256Gcm as G256, ChaCha20Poly1305 as CHACHA};
use HashAlg::{Sha256 as H256, Sha384 as H384};
const CBC128_SHA1: Bulk = Bulk::AesCbc {
    key_len: 16,
    mac: MacAlg::Sha1,
};
const CBC256_SHA1: Bulk = Bulk::AesCbc {
    key_len: 32,
    mac: MacAlg::Sha1,
};
const CBC128_SHA256: Bulk = Bulk::AesCbc {
    key_len: 16,
    mac: MacAlg::Sha256,
};
const CBC256_SHA256: Bulk = Bulk::AesCbc {
    key_len: 32,
    mac: MacAlg::Sha256,
};
const CBC256_SHA384: Bulk = Bulk::AesCbc {
    key_len: 32,
    mac: MacAlg::Sha384,
};

/// The suites decrypted here (IANA TLS Cipher Suites registry numbers).
pub const SUITES: &[Suite] = &[
    s(0x1301, "TLS_AES_128_GCM_SHA256", true, G128, H256),
    s(0x1302, "TLS_AES_256_GCM_SHA384", true, G256, H384),
    s(0x1303, "TLS_CHACHA20_POLY1305_SHA256", true, CHACHA, H256),
    s(
        0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        false,
        G128,
        H256,
    ),
    s(
        0xC030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        false,
        G256,
        H384,
    ),
    s(
        0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        false,
        G128,
        H256,
    ),
    s(
        0xC02C,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        false,
        G256,
        H384,
    ),
    s(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", false, G128, H256),
    s(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", false, G256, H384),
    s(
        0x009E,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        false,
        G128,
        H256,
    ),
    s(
        0x009F,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        false,
        G256,
        H384,
    ),
    s(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        false,
        CHACHA,
        H256,
    ),
    s(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        false,
        CHACHA,
        H256,
    ),
    s(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        false,
        CHACHA,
        H256,
    ),
    s(
        0xC013,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        false,
        CBC128_SHA1,
        H256,
    ),
    s(
        0xC014,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        false,
        CBC256_SHA1,
        H256,
    ),
    s(
        0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        false,
        CBC128_SHA1,
        H256,
    ),
    s(
        0xC00A,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        false,
        CBC256_SHA1,
        H256,
    ),
    s(
        0x002F,
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        false,
        CBC128_SHA1,
        H256,
    ),
    s(
        0x0035,
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        false,
        CBC256_SHA1,
        H256,
    ),
    s(
        0x0033,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        false,
        CBC128_SHA1,
        H256,
    ),
    s(
        0x0039,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        false,
        CBC256_SHA1,
        H256,
    ),
    s(
        0x003C,
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        false,
        CBC128_SHA256,
        H256,
    ),
    s(
        0x003D,
        "TLS_RSA_WITH_AES_256_CBC_SHA256",
        false,
        CBC256_SHA256,
        H256,
    ),
    s(
        0x0067,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        false,
        CBC128_SHA256,
        H256,
    ),
    s(
        0x006B,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        false,
        CBC256_SHA256,
        H256,
    ),
    s(
        0xC027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        false,
        CBC128_SHA256,
        H256,
    ),
    s(
        0xC028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        false,
        CBC256_SHA384,
        H384,
    ),
    s(
        0xC023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        false,
        CBC128_SHA256,
        H256,
    ),
    s(
        0xC024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        false,
        CBC256_SHA384,
        H384,
    ),
];

/// The suite with IANA number `id`, when it is one this module decrypts.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// HMAC of the concatenation of `parts` under `key`; writes the tag to `out` and returns its
/// length.
fn hmac(alg: MacAlg, key: &[u8], parts: &[&[u8]], out: &mut [u8; 48]) -> usize {
    macro_rules! run {
        ($d:ty) => {{
            let Ok(mut m) = <Hmac<$d> as KeyInit>::new_from_slice(key) else {
                return 0;
            };
            for p in parts {
                m.update(p);
            }
            let tag = m.finalize().into_bytes();
            out[..tag.len()].copy_from_slice(&tag);
            tag.len()
        }};
    }
    match alg {
        MacAlg::Sha1 => run!(sha1::Sha1),
        MacAlg::Sha256 => run!(sha2::Sha256),
        MacAlg::Sha384 => run!(sha2::Sha384),
    }
}

fn hash_mac(h: HashAlg) -> MacAlg {
    match h {
        HashAlg::Sha256 => MacAlg::Sha256,
        HashAlg::Sha384 => MacAlg::Sha384,
    }
}

/// TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed) filling `out`.
pub fn prf(hash: HashAlg, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let mac = hash_mac(hash);
    let mut a = [0u8; 48];
    // A(1) = HMAC(secret, label + seed)
    let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 2);
    parts.push(label);
    parts.extend_from_slice(seed);
    let mut a_len = hmac(mac, secret, &parts, &mut a);
    let mut filled = 0;
    while filled < out.len() && a_len > 0 {
        let mut block = [0u8; 48];
        let mut with_a: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
        with_a.push(&a[..a_len]);
        with_a.extend_from_slice(&parts);
        let n = hmac(mac, secret, &with_a, &mut block);
        let take = n.min(out.len() - filled);
        out[filled..filled + take].copy_from_slice(&block[..take]);
        filled += take;
        let prev = a;
        a_len = hmac(mac, secret, &[&prev[..a_len]], &mut a);
    }
}

/// TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1) with an empty context; `secret` must be at
/// least the hash length. Returns false when it is not.
pub fn hkdf_expand_label(hash: HashAlg, secret: &[u8], label: &[u8], out: &mut [u8]) -> bool {
    let mut info = [0u8; 2 + 1 + 6 + 32 + 1];
    let full = 6 + label.len();
    if label.len() > 32 || out.len() > usize::from(u16::MAX) {
        return false;
    }
    info[..2].copy_from_slice(&(out.len() as u16).to_be_bytes());
    info[2] = full as u8;
    info[3..9].copy_from_slice(b"tls13 ");
    info[9..9 + label.len()].copy_from_slice(label);
    info[9 + label.len()] = 0; // empty context
    let info = &info[..10 + label.len()];
    match hash {
        HashAlg::Sha256 => hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
            .ok()
            .and_then(|h| h.expand(info, out).ok())
            .is_some(),
        HashAlg::Sha384 => hkdf::Hkdf::<sha2::Sha384>::from_prk(secret)
            .ok()
            .and_then(|h| h.expand(info, out).ok())
            .is_some(),
    }
}

/// The next TLS 1.3 traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn next_traffic_secret(hash: HashAlg, secret: &Secret) -> Option<Secret> {
    let mut out = [0u8; 48];
    let out = &mut out[..hash.output_len()];
    if !hkdf_expand_label(hash, secret.as_bytes(), b"traffic upd", out) {
        return None;
    }
    Secret::new(out)
}

enum Engine {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
    Cbc {
        key: [u8; 32],
        key_len: usize,
        mac: MacAlg,
        mac_key: [u8; 48],
        etm: bool,
    },
}

/// Why a record did not decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// The authentication tag or MAC did not match (or CBC padding was wrong): wrong key,
    /// wrong sequence number, or corrupted bytes.
    BadRecordMac,
    /// The record is shorter than the cipher's nonce, tag, IV or block structure allows.
    TooShort,
    /// TLS 1.3: the decrypted record has no content type (all zero).
    NoContentType,
}

/// One direction's record protection: key, IV and sequence number.
pub struct RecordCipher {
    engine: Engine,
    /// TLS 1.3 and TLS 1.2 ChaCha20: the 12-byte IV; TLS 1.2 GCM: the 4-byte salt.
    iv: [u8; 12],
    tls13: bool,
    seq: u64,
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RecordCipher(tls13={}, seq={}, <keys redacted>)",
            self.tls13, self.seq
        )
    }
}

fn aead_engine(bulk: Bulk, key: &[u8]) -> Option<Engine> {
    Some(match bulk {
        Bulk::Aes128Gcm => Engine::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
        Bulk::Aes256Gcm => Engine::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
        Bulk::ChaCha20Poly1305 => {
            Engine::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
        }
        Bulk::AesCbc { .. } => return None,
    })
}

fn key_len(bulk: Bulk) -> usize {
    match bulk {
        Bulk::Aes128Gcm => 16,
        Bulk::Aes256Gcm | Bulk::ChaCha20Poly1305 => 32,
        Bulk::AesCbc { key_len, .. } => key_len,
    }
}

impl RecordCipher {
    /// TLS 1.3: keys for one direction from its traffic secret (RFC 8446 §7.3). `None` when
    /// the secret's length does not fit the suite's hash.
    pub fn tls13(suite: &Suite, secret: &Secret) -> Option<RecordCipher> {
        if secret.as_bytes().len() != suite.hash.output_len() {
            return None;
        }
        let mut key = [0u8; 32];
        let key = &mut key[..key_len(suite.bulk)];
        let mut iv = [0u8; 12];
        if !hkdf_expand_label(suite.hash, secret.as_bytes(), b"key", key)
            || !hkdf_expand_label(suite.hash, secret.as_bytes(), b"iv", &mut iv)
        {
            return None;
        }
        Some(RecordCipher {
            engine: aead_engine(suite.bulk, key)?,
            iv,
            tls13: true,
            seq: 0,
        })
    }

    /// TLS 1.2: the client's and the server's keys from the master secret (RFC 5246 §6.3),
    /// `(client_write, server_write)`.
    pub fn tls12_pair(
        suite: &Suite,
        master: &Secret,
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        encrypt_then_mac: bool,
    ) -> Option<(RecordCipher, RecordCipher)> {
        let (mac_len, klen, iv_len) = match suite.bulk {
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => (0, key_len(suite.bulk), 4),
            Bulk::ChaCha20Poly1305 => (0, 32, 12),
            Bulk::AesCbc { key_len, mac } => (mac.len(), key_len, 16),
        };
        let mut block = [0u8; 2 * (48 + 32 + 16)];
        let total = 2 * (mac_len + klen + iv_len);
        let block = &mut block[..total];
        prf(
            suite.hash,
            master.as_bytes(),
            b"key expansion",
            &[server_random, client_random],
            block,
        );
        let (c_mac, rest) = block.split_at(mac_len);
        let (s_mac, rest) = rest.split_at(mac_len);
        let (c_key, rest) = rest.split_at(klen);
        let (s_key, rest) = rest.split_at(klen);
        let (c_iv, s_iv) = rest.split_at(iv_len);
        let make = |mac_key: &[u8], key: &[u8], fixed_iv: &[u8]| -> Option<RecordCipher> {
            let mut iv = [0u8; 12];
            let engine = match suite.bulk {
                Bulk::AesCbc { key_len, mac } => {
                    let mut k = [0u8; 32];
                    k[..key_len].copy_from_slice(key);
                    let mut m = [0u8; 48];
                    m[..mac_key.len()].copy_from_slice(mac_key);
                    Engine::Cbc {
                        key: k,
                        key_len,
                        mac,
                        mac_key: m,
                        etm: encrypt_then_mac,
                    }
                }
                _ => {
                    iv[..fixed_iv.len()].copy_from_slice(fixed_iv);
                    aead_engine(suite.bulk, key)?
                }
            };
            Some(RecordCipher {
                engine,
                iv,
                tls13: false,
                seq: 0,
            })
        };
        Some((make(c_mac, c_key, c_iv)?, make(s_mac, s_key, s_iv)?))
    }

    /// Decrypts and authenticates one record. `header` is the 5-byte record header as sent,
    /// `body` the protected fragment. On success the plaintext is in `out` and the inner
    /// content type is returned (TLS 1.3: from the inner plaintext; TLS 1.2: the header's).
    /// The sequence number advances only on success.
    pub fn decrypt(
        &mut self,
        header: &[u8; 5],
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u8, DecryptError> {
        out.clear();
        let outer_type = header[0];
        let version = [header[1], header[2]];
        let seq = self.seq.to_be_bytes();
        match &self.engine {
            Engine::Aes128Gcm(_) | Engine::Aes256Gcm(_) | Engine::ChaCha(_) => {
                let explicit = !self.tls13 && !matches!(self.engine, Engine::ChaCha(_));
                let skip = if explicit { 8 } else { 0 };
                if body.len() < skip + 16 {
                    return Err(DecryptError::TooShort);
                }
                let mut nonce = [0u8; 12];
                if explicit {
                    nonce[..4].copy_from_slice(&self.iv[..4]);
                    nonce[4..].copy_from_slice(&body[..8]);
                } else {
                    nonce = self.iv;
                    for (n, s) in nonce[4..].iter_mut().zip(seq) {
                        *n ^= s;
                    }
                }
                let (ct, tag) = body[skip..].split_at(body.len() - skip - 16);
                let mut aad = [0u8; 13];
                let aad: &[u8] = if self.tls13 {
                    header
                } else {
                    aad[..8].copy_from_slice(&seq);
                    aad[8] = outer_type;
                    aad[9..11].copy_from_slice(&version);
                    aad[11..13].copy_from_slice(&(ct.len() as u16).to_be_bytes());
                    &aad
                };
                out.extend_from_slice(ct);
                // The three AEADs share one call; only the cipher type differs.
                macro_rules! open {
                    ($c:expr) => {
                        $c.decrypt_inout_detached(
                            &nonce.into(),
                            aad,
                            out.as_mut_slice().into(),
                            tag.try_into().map_err(|_| DecryptError::TooShort)?,
                        )
                        .is_ok()
                    };
                }
                let ok = match &self.engine {
                    Engine::Aes128Gcm(c) => open!(c),
                    Engine::Aes256Gcm(c) => open!(c),
                    Engine::ChaCha(c) => open!(c),
                    Engine::Cbc { .. } => false,
                };
                if !ok {
                    out.clear();
                    return Err(DecryptError::BadRecordMac);
                }
            }
            Engine::Cbc {
                key,
                key_len,
                mac,
                mac_key,
                etm,
            } => {
                let mac_len = mac.len();
                let mac_key = &mac_key[..mac_len];
                let mut tag = [0u8; 48];
                if *etm {
                    // RFC 7366: MAC over header fields + IV + ciphertext, then decrypt.
                    if body.len() < 32 + mac_len || !(body.len() - mac_len).is_multiple_of(16) {
                        return Err(DecryptError::TooShort);
                    }
                    let (protected, their_mac) = body.split_at(body.len() - mac_len);
                    let len = (protected.len() as u16).to_be_bytes();
                    let n = hmac(
                        *mac,
                        mac_key,
                        &[&seq, &[outer_type], &version, &len, protected],
                        &mut tag,
                    );
                    if tag[..n] != *their_mac {
                        return Err(DecryptError::BadRecordMac);
                    }
                    out.extend_from_slice(&protected[16..]);
                    cbc_decrypt(&key[..*key_len], &protected[..16], out)?;
                    strip_padding(out)?;
                } else {
                    // RFC 5246 §6.2.3.2: decrypt, check padding, then the MAC over the plaintext.
                    if body.len() < 32 || !body.len().is_multiple_of(16) {
                        return Err(DecryptError::TooShort);
                    }
                    out.extend_from_slice(&body[16..]);
                    cbc_decrypt(&key[..*key_len], &body[..16], out)?;
                    strip_padding(out)?;
                    if out.len() < mac_len {
                        out.clear();
                        return Err(DecryptError::BadRecordMac);
                    }
                    let data_len = out.len() - mac_len;
                    let len = (data_len as u16).to_be_bytes();
                    let n = hmac(
                        *mac,
                        mac_key,
                        &[&seq, &[outer_type], &version, &len, &out[..data_len]],
                        &mut tag,
                    );
                    if tag[..n] != out[data_len..] {
                        out.clear();
                        return Err(DecryptError::BadRecordMac);
                    }
                    out.truncate(data_len);
                }
            }
        }
        self.seq = self.seq.wrapping_add(1);
        if !self.tls13 {
            return Ok(outer_type);
        }
        // TLSInnerPlaintext: content, the real type, then zero padding (RFC 8446 §5.2).
        while out.last() == Some(&0) {
            out.pop();
        }
        match out.pop() {
            Some(t) => Ok(t),
            None => Err(DecryptError::NoContentType),
        }
    }

    /// Records decrypted so far (the next sequence number).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// One record was lost (not captured): the next one has the following sequence number.
    pub fn skip_record(&mut self) {
        self.seq = self.seq.wrapping_add(1);
    }
}

fn cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<(), DecryptError> {
    let (blocks, rest) =
        aes::cipher::array::Array::<u8, aes::cipher::consts::U16>::slice_as_chunks_mut(buf);
    if !rest.is_empty() {
        return Err(DecryptError::TooShort);
    }
    match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| DecryptError::TooShort)?
            .decrypt_blocks(blocks),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| DecryptError::TooShort)?
            .decrypt_blocks(blocks),
    }
    Ok(())
}

/// Removes TLS CBC padding: the last byte `p` and `p` more bytes, all equal to `p`.
fn strip_padding(out: &mut Vec<u8>) -> Result<(), DecryptError> {
    let Some(&p) = out.last() else {
        return Err(DecryptError::TooShort);
    };
    let n = usize::from(p) + 1;
    if n > out.len() || out[out.len() - n..].iter().any(|&b| b != p) {
        out.clear();
        return Err(DecryptError::BadRecordMac);
    }
    out.truncate(out.len() - n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hx(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).expect("ascii"), 16).expect("hex"))
            .collect()
    }

    fn secret(s: &str) -> Secret {
        Secret::new(&hx(s)).expect("secret")
    }

    // RFC 8448 §3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256).
    const SERVER_HS_SECRET: &str =
        "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
    const CLIENT_AP_SECRET: &str =
        "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
    const CLIENT_AP_RECORD: &str = "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f\
        2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4";
    const CLIENT_ALERT_RECORD: &str = "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3";

    #[test]
    fn rfc8448_traffic_keys() {
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        assert!(hkdf_expand_label(
            HashAlg::Sha256,
            &hx(SERVER_HS_SECRET),
            b"key",
            &mut key
        ));
        assert!(hkdf_expand_label(
            HashAlg::Sha256,
            &hx(SERVER_HS_SECRET),
            b"iv",
            &mut iv
        ));
        assert_eq!(key.to_vec(), hx("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(iv.to_vec(), hx("5d313eb2671276ee13000b30"));
        assert!(hkdf_expand_label(
            HashAlg::Sha256,
            &hx(CLIENT_AP_SECRET),
            b"key",
            &mut key
        ));
        assert!(hkdf_expand_label(
            HashAlg::Sha256,
            &hx(CLIENT_AP_SECRET),
            b"iv",
            &mut iv
        ));
        assert_eq!(key.to_vec(), hx("17422dda596ed5d9acd890e3c63f5051"));
        assert_eq!(iv.to_vec(), hx("5b78923dee08579033e523d9"));
    }

    #[test]
    fn rfc8448_client_application_record_and_alert() {
        let suite = suite(0x1301).expect("suite");
        let mut c = RecordCipher::tls13(suite, &secret(CLIENT_AP_SECRET)).expect("cipher");
        let rec = hx(CLIENT_AP_RECORD);
        let header: [u8; 5] = rec[..5].try_into().expect("5");
        let mut out = Vec::new();
        assert_eq!(c.decrypt(&header, &rec[5..], &mut out), Ok(23));
        assert_eq!(out, (0u8..=0x31).collect::<Vec<_>>());
        // Sequence 1: close_notify (warning 1, description 0).
        let alert = hx(CLIENT_ALERT_RECORD);
        let header: [u8; 5] = alert[..5].try_into().expect("5");
        assert_eq!(c.decrypt(&header, &alert[5..], &mut out), Ok(21));
        assert_eq!(out, vec![1, 0]);
        assert_eq!(c.seq(), 2);
    }

    #[test]
    fn rfc8448_record_with_wrong_sequence_or_bit_flip_fails() {
        let suite = suite(0x1301).expect("suite");
        let rec = hx(CLIENT_AP_RECORD);
        let header: [u8; 5] = rec[..5].try_into().expect("5");
        let mut out = Vec::new();
        for flip in [5, 20, rec.len() - 1] {
            let mut c = RecordCipher::tls13(suite, &secret(CLIENT_AP_SECRET)).expect("cipher");
            let mut bad = rec.clone();
            bad[flip] ^= 1;
            assert_eq!(
                c.decrypt(&header, &bad[5..], &mut out),
                Err(DecryptError::BadRecordMac)
            );
            assert!(out.is_empty(), "nothing handed up on failure");
            assert_eq!(c.seq(), 0);
        }
        // The alert record (sequence 1) under sequence 0.
        let mut c = RecordCipher::tls13(suite, &secret(CLIENT_AP_SECRET)).expect("cipher");
        let alert = hx(CLIENT_ALERT_RECORD);
        let header: [u8; 5] = alert[..5].try_into().expect("5");
        assert_eq!(
            c.decrypt(&header, &alert[5..], &mut out),
            Err(DecryptError::BadRecordMac)
        );
        // Too short for a tag.
        assert_eq!(
            c.decrypt(&header, &alert[5..10], &mut out),
            Err(DecryptError::TooShort)
        );
        // A secret of the wrong length for the suite's hash.
        assert!(RecordCipher::tls13(suite, &secret("00112233")).is_none());
    }

    #[test]
    fn tls12_prf_vectors() {
        // The TLS 1.2 PRF test vectors published on the IETF TLS WG list (msg03416).
        let mut out = [0u8; 100];
        prf(
            HashAlg::Sha256,
            &hx("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &[&hx("a0ba9f936cda311827a6f796ffd5198c")],
            &mut out,
        );
        assert_eq!(
            out.to_vec(),
            hx(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a\
                6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab\
                4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
                87347b66"
            )
        );
        let mut out = [0u8; 148];
        prf(
            HashAlg::Sha384,
            &hx("b80b733d6ceefcdc71566ea48e5567df"),
            b"test label",
            &[&hx("cd665cf6a8447dd6ff8b27555edb7465")],
            &mut out,
        );
        assert_eq!(
            out[..64].to_vec(),
            hx(
                "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd\
                e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
            )
        );
    }

    #[test]
    fn every_suite_builds_keys_and_rejects_garbage() {
        let master = Secret::new(&[7u8; 48]).expect("secret");
        for s in SUITES {
            let mut out = Vec::new();
            let header = [23, 3, 3, 0, 64];
            if s.tls13 {
                let sec = Secret::new(&vec![9u8; s.hash.output_len()]).expect("secret");
                let mut c = RecordCipher::tls13(s, &sec).expect("tls13 keys");
                for len in [0, 1, 16, 17, 64] {
                    assert!(
                        c.decrypt(&header, &vec![0u8; len], &mut out).is_err(),
                        "{}",
                        s.name
                    );
                }
            } else {
                for etm in [false, true] {
                    let (mut c, _) = RecordCipher::tls12_pair(s, &master, &[1; 32], &[2; 32], etm)
                        .expect("keys");
                    for len in [0, 1, 16, 31, 32, 48, 64, 80] {
                        assert!(
                            c.decrypt(&header, &vec![0u8; len], &mut out).is_err(),
                            "{}",
                            s.name
                        );
                        assert!(out.is_empty());
                    }
                }
            }
        }
    }
}
