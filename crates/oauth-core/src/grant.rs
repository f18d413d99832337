//! What a caller asks the token endpoint for: the three grants and a revocation.

use std::fmt;

use crate::endpoint::RedirectUri;
use crate::error::ConfigError;
use crate::pkce::PkceVerifier;
use crate::scope::Scope;
use crate::secret::{AccessToken, AuthorizationCode, RefreshToken};

/// A request to the token endpoint, one variant per `grant_type`.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{Grant, RefreshToken, Scope};
///
/// let grant = Grant::refresh_token(RefreshToken::new("pinr.abc"));
/// assert_eq!(grant.grant_type(), "refresh_token");
///
/// let grant = Grant::client_credentials(vec![Scope::AdsRead])?;
/// assert_eq!(grant.grant_type(), "client_credentials");
/// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// `grant_type=authorization_code`: exchange the code from the consent redirect.
    AuthorizationCode(AuthorizationCodeGrant),
    /// `grant_type=refresh_token`: a new access token (and rotated refresh token).
    RefreshToken(RefreshTokenGrant),
    /// `grant_type=client_credentials`: a token for the app itself.
    ClientCredentials(ClientCredentialsGrant),
}

impl Grant {
    /// An authorization-code grant with `continuous_refresh=true`.
    pub fn authorization_code(code: AuthorizationCode, redirect_uri: RedirectUri) -> Grant {
        Grant::AuthorizationCode(AuthorizationCodeGrant::new(code, redirect_uri))
    }

    /// A refresh-token grant keeping the token's scopes.
    pub fn refresh_token(refresh_token: RefreshToken) -> Grant {
        Grant::RefreshToken(RefreshTokenGrant::new(refresh_token))
    }

    /// A client-credentials grant; `scopes` must not be empty.
    pub fn client_credentials(scopes: Vec<Scope>) -> Result<Grant, ConfigError> {
        ClientCredentialsGrant::new(scopes).map(Grant::ClientCredentials)
    }

    /// The scopes this grant asks for, when it says: what an answer omitting `scope` granted
    /// (RFC 6749 §5.1). A refresh that names none asks for the scopes it had.
    pub fn requested_scopes(&self) -> Option<&[Scope]> {
        match self {
            Grant::AuthorizationCode(grant) => grant.requested_scopes(),
            Grant::RefreshToken(grant) => grant.scopes(),
            Grant::ClientCredentials(grant) => Some(grant.scopes()),
        }
    }

    /// The secrets this grant sends (a code and its PKCE verifier, a refresh token): what an
    /// error must never repeat, should the server echo them (see
    /// [`ResponseError::without_secrets`](crate::ResponseError::without_secrets)).
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Grant::AuthorizationCode(grant) => {
                let mut secrets = vec![grant.code().secret()];
                secrets.extend(grant.pkce_verifier().map(|v| v.secret()));
                secrets
            }
            Grant::RefreshToken(grant) => vec![grant.refresh_token().secret()],
            Grant::ClientCredentials(_) => Vec::new(),
        }
    }

    /// The `grant_type` form value.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode(_) => "authorization_code",
            Grant::RefreshToken(_) => "refresh_token",
            Grant::ClientCredentials(_) => "client_credentials",
        }
    }
}

impl From<AuthorizationCodeGrant> for Grant {
    fn from(grant: AuthorizationCodeGrant) -> Grant {
        Grant::AuthorizationCode(grant)
    }
}

impl From<RefreshTokenGrant> for Grant {
    fn from(grant: RefreshTokenGrant) -> Grant {
        Grant::RefreshToken(grant)
    }
}

impl From<ClientCredentialsGrant> for Grant {
    fn from(grant: ClientCredentialsGrant) -> Grant {
        Grant::ClientCredentials(grant)
    }
}

/// Exchange an authorization code: `code`, `redirect_uri`, `continuous_refresh`, and with PKCE
/// `code_verifier`.
///
/// `continuous_refresh=true` is sent by default: Pinterest's spec tells apps created before
/// 2025-09-25 to send it to get the 60-day, indefinitely refreshable token, and newer apps get
/// that token anyway. [`without_continuous_refresh`](Self::without_continuous_refresh) leaves the
/// field out.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{AuthorizationCode, AuthorizationCodeGrant, RedirectUri};
///
/// let grant = AuthorizationCodeGrant::new(
///     AuthorizationCode::new("abc"),
///     RedirectUri::new("http://localhost:8085/")?,
/// )
/// .without_continuous_refresh();
/// assert!(!grant.continuous_refresh());
/// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCodeGrant {
    code: AuthorizationCode,
    redirect_uri: RedirectUri,
    continuous_refresh: bool,
    pkce_verifier: Option<PkceVerifier>,
    requested: Option<Vec<Scope>>,
}

impl AuthorizationCodeGrant {
    /// A grant that asks for a continuous refresh token.
    pub fn new(code: AuthorizationCode, redirect_uri: RedirectUri) -> Self {
        AuthorizationCodeGrant {
            code,
            redirect_uri,
            continuous_refresh: true,
            pkce_verifier: None,
            requested: None,
        }
    }

    /// Sends `code_verifier`: the verifier whose challenge went with the consent URL.
    #[must_use]
    pub fn with_pkce_verifier(mut self, verifier: PkceVerifier) -> Self {
        self.pkce_verifier = Some(verifier);
        self
    }

    /// The PKCE verifier sent, if any.
    pub fn pkce_verifier(&self) -> Option<&PkceVerifier> {
        self.pkce_verifier.as_ref()
    }

    /// Remembers the scopes the consent page asked for (nothing is sent): an answer that omits
    /// `scope` granted exactly these (RFC 6749 §5.1).
    #[must_use]
    pub fn with_requested_scopes(mut self, scopes: Vec<Scope>) -> Self {
        self.requested = Some(scopes);
        self
    }

    /// The scopes the consent page asked for, if known.
    pub fn requested_scopes(&self) -> Option<&[Scope]> {
        self.requested.as_deref()
    }

    /// Leaves `continuous_refresh` out of the request.
    #[must_use]
    pub fn without_continuous_refresh(mut self) -> Self {
        self.continuous_refresh = false;
        self
    }

    /// The authorization code.
    pub fn code(&self) -> &AuthorizationCode {
        &self.code
    }

    /// The redirect URI (must equal the one used on the consent page).
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    /// Whether `continuous_refresh=true` is sent.
    pub fn continuous_refresh(&self) -> bool {
        self.continuous_refresh
    }
}

/// Refresh: `refresh_token`, optionally narrowing `scope`.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{RefreshToken, RefreshTokenGrant, Scope};
///
/// let grant = RefreshTokenGrant::new(RefreshToken::new("pinr.abc"))
///     .with_scopes(vec![Scope::BoardsRead])?;
/// assert_eq!(grant.scopes(), Some(&[Scope::BoardsRead][..]));
/// # Ok::<(), pinterest_oauth_core::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenGrant {
    refresh_token: RefreshToken,
    scopes: Option<Vec<Scope>>,
}

impl RefreshTokenGrant {
    /// A refresh that keeps the token's scopes (no `scope` field).
    pub fn new(refresh_token: RefreshToken) -> Self {
        RefreshTokenGrant {
            refresh_token,
            scopes: None,
        }
    }

    /// Sends `scope` with these scopes; they must not be empty.
    pub fn with_scopes(mut self, scopes: Vec<Scope>) -> Result<Self, ConfigError> {
        if scopes.is_empty() {
            return Err(ConfigError::EmptyScopes);
        }
        self.scopes = Some(scopes);
        Ok(self)
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> &RefreshToken {
        &self.refresh_token
    }

    /// The scopes to send, if any.
    pub fn scopes(&self) -> Option<&[Scope]> {
        self.scopes.as_deref()
    }
}

/// A token for the app itself: `scope` is required.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{ClientCredentialsGrant, ConfigError};
///
/// assert!(matches!(ClientCredentialsGrant::new(vec![]), Err(ConfigError::EmptyScopes)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCredentialsGrant {
    scopes: Vec<Scope>,
}

impl ClientCredentialsGrant {
    /// A grant for these scopes; they must not be empty.
    pub fn new(scopes: Vec<Scope>) -> Result<Self, ConfigError> {
        if scopes.is_empty() {
            return Err(ConfigError::EmptyScopes);
        }
        Ok(ClientCredentialsGrant { scopes })
    }

    /// The scopes (never empty).
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
}

/// The `token_type_hint` of a revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// The wire value.
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

impl fmt::Display for TokenTypeHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The token a [`Revocation`] revokes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RevokedToken {
    Access(AccessToken),
    Refresh(RefreshToken),
}

/// A request to `POST {base}/oauth/token/revoke`: `token`, and `token_type_hint` unless left
/// out. Pinterest currently revokes only tokens of system users.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{RefreshToken, Revocation, TokenTypeHint};
///
/// let revoke = Revocation::refresh_token(RefreshToken::new("pinr.abc"));
/// assert_eq!(revoke.hint(), Some(TokenTypeHint::RefreshToken));
/// assert_eq!(revoke.without_hint().hint(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    token: RevokedToken,
    send_hint: bool,
}

impl Revocation {
    /// Revokes an access token (hint `access_token`).
    pub fn access_token(token: AccessToken) -> Revocation {
        Revocation {
            token: RevokedToken::Access(token),
            send_hint: true,
        }
    }

    /// Revokes a refresh token (hint `refresh_token`).
    pub fn refresh_token(token: RefreshToken) -> Revocation {
        Revocation {
            token: RevokedToken::Refresh(token),
            send_hint: true,
        }
    }

    /// Leaves `token_type_hint` out.
    #[must_use]
    pub fn without_hint(mut self) -> Revocation {
        self.send_hint = false;
        self
    }

    /// The hint that will be sent, if any.
    pub fn hint(&self) -> Option<TokenTypeHint> {
        self.send_hint.then(|| self.kind())
    }

    /// Which kind of token is revoked.
    pub fn kind(&self) -> TokenTypeHint {
        match self.token {
            RevokedToken::Access(_) => TokenTypeHint::AccessToken,
            RevokedToken::Refresh(_) => TokenTypeHint::RefreshToken,
        }
    }

    /// The token to revoke.
    pub fn token_secret(&self) -> &str {
        match &self.token {
            RevokedToken::Access(t) => t.secret(),
            RevokedToken::Refresh(t) => t.secret(),
        }
    }
}
