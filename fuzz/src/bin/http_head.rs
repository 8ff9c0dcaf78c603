//! Fuzz target: see [`wsdissect_fuzz::http_head`].
fn main() {
    afl::fuzz!(|data: &[u8]| {
        wsdissect_fuzz::http_head(data);
    });
}
