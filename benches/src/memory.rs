//! Peak memory from `/proc/self/status` (Linux): `VmHWM` is the resident set's high
//! water mark, `VmRSS` the current resident set.

/// A `kB` field of `/proc/self/status`, in bytes (`None` off Linux).
pub fn status_field_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kilobytes: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kilobytes * 1024)
    })
}

/// The process's peak resident set so far, in bytes.
pub fn peak_resident_bytes() -> Option<u64> {
    status_field_bytes("VmHWM")
}

/// The process's resident set now, in bytes.
pub fn resident_bytes() -> Option<u64> {
    status_field_bytes("VmRSS")
}

/// Bytes as MiB with one decimal.
pub fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
