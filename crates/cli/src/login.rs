//! `login`: the library's loopback login, or the out-of-band one (`--no-listen`).

use std::io::{BufRead, Read as _};

use pinterest_oauth_core::{RedirectUri, Scope, Token};
use pinterest_oauth_transport::Pkce;
use pinterest_oauth_transport::login::{LoginConfig, LoginError, LoginStart, reserve, save_login};

use crate::AnyClient;
use crate::error::CliError;
use crate::store::{CliStore, recovery_dir};

/// How the consent URL reaches a browser.
pub(crate) enum Opener {
    /// Open the system browser (and print the URL in case it does not open).
    Browser,
    /// Only print the URL (`--no-browser`): alone on a line of stdout (for a script's
    /// browser: `| { read -r address; curl -L -b '' "$address"; }`), or on stderr.
    Print {
        /// On stdout (not with `--json`, whose stdout is one JSON document).
        stdout: bool,
    },
    /// Hand it to this function (the demo's stand-in browser).
    #[cfg(feature = "demo")]
    Call(Box<dyn FnOnce(String) + Send>),
}

impl Opener {
    fn open(self, start: &LoginStart) {
        let url = start.url();
        let listening: Vec<String> = start.listening().iter().map(ToString::to_string).collect();
        crate::say::note!(
            "Waiting for Pinterest to send the browser back to {} (listening on {}) until {}; press Ctrl-C to cancel.",
            start.redirect_uri(),
            listening.join(", "),
            pinterest_oauth_core::rfc3339(start.deadline())
        );
        match self {
            Opener::Print { stdout: true } => {
                if let Err(e) = crate::say::out!("{url}") {
                    crate::say::note!(
                        "The address could not be printed on stdout ({e}); open this one in your browser to log in:\n{url}"
                    );
                } else {
                    crate::say::note!(
                        "Open the address printed on stdout in your browser to log in."
                    );
                }
            }
            Opener::Print { stdout: false } => {
                crate::say::note!("Open this address in your browser to log in:\n{url}")
            }
            Opener::Browser => {
                crate::say::note!(
                    "Opening your browser to log in. If it does not open, visit:\n{url}"
                );
                if let Err(e) = webbrowser::open(url.as_str()) {
                    crate::say::note!("warning: could not open a browser: {e}");
                }
            }
            #[cfg(feature = "demo")]
            Opener::Call(open) => open(url.to_string()),
        }
    }
}

/// What `login` needs.
pub(crate) struct LoginRequest<'a> {
    pub(crate) client: &'a AnyClient,
    pub(crate) store: &'a CliStore,
    pub(crate) options: LoginConfig,
    pub(crate) opener: Opener,
}

/// The loopback login: listen on the registered redirect URI, consent, exchange, save.
pub(crate) fn login(request: LoginRequest<'_>) -> Result<Token, CliError> {
    tracing::info!("listening for the consent redirect");
    let opener = request.opener;
    request
        .client
        .login(request.store, &request.options, |start| opener.open(start))
        .map_err(|e| match e {
            pinterest_oauth_transport::Error::Login(LoginError::NotLoopback { uri }) => {
                CliError::NotLoopback(uri)
            }
            other => other.into(),
        })
}

/// The out-of-band login: print the consent URL, read back the URL the browser ended on.
/// Any registered redirect URI works (https, another host), nothing listens.
pub(crate) fn login_out_of_band(
    client: &AnyClient,
    store: &CliStore,
    redirect_uri: &RedirectUri,
    scopes: &[Scope],
    pkce: Pkce,
) -> Result<Token, CliError> {
    reserve(store)?;
    let consent = client.authorization_url(redirect_uri, scopes, pkce)?;
    crate::say::note!(
        "Open this URL in your browser, give access, then paste here the address the browser \
         ends on (it may show an error page):\n{}",
        consent.url()
    );
    crate::say::note!(
        "(Nothing listens: nothing checks which browser finishes this login. The URL above and \
         the address you paste carry the login's secrets: keep both to yourself.)"
    );
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .take(64 * 1024)
        .read_line(&mut line)
        .map_err(|source| CliError::AppSecret {
            what: "stdin (the redirected url)".into(),
            source,
        })?;
    if line.trim().is_empty() {
        return Err(CliError::NothingPasted);
    }
    let grant = consent
        .callback(line.trim())
        .map_err(pinterest_oauth_transport::Error::from)?;
    reserve(store)?;
    // The code is spent from here until the set is saved: a signal waits for it.
    let _flying = pinterest_oauth_transport::InFlight::enter();
    let token = client.exchange(grant)?;
    save_login(store, token.clone(), recovery_dir().as_deref())?;
    Ok(token)
}
