//! What one step of a benchmark writes: the bytes the process hands to `write` (Linux:
//! `wchar` of `/proc/self/io`), SQLite's log, checkpoints and temporary files included.

/// Bytes written by the process so far (0 where the kernel does not say); a step's figure is
/// the difference across it.
pub fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|line| line.strip_prefix("wchar:"))
                .and_then(|bytes| bytes.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn writing_a_file_counts_its_bytes() {
        let before = written_bytes();
        let path = std::env::temp_dir().join(format!("leadgate-disk-{}", std::process::id()));
        let mut file = std::fs::File::create(&path).expect("a temporary file");
        file.write_all(&vec![7u8; 1 << 20]).expect("written");
        drop(file);
        let _ = std::fs::remove_file(&path);
        assert!(written_bytes() >= before + (1 << 20));
    }
}
