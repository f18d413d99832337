//! The async one-shot client.

use std::sync::Arc;

use pinterest_oauth_core::{ClientConfig, Grant, Token};

#[cfg(feature = "login")]
use crate::Error;
use crate::retry::{Call, Replay};
use crate::{AsyncHttp, RetryConfig, SecretResponse};

/// An async Pinterest OAuth client: the core's requests sent over an [`AsyncHttp`] stack, with
/// the retries of a [`RetryConfig`]. The same calls as the blocking
/// [`Client`](crate::blocking::Client); futures are `Send`.
///
/// Cheap to clone; clones share the HTTP stack (and its pool), across tasks and threads.
#[derive(Debug)]
pub struct Client<H> {
    config: Arc<ClientConfig>,
    http: Arc<H>,
    retry: RetryConfig,
    budget: Arc<crate::RequestBudget>,
}

crate::flavours::one_shot_client!(http = AsyncHttp, async = async, await = [.await]);

impl<H: AsyncHttp> Client<H> {
    /// Sends a request built by `build` (its URI checked first), again as the retry policy
    /// allows.
    async fn send(
        &self,
        replay: Replay,
        build: impl Fn() -> pinterest_oauth_core::http::Request<Vec<u8>>,
    ) -> Result<SecretResponse, crate::CallError> {
        let mut call = None;
        loop {
            // Checked here, before each attempt is counted or sent: a stack need not.
            let request = build();
            pinterest_oauth_core::check_request_uri(request.uri())?;
            let call =
                call.get_or_insert_with(|| Call::new(self.retry, replay, self.budget.clone()));
            let outcome = self.http.execute(request).await;
            match call.retry_delay(&outcome, crate::entropy::seed()) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Ok(outcome?),
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
        options: &crate::login::LoginConfig,
        open: impl FnOnce(&crate::login::LoginStart),
    ) -> Result<Token, Error> {
        let config = self.config.clone();
        let (start_store, start_options) = (store.clone(), options.clone());
        let (listener, consent, prompt) =
            super::blocking(move || crate::login::start(&config, &start_store, &start_options))
                .await??;
        open(&prompt);
        let deadline = std::time::Instant::now() + options.timeout();
        let waited = consent.clone();
        let callback = super::blocking(move || listener.wait(&waited, deadline)).await??;
        // The code is spent from the exchange until the set is saved.
        let flying = crate::InFlight::enter();
        let exchanged = match callback.grant.clone() {
            Err(refused) => Err(Error::Callback(refused)),
            Ok(grant) => {
                let reserve_store = store.clone();
                match super::blocking(move || crate::login::reserve(&reserve_store)).await {
                    Ok(Ok(())) => Ok(self.exchange(grant).await?),
                    Ok(Err(e)) | Err(e) => Err(e),
                }
            }
        };
        let result = match exchanged {
            Ok(token) => {
                let (save_store, saved) = (store.clone(), token.clone());
                let recovery = options.recovery_dir().map(std::path::Path::to_path_buf);
                super::blocking(move || {
                    crate::login::save_login(&save_store, saved, recovery.as_deref())
                })
                .await
                .and_then(|r| r)
                .map(|_| token)
            }
            Err(e) => Err(e),
        };
        drop(flying);
        crate::login::answer(callback, &result);
        result
    }
}
