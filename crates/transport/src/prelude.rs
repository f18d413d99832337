//! What an app needs for a whole flow, for a transport crate to re-export in one line
//! (`pub use pinterest_oauth_transport::prelude::*;`): the core's configuration, grant, token
//! and secret types, the store types (with what implementing [`TokenStore`] needs), and this
//! layer's own. [`AsyncHttp`](crate::AsyncHttp) is not in it: a crate whose stack is async
//! re-exports it itself.

pub use pinterest_oauth_core as core;
pub use pinterest_oauth_core::{
    AccessToken, AppId, AppSecret, AuthorizationCode, AuthorizationCodeGrant, BaseUrl,
    ClientConfig, ClientCredentialsGrant, ConfigError, ConsentUrl, CsrfState, Grant,
    LifecycleConfig, PkceVerifier, RedirectUri, RefreshToken, Revocation, Scope, Status, Token,
    TokenDocument, http, parse_token_response, token_request,
};
pub use pinterest_oauth_store::{
    Attempt, FileGrants, FileStore, GrantName, GrantNameError, GrantStore, MemoryStore, StoreError,
    StoreLock, TokenStore,
};

#[cfg(any(feature = "blocking", feature = "tokio"))]
pub use crate::{PoolConfig, RefreshReport};

#[cfg(feature = "login")]
pub use crate::login;
pub use crate::{
    AuthorizationRequest, CallError, Error, ErrorKind, FromHttpConfig, Http, HttpConfig, Pkce,
    RetryConfig, SourceConfig, TransportError, TransportErrorKind,
};
