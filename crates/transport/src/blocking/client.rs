//! The blocking one-shot client.

use std::sync::Arc;

use pinterest_oauth_core::{ClientConfig, Grant, Token};

#[cfg(feature = "login")]
use crate::Error;
use crate::retry::{Call, Replay};
use crate::{Http, RetryConfig, SecretResponse};

/// A blocking Pinterest OAuth client: the core's requests sent over an [`Http`] stack, with
/// the retries of a [`RetryConfig`].
///
/// Cheap to clone; clones share the HTTP stack (and its connection pool). Use it from any
/// number of threads.
///
/// # Examples
///
/// ```no_run
/// # fn run<H: pinterest_oauth_transport::Http + pinterest_oauth_transport::FromHttpConfig>() -> Result<(), Box<dyn std::error::Error>> {
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
    retry: RetryConfig,
    budget: Arc<crate::RequestBudget>,
}

crate::flavours::one_shot_client!(http = Http, await = []);

impl<H: Http> Client<H> {
    /// Sends a request built by `build` (its URI checked first), again as the retry policy
    /// allows.
    fn send(
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
            let outcome = self.http.execute(request);
            match call.retry_delay(&outcome, crate::entropy::seed()) {
                Some(delay) => std::thread::sleep(delay),
                None => return Ok(outcome?),
            }
        }
    }
}

#[cfg(feature = "login")]
impl<H: Http> Client<H> {
    /// Runs the loopback login (see [`crate::login`]): binds the registered redirect URI,
    /// proves `store` will take the set, hands the one-time start address to `open` (open the
    /// browser on [`LoginStart::url`](crate::login::LoginStart::url), or print it; it redirects
    /// to the consent page), waits for the callback with the right `state` from that browser,
    /// exchanges the code, saves the set, and tells the browser. Returns the new set.
    ///
    /// Errors: [`Error::Login`] when the URI cannot be listened on, the browser does not come
    /// back in time, or the start address was opened twice (someone else has it); [`Error::Callback`] when the user (or Pinterest) refused;
    /// [`Error::Store`] when the store cannot take the set (checked before the code is
    /// spent); and the exchange's own errors.
    pub fn login<S: pinterest_oauth_store::TokenStore + ?Sized>(
        &self,
        store: &S,
        options: &crate::login::LoginConfig,
        open: impl FnOnce(&crate::login::LoginStart),
    ) -> Result<Token, Error> {
        let (listener, consent, prompt) = crate::login::start(&self.config, store, options)?;
        open(&prompt);
        let deadline = std::time::Instant::now() + options.timeout();
        let callback = listener.wait(&consent, deadline)?;
        drop(listener);
        let result = callback
            .grant
            .clone()
            .map_err(Error::Callback)
            .and_then(|grant| {
                crate::login::reserve(store)?;
                // The code is spent from here until the set is saved.
                let _flying = crate::InFlight::enter();
                let token = self.exchange(grant)?;
                crate::login::save_login(store, token.clone(), options.recovery_dir())?;
                Ok(token)
            });
        crate::login::answer(callback, &result);
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use pinterest_oauth_core::http::Request;
    use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, ConfigError};

    use super::*;
    use crate::{CallError, TransportError};

    /// A stack that counts what reaches it.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Http for Counting {
        fn execute(&self, _: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(pinterest_oauth_core::http::Response::new(
                zeroize::Zeroizing::new(Vec::new()),
            ))
        }
    }

    #[test]
    fn a_request_to_a_plain_http_host_that_is_not_loopback_never_reaches_the_stack() {
        let config = ClientConfig::new(AppId::new("1234").unwrap(), AppSecret::new("s"));
        let client = Client::with_http(config, Counting::default());
        for uri in [
            "http://api.pinterest.com/v5/oauth/token",
            "http://localhost.example:8080/v5/oauth/token",
            "ftp://127.0.0.1/v5/oauth/token",
        ] {
            let build = || {
                Request::post(uri)
                    .body(b"grant_type=client_credentials".to_vec())
                    .unwrap()
            };
            let err = client.send(Replay::Allowed, build).unwrap_err();
            assert!(
                matches!(err, CallError::Config(ConfigError::InvalidUrl { .. })),
                "{uri}: {err}"
            );
        }
        assert_eq!(
            client.http().0.load(Ordering::SeqCst),
            0,
            "nothing was sent"
        );
        assert_eq!(
            client.budget().in_window(std::time::Instant::now()),
            0,
            "nothing was counted"
        );
        let build = || {
            Request::post("http://127.0.0.1:9/v5/oauth/token")
                .body(Vec::new())
                .unwrap()
        };
        client.send(Replay::Allowed, build).unwrap();
        assert_eq!(client.http().0.load(Ordering::SeqCst), 1, "loopback goes");
    }
}
