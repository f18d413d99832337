//! Scripted misbehaviour: what the fake does instead of (or before) answering properly.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use crate::wire::code;

/// Which requests a scripted fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Every `POST /v5/oauth/token`.
    Token,
    /// `POST /v5/oauth/token` with this `grant_type`.
    Grant(Grant),
    /// `POST /v5/oauth/token/revoke`.
    Revoke,
    /// `GET /v5/user_account`.
    UserAccount,
    /// The consent page.
    Consent,
    /// Any request except `/_fake/…`.
    Any,
}

/// A `grant_type` of the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`.
    ClientCredentials,
}

impl Grant {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<Grant> {
        match value {
            "authorization_code" => Some(Grant::AuthorizationCode),
            "refresh_token" => Some(Grant::RefreshToken),
            "client_credentials" => Some(Grant::ClientCredentials),
            _ => None,
        }
    }
}

/// How many matching requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next matching request only.
    Once,
    /// The next `n` matching requests.
    N(usize),
    /// Every matching request until [`FakePinterest::clear_faults`](crate::FakePinterest::clear_faults).
    Always,
}

/// What to do instead of answering properly. The request is still counted in the stats, but a
/// fault never changes the fake's state (a refresh answered by a fault rotates nothing), except
/// [`Fault::LoseAnswer`], which carries the request out and loses the answer, and
/// [`Fault::AnswerLate`], which carries it out and answers late.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, headers and body.
    Respond {
        /// The status.
        status: StatusCode,
        /// Extra headers (for example `Retry-After`).
        headers: Vec<(String, String)>,
        /// The body.
        body: Bytes,
    },
    /// Wait, then answer properly.
    Delay(Duration),
    /// Wait, then misbehave as the inner fault says.
    DelayThen(Duration, Box<Fault>),
    /// Declare `declared` bytes in `Content-Length`, send `sent` of them, then drop the connection.
    CloseMidBody {
        /// The status of the head.
        status: StatusCode,
        /// The `Content-Length` declared.
        declared: u64,
        /// The bytes actually sent before closing.
        sent: Bytes,
    },
    /// Answer properly, but send the body one byte every `interval`.
    Drip(Duration),
    /// A 200 whose body never ends (chunked), or ends after `declared` bytes announced in
    /// `Content-Length`.
    Endless {
        /// `Some(n)`: declare and send `n` bytes; `None`: chunked and endless.
        declared: Option<u64>,
    },
    /// Redirect elsewhere.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: StatusCode,
        /// The `Location` header.
        location: String,
    },
    /// Write these bytes instead of an HTTP response, then close the connection.
    Garbage(Bytes),
    /// Read the request and never answer (until the fake shuts down).
    NeverAnswer,
    /// Carry the request out (a code is spent, a refresh token rotated), then close the
    /// connection after sending only the first `sent` bytes of the answer: the answer is lost
    /// on the way, as when a connection dies after the server acted. The one fault that
    /// changes the fake's state.
    LoseAnswer {
        /// Bytes of the real answer (status line, headers, body) sent before closing.
        sent: usize,
    },
    /// Carry the request out at once (a refresh rotates, a revocation revokes), then wait this
    /// long before answering: the window in which a client that stops loses what Pinterest
    /// already did.
    AnswerLate(Duration),
}

/// How a connection is cut before its request is read whole (see
/// [`FakePinterest::cut_connections`](crate::FakePinterest::cut_connections)): the request never
/// reaches the endpoints, but the client cannot know that any byte it sent was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cut {
    /// Closed as soon as accepted: nothing is read.
    OnAccept,
    /// Closed after reading this many bytes of the request.
    AfterBytes(usize),
}

impl Fault {
    /// Answer with `status` and a JSON `body`.
    pub fn status(status: u16, body: &str) -> Fault {
        Fault::Respond {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// Answer with `status`, these extra headers and a JSON `body`.
    pub fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Fault {
        let mut all = vec![("content-type".to_owned(), "application/json".to_owned())];
        all.extend(
            headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        Fault::Respond {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers: all,
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// 429 with `Retry-After: <secs>` and Pinterest's error body.
    pub fn rate_limited(retry_after_secs: u64) -> Fault {
        let body = json!({"code": code::RATE_LIMITED, "message": "Rate limit exceeded."});
        Fault::Respond {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("retry-after".into(), retry_after_secs.to_string()),
            ],
            body: Bytes::from(body.to_string()),
        }
    }

    /// 403 code 29, as Pinterest answers a revoke it does not allow.
    pub fn forbidden() -> Fault {
        let body = json!({
            "code": code::NOT_PERMITTED,
            "message": "You are not permitted to access that resource.",
        });
        Fault::status(403, &body.to_string())
    }

    /// A 502 HTML page, as a load balancer sends it.
    pub fn bad_gateway_html() -> Fault {
        Fault::Respond {
            status: StatusCode::BAD_GATEWAY,
            headers: vec![("content-type".into(), "text/html".into())],
            body: Bytes::from_static(
                b"<html><head><title>502 Bad Gateway</title></head>\
                  <body><center><h1>502 Bad Gateway</h1></center></body></html>",
            ),
        }
    }

    /// 503 with Pinterest's error body.
    pub fn unavailable() -> Fault {
        Fault::status(503, r#"{"code":3,"message":"Service unavailable."}"#)
    }
}

/// One scripted fault and how many more requests it applies to.
#[derive(Debug)]
pub(crate) struct Script {
    pub(crate) route: Route,
    pub(crate) fault: Fault,
    pub(crate) left: Option<usize>,
}

/// What a request is, for matching faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Token(Option<Grant>),
    Revoke,
    UserAccount,
    Consent,
    Other,
}

impl Route {
    pub(crate) fn matches(self, target: Target) -> bool {
        match (self, target) {
            (Route::Any, _) => true,
            (Route::Token, Target::Token(_)) => true,
            (Route::Grant(g), Target::Token(Some(t))) => g == t,
            (Route::Revoke, Target::Revoke) => true,
            (Route::UserAccount, Target::UserAccount) => true,
            (Route::Consent, Target::Consent) => true,
            _ => false,
        }
    }
}

/// Takes the first fault scripted for `target`, counting it down.
pub(crate) fn take(scripts: &mut Vec<Script>, target: Target) -> Option<Fault> {
    let index = scripts.iter().position(|s| s.route.matches(target))?;
    let script = scripts.get_mut(index)?;
    let fault = script.fault.clone();
    match &mut script.left {
        Some(left) if *left <= 1 => {
            scripts.remove(index);
        }
        Some(left) => *left -= 1,
        None => {}
    }
    Some(fault)
}
