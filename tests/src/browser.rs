//! The test acting as the user's browser on the consent page.

use std::time::Duration;

use fake_pinterest::FakePinterest;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// What the consent page answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// The status.
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
}

/// GETs `url` as a browser would, without following the redirect, trusting the fake's CA.
pub fn visit(fake: &FakePinterest, url: &str) -> Visit {
    let mut tls = TlsConfig::builder();
    if let Some(der) = fake.ca_certificate_der() {
        tls = tls.root_certs(RootCerts::new_with_certs(&[
            Certificate::from_der(der).to_owned()
        ]));
    }
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .tls_config(tls.build())
        .build()
        .new_agent();
    let response = agent.get(url).call().expect("the consent page answers");
    Visit {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("ascii location").to_owned()),
    }
}

/// Follows the consent URL and returns the callback URL it redirects to.
pub fn approve(fake: &FakePinterest, url: &str) -> String {
    let visit = visit(fake, url);
    assert_eq!(visit.status, 302, "consent redirects back");
    visit.location.expect("a Location header")
}
