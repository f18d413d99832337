//! The blocking one-shot client.

use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::{
    AuthorizationCode, AuthorizationCodeGrant, ClientConfig, Grant, RedirectUri, RefreshToken,
    Revocation, Scope, Token, parse_revoke_response, parse_token_response, revoke_request,
    token_request,
};

use crate::call::{Call, Replay};
use crate::{Authorization, Error, FromSettings, Http, RetryPolicy, SecretResponse, Settings};

/// A blocking Pinterest OAuth client: the core's requests sent over an [`Http`] stack, with
/// the retries of a [`RetryPolicy`].
///
/// Cheap to clone; clones share the HTTP stack (and its connection pool). Use it from any
/// number of threads.
///
/// # Examples
///
/// ```no_run
/// # fn run<H: pinterest_oauth_transport::Http + pinterest_oauth_transport::FromSettings>() -> Result<(), Box<dyn std::error::Error>> {
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, RefreshToken};
/// use pinterest_oauth_transport::blocking::Client;
///
/// let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
/// let client = Client::<H>::new(config)?;
/// let token = client.refresh(&RefreshToken::new("pinr.…"))?;
/// // Pinterest rotated the refresh token: persist token.refresh_token() now.
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client<H> {
    config: Arc<ClientConfig>,
    http: Arc<H>,
    retry: RetryPolicy,
}

impl<H> Clone for Client<H> {
    fn clone(&self) -> Self {
        Client {
            config: self.config.clone(),
            http: self.http.clone(),
            retry: self.retry,
        }
    }
}

impl<H: Http + FromSettings> Client<H> {
    /// A client with default [`Settings`].
    pub fn new(config: ClientConfig) -> Result<Client<H>, Error> {
        Client::with_settings(config, &Settings::default())
    }

    /// A client with these settings.
    pub fn with_settings(config: ClientConfig, settings: &Settings) -> Result<Client<H>, Error> {
        Ok(Client::with_http(config, H::from_settings(settings)?))
    }
}

impl<H: Http> Client<H> {
    /// A client sending with `http` (which may be shared with other clients).
    pub fn with_http(config: ClientConfig, http: impl Into<Arc<H>>) -> Client<H> {
        Client {
            config: Arc::new(config),
            http: http.into(),
            retry: RetryPolicy::default(),
        }
    }

    /// Retries one-shot calls as `policy` says (default: [`RetryPolicy::default`]).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Client<H> {
        self.retry = policy;
        self
    }

    /// The app configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn config_arc(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// The HTTP stack.
    pub fn http(&self) -> &H {
        &self.http
    }

    /// The consent page URL with a fresh `state` (32 bytes from the OS) and, with
    /// [`Pkce::S256`](crate::Pkce), a PKCE verifier: send the user there, keep the
    /// [`Authorization`] to check the callback and exchange the code.
    pub fn authorization_url(
        &self,
        redirect_uri: &RedirectUri,
        scopes: &[Scope],
        pkce: crate::Pkce,
    ) -> Result<Authorization, Error> {
        Authorization::new(&self.config, redirect_uri, scopes, pkce)
    }

    /// Exchanges the code from the consent redirect (with `continuous_refresh=true`). Never
    /// sent twice once a byte of it may have reached Pinterest.
    pub fn exchange_code(
        &self,
        code: AuthorizationCode,
        redirect_uri: &RedirectUri,
    ) -> Result<Token, Error> {
        self.exchange(AuthorizationCodeGrant::new(code, redirect_uri.clone()))
    }

    /// Exchanges a code with a grant you built (PKCE verifier, `continuous_refresh`).
    pub fn exchange(&self, grant: AuthorizationCodeGrant) -> Result<Token, Error> {
        self.request_token(&Grant::AuthorizationCode(grant))
    }

    /// Refreshes. Pinterest rotates the refresh token: persist the returned one.
    pub fn refresh(&self, refresh_token: &RefreshToken) -> Result<Token, Error> {
        self.request_token(&Grant::refresh_token(refresh_token.clone()))
    }

    /// A token for the app itself.
    pub fn client_credentials(&self, scopes: &[Scope]) -> Result<Token, Error> {
        self.request_token(&Grant::client_credentials(scopes.to_vec())?)
    }

    /// Revokes a token.
    pub fn revoke(&self, revocation: &Revocation) -> Result<(), Error> {
        let response = self.send(Replay::Allowed, || revoke_request(&self.config, revocation))?;
        Ok(parse_revoke_response(&response)?)
    }

    /// Sends any grant and parses the token, timed at the moment the answer arrived.
    pub fn request_token(&self, grant: &Grant) -> Result<Token, Error> {
        let replay = match grant {
            Grant::AuthorizationCode(_) => Replay::Never,
            _ => Replay::Allowed,
        };
        let response = self.send(replay, || token_request(&self.config, grant))?;
        Ok(parse_token_response(SystemTime::now(), &response)?)
    }

    /// Sends a request built by `build`, again as the retry policy allows.
    fn send(
        &self,
        replay: Replay,
        build: impl Fn() -> pinterest_oauth_core::http::Request<Vec<u8>>,
    ) -> Result<SecretResponse, Error> {
        let mut call = Call::new(self.retry, replay);
        loop {
            let outcome = self.http.execute(build());
            match call.retry_delay(&outcome, crate::entropy::seed()) {
                Some(delay) => std::thread::sleep(delay),
                None => return outcome,
            }
        }
    }
}

#[cfg(feature = "login")]
impl<H: Http> Client<H> {
    /// Runs the loopback login (see [`crate::login`]): binds the registered redirect URI,
    /// proves `store` will take the set, hands the consent URL to `open` (open the browser, or
    /// print it), waits for the callback with the right `state`, exchanges the code, saves the
    /// set, and tells the browser. Returns the new set.
    ///
    /// Errors: [`Error::Login`] when the URI cannot be listened on or the browser does not
    /// come back in time; [`Error::Callback`] when the user (or Pinterest) refused;
    /// [`Error::Store`] when the store cannot take the set (checked before the code is
    /// spent); and the exchange's own errors.
    pub fn login<S: pinterest_oauth_store::TokenStore + ?Sized>(
        &self,
        store: &S,
        options: &crate::login::LoginOptions,
        open: impl FnOnce(&pinterest_oauth_core::Url),
    ) -> Result<Token, Error> {
        let (listener, consent) = crate::login::start(&self.config, store, options)?;
        open(consent.url());
        let deadline = std::time::Instant::now() + options.timeout_value();
        let callback = listener.wait(&consent, deadline)?;
        drop(listener);
        let result = callback
            .grant
            .clone()
            .map_err(Error::Callback)
            .and_then(|grant| {
                crate::login::reserve(store)?;
                let token = self.exchange(grant)?;
                crate::login::save_login(store, token.clone())?;
                Ok(token)
            });
        crate::login::answer(callback, &result);
        result
    }
}
