//! Turning any HTTP response from the token endpoints into a typed token or a typed error.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Response, StatusCode};

use crate::error::{
    AccessTokenProblem, ApiError, ApiErrorKind, Malformation, MalformedResponse, ResponseError,
    RetryAfter, sanitize_text,
};
use crate::json::{Json, Slot, json_object, read_object};
use crate::scope::Scope;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::{
    DEFAULT_EXPIRES_IN, IgnoredFields, MAX_LIFETIME, ResponseType, Token, TokenType, check_bearer,
};

/// The response header carrying Pinterest's request id.
pub const REQUEST_ID_HEADER: &str = "x-pinterest-rid";

/// The rate-limit reset header some Pinterest answers carry.
pub const RATE_LIMIT_RESET_HEADER: &str = "x-ratelimit-reset";

/// Longest `Content-Type` kept in an error.
const MAX_CONTENT_TYPE: usize = 100;

json_object! {
    /// The top-level fields of token and error answers the core reads.
    struct Body {
        access_token,
        token_type,
        expires_in,
        scope,
        response_type,
        refresh_token,
        refresh_token_expires_in,
        refresh_token_expires_at,
        code,
        message,
        message_detail,
        error,
        error_description,
    }
}

/// Parses a response from `POST {base}/oauth/token`.
///
/// Any 2xx carrying a token is success, read leniently: once Pinterest has answered, it has
/// already rotated the refresh token, so every credential of a 2xx is kept.
///
/// * Informational fields of the wrong type (`scope`, `response_type`, the refresh token's
///   lifetimes) are ignored and named in [`Token::ignored_fields`], never quoted.
/// * A missing or unusable `expires_in` is taken as [`DEFAULT_EXPIRES_IN`] (one hour);
///   lifetimes and times beyond [`MAX_LIFETIME`] are clamped to it.
/// * An omitted `scope` leaves [`Token::scopes_known`] false (on a refresh: unchanged).
/// * An access token that is missing, not a `b64token`, or of a type other than `bearer` is
///   dropped ([`Token::access_token_problem`] says why) while the refresh token is kept; only
///   a 2xx with neither is an error ([`Malformation::NoToken`] or
///   [`Malformation::UnusableAccessToken`]).
///
/// Expiry times are computed from `now`, the wall-clock time the response arrived (truncated
/// to the second, as Pinterest counts). A 2xx whose body is an error object, and every other
/// status, is [`ResponseError::Api`] when the body is a JSON object, else
/// [`ResponseError::Malformed`]. Never panics, whatever the status, headers or bytes.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_token_response, http, ApiErrorKind, ResponseError};
/// use std::time::SystemTime;
///
/// let ok = http::Response::builder()
///     .status(201)
///     .body(r#"{"access_token":"pina.x","token_type":"bearer","expires_in":"60","scope":"ads:read"}"#)
///     .unwrap();
/// assert!(parse_token_response(SystemTime::UNIX_EPOCH, &ok).is_ok());
///
/// // A rotated refresh token is kept even when informational fields are odd.
/// let odd = http::Response::new(r#"{"access_token":"pina.y","refresh_token":"pinr.y","scope":7}"#);
/// let token = parse_token_response(SystemTime::UNIX_EPOCH, &odd).unwrap();
/// assert_eq!(token.refresh_token().unwrap().secret(), "pinr.y");
/// assert_eq!(token.ignored_fields().collect::<Vec<_>>(), ["expires_in", "scope"]);
///
/// let limited = http::Response::builder()
///     .status(429)
///     .header("retry-after", "30")
///     .body(r#"{"code":8,"message":"Rate limited"}"#)
///     .unwrap();
/// match parse_token_response(SystemTime::UNIX_EPOCH, &limited) {
///     Err(ResponseError::Api(e)) => assert_eq!(e.kind(), ApiErrorKind::RateLimited),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn parse_token_response<B: AsRef<[u8]>>(
    now: SystemTime,
    response: &Response<B>,
) -> Result<Token, ResponseError> {
    // What the headers say is read only for an error: a success needs none of it.
    let meta = || Meta::of(response.status(), response.headers());
    if let Some(redirect) = redirect(response) {
        return Err(meta().malformed(redirect));
    }
    let mut body: Body<'_> = match read_object(response.body().as_ref()) {
        Ok(body) => body,
        // A success the strict reader refused may still carry the only valid refresh token:
        // it is read again, leniently, and the token says so.
        Err(problem) if response.status().is_success() => {
            let Some(mut body) =
                crate::lenient::read_object::<Body<'static>>(response.body().as_ref())
                    .filter(carries_token)
            else {
                return Err(meta().malformed(problem));
            };
            return token_from_body(now, &mut body)
                .map(|mut token| {
                    token.ignored.lenient = true;
                    token
                })
                .map_err(|p| meta().malformed(p));
        }
        Err(problem) => return Err(meta().malformed(problem)),
    };
    if !response.status().is_success() {
        return Err(meta().api_error(body));
    }
    if !carries_token(&body) && is_error_object(&body) {
        return Err(meta().api_error(body));
    }
    token_from_body(now, &mut body).map_err(|p| meta().malformed(p))
}

/// Parses a response from `POST {base}/oauth/token/revoke`.
///
/// A 2xx is success (Pinterest sends no content) unless its body is an error object; any other
/// status is an error, as in [`parse_token_response`].
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_revoke_response, http};
///
/// assert!(parse_revoke_response(&http::Response::new(Vec::<u8>::new())).is_ok());
/// let denied = http::Response::builder()
///     .status(403)
///     .body(br#"{"code":29,"message":"You are not permitted to access that resource."}"#)
///     .unwrap();
/// assert_eq!(parse_revoke_response(&denied).unwrap_err().status(), 403);
/// ```
pub fn parse_revoke_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<(), ResponseError> {
    let meta = || Meta::of(response.status(), response.headers());
    let body = response.body().as_ref();
    if let Some(redirect) = redirect(response) {
        return Err(meta().malformed(redirect));
    }
    if response.status().is_success() {
        // Whatever a 2xx carries is ignored, unless it is an error object.
        return match read_object::<Body<'_>>(body) {
            Ok(fields) if is_error_object(&fields) => Err(meta().api_error(fields)),
            _ => Ok(()),
        };
    }
    match read_object::<Body<'_>>(body) {
        Ok(fields) => Err(meta().api_error(fields)),
        Err(problem) => Err(meta().malformed(problem)),
    }
}

/// The typed error of any non-2xx answer (or a redirect), as the token parsers make it.
pub(crate) fn error_of<B: AsRef<[u8]>>(response: &Response<B>) -> ResponseError {
    let meta = Meta::of(response.status(), response.headers());
    if let Some(redirect) = redirect(response) {
        return meta.malformed(redirect);
    }
    match read_object::<Body<'_>>(response.body().as_ref()) {
        Ok(fields) => meta.api_error(fields),
        Err(problem) => meta.malformed(problem),
    }
}

/// A malformed answer's typed error.
pub(crate) fn malformed_of<B>(response: &Response<B>, problem: Malformation) -> ResponseError {
    Meta::of(response.status(), response.headers()).malformed(problem)
}

/// A 3xx is never followed and never parsed: it is reported with its `Location`.
fn redirect<B>(response: &Response<B>) -> Option<Malformation> {
    response
        .status()
        .is_redirection()
        .then(|| Malformation::UnexpectedRedirect {
            location: response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(sanitize_text),
        })
}

/// A non-empty string in either token field: the server may have rotated, so it is kept.
fn carries_token(body: &Body<'_>) -> bool {
    let text = |slot: &Slot<'_>| matches!(slot, Slot::Value(Json::Str(s)) if !s.is_empty());
    text(&body.access_token) || text(&body.refresh_token)
}

/// RFC 6749's `error`, or Pinterest's `code`.
fn is_error_object(body: &Body<'_>) -> bool {
    body.error.is_set() || body.code.is_set()
}

/// What the error types keep of a response besides its body.
struct Meta {
    status: StatusCode,
    request_id: Option<String>,
    retry_after: Option<RetryAfter>,
    rate_limit_reset: Option<RetryAfter>,
    content_type: Option<String>,
}

impl Meta {
    fn of(status: StatusCode, headers: &HeaderMap) -> Meta {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        Meta {
            status,
            request_id: text(REQUEST_ID_HEADER)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(sanitize_text),
            retry_after: text(http::header::RETRY_AFTER.as_str()).and_then(RetryAfter::parse),
            rate_limit_reset: text(RATE_LIMIT_RESET_HEADER).and_then(RetryAfter::parse_reset),
            content_type: text(http::header::CONTENT_TYPE.as_str())
                .map(|ct| ct.chars().take(MAX_CONTENT_TYPE).collect()),
        }
    }

    fn malformed(self, problem: Malformation) -> ResponseError {
        ResponseError::Malformed(Box::new(MalformedResponse {
            status: self.status,
            problem,
            content_type: self.content_type,
            request_id: self.request_id,
            retry_after: self.retry_after,
            rate_limit_reset: self.rate_limit_reset,
        }))
    }

    /// An error object, read leniently: whatever is usable is kept.
    fn api_error(self, mut body: Body<'_>) -> ResponseError {
        let code = body.code.take().and_then(|v| match v {
            Json::U64(n) => i64::try_from(n).ok(),
            Json::I64(n) => Some(n),
            Json::Str(s) => s.trim().parse().ok(),
            _ => None,
        });
        let text = |slot: &mut Slot<'_>| match slot.take() {
            Some(Json::Str(s)) if !s.trim().is_empty() => Some(sanitize_text(s.trim())),
            _ => None,
        };
        let error = text(&mut body.error);
        let message = text(&mut body.message).or_else(|| text(&mut body.error_description));
        let message_detail = text(&mut body.message_detail);
        let kind = classify(self.status, code, error.as_deref());
        ResponseError::Api(Box::new(ApiError {
            status: self.status,
            kind,
            code,
            error,
            message,
            message_detail,
            request_id: self.request_id,
            retry_after: self.retry_after,
            rate_limit_reset: self.rate_limit_reset,
        }))
    }
}

/// Pinterest's code 283 and RFC 6749's `invalid_grant` mean the user must consent again.
const CODE_INVALID_GRANT: i64 = 283;
/// Pinterest's "Authentication failed."
const CODE_AUTHENTICATION_FAILED: i64 = 2;
/// Pinterest's "Max rate limit exceeded".
const CODE_RATE_LIMITED: i64 = 8;
/// Pinterest's "You are not permitted to access that resource."
const CODE_NOT_PERMITTED: i64 = 29;

fn classify(status: StatusCode, code: Option<i64>, error: Option<&str>) -> ApiErrorKind {
    if status.is_server_error() {
        return ApiErrorKind::ServerError;
    }
    if code == Some(CODE_INVALID_GRANT) || error == Some("invalid_grant") {
        return ApiErrorKind::InvalidGrant;
    }
    match status.as_u16() {
        401 => ApiErrorKind::ClientAuthentication,
        403 => ApiErrorKind::Forbidden,
        429 => ApiErrorKind::RateLimited,
        _ if code == Some(CODE_RATE_LIMITED) => ApiErrorKind::RateLimited,
        _ if error == Some("invalid_client") || code == Some(CODE_AUTHENTICATION_FAILED) => {
            ApiErrorKind::ClientAuthentication
        }
        _ if error == Some("unauthorized_client") || code == Some(CODE_NOT_PERMITTED) => {
            ApiErrorKind::Forbidden
        }
        _ => ApiErrorKind::Other,
    }
}

fn token_from_body(now: SystemTime, body: &mut Body<'_>) -> Result<Token, Malformation> {
    // Pinterest counts in whole seconds, and so does storage: a token read back from its
    // document is then equal to the one parsed, and comparisons across processes are exact.
    let now = whole_seconds(now);
    let mut ignored = IgnoredFields::default();

    let refresh_token = match body.refresh_token.take() {
        Some(Json::Str(s)) if !s.is_empty() => Some(RefreshToken::from(s.into_owned())),
        Some(Json::Str(_)) | None => None,
        Some(_) => ignored.skip("refresh_token"),
    };
    let token_type = match body.token_type.take() {
        // The spec gives `bearer` as the default.
        None => TokenType::Bearer,
        Some(Json::Str(t)) => TokenType::parse(&t),
        Some(_) => {
            ignored.add("token_type");
            TokenType::Other(String::new())
        }
    };
    let (access_token, access_problem) = match body.access_token.take() {
        Some(Json::Str(t)) if !t.is_empty() => {
            let usable = check_bearer(&t).and(match token_type {
                TokenType::Bearer => Ok(()),
                TokenType::Other(_) => Err(AccessTokenProblem::UnsupportedType),
            });
            match usable {
                Ok(()) => (Some(AccessToken::from(t.into_owned())), None),
                Err(problem) => (None, Some(problem)),
            }
        }
        Some(Json::Str(_)) | None => (None, Some(AccessTokenProblem::Missing)),
        Some(_) => (
            ignored.skip("access_token"),
            Some(AccessTokenProblem::Missing),
        ),
    };
    if access_token.is_none() && refresh_token.is_none() {
        return Err(match access_problem {
            Some(AccessTokenProblem::Missing) | None => Malformation::NoToken,
            Some(problem) => Malformation::UnusableAccessToken(problem),
        });
    }

    let expires_in =
        lifetime(body.expires_in.take(), "expires_in", &mut ignored).unwrap_or_else(|| {
            ignored.add("expires_in");
            DEFAULT_EXPIRES_IN
        });
    let scopes = match body.scope.take() {
        Some(Json::Str(s)) => Some(received_scopes(&s)),
        None => None,
        Some(_) => ignored.skip("scope"),
    };
    let response_type = match body.response_type.take() {
        Some(Json::Str(s)) => Some(ResponseType::parse(&s)),
        None => None,
        Some(_) => ignored.skip("response_type"),
    };
    let refresh_token_expires_in = lifetime(
        body.refresh_token_expires_in.take(),
        "refresh_token_expires_in",
        &mut ignored,
    );
    let refresh_token_expires_at = refresh_expiry(
        now,
        seconds(body.refresh_token_expires_at.take()),
        refresh_token_expires_in,
        &mut ignored,
    );
    Ok(Token {
        access_token,
        access_problem,
        token_type,
        received_at: now,
        expires_in,
        expires_at: now.checked_add(expires_in).unwrap_or(now),
        scopes,
        response_type,
        refresh_token,
        refresh_token_expires_in,
        refresh_token_expires_at,
        ignored,
    })
}

/// When the refresh token expires, from the answer's two fields, cross-checked.
///
/// `refresh_token_expires_at` is a time (Unix seconds) and `refresh_token_expires_in` a
/// lifetime from `now`. Where both are given and disagree by more than a day (a time sent
/// relative, a `0`, a client clock far from the server's), the lifetime wins: it is counted on
/// this client's own clock, as every deadline here is. A time alone that is already past is
/// read as a lifetime when it is small enough to be one (it was sent relative), and ignored
/// otherwise (`0`, or a clock so far ahead that it cannot be placed): a refresh token whose
/// expiry is unknown is never chased, whereas a past expiry would be chased at every chance.
fn refresh_expiry(
    now: SystemTime,
    at: Result<Option<Duration>, ()>,
    expires_in: Option<Duration>,
    ignored: &mut IgnoredFields,
) -> Option<SystemTime> {
    /// How far apart the two fields may be and still agree.
    const AGREE: Duration = Duration::from_secs(86_400);
    let horizon = now.checked_add(MAX_LIFETIME).unwrap_or(now);
    let from_in = expires_in.and_then(|d| now.checked_add(d));
    let at = match at {
        Ok(Some(at)) => Some(at),
        Ok(None) => None,
        Err(()) => ignored.skip("refresh_token_expires_at"),
    };
    let Some(at) = at else {
        return from_in;
    };
    let absolute = SystemTime::UNIX_EPOCH
        .checked_add(at)
        .map_or(horizon, |t| t.min(horizon));
    match from_in {
        Some(from_in) => {
            let apart = absolute
                .duration_since(from_in)
                .or_else(|_| from_in.duration_since(absolute))
                .unwrap_or_default();
            if apart > AGREE {
                ignored.add("refresh_token_expires_at");
                Some(from_in)
            } else {
                Some(absolute)
            }
        }
        None if absolute > now => Some(absolute),
        None if at > Duration::ZERO
            && at <= MAX_LIFETIME.min(Duration::from_secs(10 * 365 * 86_400)) =>
        {
            ignored.add("refresh_token_expires_at");
            now.checked_add(at).map(|t| t.min(horizon))
        }
        None => ignored.skip("refresh_token_expires_at"),
    }
}

/// A lifetime field: clamped to [`MAX_LIFETIME`]; `None` (and noted) when unusable.
fn lifetime(
    value: Option<Json<'_>>,
    name: &'static str,
    ignored: &mut IgnoredFields,
) -> Option<Duration> {
    match seconds(value) {
        Ok(Some(d)) if d <= MAX_LIFETIME => Some(d),
        Ok(Some(_)) => {
            ignored.add(name);
            Some(MAX_LIFETIME)
        }
        Ok(None) => None,
        Err(()) => ignored.skip(name),
    }
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => SystemTime::UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        Err(_) => time,
    }
}

/// Scopes as received: split on commas, whitespace and control characters, so every piece is
/// a well-formed name and parsing cannot fail.
fn received_scopes(list: &str) -> Vec<Scope> {
    list.split(|c: char| c == ',' || c.is_whitespace() || c.is_control())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// A non-negative number of seconds: an integer, an integral float, or a numeric string.
/// `Err` for anything else (negative, not finite, not a number).
fn seconds(value: Option<Json<'_>>) -> Result<Option<Duration>, ()> {
    let from_float = |f: f64| {
        if f >= 0.0 && !f.is_nan() {
            // Saturating (an infinite float too): absurd values are clamped by the caller.
            Ok(Duration::from_secs(f.trunc() as u64))
        } else {
            Err(())
        }
    };
    match value {
        None => Ok(None),
        Some(Json::U64(n)) => Ok(Some(Duration::from_secs(n))),
        Some(Json::F64(f)) => from_float(f).map(Some),
        Some(Json::Str(s)) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<u64>() {
                return Ok(Some(Duration::from_secs(n)));
            }
            s.parse::<f64>()
                .map_err(|_| ())
                .and_then(from_float)
                .map(Some)
        }
        Some(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response<Vec<u8>> {
        let mut r = Response::new(body.as_bytes().to_vec());
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r
    }

    fn parse(status: u16, body: &str) -> Result<Token, ResponseError> {
        parse_token_response(SystemTime::UNIX_EPOCH, &response(status, body))
    }

    fn api(status: u16, body: &str) -> ApiError {
        match parse(status, body) {
            Err(ResponseError::Api(e)) => *e,
            other => panic!("{other:?}"),
        }
    }

    fn malformation(status: u16, body: &str) -> Malformation {
        match parse(status, body) {
            Err(ResponseError::Malformed(m)) => m.problem().clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn classification() {
        let kind = |status, body| api(status, body).kind();
        assert_eq!(
            kind(401, r#"{"code":283,"message":"m"}"#),
            ApiErrorKind::InvalidGrant
        );
        assert_eq!(
            kind(400, r#"{"error":"invalid_grant"}"#),
            ApiErrorKind::InvalidGrant
        );
        assert_eq!(
            kind(401, r#"{"code":2,"message":"m"}"#),
            ApiErrorKind::ClientAuthentication
        );
        assert_eq!(
            kind(400, r#"{"error":"invalid_client"}"#),
            ApiErrorKind::ClientAuthentication
        );
        assert_eq!(
            kind(200, r#"{"code":2,"message":"m"}"#),
            ApiErrorKind::ClientAuthentication
        );
        assert_eq!(
            kind(403, r#"{"code":29,"message":"m"}"#),
            ApiErrorKind::Forbidden
        );
        assert_eq!(
            kind(429, r#"{"code":8,"message":"m"}"#),
            ApiErrorKind::RateLimited
        );
        assert_eq!(
            kind(400, r#"{"code":8,"message":"m"}"#),
            ApiErrorKind::RateLimited
        );
        assert_eq!(
            kind(503, r#"{"code":283,"message":"m"}"#),
            ApiErrorKind::ServerError
        );
        assert_eq!(
            kind(404, r#"{"code":1,"message":"m"}"#),
            ApiErrorKind::Other
        );
        assert_eq!(kind(400, "{}"), ApiErrorKind::Other);
    }

    #[test]
    fn error_bodies_are_read_leniently() {
        let e = api(
            401,
            r#"{"code":"283","error_description":"  gone  ","message_detail":7}"#,
        );
        assert_eq!(e.code(), Some(283));
        assert_eq!(e.message(), Some("gone"));
        assert_eq!(e.message_detail(), None);
        let e = api(
            429,
            r#"{"code":8,"message":"m","message_detail":"Blocked for SPAM"}"#,
        );
        assert!(e.is_blocked());
        assert!(api(429, r#"{"code":8,"message":"spam detected"}"#).is_blocked());
        assert!(!api(429, r#"{"code":8,"message":"m"}"#).is_blocked());
    }

    #[test]
    fn rate_limit_headers_are_kept() {
        let mut r = response(429, r#"{"code":8,"message":"m"}"#);
        r.headers_mut()
            .insert("x-ratelimit-reset", "120".parse().unwrap());
        r.headers_mut().insert("retry-after", "30".parse().unwrap());
        let err = parse_token_response(SystemTime::UNIX_EPOCH, &r).unwrap_err();
        assert_eq!(
            err.rate_limit_reset(),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        assert_eq!(
            err.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(30)))
        );
    }

    #[test]
    fn a_2xx_error_object_is_an_error_but_a_token_with_code_is_not() {
        assert_eq!(api(200, r#"{"error":"invalid_grant"}"#).status(), 200);
        assert!(
            parse(
                200,
                r#"{"access_token":"pina","token_type":"bearer","expires_in":1,"code":0}"#
            )
            .is_ok()
        );
        // A refresh token is never thrown away with an error-looking body.
        let kept = parse(200, r#"{"refresh_token":"pinr","code":5}"#).unwrap();
        assert_eq!(kept.refresh_token().map(|t| t.secret()), Some("pinr"));
        assert_eq!(
            kept.access_token_problem(),
            Some(AccessTokenProblem::Missing)
        );
    }

    #[test]
    fn seconds_accepts_numbers_and_numeric_strings() {
        for (raw, secs) in [
            ("60", 60),
            ("\"60\"", 60),
            ("60.9", 60),
            ("\" 7 \"", 7),
            ("6e1", 60),
        ] {
            let token = parse(
                200,
                &format!(r#"{{"access_token":"a","expires_in":{raw}}}"#),
            )
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(token.expires_in(), Duration::from_secs(secs), "{raw}");
            assert_eq!(token.ignored_fields().count(), 0, "{raw}");
        }
        for raw in ["-1", "\"-1\"", "\"soon\"", "true", "[]", "null"] {
            let token = parse(
                200,
                &format!(r#"{{"access_token":"a","expires_in":{raw}}}"#),
            )
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(token.expires_in(), DEFAULT_EXPIRES_IN, "{raw}");
            assert_eq!(
                token.ignored_fields().collect::<Vec<_>>(),
                ["expires_in"],
                "{raw}"
            );
        }
        let huge = parse(200, r#"{"access_token":"a","expires_in":1e300}"#).unwrap();
        assert_eq!(huge.expires_in(), MAX_LIFETIME);
    }

    #[test]
    fn a_rotated_set_with_odd_informational_fields_is_kept_whole() {
        let token = parse(
            200,
            r#"{"access_token":"pina_new","refresh_token":"pinr_new","token_type":"bearer",
                "scope":["boards:read"],"refresh_token_expires_in":"sixty days",
                "refresh_token_expires_at":{"when":"later"},"response_type":5}"#,
        )
        .unwrap();
        assert_eq!(token.access_token().map(|t| t.secret()), Some("pina_new"));
        assert_eq!(token.refresh_token().map(|t| t.secret()), Some("pinr_new"));
        assert!(!token.scopes_known());
        assert_eq!(token.expires_in(), DEFAULT_EXPIRES_IN);
        assert_eq!(token.refresh_token_expires_at(), None);
        let mut ignored: Vec<_> = token.ignored_fields().collect();
        ignored.sort_unstable();
        assert_eq!(
            ignored,
            [
                "expires_in",
                "refresh_token_expires_at",
                "refresh_token_expires_in",
                "response_type",
                "scope"
            ]
        );
    }

    #[test]
    fn unusable_access_tokens_are_dropped_but_refresh_tokens_kept() {
        for (body, problem) in [
            (
                r#"{"access_token":"pina a","refresh_token":"r"}"#,
                AccessTokenProblem::Malformed,
            ),
            (
                r#"{"access_token":"pina\r\nx: y","refresh_token":"r"}"#,
                AccessTokenProblem::Malformed,
            ),
            (
                r#"{"access_token":"pina","token_type":"mac","refresh_token":"r"}"#,
                AccessTokenProblem::UnsupportedType,
            ),
            (
                r#"{"access_token":"pina","token_type":7,"refresh_token":"r"}"#,
                AccessTokenProblem::UnsupportedType,
            ),
            (
                r#"{"access_token":"","refresh_token":"r"}"#,
                AccessTokenProblem::Missing,
            ),
            (
                r#"{"access_token":12,"refresh_token":"r"}"#,
                AccessTokenProblem::Missing,
            ),
        ] {
            let token = parse(200, body).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(token.access_token(), None, "{body}");
            assert_eq!(token.access_token_problem(), Some(problem), "{body}");
            assert!(token.is_expired(SystemTime::UNIX_EPOCH));
            assert_eq!(
                token.refresh_token().map(|t| t.secret()),
                Some("r"),
                "{body}"
            );
        }
        assert_eq!(
            malformation(200, r#"{"access_token":"a b"}"#),
            Malformation::UnusableAccessToken(AccessTokenProblem::Malformed)
        );
        assert_eq!(
            malformation(200, r#"{"expires_in":1}"#),
            Malformation::NoToken
        );
        assert!(parse(200, r#"{"access_token":"pina_A-b.c~d+e/f=="}"#).is_ok());
    }

    #[test]
    fn redirects_are_reported_not_parsed() {
        let mut r = response(302, r#"{"access_token":"a","expires_in":1}"#);
        r.headers_mut()
            .insert("location", "https://elsewhere.example/".parse().unwrap());
        for err in [
            parse_token_response(SystemTime::UNIX_EPOCH, &r).unwrap_err(),
            parse_revoke_response(&r).unwrap_err(),
        ] {
            assert!(matches!(
                crate::Failure::of(&err),
                crate::Failure::Permanent { .. }
            ));
            match err {
                ResponseError::Malformed(m) => assert_eq!(
                    m.problem(),
                    &Malformation::UnexpectedRedirect {
                        location: Some("https://elsewhere.example/".into())
                    }
                ),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn server_expiry_is_preferred_and_clamped() {
        let body = r#"{"access_token":"a","expires_in":1,"refresh_token":"r",
            "refresh_token_expires_in":100,"refresh_token_expires_at":5000}"#;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let token = parse_token_response(now, &response(200, body)).unwrap();
        assert_eq!(
            token.refresh_token_expires_at(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(5000))
        );
        assert_eq!(
            token.refresh_token_expires_in(),
            Some(Duration::from_secs(100))
        );
        let far =
            r#"{"access_token":"a","refresh_token":"r","refresh_token_expires_at":99999999999999}"#;
        let token = parse_token_response(now, &response(200, far)).unwrap();
        assert_eq!(token.refresh_token_expires_at(), Some(now + MAX_LIFETIME));
    }
}
