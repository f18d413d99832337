//! What one token source shares between its callers, as plain data with no lock: the core's
//! lifecycle, whether a leader is at work, the last failure, the generation waiters watch.
//! [`Flight`](super::Flight) holds it behind a mutex; the simulation holds it directly.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{
    AccessToken, ClientConfig, Status, Token, TokenDocument, TokenLifecycle,
};

use super::leader::LeaderTurn;
use crate::Error;

/// How often a token source that needs consent (or is stopped) re-reads its store, to pick up
/// a new login or a fixed configuration another process saved.
pub(crate) const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The outcome of an election ([`FlightState::elect`]).
#[derive(Debug)]
pub(crate) enum Election {
    /// Use this token.
    Use(AccessToken),
    /// Use this token; lead this turn without making the caller wait.
    UseAndLead(AccessToken, LeaderTurn),
    /// No valid token: lead this turn, then ask again.
    Lead(LeaderTurn),
    /// A leader is at work: wait until the generation passes this one, then ask again.
    Wait(u64),
    /// No valid token, and nothing can be done now.
    Fail(Error),
}

/// The shared state of one token source.
#[derive(Debug)]
pub(crate) struct FlightState {
    pub(crate) lifecycle: TokenLifecycle,
    pub(crate) config: Arc<ClientConfig>,
    working: bool,
    pub(crate) last_error: Option<Arc<Error>>,
    generation: u64,
    reload_at: Option<SystemTime>,
    entropy: u64,
    saved_sets: u64,
}

impl FlightState {
    /// The state of a source over `lifecycle`, whose requests are built with `config`;
    /// `seed` starts the backoff jitter.
    pub(crate) fn new(lifecycle: TokenLifecycle, config: Arc<ClientConfig>, seed: u64) -> Self {
        FlightState {
            lifecycle,
            config,
            working: false,
            last_error: None,
            generation: 0,
            reload_at: None,
            entropy: seed,
            saved_sets: 0,
        }
    }

    /// A fresh random-looking `u64` for backoff jitter (splitmix64 over the seeded state).
    pub(crate) fn entropy(&mut self) -> u64 {
        self.entropy = self.entropy.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.entropy;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The token the hot path may hand out without electing, and until when: the current token
    /// while it is usable and nothing is due (`None`: every caller takes the slow path).
    pub(crate) fn snapshot(&self) -> Option<(AccessToken, SystemTime)> {
        let lifecycle = &self.lifecycle;
        // While a stop holds (this process may have seen its grant refused while another
        // process stored a newer set), the slow path must run when the store is next to be
        // re-read: the snapshot lasts until then (or not at all, before that time is set).
        let reload = match (lifecycle.state().stop(), self.reload_at) {
            (None, _) => None,
            (Some(_), Some(at)) => Some(at),
            (Some(_), None) => return None,
        };
        let token = lifecycle.token()?;
        let access = token.access_token()?.clone();
        let mut until = token.expires_at();
        if let Some(due) = lifecycle.poll_timeout() {
            until = until.min(due);
        }
        if let Some(at) = reload {
            until = until.min(at);
        }
        Some((access, until))
    }

    /// What a caller asking at `now` should do. Elects at most one leader at a time.
    pub(crate) fn elect(&mut self, now: SystemTime) -> Election {
        let valid = self.lifecycle.access_token(now).cloned();
        let status = self.lifecycle.status(now);
        let work_due = self.lifecycle.poll_timeout().is_some_and(|at| at <= now);
        // Without a way forward, re-read the store now and then: a login, a fixed configuration
        // or another process's fresh set may have been saved (while another process refreshes,
        // its provisional record of the attempt says to wait; the set it saves says otherwise).
        let stuck = match status {
            Status::ConsentNeeded | Status::Stopped { .. } => true,
            Status::Waiting { .. } => valid.is_none(),
            _ => false,
        };
        let reload_due = self.reload_at.map_or(stuck, |at| at <= now);
        if !self.working && (work_due || reload_due) {
            self.working = true;
            if reload_due {
                self.reload_at = if stuck {
                    now.checked_add(RELOAD_INTERVAL)
                } else {
                    None
                };
            }
            // A forced refresh waits for another holder's lock (the user asked for a new set);
            // otherwise a holder of a valid token never waits for someone else's refresh.
            let forced = self.lifecycle.refresh_forced();
            let turn = LeaderTurn::new(valid.is_some() && !forced, now);
            return match valid {
                Some(token) => Election::UseAndLead(token, turn),
                None => Election::Lead(turn),
            };
        }
        if let Some(token) = valid {
            return Election::Use(token);
        }
        if self.working {
            return Election::Wait(self.generation);
        }
        Election::Fail(self.failure(now, self.last_error.clone()))
    }

    /// Ends a leader's turn: the flag is cleared and the generation bumped (waiters watch it).
    ///
    /// After a store failure (a lock held past its timeout, an unreachable store), callers
    /// without a token are told at once for a while, rather than each leading a new turn that
    /// waits for the store again.
    pub(crate) fn finish(&mut self, now: SystemTime, store_failed: bool) {
        self.working = false;
        if store_failed {
            self.reload_at = now.checked_add(RELOAD_INTERVAL);
        }
        self.generation = self.generation.wrapping_add(1);
    }

    /// The current generation (bumped each time a leader's turn ends).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// `true` while a leader is at work.
    pub(crate) fn is_working(&self) -> bool {
        self.working
    }

    /// A turn that saves, at once, a new set still waiting in memory for its save (its retry
    /// brought forward), unless a leader is at work or nothing waits: the last try a source
    /// makes before the program lets go of it. The turn waits for the store's lock.
    pub(crate) fn flush(&mut self, now: SystemTime) -> Option<LeaderTurn> {
        if self.working || !self.holds_unsaved() {
            return None;
        }
        self.lifecycle.retry_save_now(now);
        if self.lifecycle.poll_timeout().is_none_or(|at| at > now) {
            return None;
        }
        self.working = true;
        Some(LeaderTurn::new(false, now))
    }

    /// `true` while a new set waits in memory for its save (it must not be lost).
    pub(crate) fn holds_unsaved(&self) -> bool {
        self.lifecycle.unsaved().is_some()
    }

    /// Makes a refresh due now because the user asked.
    pub(crate) fn force_refresh(&mut self) {
        self.lifecycle.force_refresh();
        self.last_error = None;
        self.reload_at = None;
    }

    /// Makes the next caller re-read the store.
    pub(crate) fn reload(&mut self, now: SystemTime) {
        self.reload_at = Some(now);
    }

    /// Adopts a document unless a leader is at work or it is older than the current set.
    pub(crate) fn adopt(&mut self, now: SystemTime, document: TokenDocument) -> bool {
        if self.working {
            return false;
        }
        let adopted = self.lifecycle.handle_loaded(now, document);
        if adopted {
            self.last_error = None;
        }
        adopted
    }

    /// The lifecycle's status at `now`; a due refresh a leader has taken on counts as
    /// refreshing.
    pub(crate) fn status(&self, now: SystemTime) -> Status {
        match self.lifecycle.status(now) {
            Status::Due if self.working => Status::Refreshing,
            status => status,
        }
    }

    /// How many new sets this source has stored so far (see [`settled`](Self::settled)).
    pub(crate) fn saved_sets(&self) -> u64 {
        self.saved_sets
    }

    /// Counts a new set stored by a leader.
    pub(crate) fn note_saved_set(&mut self) {
        self.saved_sets = self.saved_sets.wrapping_add(1);
    }

    /// After a forced refresh has run (nothing in flight): the new set, or why there is none.
    /// `before` is the set and the [`saved_sets`](Self::saved_sets) count when it was asked
    /// for: a set stored since is the answer, even when Pinterest repeated the stored pair.
    pub(crate) fn settled(
        &self,
        now: SystemTime,
        before: (Option<&Token>, u64),
    ) -> Result<Token, Error> {
        let current = self.lifecycle.token();
        let stored_since = self.saved_sets != before.1;
        match (current, &self.last_error) {
            (Some(token), None) if Some(token) != before.0 || stored_since => Ok(token.clone()),
            (_, Some(cause)) if self.lifecycle.status(now) == Status::ConsentNeeded => {
                Err(Error::ConsentNeeded {
                    cause: Some(cause.clone()),
                    stop: self.lifecycle.state().stop().copied(),
                })
            }
            (_, Some(cause)) => Err(Error::Refresh(cause.clone())),
            _ => Err(self.failure(now, None)),
        }
    }

    /// Why there is no token now, as an error callers can act on.
    pub(crate) fn failure(&self, now: SystemTime, cause: Option<Arc<Error>>) -> Error {
        let lifecycle = &self.lifecycle;
        // A still-valid stored token is never reported as missing.
        let valid_until = lifecycle
            .access_token(now)
            .and(lifecycle.token())
            .map(Token::expires_at);
        match lifecycle.status(now) {
            Status::ConsentNeeded => Error::ConsentNeeded {
                cause,
                stop: lifecycle.state().stop().copied(),
            },
            Status::Stopped { .. } => match lifecycle.state().stop() {
                Some(stop) => Error::Stopped { stop: *stop, cause },
                None => Error::ConsentNeeded { cause, stop: None },
            },
            Status::Waiting { until, why } => Error::Waiting {
                until,
                why,
                valid_until,
                cause,
            },
            _ => match (lifecycle.poll_timeout(), cause) {
                (Some(until), cause) => Error::Waiting {
                    // Due already (the turn could not run): not before now.
                    until: until.max(now),
                    why: lifecycle.state().wait(),
                    valid_until,
                    cause,
                },
                (None, Some(cause)) => Error::Refresh(cause),
                (None, None) => Error::ConsentNeeded {
                    cause: None,
                    stop: None,
                },
            },
        }
    }
}
