//! The token lifecycle as a sans-IO state machine: when to refresh, what to persist, how long
//! to wait, when to stop and ask for consent.

use std::time::{Duration, SystemTime};

use crate::config::ClientConfig;
use crate::document::TokenDocument;
use crate::grant::{ClientCredentialsGrant, Grant};
use crate::secret::AccessToken;
use crate::token::Token;

mod config;
mod state;

pub use config::LifecycleConfig;
pub use state::Failure;

use crate::document::{RefreshState, Stop, StopReason, Wait};

/// What the caller must do next (from [`TokenLifecycle::poll`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "an action must be carried out and its outcome fed back"]
// Handed out by value once per step and moved out at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Send this grant with [`token_request`](crate::token_request); feed the outcome to
    /// [`TokenLifecycle::handle_token`] or [`TokenLifecycle::handle_failure`].
    Send(Grant),
    /// Persist this document durably; then call [`TokenLifecycle::confirm_persisted`] (or
    /// [`TokenLifecycle::persist_failed`]). A new token set in it is handed out only once
    /// confirmed; a document that only records a failure is best effort.
    Persist(TokenDocument),
}

/// Where the lifecycle stands (from [`TokenLifecycle::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// A usable token is held and nothing is due.
    Fresh,
    /// A refresh (or a first client-credentials request) is due: the next poll sends it.
    Due,
    /// A request is in flight.
    Refreshing,
    /// A new document awaits persistence (a new token set in it is not handed out yet).
    Persisting,
    /// A refresh is due, but no automatic request is allowed before `until`.
    Waiting {
        /// When the next request may start.
        until: SystemTime,
        /// Why it waits.
        why: Wait,
    },
    /// A failure retrying cannot mend: no automatic request until the app's configuration
    /// changes or the user forces a refresh.
    Stopped {
        /// Why.
        reason: StopReason,
    },
    /// The grant is invalid, or there is no token to refresh: the user must consent again.
    ConsentNeeded,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// The attempt is being recorded before the send.
    Recording,
    /// Recorded: the next poll sends.
    Ready,
    Sending,
    Persisting {
        announced: bool,
    },
    PersistRetry {
        at: SystemTime,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// A user's tokens: refreshed with the refresh token.
    User,
    /// An app token: asked for again with client credentials.
    ClientCredentials(ClientCredentialsGrant),
}

/// Who asked for a refresh before it was due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Force {
    None,
    /// The API refused the access token: refresh, within the request budget.
    Requested,
    /// The user asked: refresh now, past the budget, backoff and permanent stops (not past a
    /// server's rate limit, nor an invalid grant).
    User,
}

/// A document waiting to be persisted; `critical` when it holds a new token set.
#[derive(Clone, Debug)]
struct Pending {
    document: TokenDocument,
    critical: bool,
}

/// The token lifecycle, without IO: it holds the current token set and tells the caller what
/// to do at `now`.
///
/// It refreshes before expiry by a margin, keeps handing out a still-valid access token while
/// refreshes fail, and hands out a new token set only after the caller confirms it was
/// persisted (Pinterest rotates the refresh token on every refresh: losing the new one means
/// asking the user again). For client credentials it simply asks again.
///
/// # The request budget: never a storm
///
/// No sequence of answers can make it send requests in a loop:
///
/// * after a success, no automatic request for
///   [`min_refresh_interval`](LifecycleConfig::min_refresh_interval) (60 s by default), even
///   when the new token is already expired or due (it is still persisted: its refresh token
///   may be the only valid one; callers get no token meanwhile, and
///   [`status`](Self::status) says [`Status::Waiting`] until when);
/// * after a failure, exponential backoff with jitter, never shorter than what Pinterest asked
///   (`Retry-After`, `X-RateLimit-Reset`, capped at a day); the backoff grows until a success
///   brings a token still valid past the budget's interval, so a server alternating errors
///   with useless tokens is backed off too;
/// * after a failure retrying cannot mend ([`Failure`] says which), no automatic request at all:
///   [`Status::ConsentNeeded`] for an invalid grant, [`Status::Stopped`] otherwise, until the
///   app's configuration changes ([`with_client`](Self::with_client)) or the user forces a
///   refresh;
/// * the refresh token's expiry is chased (refreshing early to renew it) only while refreshes
///   renew it; when they stop doing so, [`refresh_token_lapses_at`](Self::refresh_token_lapses_at)
///   warns that the user must log in again;
/// * a wait still running is never shortened by a later failure, and Pinterest's own wait
///   (`Retry-After`, a 429) holds even for a refresh the user forces;
/// * whatever the answers, failures and callers, never more than
///   [`burst`](LifecycleConfig::burst) requests in any window of
///   `burst × min_refresh_interval` (5 in 5 minutes by default): at most one a minute on
///   average, however a server misbehaves.
///
/// Deadlines, stops and renewal live in the [`RefreshState`] persisted with every document, so
/// every process sharing the grant honours them.
///
/// # Reserve before spend
///
/// Before a refresh token is spent, the attempt is recorded: [`Action::Persist`] of the current
/// set with the request counted and a provisional backoff, as if it were to fail. Only once
/// that is confirmed does [`poll`](Self::poll) hand out the [`Action::Send`]; when it cannot be
/// stored, nothing is sent. So a store that cannot be written never costs the grant, and a
/// process killed mid-request (a script's `timeout`, a crash loop) leaves a record that the
/// next process honours instead of sending again at once.
///
/// # Call order
///
/// 1. Call [`poll`](Self::poll) until it returns `None`, carrying out each [`Action`] (a
///    refresh is a `Persist` recording the attempt, then the `Send`, then a `Persist` of the
///    outcome):
///    * [`Action::Send`]: send the grant, then [`handle_token`](Self::handle_token) or
///      [`handle_failure`](Self::handle_failure);
///    * [`Action::Persist`]: store the document, then
///      [`confirm_persisted`](Self::confirm_persisted) or
///      [`persist_failed`](Self::persist_failed).
/// 2. [`access_token`](Self::access_token) gives the token to use now, if there is one; when
///    there is none, [`status`](Self::status) says why.
/// 3. [`poll_timeout`](Self::poll_timeout) says when to poll again.
/// 4. [`handle_loaded`](Self::handle_loaded) adopts a document read from storage (at start, or
///    when another process may have refreshed), whenever nothing is in flight.
///
/// A `handle_*` or `confirm_*` call when nothing awaits it changes nothing (the fuzz target
/// `lifecycle` calls them in every order).
///
/// ```text
///         poll: Persist (attempt)   confirm   poll: Send    handle_token   poll: Persist
///   Idle ─────────────────▶ Recording ──▶ Ready ──────▶ Sending ────────▶ Persisting ──┐
///    ▲ ▲  persist_failed:        │                          │ handle_failure  │ failed  │
///    │ └──── nothing sent ◀──────┘    Persisting (record) ◀─┘    PersistRetry ◀┘         │
///    │                                  │ (best effort)              │ poll: Persist     │
///    └────────────────────── confirm_persisted ◀────────────────────────────────────────┘
/// ```
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_token_response, http, Action, LifecycleConfig,
///     TokenLifecycle};
/// use std::time::{Duration, SystemTime};
///
/// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let body = |access: &str, refresh: &str| format!(
///     r#"{{"access_token":"{access}","token_type":"bearer","expires_in":3600,
///         "scope":"boards:read","refresh_token":"{refresh}"}}"#);
/// let first = parse_token_response(t0, &http::Response::new(body("pina.1", "pinr.1")))?;
/// let mut lifecycle = TokenLifecycle::new(LifecycleConfig::default(), first);
///
/// // Fresh: use the token, nothing to do.
/// assert_eq!(lifecycle.access_token(t0).unwrap().secret(), "pina.1");
/// assert_eq!(lifecycle.poll(t0), None);
///
/// // Ten minutes before expiry a refresh is due; the old token stays usable meanwhile.
/// let due = t0 + Duration::from_secs(3000);
/// let Some(Action::Persist(attempt)) = lifecycle.poll(due) else { panic!() };
/// assert_eq!(attempt.state().requests(), [due]);
/// lifecycle.confirm_persisted(); // recorded before the refresh token is spent
/// let Some(Action::Send(grant)) = lifecycle.poll(due) else { panic!() };
/// assert_eq!(grant.grant_type(), "refresh_token");
/// assert_eq!(lifecycle.access_token(due).unwrap().secret(), "pina.1");
///
/// // The answer must be persisted before it is handed out.
/// let second = parse_token_response(due, &http::Response::new(body("pina.2", "pinr.2")))?;
/// lifecycle.handle_token(due, second);
/// let Some(Action::Persist(to_save)) = lifecycle.poll(due) else { panic!() };
/// assert_eq!(to_save.token().refresh_token().unwrap().secret(), "pinr.2");
/// assert_eq!(lifecycle.access_token(due).unwrap().secret(), "pina.1");
/// lifecycle.confirm_persisted();
/// assert_eq!(lifecycle.access_token(due).unwrap().secret(), "pina.2");
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TokenLifecycle {
    config: LifecycleConfig,
    client: Option<u32>,
    mode: Mode,
    token: Option<Token>,
    state: RefreshState,
    revision: Option<u64>,
    /// What the current set's document replaces or succeeds (carried into the documents of
    /// this set).
    lineage: (Option<u64>, Option<u64>),
    pending: Option<Pending>,
    prepared: Option<Grant>,
    machine: State,
    force: Force,
    persist_failures: u32,
}

impl TokenLifecycle {
    /// A lifecycle for a user's token set (refreshed with its refresh token), fresh from a
    /// login.
    pub fn new(config: LifecycleConfig, token: Token) -> TokenLifecycle {
        TokenLifecycle::user(config, Some(TokenDocument::new(token)))
    }

    /// A lifecycle for a user's tokens as stored (`None`: nothing stored yet, consent is
    /// needed first, or a [`handle_loaded`](Self::handle_loaded) document).
    pub fn user(config: LifecycleConfig, stored: Option<TokenDocument>) -> TokenLifecycle {
        TokenLifecycle::with_mode(config, Mode::User, stored)
    }

    /// A lifecycle for an app token from client credentials: it asks for one at the first
    /// poll and asks again before each expires. `stored` is a previously persisted one.
    pub fn client_credentials(
        config: LifecycleConfig,
        grant: ClientCredentialsGrant,
        stored: Option<TokenDocument>,
    ) -> TokenLifecycle {
        TokenLifecycle::with_mode(config, Mode::ClientCredentials(grant), stored)
    }

    fn with_mode(
        config: LifecycleConfig,
        mode: Mode,
        stored: Option<TokenDocument>,
    ) -> TokenLifecycle {
        let (token, state, revision, lineage) = match stored {
            Some(doc) => (
                Some(doc.token),
                doc.state,
                Some(doc.revision),
                (doc.replaces, doc.succeeds),
            ),
            None => (None, RefreshState::default(), None, (None, None)),
        };
        TokenLifecycle {
            config,
            client: None,
            mode,
            token,
            state,
            revision,
            lineage,
            pending: None,
            prepared: None,
            machine: State::Idle,
            force: Force::None,
            persist_failures: 0,
        }
    }

    /// Ties the lifecycle to the app configuration that sends its requests: a permanent stop
    /// recorded under another configuration (a different app id, secret or base URL) no longer
    /// applies, so fixing the configuration lifts it.
    #[must_use]
    pub fn with_client(mut self, client: &ClientConfig) -> TokenLifecycle {
        self.client = Some(client.fingerprint());
        self
    }

    /// The configuration.
    pub fn config(&self) -> &LifecycleConfig {
        &self.config
    }

    /// The current (persisted, confirmed) token set.
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// The current token set with its state and revision, as last persisted or loaded.
    pub fn document(&self) -> Option<TokenDocument> {
        Some(TokenDocument {
            token: self.token.clone()?,
            state: self.state.clone(),
            revision: self.revision.unwrap_or(0),
            replaces: self.lineage.0,
            succeeds: self.lineage.1,
        })
    }

    /// What the lifecycle remembers: deadlines, failures, stops.
    pub fn state(&self) -> &RefreshState {
        &self.state
    }

    /// The access token to use at `now`: the current one if it is usable and has not expired.
    pub fn access_token(&self, now: SystemTime) -> Option<&AccessToken> {
        self.token.as_ref()?.valid_access_token(now)
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.state.failures
    }

    /// When the current set is due for refresh (before the request budget applies):
    /// `refresh_margin` before the access token expires (at once when it has none) and, for a
    /// user's tokens whose refreshes renew the refresh token, `rotation_margin` before the
    /// refresh token expires; each margin at most half the lifetime it is taken from.
    pub fn refresh_due_at(&self) -> Option<SystemTime> {
        let token = self.token.as_ref()?;
        if self.force != Force::None {
            return Some(SystemTime::UNIX_EPOCH);
        }
        let mut due = match token.access_token() {
            None => token.received_at(),
            Some(_) => {
                let margin = self.config.refresh_margin().min(token.expires_in() / 2);
                token
                    .expires_at()
                    .checked_sub(margin)
                    .unwrap_or(SystemTime::UNIX_EPOCH)
            }
        };
        if let Some(renew) = self.renewal_due_at(token) {
            due = due.min(renew);
        }
        Some(due)
    }

    /// When to refresh to renew the refresh token, if refreshes renew it.
    fn renewal_due_at(&self, token: &Token) -> Option<SystemTime> {
        if self.mode != Mode::User || self.state.renews == Some(false) {
            return None;
        }
        let expires = token.refresh_token_expires_at()?;
        let lifetime = token.refresh_token_expires_in().unwrap_or_else(|| {
            expires
                .duration_since(token.received_at())
                .unwrap_or_default()
        });
        let margin = self.config.rotation_margin().min(lifetime / 2);
        let due = expires
            .checked_sub(margin)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // Never sooner than the renewal interval after this set arrived (at most half a
        // known lifetime): an expiry already past on arrival is not chased every minute.
        let interval = match lifetime {
            l if l >= Duration::from_secs(60) => self.config.renewal_interval().min(l / 2),
            _ => self.config.renewal_interval(),
        };
        let floor = token
            .received_at()
            .checked_add(interval)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Some(due.max(floor))
    }

    /// When the refresh token will lapse, if refreshes do not renew it and it is within the
    /// rotation margin at `now`: the user must log in again before then.
    pub fn refresh_token_lapses_at(&self, now: SystemTime) -> Option<SystemTime> {
        let token = self.token.as_ref()?;
        token.refresh_token()?;
        if self.mode != Mode::User || self.state.renews != Some(false) {
            return None;
        }
        let expires = token.refresh_token_expires_at()?;
        let warn_from = expires
            .checked_sub(self.config.rotation_margin())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        (now >= warn_from).then_some(expires)
    }

    /// The stop that holds for this configuration and this request, if any.
    fn stop(&self) -> Option<&Stop> {
        let stop = self.state.stop.as_ref()?;
        match stop.reason {
            StopReason::InvalidGrant => Some(stop),
            _ if self.force == Force::User => None,
            _ => stop.applies_to_fingerprint(self.client).then_some(stop),
        }
    }

    /// The deadline that holds for the next request, if any (`now` aside): the stored
    /// `not_before` (which the user's force passes, unless Pinterest set it), and the budget's
    /// ceiling (which nothing passes).
    fn gate(&self) -> Option<(SystemTime, Wait)> {
        let not_before = self
            .state
            .not_before
            .filter(|_| self.force != Force::User || self.state.wait == Wait::RateLimited)
            .map(|at| (at, self.state.wait));
        let burst = self.config.burst() as usize;
        let ceiling = self
            .state
            .requests
            .len()
            .checked_sub(burst)
            .and_then(|i| self.state.requests.get(i))
            .and_then(|oldest| oldest.checked_add(self.config.budget_window()))
            .map(|at| (at, Wait::Budget));
        match (not_before, ceiling) {
            (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// `true` when a request can be made at all: client credentials, or a refresh token.
    fn can_request(&self) -> bool {
        match self.mode {
            Mode::ClientCredentials(_) => true,
            Mode::User => self.token.as_ref().and_then(Token::refresh_token).is_some(),
        }
    }

    /// Where the lifecycle stands at `now`.
    pub fn status(&self, now: SystemTime) -> Status {
        match self.machine {
            State::Recording | State::Ready | State::Sending => return Status::Refreshing,
            State::Persisting { .. } | State::PersistRetry { .. } => return Status::Persisting,
            State::Idle => {}
        }
        if let Some(stop) = self.stop() {
            return match stop.reason {
                StopReason::InvalidGrant => Status::ConsentNeeded,
                reason => Status::Stopped { reason },
            };
        }
        let due = match self.refresh_due_at() {
            Some(due) => due <= now,
            None if self.mode == Mode::User => return Status::ConsentNeeded,
            None => true,
        };
        if !due {
            return Status::Fresh;
        }
        if !self.can_request() {
            return if self.access_token(now).is_some() {
                Status::Fresh
            } else {
                Status::ConsentNeeded
            };
        }
        match self.gate() {
            Some((until, why)) if now < until => Status::Waiting { until, why },
            _ => Status::Due,
        }
    }

    /// When [`poll`](Self::poll) may next have something to do: `None` while a request or a
    /// save is in flight, or when nothing can be done without the user.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        match self.machine {
            State::Recording | State::Sending | State::Persisting { announced: true } => None,
            State::Ready | State::Persisting { announced: false } => Some(SystemTime::UNIX_EPOCH),
            State::PersistRetry { at } => Some(at),
            State::Idle => {
                if self.stop().is_some() || !self.can_request() {
                    return None;
                }
                let due = match self.refresh_due_at() {
                    Some(due) => due,
                    None if self.mode == Mode::User => return None,
                    None => SystemTime::UNIX_EPOCH,
                };
                Some(self.gate().map_or(due, |(until, _)| due.max(until)))
            }
        }
    }

    /// The next thing to do at `now`, if any. Each action is handed out once; the lifecycle
    /// then waits for its outcome.
    pub fn poll(&mut self, now: SystemTime) -> Option<Action> {
        match self.machine {
            State::Persisting { announced: false } => {}
            State::PersistRetry { at } if now >= at => {}
            State::Idle if self.status(now) == Status::Due => return self.prepare(now),
            State::Ready => {
                self.machine = State::Sending;
                return self.prepared.take().map(Action::Send);
            }
            _ => return None,
        }
        self.machine = State::Persisting { announced: true };
        self.pending
            .as_ref()
            .map(|p| Action::Persist(p.document.clone()))
    }

    /// Counts a request at `now` and, when there is a set to record it in, asks for the record
    /// (with a provisional backoff, as if the request failed) before the send.
    fn prepare(&mut self, now: SystemTime) -> Option<Action> {
        let grant = match &self.mode {
            Mode::ClientCredentials(grant) => Grant::ClientCredentials(grant.clone()),
            Mode::User => Grant::refresh_token(self.token.as_ref()?.refresh_token()?.clone()),
        };
        self.state.note_request(now, self.config.burst());
        let Some(token) = self.token.clone() else {
            // Nothing stored, nothing to lose: send at once.
            self.machine = State::Sending;
            return Some(Action::Send(grant));
        };
        let mut provisional = self.state.clone();
        provisional.failures = provisional.failures.saturating_add(1);
        // Until the request can no longer be in flight (and its answer saved): another process
        // sharing the grant must not send meanwhile, even if the lock that keeps it out is lost
        // (a lease evicted or deleted, a failover).
        let delay = self
            .config
            .backoff(provisional.failures, 0)
            .max(self.config.attempt_deadline());
        let until = now.checked_add(delay).unwrap_or(now);
        if provisional.not_before.is_none_or(|at| at < until) {
            provisional.not_before = Some(until);
            provisional.wait = Wait::Backoff;
        }
        self.pending = Some(Pending {
            document: TokenDocument {
                token,
                state: provisional,
                revision: self.next_revision(),
                replaces: self.lineage.0,
                succeeds: self.lineage.1,
            },
            critical: false,
        });
        self.prepared = Some(grant);
        self.machine = State::Recording;
        self.pending
            .as_ref()
            .map(|p| Action::Persist(p.document.clone()))
    }

    /// Feeds the token an [`Action::Send`] obtained, received at `now`. A refresh answer
    /// without a refresh token keeps the current one (RFC 6749 §6), one without `scope` keeps
    /// the current scopes; the new set is persisted before it is handed out, and no automatic
    /// request follows for the budget's interval. Ignored when no send is outstanding.
    pub fn handle_token(&mut self, now: SystemTime, mut token: Token) {
        if self.machine != State::Sending {
            return;
        }
        let mut renews = self.state.renews;
        if let Mode::ClientCredentials(grant) = &self.mode {
            // An app token is classified by the grant that was sent, not by what the answer
            // happens to say (`response_type` is optional; a refresh token may come with it).
            if token.response_type.is_none() {
                token.response_type = Some(crate::token::ResponseType::ClientCredentials);
            }
            if !token.scopes_known() {
                token.scopes = Some(grant.scopes().to_vec());
            }
        }
        if let Some(current) = &self.token {
            if self.mode == Mode::User && token.refresh_token.is_none() {
                token.refresh_token = current.refresh_token.clone();
                token.refresh_token_expires_in = current.refresh_token_expires_in;
                token.refresh_token_expires_at = current.refresh_token_expires_at;
            }
            if !token.scopes_known() {
                token.scopes = current.scopes.clone();
            }
            if self.mode == Mode::User {
                renews = Some(
                    match (
                        current.refresh_token_expires_at,
                        token.refresh_token_expires_at,
                    ) {
                        // Times have one-second resolution: a rotated token expiring in
                        // the same second still counts as renewed.
                        (Some(before), Some(after)) => {
                            after > before
                                || (after == before && token.refresh_token != current.refresh_token)
                        }
                        _ => token.refresh_token != current.refresh_token,
                    },
                );
            }
        }
        // The set this one replaces: what a kept copy of it may overwrite (and nothing else).
        let replaces = self.token.as_ref().and_then(crate::document::replacing);
        // An app token asked for again succeeds the one it replaces.
        let succeeds = match replaces {
            Some(_) => None,
            None => self
                .token
                .as_ref()
                .and_then(crate::document::set_fingerprint),
        };
        // A success only ends a run of failures when it is of use past the budget's interval:
        // a server alternating errors with tokens that expire at once still backs off.
        let budget_end = now.checked_add(self.config.min_refresh_interval());
        let useful = budget_end.is_some_and(|end| token.valid_access_token(end).is_some());
        let state = RefreshState {
            not_before: budget_end,
            wait: Wait::Budget,
            failures: if useful { 0 } else { self.state.failures },
            renews,
            stop: None,
            requests: self.state.requests.clone(),
        };
        self.pending = Some(Pending {
            document: TokenDocument {
                token,
                state,
                revision: self.next_revision(),
                replaces,
                succeeds,
            },
            critical: true,
        });
        self.machine = State::Persisting { announced: false };
        self.force = Force::None;
    }

    /// Feeds the failure of an [`Action::Send`] (classified with [`Failure::of`], or
    /// [`Failure::Transient`] for a network error). `entropy` (any random `u64`) spreads the
    /// backoff. The resulting deadline or stop is offered for persistence (best effort), so
    /// other processes sharing the grant honour it. Ignored when no send is outstanding.
    pub fn handle_failure(&mut self, now: SystemTime, failure: Failure, entropy: u64) {
        if self.machine != State::Sending {
            return;
        }
        self.state.failures = self.state.failures.saturating_add(1);
        let stop = |reason, status, code, client| Stop {
            reason,
            at: now,
            status,
            code,
            client,
        };
        match failure {
            Failure::InvalidGrant if self.mode == Mode::User => {
                self.state.stop = Some(stop(StopReason::InvalidGrant, None, None, None));
            }
            Failure::InvalidGrant => {
                self.state.stop = Some(stop(StopReason::BadRequest, None, None, self.client));
            }
            Failure::Permanent {
                reason,
                status,
                code,
            } => self.state.stop = Some(stop(reason, status, code, self.client)),
            Failure::RateLimited { retry_after, reset } => {
                let asked = [retry_after, reset]
                    .into_iter()
                    .flatten()
                    .map(|r| r.delay_from(now))
                    .max();
                self.wait(now, asked, Wait::RateLimited, entropy);
            }
            Failure::Transient { retry_after } => {
                let asked = retry_after.map(|r| r.delay_from(now));
                let why = if asked.is_some() {
                    Wait::RateLimited
                } else {
                    Wait::Backoff
                };
                self.wait(now, asked, why, entropy);
            }
            Failure::Store => self.wait(now, None, Wait::Backoff, entropy),
        }
        if self.force != Force::Requested || self.state.stop.is_some() {
            self.force = Force::None;
        }
        self.machine = State::Idle;
        if failure != Failure::Store
            && let Some(token) = self.token.clone()
        {
            self.pending = Some(Pending {
                document: TokenDocument {
                    token,
                    state: self.state.clone(),
                    revision: self.next_revision(),
                    replaces: self.lineage.0,
                    succeeds: self.lineage.1,
                },
                critical: false,
            });
            self.machine = State::Persisting { announced: false };
        }
    }

    /// Sets the deadline after a failure: the backoff, or what the server asked (capped), the
    /// longer of the two. A wait still running is never shortened (a store that cannot be
    /// locked during a rate limit must not end Pinterest's wait early), and while either is
    /// Pinterest's own, the wait is [`Wait::RateLimited`], which not even a forced refresh
    /// passes.
    fn wait(
        &mut self,
        now: SystemTime,
        asked: Option<std::time::Duration>,
        why: Wait,
        entropy: u64,
    ) {
        let mut delay = self.config.backoff(self.state.failures.max(1), entropy);
        if let Some(asked) = asked {
            delay = delay.max(asked.min(self.config.max_retry_after()));
        }
        let until = now.checked_add(delay).unwrap_or(now);
        let running = self.state.not_before.filter(|t| *t > now);
        let rate_limited =
            why == Wait::RateLimited || (running.is_some() && self.state.wait == Wait::RateLimited);
        self.state.not_before = Some(running.map_or(until, |t| t.max(until)));
        self.state.wait = if rate_limited { Wait::RateLimited } else { why };
    }

    fn next_revision(&self) -> u64 {
        self.revision.map_or(0, crate::document::next)
    }

    /// Confirms that the document from [`Action::Persist`] is durably stored: its set becomes
    /// current. Ignored when no persist is outstanding.
    pub fn confirm_persisted(&mut self) {
        if self.machine == State::Recording {
            // The attempt is on record; this process keeps its own (unprovisional) state.
            if let Some(Pending { document, .. }) = self.pending.take() {
                self.revision = Some(document.revision);
            }
            self.machine = State::Ready;
            return;
        }
        if self.machine != (State::Persisting { announced: true }) {
            return;
        }
        if let Some(Pending { document, .. }) = self.pending.take() {
            self.token = Some(document.token);
            self.state = document.state;
            self.revision = Some(document.revision);
            self.lineage = (document.replaces, document.succeeds);
        }
        self.persist_failures = 0;
        self.machine = State::Idle;
    }

    /// Reports that storing failed. A new token set is kept in memory (it cannot be asked for
    /// again: the old refresh token is already spent) and offered again after a backoff; a
    /// document that only recorded a failure is dropped (this process still honours it).
    /// Ignored when no persist is outstanding.
    pub fn persist_failed(&mut self, now: SystemTime, entropy: u64) {
        if self.machine == State::Recording {
            // The store cannot take a document: the refresh token is not spent.
            self.pending = None;
            self.prepared = None;
            self.machine = State::Sending;
            self.handle_failure(now, Failure::Store, entropy);
            return;
        }
        if self.machine != (State::Persisting { announced: true }) {
            return;
        }
        match &self.pending {
            Some(Pending { critical: true, .. }) => {
                self.persist_failures = self.persist_failures.saturating_add(1);
                let delay = self.config.backoff(self.persist_failures, entropy);
                self.machine = State::PersistRetry {
                    at: now.checked_add(delay).unwrap_or(now),
                };
            }
            _ => {
                self.pending = None;
                self.machine = State::Idle;
            }
        }
    }

    /// Brings a new set's save retry forward to `now` (the program is about to let go of the
    /// set: it gets one more try before it goes). Nothing happens unless a save is to be
    /// retried.
    pub fn retry_save_now(&mut self, now: SystemTime) {
        if let State::PersistRetry { at } = &mut self.machine {
            *at = (*at).min(now);
        }
    }

    /// `true` while the record of an attempt awaits its save (the [`Action::Persist`] just
    /// handed out, or about to be, records a request before it is sent): a caller holding a
    /// lock that can be lost confirms it before writing anything of the attempt.
    pub fn recording_attempt(&self) -> bool {
        self.machine == State::Recording
    }

    /// The new token set received but not yet persisted, if any: it must not be lost (its
    /// refresh token may be the only valid one).
    pub fn unsaved(&self) -> Option<&TokenDocument> {
        self.pending
            .as_ref()
            .filter(|p| p.critical)
            .map(|p| &p.document)
    }

    /// Adopts a document read from storage, while nothing is in flight. The same token set:
    /// its stored state is merged in (another process's deadline or stop then holds here too;
    /// times beyond what this lifecycle could have set, from a clock that ran ahead, are
    /// brought back to `now`).
    /// A different set that is not older (another process refreshed, or the user logged in
    /// again): it replaces the current one, with its state. While a new set waits for its save
    /// to be retried, a stored document holding that set or a later one (refreshed from it, or
    /// a new login: any set but the one it replaced, at a higher revision) ends the wait and is
    /// adopted (nothing is left to save). Returns whether anything changed.
    pub fn handle_loaded(&mut self, now: SystemTime, document: TokenDocument) -> bool {
        // A new set waiting for its save to be retried, and the store holds it already (a copy
        // kept aside was put in place, or a save reported failed had landed) or a later set
        // (refreshed from it, further down the chain, or a new login): nothing is left to
        // save, and the stored document, at a revision this process's retry could never match,
        // is adopted whatever its times say. The set it replaced, with whatever was recorded
        // on it since, is not later: the retry goes on (and recovery puts the set back).
        let retry_ended = match (&self.machine, &self.pending) {
            (
                State::PersistRetry { .. },
                Some(Pending {
                    document: unsaved,
                    critical: true,
                }),
            ) => document
                .ends_save_retry(unsaved, self.token.as_ref())
                .then(|| unsaved.state.clone()),
            _ => None,
        };
        if self.machine != State::Idle && retry_ended.is_none() {
            return false;
        }
        let TokenDocument {
            token,
            state,
            revision,
            replaces,
            succeeds,
        } = document;
        // Times written under a clock that ran ahead must not block this process for years: no
        // request lies in the future, and no deadline lies further ahead than any wait the
        // lifecycle itself sets.
        let longest = self
            .config
            .max_retry_after()
            .max(self.config.backoff_max())
            .max(self.config.min_refresh_interval());
        let state = state.bounded(now, longest);
        if let Some(mut own) = retry_ended {
            // This process's own memory of the attempt (its requests, its budget) still holds.
            own.merge(state);
            self.pending = None;
            self.persist_failures = 0;
            self.machine = State::Idle;
            self.token = Some(token);
            self.state = own;
            self.revision = Some(revision);
            self.lineage = (replaces, succeeds);
            self.force = Force::None;
            return true;
        }
        match &self.token {
            Some(current)
                if current.access_token == token.access_token
                    && current.refresh_token == token.refresh_token =>
            {
                let before = (self.state.clone(), self.revision);
                self.state.merge(state);
                let excess = self
                    .state
                    .requests
                    .len()
                    .saturating_sub(self.config.burst() as usize);
                self.state.requests.drain(..excess);
                self.revision = Some(revision);
                self.lineage = (replaces, succeeds);
                before != (self.state.clone(), self.revision)
            }
            Some(current) if current.received_at > token.received_at => false,
            _ => {
                self.token = Some(token);
                self.state = state;
                self.revision = Some(revision);
                self.lineage = (replaces, succeeds);
                self.force = Force::None;
                true
            }
        }
    }

    /// Forgets the current set because the store no longer holds one (it was revoked and
    /// removed, by another process or the user), while nothing is in flight. A user's
    /// lifecycle then needs consent; a client-credentials one asks again (within the budget).
    pub fn handle_cleared(&mut self) {
        if self.machine != State::Idle || self.token.is_none() {
            return;
        }
        let requests = std::mem::take(&mut self.state.requests);
        self.token = None;
        self.state = RefreshState {
            requests,
            ..RefreshState::default()
        };
        self.revision = None;
        self.lineage = (None, None);
        self.force = Force::None;
    }

    /// Backs off after the store could not be locked or read (nothing was sent), in this
    /// process only, while nothing is in flight.
    pub fn handle_store_failure(&mut self, now: SystemTime, entropy: u64) {
        if self.machine != State::Idle {
            return;
        }
        self.machine = State::Sending;
        self.handle_failure(now, Failure::Store, entropy);
    }

    /// Makes a refresh due now, whatever the expiry (for example after the API refused the
    /// access token). Still within the request budget and backoff; ignored while consent is
    /// needed.
    pub fn request_refresh(&mut self) {
        self.force = self.force.max(Force::Requested);
    }

    /// Whether a refresh the user forced ([`force_refresh`](Self::force_refresh)) is pending.
    pub fn refresh_forced(&self) -> bool {
        self.force == Force::User
    }

    /// Makes a refresh due now because the user asked: past the request budget, backoff and a
    /// permanent stop (the user may have fixed the cause), but never past Pinterest's own rate
    /// limit or an invalid grant.
    pub fn force_refresh(&mut self) {
        self.force = Force::User;
    }
}
