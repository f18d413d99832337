//! OAuth scopes: the 19 of Pinterest's spec, plus any other passed through unchanged.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

macro_rules! scopes {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A Pinterest OAuth scope.
        ///
        /// The 19 scopes of Pinterest's OpenAPI 5.23 (`securitySchemes.pinterest_oauth2`) are
        /// variants; any other well-formed name parses to [`Scope::Unknown`] and is sent
        /// unchanged, so a scope Pinterest adds later works before this crate knows it.
        ///
        /// # Examples
        ///
        /// ```
        /// # use pinterest_oauth_core as pinterest_oauth_ureq;
        /// use pinterest_oauth_ureq::Scope;
        ///
        /// let scope: Scope = "boards:read".parse().unwrap();
        /// assert_eq!(scope, Scope::BoardsRead);
        /// assert_eq!(scope.to_string(), "boards:read");
        ///
        /// let future: Scope = "videos:read".parse().unwrap();
        /// assert!(!future.is_known());
        /// assert_eq!(future.as_str(), "videos:read");
        ///
        /// assert!("a,b".parse::<Scope>().is_err());
        /// ```
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Scope {
            $(
                #[doc = concat!("`", $name, "`: ", $doc)]
                $variant,
            )*
            /// A scope this crate does not know, passed through unchanged.
            Unknown(UnknownScope),
        }

        impl Scope {
            /// Every scope in Pinterest's spec, in the spec's order.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant),*];

            /// The scope's wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Scope::$variant => $name,)*
                    Scope::Unknown(other) => other.as_str(),
                }
            }

            fn known(name: &str) -> Option<Scope> {
                match name {
                    $($name => Some(Scope::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

scopes! {
    AdsRead => "ads:read", "see all of your advertising data, including ads, ad groups, campaigns etc.";
    AdsWrite => "ads:write", "create, update, or delete ads, ad groups, campaigns etc.";
    BillingRead => "billing:read", "see all of your billing data, billing profile, etc.";
    BillingWrite => "billing:write", "create, update, or delete billing data, billing profiles, etc.";
    BizAccessRead => "biz_access:read", "see business access data.";
    BizAccessWrite => "biz_access:write", "create, update, or delete business access data.";
    BoardsRead => "boards:read", "see your public boards, including group boards you join.";
    BoardsReadSecret => "boards:read_secret", "see your secret boards.";
    BoardsWrite => "boards:write", "create, update, or delete your public boards.";
    BoardsWriteSecret => "boards:write_secret", "create, update, or delete your secret boards.";
    CatalogsRead => "catalogs:read", "see all of your catalogs data.";
    CatalogsWrite => "catalogs:write", "create, update, or delete your catalogs data.";
    MsotWrite => "msot:write", "create measurement source of truth events.";
    PinsRead => "pins:read", "see your public Pins.";
    PinsReadSecret => "pins:read_secret", "see your secret Pins.";
    PinsWrite => "pins:write", "create, update, or delete your public Pins.";
    PinsWriteSecret => "pins:write_secret", "create, update, or delete your secret Pins.";
    UserAccountsRead => "user_accounts:read", "see your user accounts and followers.";
    UserAccountsWrite => "user_accounts:write", "update your user accounts and followers.";
}

impl Scope {
    /// `true` for the 19 scopes of the spec.
    pub fn is_known(&self) -> bool {
        !matches!(self, Scope::Unknown(_))
    }

    /// Parses a list separated by commas and/or whitespace, as Pinterest sends it; empty items
    /// are skipped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use pinterest_oauth_core as pinterest_oauth_ureq;
    /// use pinterest_oauth_ureq::Scope;
    ///
    /// let scopes = Scope::parse_list("boards:read, pins:read user_accounts:read").unwrap();
    /// assert_eq!(scopes, [Scope::BoardsRead, Scope::PinsRead, Scope::UserAccountsRead]);
    /// ```
    pub fn parse_list(list: &str) -> Result<Vec<Scope>, ConfigError> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Scope::from_str)
            .collect()
    }

    /// Joins scopes with commas, as Pinterest expects them.
    ///
    /// # Examples
    ///
    /// ```
    /// # use pinterest_oauth_core as pinterest_oauth_ureq;
    /// use pinterest_oauth_ureq::Scope;
    ///
    /// assert_eq!(Scope::join(&[Scope::BoardsRead, Scope::PinsRead]), "boards:read,pins:read");
    /// ```
    pub fn join(scopes: &[Scope]) -> String {
        let mut out = String::with_capacity(scopes.len() * 16);
        for (i, scope) in scopes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(scope.as_str());
        }
        out
    }
}

impl FromStr for Scope {
    type Err = ConfigError;

    /// Parses one scope name: non-empty, only the characters RFC 6749 §3.3 allows in a scope
    /// token (printable ASCII but space, `"` and `\`), and no comma (Pinterest's separator).
    fn from_str(name: &str) -> Result<Scope, ConfigError> {
        if let Some(scope) = Scope::known(name) {
            return Ok(scope);
        }
        let invalid = |problem| ConfigError::InvalidScope {
            scope: name.to_owned(),
            problem,
        };
        if name.is_empty() {
            return Err(invalid("empty"));
        }
        if name
            .chars()
            .any(|c| c == ',' || c.is_whitespace() || c.is_control())
        {
            return Err(invalid("contains a comma, whitespace or control character"));
        }
        if !name
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
        {
            return Err(invalid(
                "contains a character RFC 6749 does not allow in a scope (\", \\ or non-ascii)",
            ));
        }
        Ok(Scope::Unknown(UnknownScope(name.to_owned())))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({})", self.as_str())
    }
}

/// A well-formed scope name this crate does not know. Made only by parsing, so it never holds a
/// separator.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct UnknownScope(String);

impl UnknownScope {
    /// The name as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_scope_round_trips() {
        assert_eq!(Scope::ALL.len(), 19);
        for scope in Scope::ALL {
            assert_eq!(&scope.as_str().parse::<Scope>().unwrap(), scope);
            assert!(scope.is_known());
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "a b", "a,b", "a\tb", "a\u{0}b"] {
            assert!(
                matches!(bad.parse::<Scope>(), Err(ConfigError::InvalidScope { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(Scope::parse_list(" , ,").unwrap(), []);
    }

    #[test]
    fn scope_names_outside_rfc_6749_are_refused_before_anything_is_sent() {
        for bad in [
            "a\"b",
            "back\\slash",
            "caf\u{e9}",
            "emoji\u{1f600}",
            "tab\there",
            "a b",
        ] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?}");
        }
        for good in [
            "boards:read",
            "x-custom_scope.v2",
            "!#$%&'()*+-./:;<=>?@[]^_`{|}~",
        ] {
            assert!(good.parse::<Scope>().is_ok(), "{good:?}");
        }
    }
}
