//! Who a token acts for: `GET {base}/user_account`, the one API call a login makes (to say whose
//! account it connected, when `user_accounts:read` was granted).

use http::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use http::{HeaderValue, Method, Request, Response};

use crate::config::ClientConfig;
use crate::error::ResponseError;
use crate::json::{Json, json_object, read_object};
use crate::redact::sanitize_text;
use crate::secret::AccessToken;

json_object! {
    /// The fields of Pinterest's `Account` read here.
    struct AccountBody {
        username,
        account_type,
    }
}

/// The account a token acts for (Pinterest's `Account` schema: only what a login reports).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserAccount {
    username: Option<String>,
    account_type: Option<String>,
}

impl UserAccount {
    /// The account's username, when the answer carried one.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// `PINNER` or `BUSINESS`, when the answer said.
    pub fn account_type(&self) -> Option<&str> {
        self.account_type.as_deref()
    }
}

/// Builds `GET {base}/user_account` with `Authorization: Bearer …` (marked sensitive).
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{user_account_request, AccessToken, AppId, AppSecret, ClientConfig};
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("s3cret"));
/// let request = user_account_request(&config, &AccessToken::new("pina.x"));
/// assert_eq!(request.uri(), "https://api.pinterest.com/v5/user_account");
/// assert!(request.headers()["authorization"].is_sensitive());
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
pub fn user_account_request(config: &ClientConfig, access_token: &AccessToken) -> Request<Vec<u8>> {
    let mut request = Request::new(Vec::new());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = config.base_url().user_account_endpoint().clone();
    let headers = request.headers_mut();
    let bearer = zeroize::Zeroizing::new(format!("Bearer {}", access_token.secret()));
    if let Ok(mut value) = HeaderValue::from_str(&bearer) {
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, config.user_agent().clone());
    request
}

/// Reads the answer to [`user_account_request`]: a 2xx JSON object (its `username` and
/// `account_type` kept when they are strings, shortened and cleaned); anything else is the
/// same typed error as a token answer's. Never panics.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_user_account, http};
///
/// let ok = http::Response::new(r#"{"username":"ada","account_type":"BUSINESS","id":"1"}"#);
/// assert_eq!(parse_user_account(&ok)?.username(), Some("ada"));
/// # Ok::<(), pinterest_oauth_core::ResponseError>(())
/// ```
pub fn parse_user_account<B: AsRef<[u8]>>(
    response: &Response<B>,
) -> Result<UserAccount, ResponseError> {
    if !response.status().is_success() {
        return Err(crate::response::error_of(response));
    }
    let mut body: AccountBody<'_> = read_object(response.body().as_ref())
        .map_err(|problem| crate::response::malformed_of(response, problem))?;
    let text = |value: Option<Json<'_>>| match value {
        Some(Json::Str(s)) if !s.trim().is_empty() => Some(sanitize_text(s.trim())),
        _ => None,
    };
    Ok(UserAccount {
        username: text(body.username.take()),
        account_type: text(body.account_type.take()),
    })
}
