//! Both transports behind one blocking interface, so each scenario is written once and run
//! through ureq and hyper alike.

use std::fmt;
use std::time::Duration;

use fake_pinterest::FakePinterest;
use pinterest_oauth_core::{
    AppId, AppSecret, AuthorizationCode, BaseUrl, ClientConfig, ConsentUrl, HttpSettings,
    RedirectUri, RefreshToken, Revocation, Scope, Token,
};

/// Which transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `pinterest-oauth-ureq`.
    Ureq,
    /// `pinterest-oauth-hyper`, driven by a multi-thread tokio runtime.
    Hyper,
}

impl Kind {
    /// Both.
    pub const ALL: [Kind; 2] = [Kind::Ureq, Kind::Hyper];
}

/// A client of either transport.
// A few per test: their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnyClient {
    /// Blocking.
    Ureq(pinterest_oauth_ureq::Client),
    /// Async, with the runtime that drives it.
    Hyper(pinterest_oauth_hyper::Client, Box<tokio::runtime::Runtime>),
}

/// An error of either transport.
#[derive(Debug)]
pub enum AnyError {
    /// From ureq.
    Ureq(pinterest_oauth_ureq::Error),
    /// From hyper.
    Hyper(pinterest_oauth_hyper::Error),
}

impl fmt::Display for AnyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyError::Ureq(e) => write!(f, "ureq: {e}"),
            AnyError::Hyper(e) => write!(f, "hyper: {e}"),
        }
    }
}

/// The failure classes both transports share, for assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A protocol answer (see [`AnyError::core`]).
    Core,
    /// Could not connect.
    Connect,
    /// Timed out.
    Timeout,
    /// Body over the cap.
    BodyTooLarge,
    /// TLS failed.
    Tls,
    /// The server broke HTTP.
    Protocol,
    /// Anything else.
    Http,
}

impl AnyError {
    /// The core's error, if any.
    pub fn core(&self) -> Option<&pinterest_oauth_core::Error> {
        match self {
            AnyError::Ureq(e) => e.core(),
            AnyError::Hyper(e) => e.core(),
        }
    }

    /// The failure class.
    pub fn class(&self) -> Class {
        use pinterest_oauth_hyper::Error as H;
        use pinterest_oauth_ureq::Error as U;
        match self {
            AnyError::Ureq(U::Core(_)) | AnyError::Hyper(H::Core(_)) => Class::Core,
            AnyError::Ureq(U::Connect(_)) | AnyError::Hyper(H::Connect(_)) => Class::Connect,
            AnyError::Ureq(U::Timeout(_)) | AnyError::Hyper(H::Timeout(_)) => Class::Timeout,
            AnyError::Ureq(U::BodyTooLarge { .. }) | AnyError::Hyper(H::BodyTooLarge { .. }) => {
                Class::BodyTooLarge
            }
            AnyError::Ureq(U::Tls(_)) | AnyError::Hyper(H::Tls(_)) => Class::Tls,
            AnyError::Ureq(U::Protocol(_)) | AnyError::Hyper(H::Protocol(_)) => Class::Protocol,
            _ => Class::Http,
        }
    }

    /// `true` when the transport says the call may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            AnyError::Ureq(e) => e.is_transient(),
            AnyError::Hyper(e) => e.is_transient(),
        }
    }
}

/// The app config for a fake, with its base and consent URLs.
pub fn config_for(fake: &FakePinterest) -> ClientConfig {
    ClientConfig::new(
        AppId::new(fake.app_id()).expect("app id"),
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url()).expect("fake base url"))
    .with_consent_url(ConsentUrl::parse(&fake.consent_url()).expect("fake consent url"))
}

/// Settings that trust the fake's CA when it serves TLS, with short timeouts for tests.
pub fn settings_for(fake: &FakePinterest) -> HttpSettings {
    let settings = HttpSettings::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(10));
    match fake.ca_certificate_pem() {
        Some(pem) => settings
            .with_root_certificates_pem(pem.as_bytes())
            .expect("the fake's CA parses"),
        None => settings,
    }
}

impl AnyClient {
    /// A client of `kind` for `config` with `settings`.
    pub fn new(kind: Kind, config: ClientConfig, settings: &HttpSettings) -> AnyClient {
        match kind {
            Kind::Ureq => AnyClient::Ureq(
                pinterest_oauth_ureq::Client::with_settings(config, settings).expect("ureq client"),
            ),
            Kind::Hyper => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                let client = pinterest_oauth_hyper::Client::with_settings(config, settings)
                    .expect("hyper client");
                AnyClient::Hyper(client, Box::new(runtime))
            }
        }
    }

    /// A client of `kind` for `fake`.
    pub fn for_fake(kind: Kind, fake: &FakePinterest) -> AnyClient {
        AnyClient::new(kind, config_for(fake), &settings_for(fake))
    }

    /// Which transport this is.
    pub fn kind(&self) -> Kind {
        match self {
            AnyClient::Ureq(_) => Kind::Ureq,
            AnyClient::Hyper(..) => Kind::Hyper,
        }
    }

    /// `exchange_code`.
    pub fn exchange_code(&self, code: &str, redirect_uri: &RedirectUri) -> Result<Token, AnyError> {
        let code = AuthorizationCode::new(code);
        match self {
            AnyClient::Ureq(c) => c.exchange_code(code, redirect_uri).map_err(AnyError::Ureq),
            AnyClient::Hyper(c, rt) => rt
                .block_on(c.exchange_code(code, redirect_uri))
                .map_err(AnyError::Hyper),
        }
    }

    /// `refresh`.
    pub fn refresh(&self, refresh_token: &RefreshToken) -> Result<Token, AnyError> {
        match self {
            AnyClient::Ureq(c) => c.refresh(refresh_token).map_err(AnyError::Ureq),
            AnyClient::Hyper(c, rt) => rt
                .block_on(c.refresh(refresh_token))
                .map_err(AnyError::Hyper),
        }
    }

    /// `client_credentials`.
    pub fn client_credentials(&self, scopes: &[Scope]) -> Result<Token, AnyError> {
        match self {
            AnyClient::Ureq(c) => c.client_credentials(scopes).map_err(AnyError::Ureq),
            AnyClient::Hyper(c, rt) => rt
                .block_on(c.client_credentials(scopes))
                .map_err(AnyError::Hyper),
        }
    }

    /// `revoke`.
    pub fn revoke(&self, revocation: &Revocation) -> Result<(), AnyError> {
        match self {
            AnyClient::Ureq(c) => c.revoke(revocation).map_err(AnyError::Ureq),
            AnyClient::Hyper(c, rt) => rt.block_on(c.revoke(revocation)).map_err(AnyError::Hyper),
        }
    }
}
