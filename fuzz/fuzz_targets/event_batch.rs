//! The `event_batch` check (fuzz/checks/event_batch.rs) under libFuzzer.
#![no_main]

#[path = "../checks/event_batch.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
