//! Both HTTP stacks behind the one [`Http`] contract, so each scenario is written once and run
//! through ureq and hyper alike, with the same client and the same error type.

use std::time::Duration;

use fake_pinterest::FakePinterest;
use pinterest_oauth_core::{AppId, AppSecret, BaseUrl, ClientConfig, ConsentUrl};
use pinterest_oauth_transport::blocking::Client;
use pinterest_oauth_transport::{FromHttpConfig, Http, HttpConfig, RetryConfig};

/// Which HTTP stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `pinterest-oauth-ureq`.
    Ureq,
    /// `pinterest-oauth-hyper`, driven from blocking code.
    Hyper,
}

impl Kind {
    /// Both.
    pub const ALL: [Kind; 2] = [Kind::Ureq, Kind::Hyper];
}

/// The HTTP stack of `kind` with `settings`.
pub fn http(kind: Kind, settings: &HttpConfig) -> Box<dyn Http> {
    match kind {
        Kind::Ureq => {
            Box::new(pinterest_oauth_ureq::HttpClient::from_http_config(settings).expect("ureq"))
        }
        Kind::Hyper => Box::new(
            pinterest_oauth_hyper::BlockingHttpClient::from_http_config(settings).expect("hyper"),
        ),
    }
}

/// A blocking client over `kind`, without retries (tests of retries ask for them).
pub fn client(kind: Kind, config: ClientConfig, settings: &HttpConfig) -> Client<Box<dyn Http>> {
    Client::with_http(config, http(kind, settings)).with_retry(RetryConfig::none())
}

/// A client of `kind` for `fake`.
pub fn client_for(kind: Kind, fake: &FakePinterest) -> Client<Box<dyn Http>> {
    client(kind, config_for(fake), &settings_for(fake))
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

/// HttpConfig that trust the fake's CA when it serves TLS, with short timeouts for tests.
pub fn settings_for(fake: &FakePinterest) -> HttpConfig {
    let settings = HttpConfig::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(10));
    match fake.ca_certificate_pem() {
        Some(pem) => settings
            .with_root_certificates_pem(pem.as_bytes())
            .expect("the fake's CA parses"),
        None => settings,
    }
}
