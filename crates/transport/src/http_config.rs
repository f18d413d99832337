//! What every transport enforces: timeouts, the response body cap, extra root certificates.
//!
//! Plain data, so both transport crates (and any transport you write) share one definition and
//! one set of defaults.

use std::time::Duration;

use rustls_pki_types::pem::PemObject;

pub use rustls_pki_types::CertificateDer;

/// Default time to establish a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for a whole call, from connecting to the last body byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest response body read (token responses are well under 1 KiB).
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024;

/// HttpConfig of a transport's HTTP client.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::HttpConfig;
/// use std::time::Duration;
///
/// let settings = HttpConfig::default()
///     .with_connect_timeout(Duration::from_secs(3))
///     .with_timeout(Duration::from_secs(10))
///     .with_max_body(16 * 1024);
/// assert_eq!(settings.max_body(), 16 * 1024);
/// assert_eq!(settings.timeout(), Duration::from_secs(10));
/// ```
#[derive(Clone, Debug)]
pub struct HttpConfig {
    connect_timeout: Duration,
    timeout: Duration,
    max_body: u64,
    extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            extra_roots: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Time to establish a connection (default 10 s).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time for a whole call, body included (default 30 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest response body read (default 64 KiB); a longer one is refused while it is read,
    /// or at once when its `Content-Length` says so.
    #[must_use]
    pub fn with_max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// Trusts this root certificate (DER) in addition to the webpki roots.
    #[must_use]
    pub fn with_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(CertificateDer::from(der.into()));
        self
    }

    /// Trusts every certificate in this PEM text in addition to the webpki roots.
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, InvalidCertificate> {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            self.extra_roots.push(cert.map_err(|_| InvalidCertificate)?);
            added += 1;
        }
        if added == 0 {
            return Err(InvalidCertificate);
        }
        Ok(self)
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The whole-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The body cap in bytes.
    pub fn max_body(&self) -> u64 {
        self.max_body
    }

    /// The extra root certificates.
    pub fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra_roots
    }
}

/// A root certificate could not be read (not PEM, or no certificate in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid root certificate")]
pub struct InvalidCertificate;
