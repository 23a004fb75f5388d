//! Feeds arbitrary bytes to the bundle reader and the BEAM parser: neither may panic, and whatever
//! `packbeam::read` accepts must survive `write` → `read` unchanged.
//! Run with `cargo +nightly fuzz run fuzz_read` from daemon/fuzz (seed corpus: any .avm files).

#![no_main]

use avmd_engine::{beam, packbeam};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sections) = packbeam::read(data) {
        let again = packbeam::read(&packbeam::write(&sections)).expect("re-reading our own output");
        assert_eq!(again, sections);
    }
    if let Ok(b) = beam::parse(data) {
        let _ = beam::imports(&b);
        let _ = beam::exports_start0(&b);
    }
    let _ = beam::strip_for_device(data, &beam::StripOptions { strip_lines: true });
});
