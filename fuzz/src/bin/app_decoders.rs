//! Fuzz target: see [`wsdissect_fuzz::app_decoders`].
fn main() {
    afl::fuzz!(|data: &[u8]| {
        wsdissect_fuzz::app_decoders(data);
    });
}
