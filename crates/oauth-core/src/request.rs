//! Building the exact HTTP requests Pinterest's token endpoints expect.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request, Uri};

use crate::config::ClientConfig;
use crate::grant::{Grant, Revocation};
use crate::pkce::PkceVerifier;
use crate::scope::Scope;

/// `application/x-www-form-urlencoded`.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Builds `POST {base}/oauth/token` for a grant.
///
/// Headers: `Authorization: Basic …` (RFC 6749 §2.3.1, marked sensitive),
/// `Content-Type: application/x-www-form-urlencoded`, `Accept: application/json`, `User-Agent`
/// and `Content-Length`. The body is the grant's form (scopes joined with commas, absent
/// options left out); the app secret is never in it.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{token_request, AppId, AppSecret, ClientConfig, Grant, RefreshToken};
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("s3cret"));
/// let request = token_request(&config, &Grant::refresh_token(RefreshToken::new("pinr.x")));
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.uri(), "https://api.pinterest.com/v5/oauth/token");
/// assert_eq!(request.body(), b"grant_type=refresh_token&refresh_token=pinr.x");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn token_request(config: &ClientConfig, grant: &Grant) -> Request<Vec<u8>> {
    let grant_type = grant.grant_type();
    // Field names and order as in Pinterest's spec.
    let body = match grant {
        Grant::AuthorizationCode(g) => form_body(&[
            ("grant_type", Some(grant_type)),
            ("code", Some(g.code().secret())),
            ("redirect_uri", Some(g.redirect_uri().as_str())),
            (
                "continuous_refresh",
                g.continuous_refresh().then_some("true"),
            ),
            ("code_verifier", g.pkce_verifier().map(PkceVerifier::secret)),
        ]),
        Grant::RefreshToken(g) => {
            let scope = g.scopes().map(Scope::join);
            form_body(&[
                ("grant_type", Some(grant_type)),
                ("refresh_token", Some(g.refresh_token().secret())),
                ("scope", scope.as_deref()),
            ])
        }
        Grant::ClientCredentials(g) => {
            let scope = Scope::join(g.scopes());
            form_body(&[("grant_type", Some(grant_type)), ("scope", Some(&scope))])
        }
    };
    form_post(config, config.base_url().token_endpoint(), body)
}

/// Builds `POST {base}/oauth/token/revoke` with `token` and, unless left out,
/// `token_type_hint`. Same headers as [`token_request`].
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{revoke_request, AccessToken, AppId, AppSecret, ClientConfig, Revocation};
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("s3cret"));
/// let request = revoke_request(&config, &Revocation::access_token(AccessToken::new("pina.x")));
/// assert_eq!(request.uri(), "https://api.pinterest.com/v5/oauth/token/revoke");
/// assert_eq!(request.body(), b"token=pina.x&token_type_hint=access_token");
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
pub fn revoke_request(config: &ClientConfig, revocation: &Revocation) -> Request<Vec<u8>> {
    let body = form_body(&[
        ("token", Some(revocation.token_secret())),
        ("token_type_hint", revocation.hint().map(|h| h.as_str())),
    ]);
    form_post(config, config.base_url().revoke_endpoint(), body)
}

/// The form of `fields` (absent ones left out), percent-encoded into one buffer sized for the
/// worst case up front: it never reallocates, so no copy of a secret is left behind unwiped.
/// The caller's transport wipes the buffer once sent.
fn form_body(fields: &[(&str, Option<&str>)]) -> Vec<u8> {
    let worst: usize = fields
        .iter()
        .filter_map(|(name, value)| Some(name.len() + 3 * (*value)?.len() + 2))
        .sum();
    let mut form = form_urlencoded::Serializer::new(String::with_capacity(worst));
    for (name, value) in fields {
        if let Some(value) = value {
            form.append_pair(name, value);
        }
    }
    form.finish().into_bytes()
}

fn form_post(config: &ClientConfig, uri: &Uri, body: Vec<u8>) -> Request<Vec<u8>> {
    let mut request = Request::new(Vec::new());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri.clone();
    let headers = request.headers_mut();
    headers.reserve(5);
    headers.insert(AUTHORIZATION, config.authorization().clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, config.user_agent().clone());
    headers.insert(CONTENT_LENGTH, content_length(body.len()));
    *request.body_mut() = body;
    request
}

/// `Content-Length` for a body of `len` bytes. Every token request body is short: their values
/// are made once and shared (cloning one costs no allocation).
fn content_length(len: usize) -> HeaderValue {
    const SHARED: usize = 1024;
    static VALUES: std::sync::OnceLock<Vec<HeaderValue>> = std::sync::OnceLock::new();
    if len >= SHARED {
        return HeaderValue::from(len);
    }
    let values = VALUES.get_or_init(|| (0..SHARED).map(HeaderValue::from).collect());
    values
        .get(len)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from(len))
}
