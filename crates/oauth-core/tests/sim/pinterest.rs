//! A simulated Pinterest token endpoint, one for every driver of the lifecycle: the day-long
//! property test (`tests/lifecycle_day.rs`) and the lifecycle fuzz target
//! (`fuzz/fuzz_targets/lifecycle.rs`, which includes this file by path).
//!
//! It tracks which refresh token is the valid one (Pinterest rotates it on every refresh when
//! it issues a new one, with no grace) and answers each request as it is told to, through the
//! core's own response parser, as the wire would carry it.

use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{Failure, LifecycleConfig, Token, http, parse_token_response};

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// A 200 with a new access token.
    Token {
        /// `expires_in`, in seconds.
        lifetime: u64,
        /// A new refresh token (continuous refresh), or none (legacy: the old one stays).
        rotate: bool,
        /// `refresh_token_expires_in`, with a new refresh token.
        refresh_lifetime: Option<u64>,
        /// Whether `scope` is in the answer.
        with_scope: bool,
    },
    /// 503, perhaps with `Retry-After`.
    ServerError { retry_after: Option<u64> },
    /// 429 (Pinterest's code 8), perhaps with `Retry-After` and `X-RateLimit-Reset`.
    RateLimited {
        retry_after: Option<u64>,
        reset: Option<u64>,
    },
    /// Any other status (mapped into 400..=599) with any error code and headers.
    Status {
        status: u16,
        retry_after: Option<u64>,
        reset: Option<u64>,
        code: i64,
    },
    /// No answer at all.
    Network,
    /// 401 with Pinterest's code 283: the grant is dead.
    InvalidGrant,
    /// 401 with code 2: the app's credentials were refused.
    Refused,
}

/// The server's side of one grant.
#[derive(Debug)]
pub(crate) struct Server {
    /// The refresh token the server accepts now.
    pub(crate) valid: String,
    /// How many token sets it issued.
    pub(crate) issued: u64,
}

/// The answer to the code exchange every run starts from: valid an hour, refresh token
/// `pinr_0` valid 60 days.
pub(crate) const FIRST: &str = r#"{"access_token":"pina_0","token_type":"bearer","expires_in":3600,"scope":"boards:read","refresh_token":"pinr_0","refresh_token_expires_in":5184000}"#;

impl Server {
    /// A server that issued [`FIRST`] at `now`, and that token.
    pub(crate) fn start(now: SystemTime) -> (Server, Token) {
        let first = parse_token_response(now, &http::Response::new(FIRST))
            .expect("the first answer parses");
        let server = Server {
            valid: "pinr_0".into(),
            issued: 0,
        };
        (server, first)
    }

    /// Answers one token request at `now` as `answer` says, parsed by the core.
    pub(crate) fn respond(&mut self, now: SystemTime, answer: &Answer) -> Result<Token, Failure> {
        match answer {
            Answer::Token {
                lifetime,
                rotate,
                refresh_lifetime,
                with_scope,
            } => {
                self.issued += 1;
                let mut body = format!(
                    r#"{{"access_token":"pina_{}","token_type":"bearer","expires_in":{lifetime}"#,
                    self.issued
                );
                if *rotate {
                    self.valid = format!("pinr_{}", self.issued);
                    body.push_str(&format!(r#","refresh_token":"{}""#, self.valid));
                    if let Some(life) = refresh_lifetime {
                        body.push_str(&format!(r#","refresh_token_expires_in":{life}"#));
                    }
                }
                if *with_scope {
                    body.push_str(r#","scope":"boards:read""#);
                }
                body.push('}');
                parse(now, 200, &[], body)
            }
            Answer::ServerError { retry_after } => parse(
                now,
                503,
                &headers(*retry_after, None),
                r#"{"code":3,"message":"unavailable"}"#.into(),
            ),
            Answer::RateLimited { retry_after, reset } => parse(
                now,
                429,
                &headers(*retry_after, *reset),
                r#"{"code":8,"message":"Max rate limit exceeded"}"#.into(),
            ),
            Answer::Status {
                status,
                retry_after,
                reset,
                code,
            } => parse(
                now,
                400 + status % 200,
                &headers(*retry_after, *reset),
                format!(r#"{{"code":{code},"message":"no"}}"#),
            ),
            Answer::Network => Err(Failure::Transient { retry_after: None }),
            Answer::InvalidGrant => parse(
                now,
                401,
                &[],
                r#"{"code":283,"message":"The authorization grant is invalid"}"#.into(),
            ),
            Answer::Refused => parse(
                now,
                401,
                &[],
                r#"{"code":2,"message":"Authentication failed."}"#.into(),
            ),
        }
    }
}

/// How long `answer` asks the client to wait before the next request, as Pinterest's
/// documentation reads: `Retry-After` on any status, `X-RateLimit-Reset` with a 429 (capped
/// as the lifecycle caps it).
pub(crate) fn asked(answer: &Answer) -> Duration {
    let secs = match answer {
        Answer::ServerError { retry_after } => retry_after.unwrap_or(0),
        Answer::RateLimited { retry_after, reset } => {
            retry_after.unwrap_or(0).max(reset.unwrap_or(0))
        }
        Answer::Status {
            status,
            retry_after,
            reset,
            ..
        } => {
            let reset = if 400 + status % 200 == 429 {
                *reset
            } else {
                None
            };
            retry_after.unwrap_or(0).max(reset.unwrap_or(0))
        }
        _ => 0,
    };
    // The lifecycle caps longer waits (at a day by default).
    Duration::from_secs(secs).min(LifecycleConfig::default().max_retry_after())
}

/// The refresh token `token` holds.
pub(crate) fn refresh_token_of(token: Option<&Token>) -> Option<String> {
    token?.refresh_token().map(|t| t.secret().to_owned())
}

fn headers(retry_after: Option<u64>, reset: Option<u64>) -> Vec<(&'static str, String)> {
    let mut headers: Vec<_> = retry_after
        .iter()
        .map(|s| ("retry-after", s.to_string()))
        .collect();
    headers.extend(reset.iter().map(|s| ("x-ratelimit-reset", s.to_string())));
    headers
}

fn parse(
    now: SystemTime,
    status: u16,
    headers: &[(&'static str, String)],
    body: String,
) -> Result<Token, Failure> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    let response = builder.body(body).expect("a valid status and headers");
    parse_token_response(now, &response).map_err(|e| Failure::of(&e))
}
