//! A stand-in for the user's browser: GETs a page without following redirects, so a test or a
//! demo can walk the consent flow step by step.

use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::Error;

/// What a page answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// The status.
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The page, as text.
    pub body: String,
}

/// GETs `url` as a browser would, but without following a redirect. `ca_der` is an extra root
/// certificate to trust (the fake's, when it serves TLS). Any status is an answer.
pub fn visit(url: &str, ca_der: Option<&[u8]>) -> Result<Visit, Error> {
    let mut tls = TlsConfig::builder();
    if let Some(der) = ca_der {
        tls = tls.root_certs(RootCerts::new_with_certs(&[
            Certificate::from_der(der).to_owned()
        ]));
    }
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(tls.build())
        .build()
        .new_agent();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| Error::Browse(Box::new(e)))?;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| Error::Browse(Box::new(e)))?;
    Ok(Visit {
        status: response.status().as_u16(),
        location,
        body,
    })
}
