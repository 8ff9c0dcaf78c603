//! Fuzz target: see [`wsdissect_fuzz::extensions`].
fn main() {
    afl::fuzz!(|data: &[u8]| {
        wsdissect_fuzz::extensions(data);
    });
}
