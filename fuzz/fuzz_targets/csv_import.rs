//! The `csv_import` check (fuzz/checks/csv_import.rs) under libFuzzer.
#![no_main]

#[path = "../checks/csv_import.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
