#![no_main]
// Placeholder until the protocol owner writes this target.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
