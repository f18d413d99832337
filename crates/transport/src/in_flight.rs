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
