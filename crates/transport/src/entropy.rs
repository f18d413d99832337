//! Randomness for jitter and states, from the OS.

/// A random `u64` from the OS; the clock's nanoseconds if the OS has none to give.
#[cfg(any(feature = "blocking", feature = "tokio"))]
pub(crate) fn seed() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    })
}

/// `n` random bytes from the OS, for a `state` or a PKCE verifier; an error when the OS has
/// none (never a weaker fallback).
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}
