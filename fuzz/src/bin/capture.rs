//! Fuzz target: see [`wsdissect_fuzz::capture`].
fn main() {
    afl::fuzz!(|data: &[u8]| {
        wsdissect_fuzz::capture(data);
    });
}
