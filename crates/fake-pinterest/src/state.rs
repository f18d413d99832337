//! What the fake remembers: codes, tokens, and counts.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::fault::{Grant, Script};

/// How the fake shapes its proper token answers; every variant is one Pinterest (or its spec)
/// allows. Set with [`FakeConfig::shape`](crate::FakeConfig::shape) or
/// [`FakePinterest::set_shape`](crate::FakePinterest::set_shape).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerShape {
    /// Answer `201 Created` instead of `200 OK` (5.28 documents both).
    pub created: bool,
    /// Separate scopes with spaces (as Pinterest's documented samples do) instead of commas.
    pub space_separated_scope: bool,
    /// Leave `scope` out of refresh answers (optional since 5.28: unchanged).
    pub omit_scope_on_refresh: bool,
    /// A legacy grant: a refresh neither rotates nor returns a refresh token.
    pub legacy_refresh: bool,
    /// Send `expires_in` as a string, as Pinterest's own test double does.
    pub expires_in_as_string: bool,
    /// Extra headers on every proper token answer (for example `X-RateLimit-Remaining`).
    pub headers: Vec<(String, String)>,
    /// Leave `response_type` out (optional, read-only in the spec).
    pub omit_response_type: bool,
    /// Leave `scope` out of every answer, code exchanges and client credentials included
    /// (RFC 6749 §5.1: then it equals what was requested).
    pub omit_scope: bool,
    /// How `refresh_token_expires_at` is sent.
    pub refresh_expires_at: RefreshExpiresAt,
    /// A refresh answers with the very pair it was asked with: nothing rotates.
    pub repeat_pair: bool,
    /// Client-credentials answers carry a refresh token too (RFC 6749 §4.4.3 allows it).
    pub refresh_token_on_client_credentials: bool,
    /// A proper answer (rotation and all) whose body breaks JSON's rules.
    pub malformed: Option<Malformed>,
}

/// How `refresh_token_expires_at` is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RefreshExpiresAt {
    /// Unix seconds of the expiry.
    #[default]
    Absolute,
    /// The lifetime in seconds, as if it were `refresh_token_expires_in`.
    Relative,
    /// `0`.
    Zero,
    /// Left out.
    Absent,
}

/// A proper answer whose body breaks JSON's rules; the rotation it reports has happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// `refresh_token` twice: a decoy first, the real one last.
    DuplicateRefreshToken,
    /// Bytes after the JSON object.
    TrailingBytes,
    /// `"expires_in": 1e400`, beyond any `f64`.
    HugeNumber,
}

impl AnswerShape {
    /// Pinterest-style rate-limit headers: `X-RateLimit-Limit`, `-Remaining`, `-Reset`.
    pub fn with_rate_limit_headers(mut self, limit: u64, remaining: u64, reset_secs: u64) -> Self {
        self.headers.extend([
            ("x-ratelimit-limit".to_owned(), limit.to_string()),
            ("x-ratelimit-remaining".to_owned(), remaining.to_string()),
            ("x-ratelimit-reset".to_owned(), reset_secs.to_string()),
        ]);
        self
    }
}

/// `now + ttl`, never past [`MAX_TTL`](crate::MAX_TTL) and never panicking.
pub(crate) fn after(ttl: Duration) -> SystemTime {
    let now = SystemTime::now();
    now.checked_add(ttl.min(crate::MAX_TTL)).unwrap_or(now)
}

/// `Instant::now() + ttl`, likewise.
pub(crate) fn after_instant(ttl: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(ttl.min(crate::MAX_TTL)).unwrap_or(now)
}

/// Request counts, per grant and per endpoint, as `GET /_fake/stats` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `POST /v5/oauth/token` requests, by `grant_type` as received.
    pub token: GrantCounts,
    /// `POST /v5/oauth/token/revoke` requests.
    pub revoke: u64,
    /// Consent page requests.
    pub consent: u64,
    /// `GET /v5/user_account` requests.
    pub user_account: u64,
    /// Requests answered by a scripted fault.
    pub faults: u64,
    /// Code exchanges refused because the PKCE verifier did not match the challenge.
    pub pkce_refused: u64,
    /// Refreshes that presented a refresh token already rotated away (a client that lost the
    /// new one, or raced another): within the grace period they still succeed.
    pub rotated_reuse: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// All requests (including `/_fake/…`).
    pub requests: u64,
    /// Body bytes handed to connections by endless, dripping and cut-short faults.
    pub fault_body_bytes: u64,
    /// Connections cut by a [`Cut`](crate::Cut) before a request was read whole.
    pub cut_connections: u64,
    /// Bytes read from those connections before they were cut.
    pub cut_bytes: u64,
    /// Requests carried out whose answer was then lost ([`Fault::LoseAnswer`](crate::Fault::LoseAnswer)).
    pub lost_answers: u64,
}

/// Token requests by `grant_type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GrantCounts {
    /// `authorization_code`.
    pub authorization_code: u64,
    /// `refresh_token`.
    pub refresh_token: u64,
    /// `client_credentials`.
    pub client_credentials: u64,
    /// A missing or unknown `grant_type`, or a body that could not be read.
    pub invalid: u64,
}

impl GrantCounts {
    pub(crate) fn count(&mut self, grant: Option<Grant>) {
        match grant {
            Some(Grant::AuthorizationCode) => self.authorization_code += 1,
            Some(Grant::RefreshToken) => self.refresh_token += 1,
            Some(Grant::ClientCredentials) => self.client_credentials += 1,
            None => self.invalid += 1,
        }
    }
}

/// A request as the fake received it (kept for tests that check what a client really sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The HTTP version, e.g. `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    /// The headers, in order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// How many requests are kept.
pub(crate) const MAX_RECORDED: usize = 256;

#[derive(Debug)]
pub(crate) struct IssuedCode {
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires: Instant,
    /// The PKCE challenge sent with the consent (RFC 7636), with its method.
    pub(crate) challenge: Option<(String, String)>,
}

#[derive(Debug)]
pub(crate) struct AccessGrant {
    pub(crate) expires: SystemTime,
    pub(crate) revoked: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RefreshStatus {
    Active,
    /// Rotated away at this time.
    Rotated(SystemTime),
    Revoked,
}

#[derive(Debug)]
pub(crate) struct RefreshGrant {
    pub(crate) scopes: Vec<String>,
    pub(crate) expires: SystemTime,
    pub(crate) status: RefreshStatus,
    /// The access token issued with it (what a repeated pair repeats).
    pub(crate) access_token: String,
}

/// Everything behind the fake's one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) codes: HashMap<String, IssuedCode>,
    pub(crate) access: HashMap<String, AccessGrant>,
    pub(crate) refresh: HashMap<String, RefreshGrant>,
    pub(crate) stats: Stats,
    pub(crate) scripts: Vec<Script>,
    /// Connection cuts still to carry out, in order.
    pub(crate) cuts: VecDeque<crate::fault::Cut>,
    pub(crate) recorded: VecDeque<RecordedRequest>,
    pub(crate) shape: AnswerShape,
    /// The registered redirect URIs.
    pub(crate) redirect_uris: Vec<String>,
    /// The grant (one consent, and every token issued down its chain) each token belongs to.
    pub(crate) grant_of: HashMap<String, u64>,
    pub(crate) grants: u64,
}

/// A token set just issued.
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) refresh_expires_at: Option<SystemTime>,
}

impl State {
    pub(crate) fn record(&mut self, request: RecordedRequest) {
        if self.recorded.len() == MAX_RECORDED {
            self.recorded.pop_front();
        }
        self.recorded.push_back(request);
    }

    /// Issues an access token, and a refresh token unless `refresh_ttl` is `None`, for a new
    /// grant.
    pub(crate) fn issue(
        &mut self,
        scopes: &[String],
        access_ttl: Duration,
        refresh_ttl: Option<Duration>,
    ) -> Issued {
        self.grants += 1;
        let grant = self.grants;
        self.issue_in(grant, scopes, access_ttl, refresh_ttl)
    }

    /// Issues tokens down the chain of the grant `from` (a refresh token) belongs to.
    pub(crate) fn issue_from(
        &mut self,
        from: &str,
        scopes: &[String],
        access_ttl: Duration,
        refresh_ttl: Option<Duration>,
    ) -> Issued {
        match self.grant_of.get(from).copied() {
            Some(grant) => self.issue_in(grant, scopes, access_ttl, refresh_ttl),
            None => self.issue(scopes, access_ttl, refresh_ttl),
        }
    }

    fn issue_in(
        &mut self,
        grant: u64,
        scopes: &[String],
        access_ttl: Duration,
        refresh_ttl: Option<Duration>,
    ) -> Issued {
        let access_token = crate::wire::random_token("pina_", 36);
        self.grant_of.insert(access_token.clone(), grant);
        self.access.insert(
            access_token.clone(),
            AccessGrant {
                expires: after(access_ttl),
                revoked: false,
            },
        );
        let (refresh_token, refresh_expires_at) = match refresh_ttl {
            Some(ttl) => {
                let token = crate::wire::random_token("pinr_", 36);
                self.grant_of.insert(token.clone(), grant);
                let expires = after(ttl);
                self.refresh.insert(
                    token.clone(),
                    RefreshGrant {
                        scopes: scopes.to_vec(),
                        expires,
                        status: RefreshStatus::Active,
                        access_token: access_token.clone(),
                    },
                );
                (Some(token), Some(expires))
            }
            None => (None, None),
        };
        Issued {
            access_token,
            refresh_token,
            refresh_expires_at,
        }
    }

    /// Revokes an access or refresh token; unknown tokens are ignored (RFC 7009 §2.2).
    /// Revoking a refresh token revokes every access token issued down its grant's chain too
    /// (RFC 7009 §2.1: the server "SHOULD also invalidate all access tokens based on the same
    /// authorization grant").
    pub(crate) fn revoke(&mut self, token: &str) {
        if let Some(access) = self.access.get_mut(token) {
            access.revoked = true;
        }
        if let Some(refresh) = self.refresh.get_mut(token) {
            refresh.status = RefreshStatus::Revoked;
            if let Some(grant) = self.grant_of.get(token).copied() {
                let of_grant: Vec<String> = self
                    .grant_of
                    .iter()
                    .filter(|(_, g)| **g == grant)
                    .map(|(t, _)| t.clone())
                    .collect();
                for other in of_grant {
                    if let Some(access) = self.access.get_mut(&other) {
                        access.revoked = true;
                    }
                }
            }
        }
    }

    /// `true` when the refresh token would be accepted now: active and unexpired, or rotated
    /// away less than `grace` ago.
    pub(crate) fn refresh_usable(&self, token: &str, grace: Duration) -> bool {
        self.refresh.get(token).is_some_and(|r| {
            let now = SystemTime::now();
            let current = match r.status {
                RefreshStatus::Active => true,
                RefreshStatus::Rotated(at) => at.checked_add(grace).is_some_and(|end| now < end),
                RefreshStatus::Revoked => false,
            };
            current && r.expires > now
        })
    }

    /// `true` when the access token is known, unexpired and not revoked.
    pub(crate) fn access_valid(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|a| !a.revoked && a.expires > SystemTime::now())
    }
}
