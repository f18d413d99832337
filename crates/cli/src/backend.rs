//! The chosen transport behind one blocking interface.

use pinterest_oauth_core::{
    AuthorizationCode, ClientConfig, RedirectUri, Revocation, Scope, Token,
};
use pinterest_oauth_store::FileStore;

use crate::error::CliError;

/// A client of the chosen transport (`--transport`).
// One per process: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Backend {
    /// Blocking.
    Ureq(pinterest_oauth_ureq::Client),
    /// Async, with the runtime that drives it.
    Hyper(pinterest_oauth_hyper::Client, Box<tokio::runtime::Runtime>),
}

impl Backend {
    pub(crate) fn new(
        transport: crate::args::Transport,
        config: ClientConfig,
    ) -> Result<Backend, CliError> {
        Ok(match transport {
            crate::args::Transport::Ureq => {
                Backend::Ureq(pinterest_oauth_ureq::Client::new(config)?)
            }
            crate::args::Transport::Hyper => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|source| CliError::Io {
                        what: "cannot start the async runtime",
                        source,
                    })?;
                Backend::Hyper(
                    pinterest_oauth_hyper::Client::new(config)?,
                    Box::new(runtime),
                )
            }
        })
    }

    pub(crate) fn exchange_code(
        &self,
        code: AuthorizationCode,
        redirect_uri: &RedirectUri,
    ) -> Result<Token, CliError> {
        Ok(match self {
            Backend::Ureq(c) => c.exchange_code(code, redirect_uri)?,
            Backend::Hyper(c, rt) => rt.block_on(c.exchange_code(code, redirect_uri))?,
        })
    }

    pub(crate) fn client_credentials(&self, scopes: &[Scope]) -> Result<Token, CliError> {
        Ok(match self {
            Backend::Ureq(c) => c.client_credentials(scopes)?,
            Backend::Hyper(c, rt) => rt.block_on(c.client_credentials(scopes))?,
        })
    }

    pub(crate) fn revoke(&self, revocation: &Revocation) -> Result<(), CliError> {
        match self {
            Backend::Ureq(c) => c.revoke(revocation)?,
            Backend::Hyper(c, rt) => rt.block_on(c.revoke(revocation))?,
        }
        Ok(())
    }

    /// A valid token set from the file, refreshed (and saved) first when due. A refresh that
    /// fails while the stored token is still valid is reported as a warning, not an error.
    pub(crate) fn valid_token(&self, store: FileStore) -> Result<Token, CliError> {
        let path = store.path().to_path_buf();
        let (current, failure) = match self {
            Backend::Ureq(c) => {
                let source = pinterest_oauth_ureq::TokenSource::new(c.clone(), store)?;
                source.access_token()?;
                // A proactive refresh runs in the background: let it land before exiting.
                source.wait_idle();
                (source.token(), source.last_error().map(|e| e.to_string()))
            }
            Backend::Hyper(c, rt) => rt.block_on(async {
                let source = pinterest_oauth_hyper::TokenSource::new(c.clone(), store)?;
                source.access_token().await?;
                source.wait_idle().await;
                let failure = source.last_error().map(|e| e.to_string());
                Ok::<_, CliError>((source.token(), failure))
            })?,
        };
        if let Some(failure) = failure {
            eprintln!(
                "warning: refresh failed, using the stored token while it is valid: {failure}"
            );
        }
        // A valid token was just handed out from the current set, so there is one.
        current.ok_or(CliError::NoToken(path))
    }

    /// Refreshes now and saves the rotated set.
    pub(crate) fn refresh_now(&self, store: FileStore) -> Result<Token, CliError> {
        Ok(match self {
            Backend::Ureq(c) => {
                pinterest_oauth_ureq::TokenSource::new(c.clone(), store)?.refresh_now()?
            }
            Backend::Hyper(c, rt) => rt.block_on(async {
                let source = pinterest_oauth_hyper::TokenSource::new(c.clone(), store)?;
                Ok::<_, CliError>(source.refresh_now().await?)
            })?,
        })
    }
}
