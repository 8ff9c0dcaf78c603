//! The NSS key log format (`SSLKEYLOGFILE`): one secret per line, keyed by the ClientHello
//! random, as written by browsers, curl, OpenSSL (Python, Node), Go and rustls.
//!
//! Lines are `LABEL <client random hex> <secret hex>`. Labels used here: `CLIENT_RANDOM`
//! (TLS 1.2 master secret) and the TLS 1.3 `CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET`,
//! `CLIENT_/SERVER_TRAFFIC_SECRET_0`; other labels (`EXPORTER_SECRET`,
//! `CLIENT_EARLY_TRAFFIC_SECRET`, `*_TRAFFIC_SECRET_N`, ...) are counted and ignored.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Longest secret accepted (TLS 1.2 master secret: 48; TLS 1.3 secrets: the hash length,
/// at most 48 for SHA-384).
pub const MAX_SECRET_LEN: usize = 48;
/// pcapng Decryption Secrets Block type of an NSS key log (`TLSK`).
pub const TLS_KEY_LOG_SECRETS_TYPE: u32 = 0x544c_534b;
/// Longest line considered; a longer one is a bad line (a real line is under 250 bytes).
const MAX_LINE: usize = 1024;

/// A secret from the key log (1..=48 bytes). Never printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: [u8; MAX_SECRET_LEN],
    len: u8,
}

impl Secret {
    /// The secret from raw bytes; `None` when empty or longer than [`MAX_SECRET_LEN`].
    pub fn new(bytes: &[u8]) -> Option<Secret> {
        if bytes.is_empty() || bytes.len() > MAX_SECRET_LEN {
            return None;
        }
        let mut s = Secret {
            bytes: [0; MAX_SECRET_LEN],
            len: bytes.len() as u8,
        };
        s.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(s)
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.len)
    }
}

/// The secrets known for one connection (one client random).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectionSecrets {
    /// TLS 1.2 (and earlier) master secret (`CLIENT_RANDOM`).
    pub master: Option<Secret>,
    /// TLS 1.3 `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake: Option<Secret>,
    /// TLS 1.3 `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake: Option<Secret>,
    /// TLS 1.3 `CLIENT_TRAFFIC_SECRET_0`.
    pub client_traffic: Option<Secret>,
    /// TLS 1.3 `SERVER_TRAFFIC_SECRET_0`.
    pub server_traffic: Option<Secret>,
}

impl fmt::Debug for ConnectionSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let has = |s: &Option<Secret>| s.is_some();
        f.debug_struct("ConnectionSecrets")
            .field("master", &has(&self.master))
            .field("client_handshake", &has(&self.client_handshake))
            .field("server_handshake", &has(&self.server_handshake))
            .field("client_traffic", &has(&self.client_traffic))
            .field("server_traffic", &has(&self.server_traffic))
            .finish()
    }
}

impl ConnectionSecrets {
    fn merge(&mut self, other: &ConnectionSecrets) {
        for (mine, theirs) in [
            (&mut self.master, &other.master),
            (&mut self.client_handshake, &other.client_handshake),
            (&mut self.server_handshake, &other.server_handshake),
            (&mut self.client_traffic, &other.client_traffic),
            (&mut self.server_traffic, &other.server_traffic),
        ] {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
    }
}

/// Counters of what parsing saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Secret lines stored (a later line for the same random and label replaces the earlier).
    pub secrets: u64,
    /// Well-formed lines with a label this crate does not use (`EXPORTER_SECRET`, ...).
    pub ignored_labels: u64,
    /// Comment (`#`) and blank lines.
    pub comments: u64,
    /// Lines that are not `LABEL HEX HEX` with a 32-byte random and a 1..=48-byte secret.
    pub bad_lines: u64,
}

/// Secrets by client random, from any number of key logs and pcapng Decryption Secrets Blocks.
/// `Debug` shows counts, never key material.
#[derive(Clone, Default)]
pub struct KeyLog {
    by_random: HashMap<[u8; 32], ConnectionSecrets>,
    stats: KeyLogStats,
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog")
            .field("connections", &self.by_random.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> KeyLog {
        KeyLog::default()
    }

    /// A key log parsed from the complete contents of a file or a secrets block.
    pub fn from_bytes(bytes: &[u8]) -> KeyLog {
        let mut k = KeyLog::new();
        k.add_bytes(bytes);
        k
    }

    /// Adds every line of `bytes`; a final line without a newline counts as a line.
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        for line in bytes.split(|&b| b == b'\n') {
            self.add_line(line);
        }
        // `split` yields one empty piece after a trailing newline: not a line.
        if bytes.last() == Some(&b'\n') || bytes.is_empty() {
            self.stats.comments = self.stats.comments.saturating_sub(1);
        }
    }

    /// Adds one line (without its newline; a trailing `\r` is accepted).
    pub fn add_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.first() == Some(&b'#') {
            self.stats.comments += 1;
            return;
        }
        if line.len() > MAX_LINE {
            self.stats.bad_lines += 1;
            return;
        }
        let mut fields = trimmed
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let (Some(label), Some(random_hex), Some(secret_hex), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            self.stats.bad_lines += 1;
            return;
        };
        let mut random = [0u8; 32];
        let mut secret = [0u8; MAX_SECRET_LEN];
        let secret_len = secret_hex.len() / 2;
        if random_hex.len() != 64
            || !decode_hex(random_hex, &mut random)
            || secret_hex.len() % 2 != 0
            || secret_len == 0
            || secret_len > MAX_SECRET_LEN
            || !decode_hex(secret_hex, &mut secret[..secret_len])
        {
            self.stats.bad_lines += 1;
            return;
        }
        let Some(secret) = Secret::new(&secret[..secret_len]) else {
            self.stats.bad_lines += 1;
            return;
        };
        let entry = self.by_random.entry(random).or_default();
        let slot = match label {
            b"CLIENT_RANDOM" => &mut entry.master,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.client_handshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.server_handshake,
            b"CLIENT_TRAFFIC_SECRET_0" => &mut entry.client_traffic,
            b"SERVER_TRAFFIC_SECRET_0" => &mut entry.server_traffic,
            _ => {
                if *entry == ConnectionSecrets::default() {
                    self.by_random.remove(&random);
                }
                self.stats.ignored_labels += 1;
                return;
            }
        };
        *slot = Some(secret);
        self.stats.secrets += 1;
    }

    /// Adds the secrets of a pcapng Decryption Secrets Block; false (nothing added) when its
    /// type is not [`TLS_KEY_LOG_SECRETS_TYPE`]. `data` is the block's secrets field
    /// (`secrets_len` bytes, without the padding).
    pub fn add_secrets_block(&mut self, secrets_type: u32, data: &[u8]) -> bool {
        if secrets_type != TLS_KEY_LOG_SECRETS_TYPE {
            return false;
        }
        self.add_bytes(data);
        true
    }

    /// The NSS key log lines of the given connections (for writing a pcapng Decryption
    /// Secrets Block, like `editcap --inject-secrets`). Contains key material: write it only
    /// where the user asked for it.
    pub fn export(&self, client_randoms: &[[u8; 32]]) -> Vec<u8> {
        let mut out = Vec::new();
        for random in client_randoms {
            let Some(s) = self.by_random.get(random) else {
                continue;
            };
            for (label, secret) in [
                ("CLIENT_RANDOM", &s.master),
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &s.client_handshake),
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &s.server_handshake),
                ("CLIENT_TRAFFIC_SECRET_0", &s.client_traffic),
                ("SERVER_TRAFFIC_SECRET_0", &s.server_traffic),
            ] {
                if let Some(secret) = secret {
                    out.extend_from_slice(label.as_bytes());
                    out.push(b' ');
                    push_hex(&mut out, random);
                    out.push(b' ');
                    push_hex(&mut out, secret.as_bytes());
                    out.push(b'\n');
                }
            }
        }
        out
    }

    /// Takes every secret of `other` (its entries win over existing ones) and adds its counts.
    pub fn merge(&mut self, other: &KeyLog) {
        for (random, secrets) in &other.by_random {
            self.by_random.entry(*random).or_default().merge(secrets);
        }
        self.stats.secrets += other.stats.secrets;
        self.stats.ignored_labels += other.stats.ignored_labels;
        self.stats.comments += other.stats.comments;
        self.stats.bad_lines += other.stats.bad_lines;
    }

    /// The secrets for the connection whose ClientHello carried `client_random`.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&ConnectionSecrets> {
        self.by_random.get(client_random)
    }

    /// Number of connections (client randoms) with at least one secret.
    pub fn len(&self) -> usize {
        self.by_random.len()
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty()
    }

    /// What parsing saw so far.
    pub fn stats(&self) -> KeyLogStats {
        self.stats
    }
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

fn decode_hex(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != out.len() * 2 {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
            return false;
        };
        *o = hi << 4 | lo;
    }
    true
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A key log file read as it grows (a browser appends a line per new connection): each
/// [`KeyLogFile::refresh`] reads only the bytes appended since the last one and keeps an
/// unfinished last line for the next call.
#[derive(Debug)]
pub struct KeyLogFile {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl KeyLogFile {
    /// A reader that has read nothing yet.
    pub fn new(path: impl AsRef<Path>) -> KeyLogFile {
        KeyLogFile {
            path: path.as_ref().to_path_buf(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds the complete lines appended since the last call to `keys`; returns how many
    /// bytes were read. A file that shrank (truncated, replaced) is read again from the start;
    /// a file that does not exist yet (a browser creates it on its first connection) reads
    /// as empty.
    pub fn refresh(&mut self, keys: &mut KeyLog) -> io::Result<u64> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
            self.partial.clear();
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        file.take(len - self.offset).read_to_end(&mut fresh)?;
        self.offset += fresh.len() as u64;
        let mut rest: &[u8] = &fresh;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                keys.add_line(&rest[..nl]);
            } else {
                self.partial.extend_from_slice(&rest[..nl]);
                keys.add_line(&self.partial);
                self.partial.clear();
            }
            rest = &rest[nl + 1..];
        }
        if self.partial.len() + rest.len() <= MAX_LINE {
            self.partial.extend_from_slice(rest);
        } else {
            // An endless line: count it once and skip to the next newline.
            keys.stats.bad_lines += 1;
            self.partial.clear();
        }
        Ok(fresh.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "0102030405060708091011121314151617181920212223242526272829303132";

    #[test]
    fn parses_labels_comments_and_bad_lines() {
        let text = format!(
            "# comment\n\nCLIENT_RANDOM {R} {}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {R} {}\r\n\
             EXPORTER_SECRET {R} {}\nCLIENT_RANDOM zz {}\nCLIENT_RANDOM {R}\nSERVER_TRAFFIC_SECRET_0 {R} {}",
            "aa".repeat(48),
            "bb".repeat(32),
            "cc".repeat(32),
            "aa".repeat(48),
            "dd".repeat(48),
        );
        let k = KeyLog::from_bytes(text.as_bytes());
        let s = k.stats();
        assert_eq!(s.secrets, 3);
        assert_eq!(s.ignored_labels, 1);
        assert_eq!(s.comments, 2);
        assert_eq!(s.bad_lines, 2);
        let mut random = [0u8; 32];
        assert!(decode_hex(R.as_bytes(), &mut random));
        let c = k.get(&random).expect("entry");
        assert_eq!(
            c.master.as_ref().map(|m| m.as_bytes().to_vec()),
            Some(vec![0xaa; 48])
        );
        assert_eq!(
            c.client_handshake.as_ref().map(|m| m.as_bytes().len()),
            Some(32)
        );
        assert_eq!(
            c.server_traffic.as_ref().map(|m| m.as_bytes().len()),
            Some(48)
        );
        assert!(c.client_traffic.is_none());
        // Never shows key material.
        let dbg = format!("{k:?} {c:?} {:?}", c.master);
        assert!(!dbg.contains("aa") && !dbg.contains("170"), "{dbg}");
    }

    #[test]
    fn export_round_trips_and_secrets_blocks() {
        let text = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {R} {}\nSERVER_TRAFFIC_SECRET_0 {R} {}\n",
            "0a".repeat(32),
            "0b".repeat(48)
        );
        let k = KeyLog::from_bytes(text.as_bytes());
        let mut random = [0u8; 32];
        assert!(decode_hex(R.as_bytes(), &mut random));
        assert_eq!(
            String::from_utf8(k.export(&[random, [9; 32]])).expect("ascii"),
            text
        );
        let mut from_block = KeyLog::new();
        assert!(!from_block.add_secrets_block(0x5747_4b4c, text.as_bytes()));
        assert!(from_block.add_secrets_block(TLS_KEY_LOG_SECRETS_TYPE, text.as_bytes()));
        assert_eq!(from_block.get(&random), k.get(&random));
    }

    #[test]
    fn truncated_and_garbage_never_panic() {
        let line = format!("CLIENT_RANDOM {R} {}\n", "ab".repeat(48));
        for cut in 0..line.len() {
            let _ = KeyLog::from_bytes(&line.as_bytes()[..cut]);
        }
        let _ = KeyLog::from_bytes(&[0xff, 0x00, b'\n', b' ', 0x80]);
        let long = format!("CLIENT_RANDOM {R} {}", "ab".repeat(49));
        assert_eq!(KeyLog::from_bytes(long.as_bytes()).stats().bad_lines, 1);
    }

    #[test]
    fn merge_and_growing_file() {
        let dir = std::env::temp_dir().join(format!("wsd-keylog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let path = dir.join("keys.log");
        let line = format!("CLIENT_RANDOM {R} {}\n", "ab".repeat(48));
        let (a, b) = line.split_at(40);
        std::fs::write(&path, a).expect("write");
        let mut reader = KeyLogFile::new(&path);
        let mut keys = KeyLog::new();
        assert_eq!(
            KeyLogFile::new(dir.join("absent")).refresh(&mut keys).ok(),
            Some(0)
        );
        reader.refresh(&mut keys).expect("read");
        assert!(keys.is_empty(), "half a line is kept for later");
        std::fs::write(&path, format!("{a}{b}")).expect("write");
        reader.refresh(&mut keys).expect("read");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys.stats().secrets, 1);
        let mut other = KeyLog::new();
        other.merge(&keys);
        assert_eq!(other.len(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }
}
