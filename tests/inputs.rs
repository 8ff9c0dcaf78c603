//! Inputs: compressed captures (made by the real gzip, zstd and lz4 tools, see
//! tests/data/README.md) read like the uncompressed file, degenerate files, and the TLS key
//! log of a pcapng Decryption Secrets Block (made by editcap).

use crate::util::*;
use std::path::{Path, PathBuf};
use wsdissect::capture::{CaptureError, FileSource, Input, PacketSource, Timestamp};

fn data(name: &str) -> PathBuf {
    root().join("tests/data").join(name)
}

/// What a source yields: every packet, then the error if any, then the secrets.
#[derive(Debug, PartialEq)]
struct Read {
    packets: Vec<(Timestamp, u32, Vec<u8>, u32)>,
    error: Option<String>,
    secrets: Vec<u8>,
}

fn read_source(source: &mut dyn PacketSource) -> Read {
    let mut out = Read {
        packets: Vec::new(),
        error: None,
        secrets: Vec::new(),
    };
    loop {
        let next = match source.next_packet() {
            Ok(Some(p)) => Some((p.timestamp, p.link_type.0, p.data.to_vec(), p.original_len)),
            Ok(None) => None,
            Err(e) => {
                out.error = Some(e.to_string());
                None
            }
        };
        if let Some(s) = source.take_secrets() {
            out.secrets.extend(s);
        }
        match next {
            Some(p) => out.packets.push(p),
            None => return out,
        }
    }
}

/// The file read through the capture layer's opening path (detection, read-ahead).
fn read_path(path: &Path) -> Read {
    let mut source = Input::open(path)
        .and_then(Input::into_source)
        .expect("opens");
    read_source(source.as_mut())
}

/// The reference: the uncompressed file read by the plain parser, no detection at all.
fn read_plain(path: &Path) -> Read {
    let bytes = std::fs::read(path).expect("readable");
    let mut source = FileSource::new(&bytes[..]).expect("a capture");
    read_source(&mut source)
}

/// `got == want`, saying how they differ without printing every byte.
fn same(got: &Read, want: &Read, name: &str) {
    let first_difference = got
        .packets
        .iter()
        .zip(&want.packets)
        .position(|(g, w)| g != w);
    assert!(
        got == want,
        "{name}: {} packets (error {:?}) instead of {}; first different: {first_difference:?}",
        got.packets.len(),
        got.error,
        want.packets.len()
    );
}

const COMPRESSED_BASIC: [&str; 6] = [
    "basic.pcap.gz",
    "basic.pcap.zst",
    "basic.pcap.lz4",
    "basic-2members.pcap.gz",
    "basic-2frames.pcap.zst",
    "basic-2frames.pcap.lz4",
];

#[test]
fn compressed_captures_give_the_packets_of_the_uncompressed_file() {
    let want = read_plain(&sample("basic.pcap"));
    assert!(want.packets.len() > 20 && want.error.is_none());
    for name in COMPRESSED_BASIC {
        same(&read_path(&data(name)), &want, name);
    }
    let want = read_plain(&sample("basic.pcapng"));
    same(
        &read_path(&data("basic.pcapng.gz")),
        &want,
        "basic.pcapng.gz",
    );
}

#[test]
fn compressed_captures_read_the_same_from_the_command_line_and_stdin() {
    let plain = run(&["read", sample("basic.pcap").to_str().unwrap()], None);
    assert_eq!(plain.status.code(), Some(0));
    for name in COMPRESSED_BASIC {
        let path = data(name);
        let out = run(&["read", path.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(0), "{name}");
        assert!(out.stdout == plain.stdout, "{name}");
        assert!(out.stderr.is_empty(), "{name}");
        let bytes = std::fs::read(&path).unwrap();
        let out = run(&["read", "-"], Some(&bytes));
        assert!(out.stdout == plain.stdout, "{name} on stdin");
    }
}

#[test]
fn a_cut_compressed_capture_keeps_the_packets_before_the_cut() {
    let want = read_plain(&sample("basic.pcap"));
    // Cut inside the second member or frame, so that the first one's packets decode.
    for name in [
        "basic-2members.pcap.gz",
        "basic-2frames.pcap.zst",
        "basic-2frames.pcap.lz4",
    ] {
        let bytes = std::fs::read(data(name)).unwrap();
        let cut = &bytes[..bytes.len() * 3 / 4];
        let mut source = Input::from_reader(std::io::Cursor::new(cut.to_vec()), None)
            .into_source()
            .expect("header decodes");
        let got = read_source(source.as_mut());
        assert!(!got.packets.is_empty(), "{name}");
        assert!(got.packets.len() < want.packets.len(), "{name}");
        assert!(
            got.packets[..] == want.packets[..got.packets.len()],
            "{name}"
        );
        let error = got.error.expect("the cut is reported");
        assert!(error.starts_with("capture cut off"), "{name}: {error}");
        assert!(
            error.contains(&format!("packet {}", got.packets.len() + 1))
                || error.contains(&format!("after packet {}", got.packets.len())),
            "{name}: {error}"
        );

        // The command line names the file and the packets kept.
        let path = write_temp(&format!("cut-{name}"), cut);
        let out = run(&["read", path.to_str().unwrap()], None);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {err}");
        assert!(err.contains(path.to_str().unwrap()), "{err}");
        assert!(err.contains("capture cut off"), "{err}");
    }
}

#[test]
fn corrupt_compressed_data_is_reported_with_its_packet() {
    // A flipped byte inside the compressed data: the decoders notice it (a bad block, or
    // the content checksum that gzip, zstd and lz4 CLIs write at the end of each member or
    // frame, checked once the frame is over, so after its packets were handed on).
    // Corruption may also decode to bytes that the capture parser rejects first.
    for name in ["basic.pcap.zst", "basic.pcap.lz4", "basic.pcap.gz"] {
        let mut bytes = std::fs::read(data(name)).unwrap();
        let at = bytes.len() * 2 / 3;
        bytes[at] ^= 0x55;
        let got = match Input::from_reader(std::io::Cursor::new(bytes), None).into_source() {
            Ok(mut source) => read_source(source.as_mut()),
            Err(e) => Read {
                packets: Vec::new(),
                error: Some(e.to_string()),
                secrets: Vec::new(),
            },
        };
        let error = got.error.expect("the corruption is reported");
        assert!(
            error.starts_with("capture cut off") || error.contains("malformed"),
            "{name}: {error}"
        );
        if error.starts_with("capture cut off") {
            let compression = name
                .rsplit('.')
                .next()
                .unwrap()
                .replace("zst", "zstd")
                .replace("gz", "gzip");
            assert!(
                error.contains(&format!("{compression} data")),
                "{name}: {error}"
            );
        }
    }
}

#[test]
fn degenerate_files_have_their_own_messages() {
    let empty = write_temp("empty.pcap", b"");
    let out = run(&["read", empty.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("empty file, not a capture"), "{err}");

    // The first 10 bytes of a little-endian microsecond pcap header.
    let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    header.extend([0u8; 8]);
    header.extend(262_144u32.to_le_bytes());
    header.extend(1u32.to_le_bytes());
    let cut = write_temp("ten-bytes.pcap", &header[..10]);
    let out = run(&["read", cut.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cut off in the file header"), "{err}");
    assert!(!err.contains("packet 1"), "{err}");

    // The whole header and no packet: no error; zero packets, for the app to say so.
    let mut source = Input::from_reader(std::io::Cursor::new(header), None)
        .into_source()
        .expect("a valid header");
    let got = read_source(source.as_mut());
    assert!(got.packets.is_empty() && got.error.is_none());

    let mut source = Input::from_reader(std::io::Cursor::new(Vec::new()), None);
    assert_eq!(source.size(), None);
    source = source.on_bytes(|_| {});
    assert!(matches!(source.into_source(), Err(CaptureError::Empty)));
}

#[test]
fn secrets_of_a_pcapng_come_out_as_the_key_log_that_editcap_injected() {
    let keys = std::fs::read(data("dummy-keys.log")).unwrap();
    let got = read_path(&data("basic-with-secrets.pcapng"));
    assert_eq!(got.secrets, keys);
    // The packets are those of the capture editcap read, and no secret is among them.
    let plain = read_plain(&sample("basic.pcap"));
    assert_eq!(got.packets, plain.packets);
    assert!(got.error.is_none());
    // Never printed.
    for args in [
        &["read"][..],
        &["read", "-V"],
        &["read", "--format", "jsonl"],
        &["check"],
    ] {
        let path = data("basic-with-secrets.pcapng");
        let mut argv = args.to_vec();
        argv.insert(1, path.to_str().unwrap());
        let out = run(&argv, None);
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains("CLIENT_RANDOM"), "{args:?}");
            assert!(!text.contains("abababab"), "{args:?}");
        }
    }
}
