//! What both token sources do around a leader's turn, written once: the loop that carries its
//! actions out, the policy for what a caller does after leading, and what the last handle
//! does before it goes.
//!
//! The blocking source runs [`lead`] on the caller's thread (or a thread of its own for a
//! refresh in the background); the async source runs the same [`lead`] on tokio's blocking
//! pool, with the HTTP future driven on a runtime of the turn's own. Either way a refresh that
//! has started runs to its end: a blocking pool task is never cancelled, and a runtime shutting
//! down waits for it.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use pinterest_oauth_core::AccessToken;
use pinterest_oauth_core::http::Request;
use pinterest_oauth_store::TokenStore;

use super::{Flight, Leader, Next, StepAction};
use crate::storage::Storage;
use crate::{Clock, Error, RequestBudget, SecretResponse, TransportError};

/// How many leader turns one call may take before it reports the failure at hand (a bound on
/// work per call; in practice one or two).
pub(crate) const MAX_TURNS: u32 = 8;

/// The leader's work: the turn's actions carried out against `storage` and `send`, to its end.
/// The store's lock is released before the turn ends (and its waiters are woken), however this
/// ends. Returns what the store failed with in this turn, if it did.
pub(crate) fn lead<S: TokenStore>(
    mut leader: Leader,
    storage: &Storage<S>,
    clock: &Clock,
    budget: &RequestBudget,
    mut send: impl FnMut(Request<Vec<u8>>) -> Result<SecretResponse, TransportError>,
) -> Option<Arc<Error>> {
    // From the send until the turn ends (its answer stored or kept), the request is in flight:
    // a program stopping on a signal waits for it. Dropped last.
    let mut flying = None;
    // Declared after `leader`, so dropped before it: the lock goes before the waiters wake.
    let _unlock = Unlock(storage);
    loop {
        match leader.poll(clock()) {
            StepAction::Lock { wait } => leader.handle_lock(clock(), storage.lock(wait)),
            StepAction::Load => leader.handle_load(clock(), storage.load()),
            StepAction::Confirm(attempt) => {
                leader.handle_confirm(clock(), storage.confirm(&attempt));
            }
            StepAction::Send(request) => {
                // Checked once, here, before anything is counted or sent.
                if let Err(refused) = pinterest_oauth_core::check_request_uri(request.uri()) {
                    leader.handle_response(clock(), Err(Error::Config(refused)));
                    continue;
                }
                flying.get_or_insert_with(crate::InFlight::enter);
                // Counted in the client's budget, which one-shot retries honour.
                budget.record(Instant::now());
                let answer = send(request).map_err(Error::Transport);
                leader.handle_response(clock(), answer);
            }
            StepAction::Save { document, critical } => {
                leader.handle_save(clock(), storage.save(&document, critical));
            }
            StepAction::KeepRaw(body) => leader.handle_keep_raw(storage.keep_raw(&body)),
            StepAction::Done => return leader.store_failure(),
        }
    }
}

/// Releases the store's lock when the leader is done, however it ends.
struct Unlock<'a, S: TokenStore>(&'a Storage<S>);

impl<S: TokenStore> Drop for Unlock<'_, S> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

/// What a caller does once its own turn as leader has ended.
#[derive(Debug)]
pub(crate) enum AfterLead {
    /// Ask the flight again.
    Again,
    /// Return this.
    Return(Result<AccessToken, Error>),
}

/// The one policy, for both flavours, after a caller led its `turns`-th turn: a store failure
/// in this turn (locked past its timeout, unreachable) is reported at once rather than waited
/// for again; after [`MAX_TURNS`] the failure at hand is reported.
pub(crate) fn after_lead(
    flight: &Arc<Flight>,
    turns: u32,
    store_failure: Option<Arc<Error>>,
    now: SystemTime,
) -> AfterLead {
    if let Some(failure) = store_failure {
        return AfterLead::Return(Err(Error::Refresh(failure)));
    }
    if turns < MAX_TURNS {
        return AfterLead::Again;
    }
    AfterLead::Return(match flight.next(now) {
        Next::Use(token) => Ok(token),
        Next::Fail(error) => Err(error),
        // A turn offered again is dropped unstarted (nothing happens); a wait is not waited.
        _ => Err(flight
            .last_error()
            .map_or_else(|| flight.failure(now), Error::Refresh)),
    })
}

/// The access-token loop, written once for both flavours: `$lead` runs a turn and yields its
/// store failure, `$background` starts one without waiting, `$wait` waits past a generation.
macro_rules! access_token_loop {
    ($shared:expr, lead = |$l:ident| $lead:expr, background = |$b:ident| $background:expr, wait = |$seen:ident| $wait:expr $(,)?) => {{
        let shared = $shared;
        let mut turns = 0;
        loop {
            match shared.flight.next((shared.clock)()) {
                $crate::single_flight::Next::Use(token) => return Ok(token),
                $crate::single_flight::Next::UseAndLead(token, $b) => {
                    $background;
                    return Ok(token);
                }
                $crate::single_flight::Next::Lead($l) => {
                    turns += 1;
                    let failure = $lead;
                    match $crate::single_flight::drive::after_lead(
                        &shared.flight,
                        turns,
                        failure,
                        (shared.clock)(),
                    ) {
                        $crate::single_flight::drive::AfterLead::Again => {}
                        $crate::single_flight::drive::AfterLead::Return(result) => return result,
                    }
                }
                $crate::single_flight::Next::Wait($seen) => $wait,
                $crate::single_flight::Next::Fail(error) => return Err(error),
            }
        }
    }};
}
pub(crate) use access_token_loop;

/// What the last handle on a source must still see done before it goes: a turn in flight
/// ended, and a new set that waits in memory for its save given one more try at once (a
/// program that returns from `main` must not take the only valid refresh token with it).
#[cfg(feature = "blocking")]
pub(crate) fn must_settle(flight: &Flight) -> bool {
    flight.is_working() || flight.holds_unsaved()
}
