//! Turning any HTTP response from the token endpoints into a typed token or a typed error.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Response, StatusCode};

use crate::error::{
    ApiError, ApiErrorKind, Error, Malformation, MalformedResponse, RetryAfter, sanitize_text,
};
use crate::json::{Field, Fields, Json, read_object};
use crate::scope::Scope;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::{ResponseType, Token, TokenType};

/// The response header carrying Pinterest's request id.
pub const REQUEST_ID_HEADER: &str = "x-pinterest-rid";

/// Longest `Content-Type` kept in an error.
const MAX_CONTENT_TYPE: usize = 100;

/// Parses a response from `POST {base}/oauth/token`.
///
/// Any 2xx with a token object is success; its expiry times are computed from `now`, the
/// wall-clock time the response arrived (truncated to the second, as Pinterest counts). A 2xx whose body is an error object, and every other
/// status, is [`Error::Api`] when the body is a JSON object, else [`Error::MalformedResponse`].
/// Never panics, whatever the status, headers or bytes.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_token_response, http, ApiErrorKind, Error};
/// use std::time::SystemTime;
///
/// let ok = http::Response::builder()
///     .status(201)
///     .body(r#"{"access_token":"pina.x","token_type":"bearer","expires_in":"60","scope":"ads:read"}"#)
///     .unwrap();
/// assert!(parse_token_response(SystemTime::UNIX_EPOCH, &ok).is_ok());
///
/// let limited = http::Response::builder()
///     .status(429)
///     .header("retry-after", "30")
///     .body(r#"{"code":8,"message":"Rate limited"}"#)
///     .unwrap();
/// match parse_token_response(SystemTime::UNIX_EPOCH, &limited) {
///     Err(Error::Api(e)) => assert_eq!(e.kind(), ApiErrorKind::RateLimited),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn parse_token_response<B: AsRef<[u8]>>(
    now: SystemTime,
    response: &Response<B>,
) -> Result<Token, Error> {
    let meta = Meta::of(response.status(), response.headers());
    if let Some(redirect) = redirect(response) {
        return Err(meta.malformed(redirect));
    }
    let mut fields = match read_object(response.body().as_ref()) {
        Ok(fields) => fields,
        Err(problem) => return Err(meta.malformed(problem)),
    };
    if !meta.status.is_success() || is_error_object(&fields) {
        return Err(meta.api_error(fields));
    }
    token_from_fields(now, &mut fields).map_err(|p| meta.malformed(p))
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
/// assert_eq!(parse_revoke_response(&denied).unwrap_err().status().unwrap(), 403);
/// ```
pub fn parse_revoke_response<B: AsRef<[u8]>>(response: &Response<B>) -> Result<(), Error> {
    let meta = Meta::of(response.status(), response.headers());
    let body = response.body().as_ref();
    if let Some(redirect) = redirect(response) {
        return Err(meta.malformed(redirect));
    }
    if meta.status.is_success() {
        // Whatever a 2xx carries is ignored, unless it is an error object.
        return match read_object(body) {
            Ok(fields) if is_error_object(&fields) => Err(meta.api_error(fields)),
            _ => Ok(()),
        };
    }
    match read_object(body) {
        Ok(fields) => Err(meta.api_error(fields)),
        Err(problem) => Err(meta.malformed(problem)),
    }
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

/// RFC 6749's `error`, or Pinterest's `code` without a token.
fn is_error_object(fields: &Fields) -> bool {
    fields.has(Field::Error) || (fields.has(Field::Code) && !fields.has(Field::AccessToken))
}

/// What the error types keep of a response besides its body.
struct Meta {
    status: StatusCode,
    request_id: Option<String>,
    retry_after: Option<RetryAfter>,
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
            content_type: text(http::header::CONTENT_TYPE.as_str())
                .map(|ct| ct.chars().take(MAX_CONTENT_TYPE).collect()),
        }
    }

    fn malformed(self, problem: Malformation) -> Error {
        Error::MalformedResponse(Box::new(MalformedResponse {
            status: self.status,
            problem,
            content_type: self.content_type,
            request_id: self.request_id,
            retry_after: self.retry_after,
        }))
    }

    /// An error object, read leniently: whatever is usable is kept.
    fn api_error(self, mut fields: Fields) -> Error {
        let code = fields.take(Field::Code).and_then(|v| match v {
            Json::U64(n) => i64::try_from(n).ok(),
            Json::I64(n) => Some(n),
            Json::Str(s) => s.trim().parse().ok(),
            _ => None,
        });
        let mut text = |field| match fields.take(field) {
            Some(Json::Str(s)) if !s.trim().is_empty() => Some(sanitize_text(s.trim())),
            _ => None,
        };
        let error = text(Field::Error);
        let message = text(Field::Message).or_else(|| text(Field::ErrorDescription));
        let message_detail = text(Field::MessageDetail);
        let kind = classify(self.status, code, error.as_deref());
        Error::Api(Box::new(ApiError {
            status: self.status,
            kind,
            code,
            error,
            message,
            message_detail,
            request_id: self.request_id,
            retry_after: self.retry_after,
        }))
    }
}

/// Pinterest's code 283 and RFC 6749's `invalid_grant` mean the user must consent again.
const CODE_INVALID_GRANT: i64 = 283;
/// Pinterest's "Authentication failed."
const CODE_AUTHENTICATION_FAILED: i64 = 2;
/// Pinterest's "You are not permitted to access that resource."
const CODE_NOT_PERMITTED: i64 = 29;

fn classify(status: StatusCode, code: Option<i64>, error: Option<&str>) -> ApiErrorKind {
    if (code == Some(CODE_INVALID_GRANT) && !status.is_server_error())
        || error == Some("invalid_grant")
    {
        return ApiErrorKind::InvalidGrant;
    }
    match status.as_u16() {
        401 => ApiErrorKind::ClientAuthentication,
        403 => ApiErrorKind::Forbidden,
        429 => ApiErrorKind::RateLimited,
        500..=599 => ApiErrorKind::ServerError,
        _ if error == Some("invalid_client") || code == Some(CODE_AUTHENTICATION_FAILED) => {
            ApiErrorKind::ClientAuthentication
        }
        _ if error == Some("unauthorized_client") || code == Some(CODE_NOT_PERMITTED) => {
            ApiErrorKind::Forbidden
        }
        _ => ApiErrorKind::Other,
    }
}

fn token_from_fields(now: SystemTime, fields: &mut Fields) -> Result<Token, Malformation> {
    // Pinterest counts in whole seconds, and so does storage: a token read back from its
    // document is then equal to the one parsed, and comparisons across processes are exact.
    let now = whole_seconds(now);
    let access_token = string(fields, Field::AccessToken)?
        .filter(|t| !t.is_empty())
        .ok_or(Malformation::MissingField("access_token"))?;
    let access_token = AccessToken::from(access_token);
    let token_type = string(fields, Field::TokenType)?
        // The spec gives `bearer` as the default.
        .map_or(TokenType::Bearer, |t| TokenType::parse(&t));
    let expires_in =
        seconds(fields, Field::ExpiresIn)?.ok_or(Malformation::MissingField("expires_in"))?;
    let expires_at = after(now, expires_in, Field::ExpiresIn)?;
    let scopes = string(fields, Field::Scope)?
        .map(|s| received_scopes(&s))
        .unwrap_or_default();
    let response_type = match fields.take(Field::ResponseType) {
        Some(Json::Str(s)) => Some(ResponseType::parse(&s)),
        // Informational only: a value of another type is ignored, never fatal.
        _ => None,
    };
    let refresh_token = string(fields, Field::RefreshToken)?
        .filter(|t| !t.is_empty())
        .map(RefreshToken::from);
    let refresh_token_expires_in = seconds(fields, Field::RefreshTokenExpiresIn)?;
    let refresh_token_expires_at = match seconds(fields, Field::RefreshTokenExpiresAt)? {
        Some(at) => Some(after(
            SystemTime::UNIX_EPOCH,
            at,
            Field::RefreshTokenExpiresAt,
        )?),
        None => refresh_token_expires_in
            .map(|d| after(now, d, Field::RefreshTokenExpiresIn))
            .transpose()?,
    };
    Ok(Token {
        access_token,
        token_type,
        received_at: now,
        expires_in,
        expires_at,
        scopes,
        response_type,
        refresh_token,
        refresh_token_expires_in,
        refresh_token_expires_at,
    })
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

fn string(fields: &mut Fields, field: Field) -> Result<Option<String>, Malformation> {
    match fields.take(field) {
        None => Ok(None),
        Some(Json::Str(s)) => Ok(Some(s)),
        Some(other) => Err(Malformation::WrongType {
            field: field.name(),
            expected: "a string",
            found: other.kind(),
        }),
    }
}

/// A non-negative number of seconds: an integer, an integral float, or a numeric string.
fn seconds(fields: &mut Fields, field: Field) -> Result<Option<Duration>, Malformation> {
    let invalid = |problem| Malformation::InvalidValue {
        field: field.name(),
        problem,
    };
    let from_float = |f: f64| {
        if f.is_finite() && f >= 0.0 {
            // Saturating: absurd values are caught when added to a time.
            Ok(Duration::from_secs(f.trunc() as u64))
        } else {
            Err(invalid("is negative or not finite"))
        }
    };
    match fields.take(field) {
        None => Ok(None),
        Some(Json::U64(n)) => Ok(Some(Duration::from_secs(n))),
        Some(Json::I64(_)) => Err(invalid("is negative")),
        Some(Json::F64(f)) => from_float(f).map(Some),
        Some(Json::Str(s)) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<u64>() {
                return Ok(Some(Duration::from_secs(n)));
            }
            match s.parse::<f64>() {
                Ok(f) => from_float(f).map(Some),
                Err(_) => Err(invalid("is not a number")),
            }
        }
        Some(other) => Err(Malformation::WrongType {
            field: field.name(),
            expected: "a number or numeric string",
            found: other.kind(),
        }),
    }
}

fn after(start: SystemTime, by: Duration, field: Field) -> Result<SystemTime, Malformation> {
    start.checked_add(by).ok_or(Malformation::InvalidValue {
        field: field.name(),
        problem: "is too large",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response<Vec<u8>> {
        let mut r = Response::new(body.as_bytes().to_vec());
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r
    }

    fn api(status: u16, body: &str) -> ApiError {
        match parse_token_response(SystemTime::UNIX_EPOCH, &response(status, body)) {
            Err(Error::Api(e)) => *e,
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
        assert!(!api(429, r#"{"code":8,"message":"m"}"#).is_blocked());
    }

    #[test]
    fn a_2xx_error_object_is_an_error_but_a_token_with_code_is_not() {
        assert_eq!(api(200, r#"{"error":"invalid_grant"}"#).status(), 200);
        let ok = response(
            200,
            r#"{"access_token":"pina","token_type":"bearer","expires_in":1,"code":0}"#,
        );
        assert!(parse_token_response(SystemTime::UNIX_EPOCH, &ok).is_ok());
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
            let body = format!(r#"{{"access_token":"a","expires_in":{raw}}}"#);
            let token = parse_token_response(SystemTime::UNIX_EPOCH, &response(200, &body))
                .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(token.expires_in(), Duration::from_secs(secs), "{raw}");
        }
        for raw in ["-1", "\"-1\"", "\"soon\"", "true", "[]", "1e300"] {
            let body = format!(r#"{{"access_token":"a","expires_in":{raw}}}"#);
            let err = parse_token_response(SystemTime::UNIX_EPOCH, &response(200, &body));
            assert!(
                matches!(err, Err(Error::MalformedResponse(_))),
                "{raw}: {err:?}"
            );
        }
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
            assert!(!err.is_transient());
            match err {
                Error::MalformedResponse(m) => assert_eq!(
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
    fn server_expiry_is_preferred() {
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
    }
}
