//! `cargo fuzz run shell`: see fuzz/README.md for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dfrewrite_fuzz::properties::shell(data));
