//! Fuzz target: see [`wsdissect_fuzz::frame_decoder`].
fn main() {
    afl::fuzz!(|data: &[u8]| {
        wsdissect_fuzz::frame_decoder(data);
    });
}
