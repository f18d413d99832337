//! Secret newtypes: redacted `Debug`, no `Display`, explicit accessor, zeroized on drop,
//! constant-time equality.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident, $example:literal) => {
        $(#[$meta])*
        ///
        /// `Debug` prints only the type name, there is no `Display`, the value is zeroized when
        /// dropped and `==` compares in constant time (for equal lengths).
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use pinterest_oauth_core::", stringify!($name), ";")]
        ///
        #[doc = concat!("let value = ", stringify!($name), "::new(\"", $example, "\");")]
        #[doc = concat!("assert_eq!(value.secret(), \"", $example, "\");")]
        #[doc = concat!("assert_eq!(format!(\"{value:?}\"), \"", stringify!($name), "(<redacted>)\");")]
        /// ```
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself. Every read of a secret goes through this one accessor, so
            /// reviewers can find them all.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl Eq for $name {}

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

secret_type!(
    /// The app secret Pinterest issued with the app id (the OAuth client secret).
    AppSecret,
    "0123456789abcdef"
);
/// An OAuth access token (Pinterest's start with `pina`).
///
/// `Debug` prints only the type name, there is no `Display`, and `==` compares in constant time
/// (for equal lengths). Clones share one buffer (handing a token out costs no copy of it), which
/// is zeroized when the last clone is dropped.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::AccessToken;
///
/// let value = AccessToken::new("pina_example");
/// assert_eq!(value.secret(), "pina_example");
/// assert_eq!(format!("{value:?}"), "AccessToken(<redacted>)");
/// assert_eq!(value.clone(), value);
/// ```
#[derive(Clone)]
pub struct AccessToken(std::sync::Arc<Wiped>);

/// A secret buffer zeroized when dropped (shared by the clones of an [`AccessToken`]).
struct Wiped(String);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl AccessToken {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(std::sync::Arc::new(Wiped(value.into())))
    }

    /// The secret itself. Every read of a secret goes through this one accessor, so reviewers
    /// can find them all.
    pub fn secret(&self) -> &str {
        &self.0.0
    }
}

impl Zeroize for AccessToken {
    /// Forgets the secret: this handle no longer holds it, and its buffer is zeroized once no
    /// clone holds it either.
    fn zeroize(&mut self) {
        *self = AccessToken::new(String::new());
    }
}

impl ZeroizeOnDrop for AccessToken {}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

impl PartialEq for AccessToken {
    fn eq(&self, other: &Self) -> bool {
        self.secret()
            .as_bytes()
            .ct_eq(other.secret().as_bytes())
            .into()
    }
}

impl Eq for AccessToken {}

impl From<String> for AccessToken {
    fn from(value: String) -> Self {
        AccessToken::new(value)
    }
}
secret_type!(
    /// An OAuth refresh token (Pinterest's start with `pinr`).
    RefreshToken,
    "pinr_example"
);
secret_type!(
    /// An authorization code from the consent redirect; single-use and short-lived.
    AuthorizationCode,
    "code_example"
);
/// The shortest `state` accepted when one is restored with [`CsrfState::new`], in characters.
pub const MIN_STATE_LEN: usize = 32;

/// The anti-forgery `state` of one consent round trip.
///
/// Make a fresh one from at least [`MIN_STATE_ENTROPY`](crate::MIN_STATE_ENTROPY) (32) bytes
/// of OS entropy with [`CsrfState::from_entropy`]; use [`CsrfState::new`] only to restore one
/// you stored (for example in a session cookie): it refuses a value shorter than
/// [`MIN_STATE_LEN`] characters, longer than 512, or with characters
/// other than printable ASCII, so an empty or guessable `state=` can never pass the check.
///
/// `Debug` prints only the type name, there is no `Display`, the value is zeroized when
/// dropped and `==` compares in constant time (for equal lengths).
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::CsrfState;
///
/// let state = CsrfState::new("aGVsbG8gd29ybGQgc3RhdGUgb2YgMzIgYnl0ZXM")?;
/// assert_eq!(format!("{state:?}"), "CsrfState(<redacted>)");
/// assert!(CsrfState::new("").is_err());
/// assert!(CsrfState::new("short").is_err());
/// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CsrfState(String);

impl CsrfState {
    /// Restores a stored `state`, refusing one that is too short, too long or not printable
    /// ASCII.
    pub fn new(value: impl Into<String>) -> Result<CsrfState, crate::ConfigError> {
        let value = value.into();
        let invalid = |problem| crate::ConfigError::InvalidSecret {
            what: "state",
            problem,
        };
        if value.len() < MIN_STATE_LEN {
            return Err(invalid("shorter than 32 characters"));
        }
        if value.len() > 512 {
            return Err(invalid("longer than 512 characters"));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("not printable ascii"));
        }
        Ok(CsrfState(value))
    }

    /// The secret itself.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CsrfState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfState(<redacted>)")
    }
}

impl PartialEq for CsrfState {
    fn eq(&self, other: &Self) -> bool {
        ct_equal(&self.0, &other.0)
    }
}

impl Eq for CsrfState {}

/// Constant-time comparison of a secret with bytes from elsewhere (for equal lengths).
pub(crate) fn ct_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroized_on_drop<T: ZeroizeOnDrop + Zeroize>() {}

    #[test]
    fn every_secret_zeroizes_and_compares_by_value() {
        zeroized_on_drop::<AppSecret>();
        zeroized_on_drop::<AccessToken>();
        zeroized_on_drop::<RefreshToken>();
        zeroized_on_drop::<AuthorizationCode>();
        zeroized_on_drop::<CsrfState>();

        let mut token = AccessToken::new("pina.secret");
        token.zeroize();
        assert_eq!(token.secret(), "");

        assert_eq!(RefreshToken::new("a"), RefreshToken::new("a"));
        assert_ne!(RefreshToken::new("a"), RefreshToken::new("b"));
        assert_ne!(RefreshToken::new("a"), RefreshToken::new("ab"));
        assert!(ct_equal("xyz", "xyz") && !ct_equal("xyz", "xyw"));
    }
}
