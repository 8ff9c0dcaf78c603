//! Fuzz target: see [`wsdissect_fuzz::inflate`].
fn main() {
    afl::fuzz!(|data: &[u8]| {
        wsdissect_fuzz::inflate(data);
    });
}
