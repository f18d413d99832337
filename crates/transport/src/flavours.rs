//! The one-shot client's constructors, accessors and calls, written once for the blocking and
//! the async flavour (they differ only in `async` and `.await`).

/// Implements a flavour's `Client<H>` over the HTTP trait `$http`. Each flavour writes the
/// struct (with its docs) and `send`, the retry loop with its own way of sleeping.
macro_rules! one_shot_client {
    (http = $http:ident, $(async = $async:ident,)? await = [$($await:tt)*]) => {
        impl<H> Clone for Client<H> {
            fn clone(&self) -> Self {
                Client {
                    config: self.config.clone(),
                    http: self.http.clone(),
                    retry: self.retry,
                    budget: self.budget.clone(),
                }
            }
        }

        impl<H: $http + crate::FromHttpConfig> Client<H> {
            /// A client with default [`HttpConfig`](crate::HttpConfig).
            ///
            /// Errors: the [`TransportError`](crate::TransportError) of a stack that cannot be
            /// built.
            pub fn new(config: ClientConfig) -> Result<Client<H>, crate::TransportError> {
                Client::with_http_config(config, &crate::HttpConfig::default())
            }

            /// A client whose stack is built with `http_config`.
            ///
            /// Errors: the [`TransportError`](crate::TransportError) of a stack that cannot be
            /// built.
            pub fn with_http_config(
                config: ClientConfig,
                http_config: &crate::HttpConfig,
            ) -> Result<Client<H>, crate::TransportError> {
                Ok(Client::with_http(config, H::from_http_config(http_config)?))
            }
        }

        impl<H: $http> Client<H> {
            /// A client sending with `http` (which may be shared with other clients).
            pub fn with_http(config: ClientConfig, http: impl Into<Arc<H>>) -> Client<H> {
                Client {
                    config: Arc::new(config),
                    http: http.into(),
                    retry: crate::RetryConfig::default(),
                    budget: Arc::new(crate::RequestBudget::default()),
                }
            }

            /// Retries one-shot calls as `policy` says (default: [`RetryConfig::default`](crate::RetryConfig::default)).
            pub fn with_retry(mut self, policy: crate::RetryConfig) -> Client<H> {
                self.retry = policy;
                self
            }

            /// Counts this client's requests in `budget` (shared with other clients of the
            /// same app, say) instead of its own [`RequestBudget`](crate::RequestBudget).
            pub fn with_budget(mut self, budget: Arc<crate::RequestBudget>) -> Client<H> {
                self.budget = budget;
                self
            }

            /// The request budget this client's calls, its clones and the token sources built
            /// on it share.
            pub fn budget(&self) -> &Arc<crate::RequestBudget> {
                &self.budget
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
            /// [`AuthorizationRequest`](crate::AuthorizationRequest) to check the callback and exchange the
            /// code.
            ///
            /// Errors: [`CallError::Config`](crate::CallError::Config) for scopes or a
            /// redirect URI Pinterest would refuse; [`CallError::Entropy`](crate::CallError::Entropy)
            /// when the OS gives no random bytes.
            pub fn authorization_url(
                &self,
                redirect_uri: &pinterest_oauth_core::RedirectUri,
                scopes: &[pinterest_oauth_core::Scope],
                pkce: crate::Pkce,
            ) -> Result<crate::AuthorizationRequest, crate::CallError> {
                crate::AuthorizationRequest::new(&self.config, redirect_uri, scopes, pkce)
            }

            /// Exchanges the code from the consent redirect (with `continuous_refresh=true`).
            /// Never sent twice once a byte of it may have reached Pinterest.
            ///
            /// Errors: [`CallError::Response`](crate::CallError::Response) for Pinterest's refusal
            /// (an invalid grant among them) or an answer that cannot be read;
            /// [`CallError::Transport`](crate::CallError::Transport) for the wire;
            /// [`CallError::Config`](crate::CallError::Config) for a request URI that is neither
            /// `https` nor loopback `http`.
            pub $($async)? fn exchange_code(
                &self,
                code: pinterest_oauth_core::AuthorizationCode,
                redirect_uri: &pinterest_oauth_core::RedirectUri,
            ) -> Result<Token, crate::CallError> {
                let grant = pinterest_oauth_core::AuthorizationCodeGrant::new(code, redirect_uri.clone());
                self.exchange(grant) $($await)*
            }

            /// Exchanges a code with a grant you built (PKCE verifier, `continuous_refresh`),
            /// such as [`AuthorizationRequest::callback`](crate::AuthorizationRequest::callback) gives.
            ///
            /// Errors: [`CallError::Response`](crate::CallError::Response) for Pinterest's refusal
            /// (an invalid grant among them) or an answer that cannot be read;
            /// [`CallError::Transport`](crate::CallError::Transport) for the wire;
            /// [`CallError::Config`](crate::CallError::Config) for a request URI that is neither
            /// `https` nor loopback `http`.
            pub $($async)? fn exchange(
                &self,
                grant: pinterest_oauth_core::AuthorizationCodeGrant,
            ) -> Result<Token, crate::CallError> {
                self.request_token(&Grant::AuthorizationCode(grant)) $($await)*
            }

            /// Refreshes. Pinterest rotates the refresh token: persist the returned one.
            ///
            /// Errors: [`CallError::Response`](crate::CallError::Response) for Pinterest's refusal
            /// (an invalid grant among them) or an answer that cannot be read;
            /// [`CallError::Transport`](crate::CallError::Transport) for the wire;
            /// [`CallError::Config`](crate::CallError::Config) for a request URI that is neither
            /// `https` nor loopback `http`.
            pub $($async)? fn refresh(
                &self,
                refresh_token: &pinterest_oauth_core::RefreshToken,
            ) -> Result<Token, crate::CallError> {
                self.request_token(&Grant::refresh_token(refresh_token.clone())) $($await)*
            }

            /// A token for the app itself.
            ///
            /// Errors: [`CallError::Response`](crate::CallError::Response) for Pinterest's refusal
            /// (an invalid grant among them) or an answer that cannot be read;
            /// [`CallError::Transport`](crate::CallError::Transport) for the wire;
            /// [`CallError::Config`](crate::CallError::Config) for a request URI that is neither
            /// `https` nor loopback `http` or no scopes.
            pub $($async)? fn client_credentials(
                &self,
                scopes: &[pinterest_oauth_core::Scope],
            ) -> Result<Token, crate::CallError> {
                self.request_token(&Grant::client_credentials(scopes.to_vec())?) $($await)*
            }

            /// Revokes a token.
            ///
            /// Errors: [`CallError::Response`](crate::CallError::Response) for Pinterest's refusal
            /// (an invalid grant among them) or an answer that cannot be read;
            /// [`CallError::Transport`](crate::CallError::Transport) for the wire;
            /// [`CallError::Config`](crate::CallError::Config) for a request URI that is neither
            /// `https` nor loopback `http`.
            pub $($async)? fn revoke(
                &self,
                revocation: &pinterest_oauth_core::Revocation,
            ) -> Result<(), crate::CallError> {
                let build = || pinterest_oauth_core::revoke_request(&self.config, revocation);
                let response = self.send(crate::retry::Replay::Allowed, build) $($await)* ?;
                Ok(pinterest_oauth_core::parse_revoke_response(&response)?)
            }

            /// Who `access_token` acts for: `GET {base}/user_account` (what a login reports when
            /// `user_accounts:read` was granted). One attempt, never retried, and not counted
            /// in the token requests' budget (it is not one).
            ///
            /// Errors: [`CallError::Response`](crate::CallError::Response) for Pinterest's refusal
            /// (an invalid grant among them) or an answer that cannot be read;
            /// [`CallError::Transport`](crate::CallError::Transport) for the wire;
            /// [`CallError::Config`](crate::CallError::Config) for a request URI that is neither
            /// `https` nor loopback `http`.
            pub $($async)? fn user_account(
                &self,
                access_token: &pinterest_oauth_core::AccessToken,
            ) -> Result<pinterest_oauth_core::UserAccount, crate::CallError> {
                let request = pinterest_oauth_core::user_account_request(&self.config, access_token);
                pinterest_oauth_core::check_request_uri(request.uri())?;
                let response = self.http.execute(request) $($await)* ?;
                pinterest_oauth_core::parse_user_account(&response).map_err(|e| {
                    crate::CallError::Response(e.without_secrets(&[
                        access_token.secret(),
                        self.config.app_secret().secret(),
                    ]))
                })
            }

            /// Sends any grant and parses the token, timed at the moment the answer arrived.
            /// An authorization-code exchange is never replayed; other grants are retried as
            /// the [`RetryConfig`](crate::RetryConfig) allows.
            ///
            /// Errors: [`CallError::Response`](crate::CallError::Response) for Pinterest's refusal
            /// (an invalid grant among them) or an answer that cannot be read;
            /// [`CallError::Transport`](crate::CallError::Transport) for the wire;
            /// [`CallError::Config`](crate::CallError::Config) for a request URI that is neither
            /// `https` nor loopback `http` or a grant the spec refuses.
            pub $($async)? fn request_token(&self, grant: &Grant) -> Result<Token, crate::CallError> {
                let replay = match grant {
                    Grant::AuthorizationCode(_) => crate::retry::Replay::Never,
                    _ => crate::retry::Replay::Allowed,
                };
                let build = || pinterest_oauth_core::token_request(&self.config, grant);
                let response = self.send(replay, build) $($await)* ?;
                let parsed = pinterest_oauth_core::parse_token_response(
                    std::time::SystemTime::now(),
                    &response,
                );
                crate::flavours::keep_raw_answer(&response, parsed.as_ref().ok());
                let token = parsed.map_err(|e| {
                    let mut secrets = grant.secrets();
                    secrets.push(self.config.app_secret().secret());
                    crate::CallError::Response(e.without_secrets(&secrets))
                })?;
                Ok(token.with_requested_scopes(grant.requested_scopes()))
            }
        }
    };
}

pub(crate) use one_shot_client;

/// A one-shot call's success that was not read whole (it may carry a refresh token the parse
/// did not take) is kept aside as it came, mode 0600, in the default recovery directory
/// (`pinterest-oauth status` lists it). Logged with where it is.
pub(crate) fn keep_raw_answer(
    response: &crate::SecretResponse,
    parsed: Option<&pinterest_oauth_core::Token>,
) {
    use pinterest_oauth_store::recovery::{self, Keeper};
    if !response.status().is_success()
        || !pinterest_oauth_core::must_keep_raw_answer(response.body(), parsed)
    {
        return;
    }
    let kept = recovery::default_dir()
        .ok_or_else(|| std::io::Error::other("no recovery directory on this platform"))
        .and_then(|dir| {
            recovery::RecoveryDir::new(dir).keep_raw(recovery::ONE_SHOT, response.body())
        });
    crate::single_flight::report_raw_kept(&kept);
}

/// The token source's accessors, written once for both flavours (their `shared` holds the
/// same fields).
/// A flavour's `TokenSource<H, S>` over the HTTP trait `$http`: `Clone`, `Debug`, `new` (over
/// the flavour's own `with_config`) and the handle's shared state.
macro_rules! source_basics {
    (http = $http:ident) => {
        impl<H: $http, S: TokenStore> Clone for TokenSource<H, S> {
            fn clone(&self) -> Self {
                TokenSource {
                    handle: self.handle.clone(),
                }
            }
        }

        impl<H: $http, S: TokenStore> std::fmt::Debug for TokenSource<H, S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("TokenSource")
                    .field("flight", &self.handle.shared.flight)
                    .finish_non_exhaustive()
            }
        }

        impl<H: $http, S: TokenStore> TokenSource<H, S> {
            /// A source for the user's tokens in `store`, with the default lifecycle and the
            /// system clock. Loads the stored set: a corrupt or unreadable store is an error.
            pub fn new(client: Client<H>, store: S) -> Result<TokenSource<H, S>, Error> {
                TokenSource::with_config(client, store, SourceConfig::default())
            }

            fn shared(&self) -> &Arc<Shared<H, S>> {
                &self.handle.shared
            }
        }
    };
}
pub(crate) use source_basics;

macro_rules! source_accessors {
    () => {
        /// Makes a refresh due now within the request budget: call it when the API refused
        /// the access token (401).
        pub fn request_refresh(&self) {
            self.shared().flight.request_refresh();
        }

        /// Re-reads the store at the next call (to pick up a set saved elsewhere, such as a
        /// login in another process).
        pub fn reload(&self) {
            self.shared().flight.reload((self.shared().clock)());
        }

        /// Adopts a document saved by this process (for example right after a login) unless
        /// it is older than the current set; returns whether it was adopted.
        pub fn adopt(&self, document: pinterest_oauth_core::TokenDocument) -> bool {
            self.shared()
                .flight
                .adopt((self.shared().clock)(), document)
        }

        /// The current (saved) token set.
        pub fn token(&self) -> Option<pinterest_oauth_core::Token> {
            self.shared().flight.token()
        }

        /// Where the lifecycle stands now.
        pub fn status(&self) -> pinterest_oauth_core::Status {
            self.shared().flight.status((self.shared().clock)())
        }

        /// When the user must log in again, if Pinterest no longer renews the refresh token
        /// and it lapses within the rotation margin (7 days): warn the user.
        pub fn login_needed_by(&self) -> Option<std::time::SystemTime> {
            self.shared()
                .flight
                .login_needed_by((self.shared().clock)())
        }

        /// The last failure (refresh or save), until a success clears it.
        pub fn last_error(&self) -> Option<std::sync::Arc<crate::Error>> {
            self.shared().flight.last_error()
        }

        /// The store.
        pub fn store(&self) -> &S {
            self.shared().storage.store()
        }

        /// The client.
        pub fn client(&self) -> &Client<H> {
            &self.shared().client
        }
    };
}

pub(crate) use source_accessors;
