//! Fuzz target: see [`wsdissect_fuzz::pipeline`].
fn main() {
    afl::fuzz!(|data: &[u8]| {
        wsdissect_fuzz::pipeline(data);
    });
}
