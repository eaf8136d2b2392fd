//! The `form_submission` check (fuzz/checks/form_submission.rs) under libFuzzer.
#![no_main]

#[path = "../checks/form_submission.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
