//! The token set as a JSON document, for storage. Pure: reading and writing files is the
//! store's business.
//!
//! ```json
//! {
//!   "version": 1,
//!   "access_token": "pina_…",
//!   "token_type": "bearer",
//!   "received_at": 1764403200,
//!   "expires_in": 2592000,
//!   "expires_at": 1766995200,
//!   "scopes": ["boards:read", "pins:read"],
//!   "response_type": "refresh_token",
//!   "refresh_token": "pinr_…",
//!   "refresh_token_expires_in": 5184000,
//!   "refresh_token_expires_at": 1769587200
//! }
//! ```
//!
//! Times are Unix seconds. `response_type`, `refresh_token`, `refresh_token_expires_in` and
//! `refresh_token_expires_at` may be `null` or absent; unknown fields are ignored.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, TokenDocumentProblem};
use crate::scope::Scope;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::{ResponseType, Token, TokenType};

/// The document version written, and the only one read.
pub const TOKEN_DOCUMENT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Out<'a> {
    version: u32,
    access_token: &'a str,
    token_type: &'a str,
    received_at: u64,
    expires_in: u64,
    expires_at: u64,
    scopes: Vec<&'a str>,
    response_type: Option<&'a str>,
    refresh_token: Option<&'a str>,
    refresh_token_expires_in: Option<u64>,
    refresh_token_expires_at: Option<u64>,
}

#[derive(Deserialize)]
struct In {
    version: u32,
    access_token: Zeroizing<String>,
    token_type: String,
    received_at: u64,
    expires_in: u64,
    expires_at: u64,
    scopes: Vec<String>,
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    refresh_token: Option<Zeroizing<String>>,
    #[serde(default)]
    refresh_token_expires_in: Option<u64>,
    #[serde(default)]
    refresh_token_expires_at: Option<u64>,
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn from_unix(secs: u64, field: &'static str) -> Result<SystemTime, Error> {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or(Error::InvalidTokenDocument(
            TokenDocumentProblem::OutOfRange(field),
        ))
}

impl Token {
    /// The token set as a JSON document (see the [module docs](crate::persist)). The bytes hold
    /// both tokens and are zeroized when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::{parse_token_response, http, Token};
    /// use std::time::SystemTime;
    ///
    /// let body = r#"{"access_token":"pina.a","expires_in":60,"scope":"ads:read","refresh_token":"pinr.r"}"#;
    /// let token = parse_token_response(SystemTime::UNIX_EPOCH, &http::Response::new(body))?;
    /// let json = token.to_json();
    /// assert_eq!(Token::from_json(&json)?, token);
    /// # Ok::<(), pinterest_oauth_core::Error>(())
    /// ```
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let out = Out {
            version: TOKEN_DOCUMENT_VERSION,
            access_token: self.access_token.secret(),
            token_type: self.token_type.as_str(),
            received_at: unix(self.received_at),
            expires_in: self.expires_in.as_secs(),
            expires_at: unix(self.expires_at),
            scopes: self.scopes.iter().map(Scope::as_str).collect(),
            response_type: self.response_type.as_ref().map(ResponseType::as_str),
            refresh_token: self.refresh_token.as_ref().map(RefreshToken::secret),
            refresh_token_expires_in: self.refresh_token_expires_in.map(|d| d.as_secs()),
            refresh_token_expires_at: self.refresh_token_expires_at.map(unix),
        };
        // A flat struct of strings and numbers always serializes.
        Zeroizing::new(serde_json::to_vec_pretty(&out).unwrap_or_default())
    }

    /// Reads a token document written by [`to_json`](Self::to_json). Errors say what is wrong
    /// and where, never quoting the document.
    pub fn from_json(bytes: &[u8]) -> Result<Token, Error> {
        let invalid = |problem| Error::InvalidTokenDocument(problem);
        let doc: In = serde_json::from_slice(bytes).map_err(|e| {
            invalid(match e.classify() {
                serde_json::error::Category::Eof => TokenDocumentProblem::Truncated,
                serde_json::error::Category::Data => TokenDocumentProblem::Fields {
                    line: e.line(),
                    column: e.column(),
                },
                _ => TokenDocumentProblem::NotJson {
                    line: e.line(),
                    column: e.column(),
                },
            })
        })?;
        if doc.version != TOKEN_DOCUMENT_VERSION {
            return Err(invalid(TokenDocumentProblem::Version(doc.version)));
        }
        if doc.access_token.is_empty() {
            return Err(invalid(TokenDocumentProblem::EmptyAccessToken));
        }
        let scopes = doc
            .scopes
            .iter()
            .map(|s| s.parse::<Scope>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| invalid(TokenDocumentProblem::BadScope))?;
        Ok(Token {
            access_token: AccessToken::new(doc.access_token.as_str()),
            token_type: TokenType::parse(&doc.token_type),
            received_at: from_unix(doc.received_at, "received_at")?,
            expires_in: Duration::from_secs(doc.expires_in),
            expires_at: from_unix(doc.expires_at, "expires_at")?,
            scopes,
            response_type: doc.response_type.as_deref().map(ResponseType::parse),
            refresh_token: doc
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(|t| RefreshToken::new(t.as_str())),
            refresh_token_expires_in: doc.refresh_token_expires_in.map(Duration::from_secs),
            refresh_token_expires_at: doc
                .refresh_token_expires_at
                .map(|s| from_unix(s, "refresh_token_expires_at"))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_documents_are_typed_and_quote_nothing() {
        let problem = |bytes: &[u8]| match Token::from_json(bytes) {
            Err(Error::InvalidTokenDocument(p)) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(problem(b""), TokenDocumentProblem::Truncated);
        assert!(matches!(
            problem(b"<html>"),
            TokenDocumentProblem::NotJson { .. }
        ));
        let wrong = br#"{"version":1,"access_token":"pina_secret","token_type":"bearer",
            "received_at":"pinr_secret","expires_in":1,"expires_at":2,"scopes":[]}"#;
        assert!(matches!(
            problem(wrong),
            TokenDocumentProblem::Fields { line: 2, .. }
        ));
        let err = Token::from_json(wrong).unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        let future = br#"{"version":2,"access_token":"a","token_type":"bearer",
            "received_at":1,"expires_in":1,"expires_at":2,"scopes":[]}"#;
        assert_eq!(problem(future), TokenDocumentProblem::Version(2));
        let bad_scope = br#"{"version":1,"access_token":"a","token_type":"bearer",
            "received_at":1,"expires_in":1,"expires_at":2,"scopes":["a b"]}"#;
        assert_eq!(problem(bad_scope), TokenDocumentProblem::BadScope);
    }
}
