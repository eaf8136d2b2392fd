//! The `policy` check (fuzz/checks/policy.rs) under libFuzzer.
#![no_main]

#[path = "../checks/policy.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
