//! Building the exact HTTP requests Pinterest's token endpoints expect.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request, Uri};
use serde::Serialize;

use crate::config::ClientConfig;
use crate::grant::{Grant, Revocation};
use crate::pkce::PkceVerifier;
use crate::scope::Scope;

/// `application/x-www-form-urlencoded`.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The form of each grant, field names and order as in Pinterest's spec.
#[derive(Serialize)]
#[serde(untagged)]
enum TokenForm<'a> {
    AuthorizationCode {
        grant_type: &'static str,
        code: &'a str,
        redirect_uri: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        continuous_refresh: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        code_verifier: Option<&'a str>,
    },
    RefreshToken {
        grant_type: &'static str,
        refresh_token: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
    ClientCredentials {
        grant_type: &'static str,
        scope: String,
    },
}

#[derive(Serialize)]
struct RevokeForm<'a> {
    token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type_hint: Option<&'static str>,
}

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
/// use pinterest_oauth_core::{token_request, AppId, AppSecret, ClientConfig, Grant, RefreshToken};
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("s3cret"));
/// let request = token_request(&config, &Grant::refresh_token(RefreshToken::new("pinr.x")));
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.uri(), "https://api.pinterest.com/v5/oauth/token");
/// assert_eq!(request.body(), b"grant_type=refresh_token&refresh_token=pinr.x");
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
pub fn token_request(config: &ClientConfig, grant: &Grant) -> Request<Vec<u8>> {
    let grant_type = grant.grant_type();
    let form = match grant {
        Grant::AuthorizationCode(g) => TokenForm::AuthorizationCode {
            grant_type,
            code: g.code().secret(),
            redirect_uri: g.redirect_uri().as_str(),
            continuous_refresh: g.continuous_refresh().then_some(true),
            code_verifier: g.pkce_verifier().map(PkceVerifier::secret),
        },
        Grant::RefreshToken(g) => TokenForm::RefreshToken {
            grant_type,
            refresh_token: g.refresh_token().secret(),
            scope: g.scopes().map(Scope::join),
        },
        Grant::ClientCredentials(g) => TokenForm::ClientCredentials {
            grant_type,
            scope: Scope::join(g.scopes()),
        },
    };
    form_post(config, config.base_url().token_endpoint(), &form)
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
    let form = RevokeForm {
        token: revocation.token_secret(),
        token_type_hint: revocation.hint().map(|h| h.as_str()),
    };
    form_post(config, config.base_url().revoke_endpoint(), &form)
}

fn form_post<F: Serialize>(config: &ClientConfig, uri: &Uri, form: &F) -> Request<Vec<u8>> {
    // Flat structs of strings and booleans always serialize; an empty body would be refused by
    // the server rather than go unnoticed.
    let body = serde_urlencoded::to_string(form)
        .map(String::into_bytes)
        .unwrap_or_default();
    let mut request = Request::new(Vec::new());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri.clone();
    let headers = request.headers_mut();
    headers.reserve(5);
    headers.insert(AUTHORIZATION, config.authorization().clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, config.user_agent().clone());
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    *request.body_mut() = body;
    request
}
