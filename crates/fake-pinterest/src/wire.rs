//! Pinterest's wire format as the fake reads and writes it, written from the spec and
//! `pinterest-wire.md`, independently of the client core.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

use crate::body::FakeBody;

/// The 19 scopes of Pinterest's OpenAPI 5.23 (`securitySchemes.pinterest_oauth2`).
pub const KNOWN_SCOPES: [&str; 19] = [
    "ads:read",
    "ads:write",
    "billing:read",
    "billing:write",
    "biz_access:read",
    "biz_access:write",
    "boards:read",
    "boards:read_secret",
    "boards:write",
    "boards:write_secret",
    "catalogs:read",
    "catalogs:write",
    "msot:write",
    "pins:read",
    "pins:read_secret",
    "pins:write",
    "pins:write_secret",
    "user_accounts:read",
    "user_accounts:write",
];

/// The header carrying Pinterest's request id.
pub const REQUEST_ID: &str = "x-pinterest-rid";

/// Pinterest's error codes used by the fake.
pub(crate) mod code {
    /// "Invalid parameters." (inferred for malformed requests).
    pub(crate) const INVALID_PARAMETERS: i64 = 1;
    /// "Authentication failed."
    pub(crate) const AUTHENTICATION_FAILED: i64 = 2;
    /// Rate limited (inferred).
    pub(crate) const RATE_LIMITED: i64 = 8;
    /// "You are not permitted to access that resource."
    pub(crate) const NOT_PERMITTED: i64 = 29;
    /// "The authorization grant is invalid".
    pub(crate) const INVALID_GRANT: i64 = 283;
}

/// Random bytes as base64url, for codes, tokens and request ids.
pub(crate) fn random_token(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS has entropy");
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buf))
}

/// A fresh request id: 16 hex digits.
pub(crate) fn request_id() -> String {
    let mut buf = [0u8; 8];
    getrandom::fill(&mut buf).expect("the OS has entropy");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Authorization: Basic` decoded per RFC 6749 §2.3.1 (base64, then form-urldecode each part).
pub(crate) fn basic_credentials(header: Option<&HeaderValue>) -> Option<(String, String)> {
    let value = header?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

fn form_decode(part: &str) -> Option<String> {
    let mut pairs = form_urlencoded::parse(format!("x={part}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect::<Vec<_>>();
    (pairs.len() == 1).then(|| pairs.remove(0))
}

/// A form body as name/value pairs; `None` if it is not valid form encoding or repeats a name.
pub(crate) fn form_fields(body: &[u8]) -> Result<Vec<(String, String)>, &'static str> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| "body is not form-urlencoded")?;
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(n, _)| n == name) {
            return Err("a field is repeated");
        }
    }
    Ok(pairs)
}

/// Looks up a form field.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A JSON response with Pinterest's headers.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<FakeBody> {
    let mut response = Response::new(FakeBody::full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Pinterest's error shape `{"code": …, "message": …}`.
pub(crate) fn error_response(status: StatusCode, code: i64, message: &str) -> Response<FakeBody> {
    json_response(status, &json!({ "code": code, "message": message }))
}

/// 401 code 283.
pub(crate) fn invalid_grant() -> Response<FakeBody> {
    error_response(
        StatusCode::UNAUTHORIZED,
        code::INVALID_GRANT,
        "The authorization grant is invalid",
    )
}

/// 401 code 2.
pub(crate) fn authentication_failed() -> Response<FakeBody> {
    error_response(
        StatusCode::UNAUTHORIZED,
        code::AUTHENTICATION_FAILED,
        "Authentication failed.",
    )
}

/// 400 code 1 with a detail.
pub(crate) fn invalid_parameters(detail: &str) -> Response<FakeBody> {
    error_response(
        StatusCode::BAD_REQUEST,
        code::INVALID_PARAMETERS,
        &format!("Invalid parameters: {detail}"),
    )
}

/// `true` when `verifier` answers the PKCE `challenge` (RFC 7636 §4.6): S256 is
/// base64url(SHA-256(verifier)), plain is the verifier itself.
pub(crate) fn pkce_matches(challenge: &str, method: &str, verifier: Option<&str>) -> bool {
    let Some(verifier) = verifier else {
        return false;
    };
    match method {
        "S256" => {
            use sha2::Digest as _;
            URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) == challenge
        }
        _ => verifier == challenge,
    }
}

/// Splits a scope parameter on commas (and, leniently, whitespace).
pub(crate) fn split_scopes(list: &str) -> Vec<String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_follow_rfc6749() {
        // "a+b%3Ac:s%2F%2B%25%26%3D" is id "a b:c", secret "s/+%&=".
        let header = HeaderValue::from_static("Basic YStiJTNBYzpzJTJGJTJCJTI1JTI2JTNE");
        assert_eq!(
            basic_credentials(Some(&header)),
            Some(("a b:c".to_owned(), "s/+%&=".to_owned()))
        );
        assert_eq!(
            basic_credentials(Some(&HeaderValue::from_static("Bearer x"))),
            None
        );
        assert_eq!(basic_credentials(None), None);
    }

    #[test]
    fn repeated_form_fields_are_refused() {
        assert!(form_fields(b"a=1&a=2").is_err());
        assert_eq!(form_fields(b"a=1&b=%20").unwrap()[1].1, " ");
    }
}
