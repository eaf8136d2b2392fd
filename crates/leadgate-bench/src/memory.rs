//! The process's peak resident memory over one step of a benchmark (Linux: `VmHWM`, reset
//! through `/proc/self/clear_refs`), reported beside the step's time.

/// Starts a step: the peak so far is forgotten (it becomes what is resident now).
pub fn reset_peak() {
    // Where the kernel refuses (not Linux, or no permission), the peak is the process's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident memory since `reset_peak`, in MiB (0 where the kernel does not say).
pub fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_larger_allocation_raises_the_peak_and_a_reset_lowers_it() {
        reset_peak();
        let before = peak_mib();
        assert!(before > 0.0);
        let big = vec![1u8; 256 << 20];
        assert!(
            peak_mib() >= before + 200.0,
            "{} then {}",
            before,
            peak_mib()
        );
        drop(big);
        reset_peak();
        assert!(peak_mib() < before + 100.0);
    }
}
