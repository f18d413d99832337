//! Token requests in flight in this process: sent, their answer not yet stored (or kept
//! aside). A program stopping on a signal waits for them: the answer may carry the only valid
//! refresh token.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

static COUNT: Mutex<usize> = Mutex::new(0);
static SETTLED: Condvar = Condvar::new();

/// Marks a token request in flight until dropped: from just before it is sent until its answer
/// is stored or kept (or known lost). The token sources and the login hold one; a flow of your
/// own that spends a code or a refresh token can too, so that [`wait_for_refreshes`] waits for
/// it.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_transport::{InFlight, refreshes_in_flight};
///
/// let flying = InFlight::enter();
/// assert!(refreshes_in_flight() >= 1);
/// drop(flying);
/// ```
#[derive(Debug)]
#[must_use = "the request counts as in flight only while this is held"]
pub struct InFlight(());

impl InFlight {
    /// Marks one more request in flight.
    pub fn enter() -> InFlight {
        *COUNT.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut count = COUNT.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count.saturating_sub(1);
        if *count == 0 {
            SETTLED.notify_all();
        }
    }
}

/// How many token requests are in flight in this process now.
pub fn refreshes_in_flight() -> usize {
    *COUNT.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until no token request is in flight in this process, at most `timeout`; `true` when
/// none is. Call it before ending a program on a signal (`SIGTERM`, `SIGINT`), as the
/// `pinterest-oauth` command does.
pub fn wait_for_refreshes(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut count = COUNT.lock().unwrap_or_else(PoisonError::into_inner);
    while *count > 0 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return false;
        };
        count = SETTLED
            .wait_timeout(count, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    true
}

/// Ends the process with `code` once no token request is in flight in it (waiting at most
/// `timeout`), and lets none start in between: the count is held from the moment it is zero
/// until the process is gone, so a request about to be sent waits instead, and is never sent.
/// What a signal handler calls: [`wait_for_refreshes`] followed by `exit` leaves a window in
/// which another thread may send a request whose answer nobody stores.
///
/// After `timeout` the process ends even with a request in flight (its answer is then lost:
/// give it at least the attempt deadline).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// // In the thread that receives SIGTERM:
/// pinterest_oauth_transport::exit_once_settled(128 + 15, Duration::from_secs(75));
/// ```
pub fn exit_once_settled(code: i32, timeout: Duration) -> ! {
    let deadline = Instant::now() + timeout;
    let mut count = COUNT.lock().unwrap_or_else(PoisonError::into_inner);
    while *count > 0 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        count = SETTLED
            .wait_timeout(count, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    // `count` stays locked: `InFlight::enter` blocks until the process has ended.
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &str = "PINTEREST_OAUTH_EXIT_ONCE_SETTLED_CHILD";

    /// Runs in a child process (this test binary, started again): a request in flight while
    /// another thread asks to exit. The answer is "stored" (a file written) before the count
    /// drops; the exit comes after that, with the code asked for.
    #[test]
    fn exit_once_settled_waits_for_the_request_in_flight_then_exits_with_the_code() {
        if let Some(dir) = std::env::var_os(CHILD) {
            let stored = std::path::Path::new(&dir).join("stored");
            let flying = InFlight::enter();
            std::thread::spawn(|| exit_once_settled(7, Duration::from_secs(60)));
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(&stored, b"answer").unwrap();
            drop(flying);
            // Nothing else ends this process: only the exit asked for does.
            for _ in 0..600 {
                std::thread::sleep(Duration::from_millis(100));
            }
            std::process::exit(0);
        }
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "in_flight::tests::exit_once_settled_waits_for_the_request_in_flight_then_exits_with_the_code",
                "--nocapture",
            ])
            .env(CHILD, dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the child never exited");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(7));
        assert!(
            dir.path().join("stored").exists(),
            "the exit waited for the answer to be stored"
        );
    }
}
