//! The async one-shot client.

use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::{
    AuthorizationCode, AuthorizationCodeGrant, ClientConfig, Grant, RedirectUri, RefreshToken,
    Revocation, Scope, Token, parse_revoke_response, parse_token_response, revoke_request,
    token_request,
};

use crate::call::{Call, Replay};
use crate::{AsyncHttp, Authorization, Error, FromSettings, RetryPolicy, SecretResponse, Settings};

/// An async Pinterest OAuth client: the core's requests sent over an [`AsyncHttp`] stack, with
/// the retries of a [`RetryPolicy`]. The same calls as the blocking
/// [`Client`](crate::blocking::Client); futures are `Send`.
///
/// Cheap to clone; clones share the HTTP stack (and its pool), across tasks and threads.
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

impl<H: AsyncHttp + FromSettings> Client<H> {
    /// A client with default [`Settings`].
    pub fn new(config: ClientConfig) -> Result<Client<H>, Error> {
        Client::with_settings(config, &Settings::default())
    }

    /// A client with these settings.
    pub fn with_settings(config: ClientConfig, settings: &Settings) -> Result<Client<H>, Error> {
        Ok(Client::with_http(config, H::from_settings(settings)?))
    }
}

impl<H: AsyncHttp> Client<H> {
    /// A client sending with `http` (which may be shared with other clients).
    pub fn with_http(config: ClientConfig, http: impl Into<Arc<H>>) -> Client<H> {
        Client {
            config: Arc::new(config),
            http: http.into(),
            retry: RetryPolicy::default(),
        }
    }

    /// Retries one-shot calls as `policy` says.
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
    pub async fn exchange_code(
        &self,
        code: AuthorizationCode,
        redirect_uri: &RedirectUri,
    ) -> Result<Token, Error> {
        self.exchange(AuthorizationCodeGrant::new(code, redirect_uri.clone()))
            .await
    }

    /// Exchanges a code with a grant you built (PKCE verifier, `continuous_refresh`).
    pub async fn exchange(&self, grant: AuthorizationCodeGrant) -> Result<Token, Error> {
        self.request_token(&Grant::AuthorizationCode(grant)).await
    }

    /// Refreshes. Pinterest rotates the refresh token: persist the returned one.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Token, Error> {
        self.request_token(&Grant::refresh_token(refresh_token.clone()))
            .await
    }

    /// A token for the app itself.
    pub async fn client_credentials(&self, scopes: &[Scope]) -> Result<Token, Error> {
        self.request_token(&Grant::client_credentials(scopes.to_vec())?)
            .await
    }

    /// Revokes a token.
    pub async fn revoke(&self, revocation: &Revocation) -> Result<(), Error> {
        let response = self
            .send(Replay::Allowed, || revoke_request(&self.config, revocation))
            .await?;
        Ok(parse_revoke_response(&response)?)
    }

    /// Sends any grant and parses the token, timed at the moment the answer arrived.
    pub async fn request_token(&self, grant: &Grant) -> Result<Token, Error> {
        let replay = match grant {
            Grant::AuthorizationCode(_) => Replay::Never,
            _ => Replay::Allowed,
        };
        let response = self
            .send(replay, || token_request(&self.config, grant))
            .await?;
        Ok(parse_token_response(SystemTime::now(), &response)?)
    }

    async fn send(
        &self,
        replay: Replay,
        build: impl Fn() -> pinterest_oauth_core::http::Request<Vec<u8>>,
    ) -> Result<SecretResponse, Error> {
        let mut call = Call::new(self.retry, replay);
        loop {
            let outcome = self.http.execute(build()).await;
            match call.retry_delay(&outcome, crate::entropy::seed()) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return outcome,
            }
        }
    }
}

#[cfg(feature = "login")]
impl<H: AsyncHttp> Client<H> {
    /// The loopback login, as the blocking [`login`](crate::blocking::Client::login) runs it;
    /// the listener and the store run on tokio's blocking pool.
    pub async fn login<S: pinterest_oauth_store::TokenStore + Clone>(
        &self,
        store: &S,
        options: &crate::login::LoginOptions,
        open: impl FnOnce(&pinterest_oauth_core::Url),
    ) -> Result<Token, Error> {
        let config = self.config.clone();
        let (start_store, start_options) = (store.clone(), options.clone());
        let (listener, consent) =
            blocking(move || crate::login::start(&config, &start_store, &start_options)).await??;
        open(consent.url());
        let deadline = std::time::Instant::now() + options.timeout_value();
        let waited = consent.clone();
        let callback = blocking(move || listener.wait(&waited, deadline)).await??;
        let exchanged = match callback.grant.clone() {
            Err(refused) => Err(Error::Callback(refused)),
            Ok(grant) => {
                let reserve_store = store.clone();
                match blocking(move || crate::login::reserve(&reserve_store)).await {
                    Ok(Ok(())) => self.exchange(grant).await,
                    Ok(Err(e)) | Err(e) => Err(e),
                }
            }
        };
        let result = match exchanged {
            Ok(token) => {
                let (save_store, saved) = (store.clone(), token.clone());
                blocking(move || crate::login::save_login(&save_store, saved))
                    .await
                    .and_then(|r| r)
                    .map(|_| token)
            }
            Err(e) => Err(e),
        };
        crate::login::answer(callback, &result);
        result
    }
}

/// Runs blocking work on tokio's blocking pool.
#[cfg(feature = "login")]
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::Store(pinterest_oauth_store::StoreError::Unavailable {
            what: "the blocking pool".into(),
            source: Box::new(e),
        })
    })
}
