//! PKCE (RFC 7636) with the S256 method: a secret verifier kept by the app, its challenge sent
//! to the consent page.
//!
//! Pinterest does not document PKCE; peers send it and their integrations work, so it is
//! offered, off by default. `state` stays mandatory either way.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::ConfigError;
use crate::secret::ct_equal;

/// The least entropy accepted for a fresh verifier, in bytes (RFC 7636 §7.1 recommends 32).
pub const MIN_VERIFIER_ENTROPY: usize = 32;

/// A PKCE `code_verifier`: 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
///
/// Make a fresh one from at least 32 bytes of OS entropy with
/// [`from_entropy`](Self::from_entropy); send [`challenge`](Self::challenge) with the consent
/// URL and the verifier itself with the code exchange
/// ([`AuthorizationCodeGrant::with_pkce_verifier`](crate::AuthorizationCodeGrant::with_pkce_verifier)).
/// A secret: redacted `Debug`, no `Display`, zeroized on drop, constant-time `==`.
///
/// # Examples
///
/// The vector of RFC 7636 Appendix B:
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::PkceVerifier;
///
/// let octets = [
///     116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
///     77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
/// ];
/// let verifier = PkceVerifier::from_entropy(&octets)?;
/// assert_eq!(verifier.secret(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// assert_eq!(verifier.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// assert_eq!(format!("{verifier:?}"), "PkceVerifier(<redacted>)");
/// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PkceVerifier(String);

impl PkceVerifier {
    /// A verifier made from caller-supplied random bytes (32 to 96), base64url-encoded.
    pub fn from_entropy(entropy: &[u8]) -> Result<PkceVerifier, ConfigError> {
        if entropy.len() < MIN_VERIFIER_ENTROPY {
            return Err(ConfigError::InsufficientEntropy {
                what: "PKCE verifier",
                min: MIN_VERIFIER_ENTROPY,
                got: entropy.len(),
            });
        }
        PkceVerifier::new(URL_SAFE_NO_PAD.encode(entropy))
    }

    /// Restores a stored verifier, checking RFC 7636's length and alphabet.
    pub fn new(value: impl Into<String>) -> Result<PkceVerifier, ConfigError> {
        let value = value.into();
        let invalid = |problem| ConfigError::InvalidSecret {
            what: "PKCE verifier",
            problem,
        };
        if !(43..=128).contains(&value.len()) {
            return Err(invalid("must be 43 to 128 characters"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(invalid("has characters outside [A-Za-z0-9-._~]"));
        }
        Ok(PkceVerifier(value))
    }

    /// The verifier itself, sent only with the code exchange.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The S256 `code_challenge`: base64url(SHA-256(verifier)), sent with the consent URL.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier(<redacted>)")
    }
}

impl PartialEq for PkceVerifier {
    fn eq(&self, other: &Self) -> bool {
        ct_equal(&self.0, &other.0)
    }
}

impl Eq for PkceVerifier {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_are_checked() {
        assert!(PkceVerifier::from_entropy(&[1; 31]).is_err());
        assert_eq!(
            PkceVerifier::from_entropy(&[1; 32]).unwrap().secret().len(),
            43
        );
        assert_eq!(
            PkceVerifier::from_entropy(&[1; 96]).unwrap().secret().len(),
            128
        );
        assert!(PkceVerifier::from_entropy(&[1; 97]).is_err());
        assert!(PkceVerifier::new("a".repeat(42)).is_err());
        assert!(PkceVerifier::new("a".repeat(43)).is_ok());
        assert!(PkceVerifier::new(format!("{}+", "a".repeat(43))).is_err());
    }
}
