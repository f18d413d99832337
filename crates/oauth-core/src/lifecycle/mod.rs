//! The token lifecycle as a sans-IO state machine: when to refresh, what to persist, how long
//! to back off, when to give up and ask for consent.

use std::time::SystemTime;

use crate::error::{Error, RetryAfter};
use crate::grant::{ClientCredentialsGrant, Grant};
use crate::secret::AccessToken;
use crate::token::Token;

mod config;

pub use config::LifecycleConfig;

/// What the caller must do next (from [`TokenLifecycle::poll`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send this grant with [`token_request`](crate::token_request); feed the outcome to
    /// [`TokenLifecycle::handle_token`] or [`TokenLifecycle::handle_failure`].
    Send(Grant),
    /// Persist this token set durably; then call [`TokenLifecycle::confirm_persisted`] (or
    /// [`TokenLifecycle::persist_failed`]). It is handed out only once confirmed.
    Persist(Token),
}

/// How a refresh failed, as far as the lifecycle cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The grant is invalid (401 with code 283, or `invalid_grant`): stop, consent is needed.
    InvalidGrant,
    /// Anything else: try again after a backoff, and no sooner than `retry_after`.
    Retry {
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<RetryAfter>,
    },
}

impl Failure {
    /// Classifies a core error.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::{Error, Failure};
    ///
    /// assert_eq!(Failure::of(&Error::EmptyScopes), Failure::Retry { retry_after: None });
    /// ```
    pub fn of(error: &Error) -> Failure {
        if error.is_invalid_grant() {
            Failure::InvalidGrant
        } else {
            Failure::Retry {
                retry_after: error.retry_after(),
            }
        }
    }
}

/// Where the lifecycle stands (from [`TokenLifecycle::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// A token is held and nothing is due.
    Fresh,
    /// A refresh (or a first client-credentials request) is due: the next poll sends it.
    Due,
    /// A request is in flight.
    Refreshing,
    /// A new token set awaits persistence (it is not handed out yet).
    Persisting,
    /// The last attempt failed; the next is not before `until`.
    Backoff {
        /// When the next attempt may start.
        until: SystemTime,
    },
    /// The grant is invalid, or there is no token to refresh: the user must consent again.
    ConsentNeeded,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Refreshing,
    Persisting { announced: bool },
    PersistRetry { at: SystemTime },
    Backoff { until: SystemTime },
    ConsentNeeded,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// A user's tokens: refreshed with the refresh token.
    User,
    /// An app token: asked for again with client credentials.
    ClientCredentials(ClientCredentialsGrant),
}

/// The token lifecycle, without IO: it holds the current token set and tells the caller what
/// to do at `now`.
///
/// It refreshes before expiry by a margin, keeps handing out a still-valid access token while
/// refreshes fail, backs off exponentially with caller-supplied jitter, honours `Retry-After`,
/// stops for consent on an invalid grant, and hands out a new token set only after the caller
/// confirms it was persisted (Pinterest rotates the refresh token on every refresh: losing the
/// new one means asking the user again). For client credentials it simply asks again.
///
/// # Call order
///
/// 1. Call [`poll`](Self::poll) until it returns `None`, carrying out each [`Action`]:
///    * [`Action::Send`]: send the grant, then [`handle_token`](Self::handle_token) or
///      [`handle_failure`](Self::handle_failure);
///    * [`Action::Persist`]: store the set, then [`confirm_persisted`](Self::confirm_persisted)
///      or [`persist_failed`](Self::persist_failed).
/// 2. [`access_token`](Self::access_token) gives the token to use now, if there is one; when
///    there is none, [`status`](Self::status) says why (in flight, backing off, consent needed).
/// 3. [`poll_timeout`](Self::poll_timeout) says when to poll again.
/// 4. [`handle_loaded`](Self::handle_loaded) adopts a token set read from storage (at start, or
///    when another process may have refreshed), whenever nothing is in flight.
///
/// ```text
///            poll: Send                 handle_token            poll: Persist
///   Idle ───────────────▶ Refreshing ───────────────▶ Persisting ──────────────┐
///    ▲  ▲                     │ handle_failure             │ persist_failed      │
///    │  │ poll (after until)  ▼                            ▼                     │
///    │  └──────────────── Backoff                    PersistRetry ── poll ──▶ ───┤
///    │                        invalid grant ──▶ ConsentNeeded                   │
///    └──────────────────────────── confirm_persisted ◀──────────────────────────┘
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
/// let Some(Action::Send(grant)) = lifecycle.poll(due) else { panic!() };
/// assert_eq!(grant.grant_type(), "refresh_token");
/// assert_eq!(lifecycle.access_token(due).unwrap().secret(), "pina.1");
///
/// // The answer must be persisted before it is handed out.
/// let second = parse_token_response(due, &http::Response::new(body("pina.2", "pinr.2")))?;
/// lifecycle.handle_token(due, second)?;
/// let Some(Action::Persist(to_save)) = lifecycle.poll(due) else { panic!() };
/// assert_eq!(to_save.refresh_token().unwrap().secret(), "pinr.2");
/// assert_eq!(lifecycle.access_token(due).unwrap().secret(), "pina.1");
/// lifecycle.confirm_persisted(due)?;
/// assert_eq!(lifecycle.access_token(due).unwrap().secret(), "pina.2");
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TokenLifecycle {
    config: LifecycleConfig,
    mode: Mode,
    current: Option<Token>,
    pending: Option<Token>,
    state: State,
    failures: u32,
    forced: bool,
}

impl TokenLifecycle {
    /// A lifecycle for a user's token set (refreshed with its refresh token).
    pub fn new(config: LifecycleConfig, token: Token) -> TokenLifecycle {
        TokenLifecycle::with_mode(config, Mode::User, Some(token))
    }

    /// A lifecycle for a user with no token yet: it needs consent (or a
    /// [`handle_loaded`](Self::handle_loaded) token set) first.
    pub fn empty(config: LifecycleConfig) -> TokenLifecycle {
        TokenLifecycle::with_mode(config, Mode::User, None)
    }

    /// A lifecycle for an app token from client credentials: it asks for one at the first
    /// poll and asks again before each expires. `cached` is a previously persisted one.
    pub fn client_credentials(
        config: LifecycleConfig,
        grant: ClientCredentialsGrant,
        cached: Option<Token>,
    ) -> TokenLifecycle {
        TokenLifecycle::with_mode(config, Mode::ClientCredentials(grant), cached)
    }

    fn with_mode(config: LifecycleConfig, mode: Mode, token: Option<Token>) -> TokenLifecycle {
        let state = match (&mode, &token) {
            (Mode::User, None) => State::ConsentNeeded,
            _ => State::Idle,
        };
        TokenLifecycle {
            config,
            mode,
            current: token,
            pending: None,
            state,
            failures: 0,
            forced: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LifecycleConfig {
        &self.config
    }

    /// The current (persisted, confirmed) token set.
    pub fn token(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    /// The access token to use at `now`: the current one if it has not expired.
    pub fn access_token(&self, now: SystemTime) -> Option<&AccessToken> {
        self.current
            .as_ref()
            .filter(|t| !t.is_expired(now))
            .map(Token::access_token)
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the current set is due for refresh: `refresh_margin` before the access token
    /// expires and, for a user's tokens, `rotation_margin` before the refresh token does; each
    /// margin at most half the lifetime it is taken from.
    pub fn refresh_due_at(&self) -> Option<SystemTime> {
        let token = self.current.as_ref()?;
        if self.forced {
            return Some(SystemTime::UNIX_EPOCH);
        }
        let margin = self.config.refresh_margin().min(token.expires_in() / 2);
        let mut due = token
            .expires_at()
            .checked_sub(margin)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        if self.mode == Mode::User
            && let Some(refresh_expires) = token.refresh_token_expires_at()
        {
            let lifetime = refresh_expires
                .duration_since(token.received_at())
                .unwrap_or_default();
            let margin = self.config.rotation_margin().min(lifetime / 2);
            let rotate = refresh_expires
                .checked_sub(margin)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            due = due.min(rotate);
        }
        Some(due)
    }

    /// Where the lifecycle stands at `now`.
    pub fn status(&self, now: SystemTime) -> Status {
        match &self.state {
            State::Refreshing => Status::Refreshing,
            State::Persisting { .. } | State::PersistRetry { .. } => Status::Persisting,
            State::ConsentNeeded => Status::ConsentNeeded,
            State::Backoff { until } if now < *until => Status::Backoff { until: *until },
            State::Backoff { .. } | State::Idle => match self.refresh_due_at() {
                Some(due) if now < due => Status::Fresh,
                _ => Status::Due,
            },
        }
    }

    /// When [`poll`](Self::poll) may next have something to do: `None` while a request or a
    /// save is in flight, or when consent is needed.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        match &self.state {
            State::Refreshing | State::Persisting { announced: true } | State::ConsentNeeded => {
                None
            }
            State::Persisting { announced: false } => Some(SystemTime::UNIX_EPOCH),
            State::PersistRetry { at } => Some(*at),
            State::Backoff { until } => {
                Some(self.refresh_due_at().map_or(*until, |due| due.max(*until)))
            }
            // Client credentials with no token yet: due at once.
            State::Idle => Some(self.refresh_due_at().unwrap_or(SystemTime::UNIX_EPOCH)),
        }
    }

    /// The next thing to do at `now`, if any. Each action is handed out once; the lifecycle
    /// then waits for its outcome.
    pub fn poll(&mut self, now: SystemTime) -> Option<Action> {
        match &self.state {
            State::Persisting { announced: false } => {
                self.state = State::Persisting { announced: true };
                return self.pending.clone().map(Action::Persist);
            }
            State::PersistRetry { at } if now >= *at => {
                self.state = State::Persisting { announced: true };
                return self.pending.clone().map(Action::Persist);
            }
            State::Idle | State::Backoff { .. } => {}
            _ => return None,
        }
        if self.poll_timeout().is_none_or(|at| now < at) {
            return None;
        }
        let grant = match &self.mode {
            Mode::ClientCredentials(grant) => Grant::ClientCredentials(grant.clone()),
            Mode::User => match self.current.as_ref().and_then(Token::refresh_token) {
                Some(refresh) => Grant::refresh_token(refresh.clone()),
                None => {
                    // Nothing to refresh with: only the user can help.
                    self.state = State::ConsentNeeded;
                    return None;
                }
            },
        };
        self.state = State::Refreshing;
        Some(Action::Send(grant))
    }

    /// Feeds the token an [`Action::Send`] obtained. A refresh answer without a refresh token
    /// keeps the current one (RFC 6749 §6).
    pub fn handle_token(&mut self, _now: SystemTime, mut token: Token) -> Result<(), Error> {
        self.expect(matches!(self.state, State::Refreshing), "handle_token")?;
        if self.mode == Mode::User
            && token.refresh_token.is_none()
            && let Some(current) = &self.current
        {
            token.refresh_token = current.refresh_token.clone();
            token.refresh_token_expires_in = current.refresh_token_expires_in;
            token.refresh_token_expires_at = current.refresh_token_expires_at;
        }
        self.pending = Some(token);
        self.failures = 0;
        self.forced = false;
        self.state = State::Persisting { announced: false };
        Ok(())
    }

    /// Feeds the failure of an [`Action::Send`]. `entropy` (any random `u64`) spreads the
    /// backoff.
    pub fn handle_failure(
        &mut self,
        now: SystemTime,
        failure: Failure,
        entropy: u64,
    ) -> Result<(), Error> {
        self.expect(matches!(self.state, State::Refreshing), "handle_failure")?;
        self.failures = self.failures.saturating_add(1);
        self.state = match failure {
            Failure::InvalidGrant if self.mode == Mode::User => State::ConsentNeeded,
            Failure::InvalidGrant => State::Backoff {
                until: self.backoff_until(now, None, entropy),
            },
            Failure::Retry { retry_after } => State::Backoff {
                until: self.backoff_until(now, retry_after, entropy),
            },
        };
        Ok(())
    }

    /// Confirms that the set from [`Action::Persist`] is durably stored: it becomes current.
    pub fn confirm_persisted(&mut self, _now: SystemTime) -> Result<(), Error> {
        self.expect(
            matches!(self.state, State::Persisting { announced: true }),
            "confirm_persisted",
        )?;
        self.current = self.pending.take();
        self.state = State::Idle;
        Ok(())
    }

    /// Reports that storing failed: the set is kept in memory (it cannot be asked for again:
    /// the old refresh token is already spent) and offered again after a backoff.
    pub fn persist_failed(&mut self, now: SystemTime, entropy: u64) -> Result<(), Error> {
        self.expect(
            matches!(self.state, State::Persisting { announced: true }),
            "persist_failed",
        )?;
        self.failures = self.failures.saturating_add(1);
        self.state = State::PersistRetry {
            at: self.backoff_until(now, None, entropy),
        };
        Ok(())
    }

    /// Adopts a token set read from storage when it differs from the current one and is not
    /// older (another process refreshed, or the user logged in again). Returns whether it was
    /// adopted. Only while nothing is in flight.
    pub fn handle_loaded(&mut self, _now: SystemTime, token: Token) -> Result<bool, Error> {
        self.expect(
            matches!(
                self.state,
                State::Idle | State::Backoff { .. } | State::ConsentNeeded
            ),
            "handle_loaded",
        )?;
        let keep_current = self.current.as_ref().is_some_and(|current| {
            current.access_token() == token.access_token()
                || current.received_at() > token.received_at()
        });
        if keep_current {
            return Ok(false);
        }
        self.current = Some(token);
        self.failures = 0;
        self.forced = false;
        self.state = State::Idle;
        Ok(true)
    }

    /// Makes a refresh due now, whatever the expiry (for example after the API refused the
    /// access token, or on the user's request). Ignored while consent is needed.
    pub fn request_refresh(&mut self, _now: SystemTime) {
        self.forced = true;
        if let State::Backoff { .. } = self.state {
            self.state = State::Idle;
        }
    }

    fn backoff_until(
        &self,
        now: SystemTime,
        retry_after: Option<RetryAfter>,
        entropy: u64,
    ) -> SystemTime {
        let mut delay = self.config.backoff(self.failures.max(1), entropy);
        if let Some(retry_after) = retry_after {
            delay = delay.max(
                retry_after
                    .delay_from(now)
                    .min(self.config.max_retry_after()),
            );
        }
        now.checked_add(delay).unwrap_or(now)
    }

    fn expect(&self, ok: bool, call: &'static str) -> Result<(), Error> {
        if ok {
            Ok(())
        } else {
            Err(Error::LifecycleOutOfOrder {
                call,
                state: self.state_name(),
            })
        }
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::Idle => "idle",
            State::Refreshing => "refreshing",
            State::Persisting { .. } => "persisting",
            State::PersistRetry { .. } => "waiting to persist again",
            State::Backoff { .. } => "backing off",
            State::ConsentNeeded => "consent needed",
        }
    }
}
