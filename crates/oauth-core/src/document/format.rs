//! The token document's on-disk format: JSON, version 2 (version 1 is still read). See the
//! [module docs](crate::document) for the fields.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{MAX_REVISION, RefreshState, Stop, StopReason, TokenDocument, Wait};
use crate::error::{AccessTokenProblem, DocumentError};
use crate::scope::Scope;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::{IgnoredFields, MAX_LIFETIME, ResponseType, Token, TokenType, check_bearer};

/// The document version written.
pub const DOCUMENT_VERSION: u32 = 2;

/// The last second any stored time may name (9999-12-31T23:59:59Z, in Unix seconds): later
/// ones are clamped to it, so every stored time can be formatted.
pub const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

impl TokenDocument {
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
            return Err(DocumentError::Version {
                found: doc.version,
                max: DOCUMENT_VERSION,
            });
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
        .min(MAX_UNIX_SECONDS)
}

/// Rounded up: a deadline or a request time stored in whole seconds is never earlier than it
/// was (a process reading it waits at least as long as the one that wrote it).
fn unix_ceil(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
        .min(MAX_UNIX_SECONDS)
}

fn time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.min(MAX_UNIX_SECONDS))
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
        assert_eq!(
            problem(future),
            DocumentError::Version {
                found: 3,
                max: DOCUMENT_VERSION
            }
        );
        assert!(
            problem(future)
                .to_string()
                .contains("newer than this program reads")
        );
        let zero = br#"{"version":0,"access_token":"a","token_type":"bearer",
            "received_at":1,"expires_in":1,"expires_at":2,"scopes":[]}"#;
        let said = problem(zero).to_string();
        assert!(said.contains("version 0 was never written"), "{said}");
        assert!(!said.contains("newer"), "{said}");
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
        assert_eq!(unix(token.expires_at()), MAX_UNIX_SECONDS);
        assert_eq!(
            token.refresh_token_expires_at().map(unix),
            Some(MAX_UNIX_SECONDS)
        );
        assert_eq!(token.access_token(), None);
        assert_eq!(
            token.access_token_problem(),
            Some(AccessTokenProblem::Malformed)
        );
        assert_eq!(token.refresh_token().map(|t| t.secret()), Some("pinr_r"));
    }
}
