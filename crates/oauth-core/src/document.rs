//! The token document: what a store keeps for one grant. Pure: reading and writing files or
//! keys is the store's business.
//!
//! ```json
//! {
//!   "version": 2,
//!   "revision": 7,
//!   "access_token": "pina_…",
//!   "token_type": "bearer",
//!   "received_at": 1764403200,
//!   "expires_in": 2592000,
//!   "expires_at": 1766995200,
//!   "scopes": ["boards:read", "pins:read"],
//!   "response_type": "refresh_token",
//!   "refresh_token": "pinr_…",
//!   "refresh_token_expires_in": 5184000,
//!   "refresh_token_expires_at": 1769587200,
//!   "lifecycle": {
//!     "not_before": 1764403260,
//!     "wait": "budget",
//!     "failures": 0,
//!     "renews": true,
//!     "stopped": null,
//!     "requests": [1764403200]
//!   }
//! }
//! ```
//!
//! Times are Unix seconds. `revision` counts the saves of this grant. `access_token` is `null`
//! when the last answer's access token was unusable (`access_token_problem` says why);
//! `scopes` is `null` when Pinterest never said; `response_type` and the `refresh_token*`
//! fields may be `null` or absent.
//!
//! `lifecycle` is the [`RefreshState`] every process sharing the grant honours: no automatic
//! token request before `not_before` (`wait` says why: `budget` after a success, `backoff`
//! after a failure, `rate_limited` when Pinterest asked), the consecutive `failures`, whether a
//! refresh `renews` the refresh token, the times of the latest `requests` (the budget's
//! ceiling counts them), and `stopped` after a failure no retry can mend, such as
//! `{"reason":"invalid_grant","at":1764403200,"status":401,"code":283}` (the user must consent
//! again) or `{"reason":"invalid_client",…,"client":"9f2c0e41"}` (until the app's
//! credentials change: `client` fingerprints the configuration that was refused).
//!
//! Version 1 (no `revision`, no `lifecycle`, `scopes` always a list) is still read; unknown
//! fields are ignored; a newer version is refused with [`DocumentError::Version`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::DocumentError;
use crate::lifecycle::{RefreshState, Stop, StopReason, Wait};
use crate::scope::Scope;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::{
    AccessTokenProblem, IgnoredFields, MAX_LIFETIME, ResponseType, Token, TokenType, check_bearer,
};

/// The document version written.
pub const DOCUMENT_VERSION: u32 = 2;

/// The last second any stored time may name (9999-12-31T23:59:59Z): later ones are clamped to
/// it, so every stored time can be formatted.
const MAX_UNIX: u64 = 253_402_300_799;

/// What a store keeps for one grant: the token set, the lifecycle's memory that every process
/// sharing the grant honours, and a revision counting the saves.
///
/// Written with [`to_bytes`](Self::to_bytes) and read with [`from_bytes`](Self::from_bytes)
/// (see the [module docs](crate::document) for the format).
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_token_response, http, TokenDocument};
/// use std::time::SystemTime;
///
/// let body = r#"{"access_token":"pina.a","expires_in":60,"scope":"ads:read","refresh_token":"pinr.r"}"#;
/// let token = parse_token_response(SystemTime::UNIX_EPOCH, &http::Response::new(body))?;
/// let document = TokenDocument::new(token);
/// let bytes = document.to_bytes();
/// assert_eq!(TokenDocument::from_bytes(&bytes)?, document);
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDocument {
    pub(crate) token: Token,
    pub(crate) state: RefreshState,
    pub(crate) revision: u64,
    /// The fingerprint of the refresh token spent to obtain this set (a refresh's answer).
    pub(crate) replaces: Option<u64>,
    /// For a new grant (a login, an app token) saved over another set: that set's
    /// fingerprint.
    pub(crate) succeeds: Option<u64>,
}

/// The highest revision a document read back may carry (2^52): far beyond any number of
/// saves, leaving room for every later save to count up, and exact in every store (a Redis
/// script compares revisions as doubles, exact up to 2^53).
pub const MAX_REVISION: u64 = 1 << 52;

/// A short, one-way fingerprint of a refresh token (the first 64 bits of its SHA-256): it
/// tells which set a document replaces without storing the spent token.
/// What a set obtained by spending `spent`'s refresh token replaces (see
/// [`TokenDocument::supersedes`]).
pub(crate) fn replacing(spent: &Token) -> Option<u64> {
    spent.refresh_token.as_ref().map(fingerprint)
}

/// A fingerprint of a whole set: its refresh token's, or its access token's when it has none
/// (an app token).
pub(crate) fn set_fingerprint(token: &Token) -> Option<u64> {
    replacing(token).or_else(|| {
        token
            .access_token
            .as_ref()
            .map(|access| fingerprint(&RefreshToken::new(access.secret())))
    })
}

pub(crate) fn fingerprint(token: &RefreshToken) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"pinterest-oauth refresh token\0")
        .chain_update(token.secret().as_bytes())
        .finalize();
    digest
        .iter()
        .take(8)
        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte))
}

impl TokenDocument {
    /// A first document for a token set (after a login): no lifecycle memory, revision 0.
    pub fn new(token: Token) -> TokenDocument {
        TokenDocument {
            token,
            state: RefreshState::default(),
            revision: 0,
            replaces: None,
            succeeds: None,
        }
    }

    /// The token set.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The token set, taken out.
    pub fn into_token(self) -> Token {
        self.token
    }

    /// What the lifecycle remembers across processes.
    pub fn state(&self) -> &RefreshState {
        &self.state
    }

    /// How many times this grant's document has been saved (0 for a first one).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The document of a new grant (a login, an app token) to save in place of `previous`:
    /// this one, with the next revision, marked as succeeding exactly that set. Kept aside, it
    /// replaces that set and nothing else (see [`supersedes`](Self::supersedes)).
    pub fn succeeding(mut self, previous: Option<&TokenDocument>) -> TokenDocument {
        self.revision = previous.map_or(0, |p| next(p.revision));
        self.replaces = None;
        self.succeeds = previous.and_then(|p| set_fingerprint(&p.token));
        self
    }

    /// The document of a set obtained by spending `previous`'s refresh token: this one, with
    /// the next revision, marked as replacing exactly that set. The lifecycle makes these
    /// itself; this is for stores' tests and drivers of their own.
    pub fn rotating(mut self, previous: &TokenDocument) -> TokenDocument {
        self.revision = next(previous.revision);
        self.replaces = replacing(&previous.token);
        self.succeeds = None;
        self
    }

    /// The fingerprint of the set this document was made to replace: the set whose refresh
    /// token was spent for it, or the set a new grant was saved over.
    fn predecessor(&self) -> Option<u64> {
        self.replaces.or(self.succeeds)
    }

    /// Whether this document, kept aside because a store refused it, should now replace
    /// `stored`: only in the stored set's own lineage.
    ///
    /// A rotated set replaces exactly the set whose refresh token was spent for it (whatever
    /// was recorded with that set since), and a new grant (a login) exactly the set it was
    /// saved over; nothing else: not a newer login, not a set another process saved, not a
    /// grant revoked and removed meanwhile, and never a document that is merely newer. A
    /// document made to replace nothing (a first login) goes only into an empty store.
    pub fn supersedes(&self, stored: Option<&TokenDocument>) -> bool {
        match (self.predecessor(), stored) {
            (Some(_), None) => false,
            (None, None) => true,
            (None, Some(_)) => false,
            (Some(predecessor), Some(stored)) => {
                !self.holds_set_of(stored) && set_fingerprint(&stored.token) == Some(predecessor)
            }
        }
    }

    /// Whether this document, kept aside, is of no more use with `stored` in the store: the
    /// store holds its set, a set made from it, or a sibling made to replace the same set
    /// (only one of two can be live, and the stored one won). A kept document neither
    /// superseding nor obsoleted by the stored one is of another lineage: only the user can
    /// judge it, so it is left where it is.
    pub fn obsoleted_by(&self, stored: &TokenDocument) -> bool {
        if self.holds_set_of(stored) {
            return true;
        }
        let mine = set_fingerprint(&self.token);
        let descends = mine.is_some() && stored.predecessor() == mine;
        let sibling = self.predecessor().is_some() && self.predecessor() == stored.predecessor();
        descends || sibling
    }

    /// Whether both documents hold the same token set.
    fn holds_set_of(&self, other: &TokenDocument) -> bool {
        other.token.refresh_token == self.token.refresh_token
            && other.token.access_token == self.token.access_token
    }

    /// Whether this (stored) document ends the save retries of `unsaved`, a new set obtained
    /// by spending `predecessor`'s refresh token: it holds `unsaved`'s set (saved already), or
    /// a later one: a set obtained by spending `unsaved`'s refresh token, a new grant (a
    /// login, stored at `unsaved`'s revision or later), or a set of another lineage stored
    /// later. Anything carrying the predecessor's refresh token (the predecessor itself,
    /// with whatever was recorded on it since, or stripped of its revoked access token) is
    /// not later. When Pinterest did not rotate (both sets carry one refresh token), a set
    /// obtained with it counts only if received later.
    pub(crate) fn ends_save_retry(
        &self,
        unsaved: &TokenDocument,
        predecessor: Option<&Token>,
    ) -> bool {
        let holds = |token: &Token| {
            self.token.access_token == token.access_token
                && self.token.refresh_token == token.refresh_token
        };
        if holds(&unsaved.token) {
            return true;
        }
        let spent = predecessor.and_then(|p| p.refresh_token.as_ref());
        let rotated =
            unsaved.token.refresh_token.is_some() && unsaved.token.refresh_token.as_ref() != spent;
        if self.replaces.is_some() && self.replaces == replacing(&unsaved.token) {
            return rotated || self.token.received_at > unsaved.token.received_at;
        }
        if spent.is_some() && self.token.refresh_token.as_ref() == spent {
            return false;
        }
        if predecessor.is_some_and(holds) {
            return false;
        }
        // A set that can be refreshed is replaced only by one that can (never an app token).
        (self.token.refresh_token.is_some() || unsaved.token.refresh_token.is_none())
            && match self.replaces {
                None => self.revision >= unsaved.revision,
                Some(_) => self.revision > unsaved.revision,
            }
    }

    /// This document as the next revision after `stored` (to put a kept document in place).
    pub fn after(mut self, stored: Option<&TokenDocument>) -> TokenDocument {
        self.revision = stored.map_or(self.revision, |s| next(s.revision).max(self.revision));
        self
    }

    /// This document with its access token forgotten (after it was revoked), as the next
    /// revision: the set needs a refresh before a token is handed out again.
    pub fn without_access_token(mut self) -> TokenDocument {
        self.token.access_token = None;
        self.token.access_problem = Some(AccessTokenProblem::Revoked);
        self.revision = next(self.revision);
        self
    }

    /// This document with its refresh token forgotten (after it was revoked), as the next
    /// revision: the access token is used until it expires, then the user must log in again.
    /// `None` when there would be no credential left.
    pub fn without_refresh_token(mut self) -> Option<TokenDocument> {
        self.token.access_token.as_ref()?;
        self.token.refresh_token = None;
        self.token.refresh_token_expires_in = None;
        self.token.refresh_token_expires_at = None;
        self.revision = next(self.revision);
        Some(self)
    }

    /// The document as JSON bytes; they hold both tokens and are zeroized when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let token = &self.token;
        let out = Out {
            version: DOCUMENT_VERSION,
            revision: self.revision,
            replaces: self.replaces.map(|f| format!("{f:016x}")),
            succeeds: self.succeeds.map(|f| format!("{f:016x}")),
            access_token: token.access_token.as_ref().map(AccessToken::secret),
            access_token_problem: token.access_problem.map(problem_name),
            token_type: token.token_type.as_str(),
            received_at: unix(token.received_at),
            expires_in: token.expires_in.as_secs(),
            expires_at: unix(token.expires_at),
            scopes: token
                .scopes
                .as_ref()
                .map(|s| s.iter().map(Scope::as_str).collect()),
            response_type: token.response_type.as_ref().map(ResponseType::as_str),
            refresh_token: token.refresh_token.as_ref().map(RefreshToken::secret),
            refresh_token_expires_in: token.refresh_token_expires_in.map(|d| d.as_secs()),
            refresh_token_expires_at: token.refresh_token_expires_at.map(unix),
            lifecycle: StateOut::of(&self.state),
        };
        let secrets = out.access_token.map_or(0, str::len) + out.refresh_token.map_or(0, str::len);
        let mut writer = WipingWriter(Zeroizing::new(Vec::with_capacity(1024 + 6 * secrets)));
        // A flat struct of strings and numbers always serializes (into memory).
        let _ = serde_json::to_writer_pretty(&mut writer, &out);
        writer.0
    }

    /// Reads a document written by [`to_bytes`](Self::to_bytes), of this version or of
    /// version 1. Errors say what is wrong and where, never quoting the document. Times beyond
    /// year 9999 and lifetimes beyond [`MAX_LIFETIME`] are clamped; an
    /// access token that is not a usable bearer token is dropped (the refresh token is kept).
    pub fn from_bytes(bytes: &[u8]) -> Result<TokenDocument, DocumentError> {
        let doc: In = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Eof => DocumentError::Truncated,
            serde_json::error::Category::Data => DocumentError::Fields {
                line: e.line(),
                column: e.column(),
            },
            _ => DocumentError::NotJson {
                line: e.line(),
                column: e.column(),
            },
        })?;
        if doc.version > DOCUMENT_VERSION || doc.version == 0 {
            return Err(DocumentError::Version(doc.version));
        }
        if doc.revision > MAX_REVISION {
            return Err(DocumentError::RevisionOutOfRange);
        }
        let hex = |field: Option<&str>| match field {
            None => Ok(None),
            Some(hex) => u64::from_str_radix(hex, 16)
                .map(Some)
                .map_err(|_| DocumentError::Fields { line: 0, column: 0 }),
        };
        let replaces = hex(doc.replaces.as_deref())?;
        let succeeds = hex(doc.succeeds.as_deref())?;
        let scopes = doc
            .scopes
            .map(|list| list.iter().map(|s| s.parse::<Scope>()).collect())
            .transpose()
            .map_err(|_| DocumentError::BadScope)?;
        let token_type = TokenType::parse(&doc.token_type);
        let stored_problem = doc.access_token_problem.as_deref().and_then(problem_of);
        let (access_token, access_problem) = match doc.access_token.filter(|t| !t.is_empty()) {
            Some(t) => match check_bearer(&t).and(match token_type {
                TokenType::Bearer => Ok(()),
                TokenType::Other(_) => Err(AccessTokenProblem::UnsupportedType),
            }) {
                Ok(()) => (Some(AccessToken::new(t.as_str())), None),
                Err(problem) => (None, Some(problem)),
            },
            None => (
                None,
                Some(stored_problem.unwrap_or(AccessTokenProblem::Missing)),
            ),
        };
        let refresh_token = doc
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(|t| RefreshToken::new(t.as_str()));
        if access_token.is_none() && refresh_token.is_none() {
            return Err(DocumentError::NoCredential);
        }
        let received_at = time(doc.received_at);
        let clamp = |d: u64| Duration::from_secs(d).min(MAX_LIFETIME);
        let expires_in = clamp(doc.expires_in);
        let expires_at = time(doc.expires_at);
        let token = Token {
            access_token,
            access_problem,
            token_type,
            received_at,
            expires_in,
            expires_at,
            scopes,
            response_type: doc.response_type.as_deref().map(ResponseType::parse),
            refresh_token,
            refresh_token_expires_in: doc.refresh_token_expires_in.map(clamp),
            refresh_token_expires_at: doc.refresh_token_expires_at.map(time),
            ignored: IgnoredFields::default(),
        };
        Ok(TokenDocument {
            token,
            state: doc.lifecycle.map(StateIn::into_state).unwrap_or_default(),
            revision: doc.revision,
            replaces,
            succeeds,
        })
    }
}

#[derive(Serialize)]
struct Out<'a> {
    version: u32,
    revision: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    succeeds: Option<String>,
    access_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token_problem: Option<&'static str>,
    token_type: &'a str,
    received_at: u64,
    expires_in: u64,
    expires_at: u64,
    scopes: Option<Vec<&'a str>>,
    response_type: Option<&'a str>,
    refresh_token: Option<&'a str>,
    refresh_token_expires_in: Option<u64>,
    refresh_token_expires_at: Option<u64>,
    lifecycle: StateOut,
}

#[derive(Serialize)]
struct StateOut {
    not_before: Option<u64>,
    wait: Option<&'static str>,
    failures: u32,
    renews: Option<bool>,
    stopped: Option<StopOut>,
    requests: Vec<u64>,
}

#[derive(Serialize)]
struct StopOut {
    reason: &'static str,
    at: u64,
    status: Option<u16>,
    code: Option<i64>,
    client: Option<String>,
}

impl StateOut {
    fn of(state: &RefreshState) -> StateOut {
        StateOut {
            not_before: state.not_before.map(unix_ceil),
            wait: state.not_before.map(|_| state.wait.as_str()),
            failures: state.failures,
            renews: state.renews,
            stopped: state.stop.as_ref().map(|stop| StopOut {
                reason: stop.reason.as_str(),
                at: unix(stop.at),
                status: stop.status,
                code: stop.code,
                client: stop.client.map(|c| format!("{c:08x}")),
            }),
            requests: state.requests.iter().copied().map(unix_ceil).collect(),
        }
    }
}

/// A buffer that never leaves an unwiped copy behind: it grows by moving into a larger
/// buffer and wiping the old one (a `Vec` growing by itself frees its old buffer as is).
struct WipingWriter(Zeroizing<Vec<u8>>);

impl std::io::Write for WipingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len().saturating_add(bytes.len());
        if needed > self.0.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(self.0.capacity() * 2)));
            bigger.extend_from_slice(&self.0);
            self.0 = bigger;
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Deserialize)]
struct In {
    version: u32,
    #[serde(default)]
    revision: u64,
    #[serde(default)]
    replaces: Option<String>,
    #[serde(default)]
    succeeds: Option<String>,
    #[serde(default)]
    access_token: Option<Zeroizing<String>>,
    #[serde(default)]
    access_token_problem: Option<String>,
    token_type: String,
    received_at: u64,
    expires_in: u64,
    expires_at: u64,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    refresh_token: Option<Zeroizing<String>>,
    #[serde(default)]
    refresh_token_expires_in: Option<u64>,
    #[serde(default)]
    refresh_token_expires_at: Option<u64>,
    #[serde(default)]
    lifecycle: Option<StateIn>,
}

#[derive(Deserialize)]
struct StateIn {
    #[serde(default)]
    not_before: Option<u64>,
    #[serde(default)]
    wait: Option<String>,
    #[serde(default)]
    failures: u32,
    #[serde(default)]
    renews: Option<bool>,
    #[serde(default)]
    stopped: Option<StopIn>,
    #[serde(default)]
    requests: Vec<u64>,
}

#[derive(Deserialize)]
struct StopIn {
    reason: String,
    at: u64,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    client: Option<String>,
}

impl StateIn {
    /// Unknown names (from a newer minor release) degrade to the most careful reading.
    fn into_state(self) -> RefreshState {
        RefreshState {
            not_before: self.not_before.map(time),
            wait: match self.wait.as_deref() {
                None => Wait::default(),
                Some(name) => Wait::from_name(name).unwrap_or(Wait::RateLimited),
            },
            failures: self.failures,
            renews: self.renews,
            stop: self.stopped.map(|stop| Stop {
                reason: StopReason::from_name(&stop.reason).unwrap_or(StopReason::BadRequest),
                at: time(stop.at),
                status: stop.status,
                code: stop.code,
                client: stop
                    .client
                    .as_deref()
                    .and_then(|c| u32::from_str_radix(c, 16).ok()),
            }),
            requests: {
                let mut requests: Vec<_> = self.requests.into_iter().map(time).collect();
                requests.sort_unstable();
                let excess = requests.len().saturating_sub(64);
                requests.drain(..excess);
                requests
            },
        }
    }
}

fn problem_name(problem: AccessTokenProblem) -> &'static str {
    match problem {
        AccessTokenProblem::Missing => "missing",
        AccessTokenProblem::Malformed => "malformed",
        AccessTokenProblem::UnsupportedType => "unsupported_type",
        AccessTokenProblem::Revoked => "revoked",
    }
}

fn problem_of(name: &str) -> Option<AccessTokenProblem> {
    [
        AccessTokenProblem::Missing,
        AccessTokenProblem::Malformed,
        AccessTokenProblem::UnsupportedType,
        AccessTokenProblem::Revoked,
    ]
    .into_iter()
    .find(|p| problem_name(*p) == name)
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .min(MAX_UNIX)
}

/// Rounded up: a deadline or a request time stored in whole seconds is never earlier than it
/// was (a process reading it waits at least as long as the one that wrote it).
fn unix_ceil(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
        .min(MAX_UNIX)
}

/// The next revision (counting up from at most [`MAX_REVISION`], it stays exact).
pub(crate) fn next(revision: u64) -> u64 {
    revision.saturating_add(1)
}

fn time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.min(MAX_UNIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &[u8] = br#"{"version":1,"access_token":"pina_a","token_type":"bearer",
        "received_at":1800000000,"expires_in":60,"expires_at":1800000060,
        "scopes":["boards:read"],"response_type":null,"refresh_token":"pinr_r",
        "refresh_token_expires_in":null,"refresh_token_expires_at":null}"#;

    #[test]
    fn bad_documents_are_typed_and_quote_nothing() {
        let problem = |bytes: &[u8]| TokenDocument::from_bytes(bytes).unwrap_err();
        assert_eq!(problem(b""), DocumentError::Truncated);
        assert!(matches!(problem(b"<html>"), DocumentError::NotJson { .. }));
        let wrong = br#"{"version":1,"access_token":"pina_secret","token_type":"bearer",
            "received_at":"pinr_secret","expires_in":1,"expires_at":2,"scopes":[]}"#;
        assert!(matches!(
            problem(wrong),
            DocumentError::Fields { line: 2, .. }
        ));
        let err = problem(wrong).to_string();
        assert!(!err.contains("secret"), "{err}");
        let future = br#"{"version":3,"access_token":"a","token_type":"bearer",
            "received_at":1,"expires_in":1,"expires_at":2,"scopes":[]}"#;
        assert_eq!(problem(future), DocumentError::Version(3));
        let bad_scope = br#"{"version":1,"access_token":"a","token_type":"bearer",
            "received_at":1,"expires_in":1,"expires_at":2,"scopes":["a b"]}"#;
        assert_eq!(problem(bad_scope), DocumentError::BadScope);
        let empty = br#"{"version":2,"access_token":null,"token_type":"bearer",
            "received_at":1,"expires_in":1,"expires_at":2,"scopes":null}"#;
        assert_eq!(problem(empty), DocumentError::NoCredential);
    }

    #[test]
    fn revisions_beyond_any_number_of_saves_are_refused() {
        let at = |revision: u64| {
            format!(
                r#"{{"version":2,"revision":{revision},"access_token":"pina_a","token_type":"bearer",
                "received_at":1,"expires_in":1,"expires_at":2,"scopes":null,"refresh_token":"pinr_r"}}"#
            )
        };
        assert!(TokenDocument::from_bytes(at(MAX_REVISION).as_bytes()).is_ok());
        for revision in [MAX_REVISION + 1, u64::MAX - 1, u64::MAX] {
            assert_eq!(
                TokenDocument::from_bytes(at(revision).as_bytes()),
                Err(DocumentError::RevisionOutOfRange)
            );
        }
    }

    #[test]
    fn stored_deadlines_and_request_times_are_never_earlier_than_they_were() {
        let token = Token {
            access_token: Some(AccessToken::new("pina_a")),
            access_problem: None,
            token_type: TokenType::Bearer,
            received_at: time(1_800_000_000),
            expires_in: Duration::from_secs(60),
            expires_at: time(1_800_000_060),
            scopes: None,
            response_type: None,
            refresh_token: Some(RefreshToken::new("pinr_r")),
            refresh_token_expires_in: None,
            refresh_token_expires_at: None,
            ignored: IgnoredFields::default(),
        };
        let deadline = time(1_800_000_059) + Duration::from_millis(431);
        let mut document = TokenDocument::new(token);
        document.state.not_before = Some(deadline);
        document.state.requests = vec![deadline];
        let read = TokenDocument::from_bytes(&document.to_bytes()).unwrap();
        assert!(read.state.not_before.unwrap() >= deadline);
        assert!(read.state.requests[0] >= deadline);
    }

    #[test]
    fn version_1_is_read_and_rewritten_as_version_2() {
        let doc = TokenDocument::from_bytes(V1).unwrap();
        assert_eq!(doc.revision(), 0);
        assert_eq!(doc.state(), &RefreshState::default());
        assert_eq!(doc.token().scopes(), [Scope::BoardsRead]);
        let again = TokenDocument::from_bytes(&doc.to_bytes()).unwrap();
        assert_eq!(again, doc);
        let text = String::from_utf8(doc.to_bytes().to_vec()).unwrap();
        assert!(text.contains("\"version\": 2"), "{text}");
    }

    #[test]
    fn far_times_are_clamped_and_bad_access_tokens_dropped() {
        let far = br#"{"version":1,"access_token":"pina a","token_type":"bearer",
            "received_at":1800000000,"expires_in":18446744073709551615,
            "expires_at":18446744073709551615,"scopes":[],"refresh_token":"pinr_r",
            "refresh_token_expires_at":999999999999999}"#;
        let doc = TokenDocument::from_bytes(far).unwrap();
        let token = doc.token();
        assert_eq!(token.expires_in(), MAX_LIFETIME);
        assert_eq!(unix(token.expires_at()), MAX_UNIX);
        assert_eq!(token.refresh_token_expires_at().map(unix), Some(MAX_UNIX));
        assert_eq!(token.access_token(), None);
        assert_eq!(
            token.access_token_problem(),
            Some(AccessTokenProblem::Malformed)
        );
        assert_eq!(token.refresh_token().map(|t| t.secret()), Some("pinr_r"));
    }
}
