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

mod format;
mod state;

pub use format::{DOCUMENT_VERSION, MAX_UNIX_SECONDS};
pub use state::{RefreshState, Stop, StopReason, Wait};

use crate::error::{AccessTokenProblem, DocumentError};
use crate::secret::RefreshToken;
use crate::token::Token;

/// What a store keeps for one grant: the token set, the lifecycle's memory that every process
/// sharing the grant honours, and a revision counting the saves.
///
/// Written with [`to_bytes`](Self::to_bytes) and read with [`from_bytes`](Self::from_bytes)
/// (see the [module docs](crate::document) for the format).
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{parse_token_response, http, TokenDocument};
/// use std::time::SystemTime;
///
/// let body = r#"{"access_token":"pina.a","expires_in":60,"scope":"ads:read","refresh_token":"pinr.r"}"#;
/// let token = parse_token_response(SystemTime::UNIX_EPOCH, &http::Response::new(body))?;
/// let document = TokenDocument::new(token);
/// let bytes = document.to_bytes();
/// assert_eq!(TokenDocument::from_bytes(&bytes)?, document);
/// # Ok::<(), Box<dyn std::error::Error>>(())
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

/// A short, one-way fingerprint of a refresh token (the first 64 bits of its SHA-256): it
/// tells which set a document replaces without storing the spent token.
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

    /// Whether this document can be stored: whatever is written must read back, so a
    /// revision beyond [`MAX_REVISION`] (only a document tampered with gets there) is refused.
    /// Every store checks this before it writes.
    ///
    /// Errors: [`DocumentError::RevisionOutOfRange`].
    pub fn check_storable(&self) -> Result<(), DocumentError> {
        if self.revision > MAX_REVISION {
            return Err(DocumentError::RevisionOutOfRange);
        }
        Ok(())
    }

    /// Whether this document can be stored and still leave room for a document to follow
    /// it: a record of a refresh attempt must, or the set the refresh buys could not be
    /// stored after it (so nothing is sent at the last revision).
    ///
    /// Errors: [`DocumentError::RevisionOutOfRange`].
    pub fn check_followable(&self) -> Result<(), DocumentError> {
        if self.revision >= MAX_REVISION {
            return Err(DocumentError::RevisionOutOfRange);
        }
        Ok(())
    }
}

/// The next revision (counting up from at most [`MAX_REVISION`], it stays exact).
pub(crate) fn next(revision: u64) -> u64 {
    revision.saturating_add(1)
}
