//! The rebuilt seed-000 capture (samples/seed000.pcap) against the packet list printed in
//! the seed document (lines 89-110, copied verbatim into tests/data/).

use crate::util::*;

/// The seed's lines. Its Wireshark predates 3.4, which printed the SACK-permitted option as
/// `SACK_PERM=1`; Wireshark 3.4 and later (and tshark 4.0 here) print `SACK_PERM`.
fn seed_lines() -> Vec<String> {
    std::fs::read_to_string(root().join("tests/data/seed000-lines-89-110.txt"))
        .unwrap()
        .lines()
        .map(|l| l.replace("SACK_PERM=1", "SACK_PERM"))
        .collect()
}

fn packet_list(extra: &[&str]) -> Vec<String> {
    packet_lines(&sample("seed000.pcap"), extra)
        .into_iter()
        .skip(88)
        .collect()
}

#[test]
fn wireshark_compat_output_is_the_seed_packet_list() {
    let seed = seed_lines();
    let ours = packet_list(&["--wireshark-compat"]);
    assert_eq!(ours.len(), seed.len());
    for (o, s) in ours.iter().zip(&seed) {
        assert_eq!(o, s);
    }
}

/// The default output is the seed's lines with wsdissect's annotations appended: the accept
/// verdict on the 101 (the generator computed a correct accept for the key) and the close
/// code on the close frames (the generator wrote 1000 in both).
#[test]
fn default_output_appends_only_annotations() {
    let seed = seed_lines();
    let ours = packet_list(&[]);
    assert_eq!(ours.len(), seed.len());
    for (o, s) in ours.iter().zip(&seed) {
        let number: u32 = s.split('\t').next().unwrap().parse().unwrap();
        let extra = o
            .strip_prefix(s.as_str())
            .unwrap_or_else(|| panic!("packet {number}: {o:?} does not start with {s:?}"));
        let expected = match number {
            95 => "[accept OK]",
            101 => "(1000 Normal Closure)",
            103 => " (1000 Normal Closure)",
            _ => "",
        };
        assert_eq!(extra, expected, "packet {number}");
    }
}
