//! Token documents sealed at rest: AES-256-GCM (ring's AEAD) under keys the user supplies.
//!
//! Whoever reads a Redis dump or a backup of the token directory holds every grant in it: a
//! sealed document is useless without the key. A [`Keyring`] holds one key or several: the
//! first seals, any opens (rotation: add the new key first, re-seal every grant, then drop the
//! old one). The envelope names the key's id and the format's version; the app id and the
//! grant's name are authenticated data, so a sealed document copied to another grant (or
//! another app) does not open.
//!
//! ```text
//! {"sealed":1,"alg":"A256GCM","kid":"<16 hex>","nonce":"<base64url>","ciphertext":"<base64url>"}
//! ```
//!
//! A key is written `ptk1:<64 hex digits>` ([`TokenKey::generate`] makes one;
//! `pinterest-oauth keygen` prints one). Plain documents stay readable (migration): the next
//! save seals them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pinterest_oauth_core::{AppId, TokenDocument};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use crate::GrantName;

/// The prefix of a key's text form.
const KEY_PREFIX: &str = "ptk1:";
/// The envelope's format version.
const SEALED_VERSION: u32 = 1;
/// The algorithm the envelope names.
const ALG: &str = "A256GCM";
/// The largest sealed document opened (a token document is well under 4 KiB).
const MAX_SEALED: usize = 1024 * 1024;

/// Why a key, a keyring or a sealed document was refused. Never quotes key material or a
/// document's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A key's text is not `ptk1:` followed by 64 hex digits.
    #[error("a token key is `ptk1:` followed by 64 hex digits (pinterest-oauth keygen prints one)")]
    KeyFormat,
    /// A keyring was given no key.
    #[error("no token key was given")]
    NoKey,
    /// The document is sealed under a key this keyring does not hold.
    #[error("the document is sealed under key {kid}, which was not given (PINTEREST_TOKEN_KEY)")]
    UnknownKey {
        /// The id of the key it is sealed under.
        kid: String,
    },
    /// The document is sealed, and no key was given at all.
    #[error(
        "the document is sealed (key {kid}) and no token key was given: set PINTEREST_TOKEN_KEY"
    )]
    NoKeyForSealed {
        /// The id of the key it is sealed under.
        kid: String,
    },
    /// The envelope does not open under its key: tampered with, truncated, or sealed for
    /// another grant or app.
    #[error(
        "the sealed document does not open under key {kid}: it was changed, or sealed for another grant or app"
    )]
    Tampered {
        /// The id of the key it names.
        kid: String,
    },
    /// The envelope is of a version or an algorithm this build does not know.
    #[error("the sealed document is of an unknown format ({0})")]
    Format(String),
    /// The operating system gave no random bytes for a nonce or a key.
    #[error("the operating system gave no random bytes")]
    Entropy,
}

/// One 256-bit key. Its bytes are wiped on drop and never printed; its id (the first 8 bytes of
/// its SHA-256, hex) is not secret.
#[derive(Clone)]
pub struct TokenKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl TokenKey {
    /// Reads `ptk1:<64 hex digits>` (surrounding whitespace ignored).
    ///
    /// Errors: [`SealError::KeyFormat`].
    pub fn parse(text: &str) -> Result<TokenKey, SealError> {
        let hex = text
            .trim()
            .strip_prefix(KEY_PREFIX)
            .ok_or(SealError::KeyFormat)?;
        if hex.len() != 64 {
            return Err(SealError::KeyFormat);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let digit = |b: u8| (b as char).to_digit(16).ok_or(SealError::KeyFormat);
            bytes[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?)
                .map_err(|_| SealError::KeyFormat)?;
        }
        Ok(TokenKey::from_bytes(bytes))
    }

    /// A new random key.
    ///
    /// Errors: [`SealError::Entropy`].
    pub fn generate() -> Result<TokenKey, SealError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|_| SealError::Entropy)?;
        Ok(TokenKey::from_bytes(bytes))
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> TokenKey {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes.as_ref());
        let id = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        TokenKey { bytes, id }
    }

    /// The key's id: not secret, named in every document it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key's text form, `ptk1:<64 hex digits>` (a secret: for `keygen` to print).
    pub fn expose(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(KEY_PREFIX.len() + 64));
        text.push_str(KEY_PREFIX);
        for b in self.bytes.iter() {
            text.push_str(&format!("{b:02x}"));
        }
        text
    }

    /// A key for the synthetic nonces, derived from this one (never the encryption key itself).
    fn nonce_key(&self) -> Zeroizing<[u8; 32]> {
        let mut derived = Zeroizing::new([0u8; 32]);
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.bytes.as_ref()),
            b"pinterest-oauth sealed token document nonce key v1",
        );
        derived.copy_from_slice(mac.as_ref());
        derived
    }

    fn aead(&self) -> LessSafeKey {
        // 32 bytes is AES-256's key length: `new` cannot fail.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, self.bytes.as_ref()).expect("a 256-bit key"))
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Keys to seal and open documents with: the first seals, any opens.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_store::seal::{Keyring, TokenKey};
///
/// let new = TokenKey::generate()?;
/// let old = TokenKey::generate()?;
/// // Rotation: the new key seals; documents sealed under the old one still open.
/// let keyring = Keyring::new(vec![new.clone(), old])?;
/// assert_eq!(keyring.sealing_key().id(), new.id());
/// # Ok::<(), pinterest_oauth_store::seal::SealError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<TokenKey>,
}

impl Keyring {
    /// A keyring of `keys`, the first sealing.
    ///
    /// Errors: [`SealError::NoKey`] for none.
    pub fn new(keys: Vec<TokenKey>) -> Result<Keyring, SealError> {
        if keys.is_empty() {
            return Err(SealError::NoKey);
        }
        Ok(Keyring { keys })
    }

    /// Keys in text form, separated by commas, spaces or new lines (as `PINTEREST_TOKEN_KEY`
    /// or a key file holds them); blank parts and `#` comment lines are skipped.
    ///
    /// Errors: [`SealError::KeyFormat`], [`SealError::NoKey`].
    pub fn parse(text: &str) -> Result<Keyring, SealError> {
        let keys = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split([',', ' ', '\t']))
            .filter(|part| !part.trim().is_empty())
            .map(TokenKey::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Keyring::new(keys)
    }

    /// The key that seals.
    pub fn sealing_key(&self) -> &TokenKey {
        &self.keys[0]
    }

    /// The ids of every key, the sealing one first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(TokenKey::id).collect()
    }
}

/// What binds a sealed document to its place: the app and the grant.
#[derive(Clone, Debug)]
pub struct Sealing {
    keyring: Keyring,
    aad: Vec<u8>,
}

impl Sealing {
    /// Documents of grant `grant` of app `app_id`, sealed under `keyring`.
    pub fn new(keyring: Keyring, app_id: &AppId, grant: &GrantName) -> Sealing {
        let mut aad = b"pinterest-oauth sealed token document v1\0".to_vec();
        aad.extend_from_slice(app_id.as_str().as_bytes());
        aad.push(0);
        aad.extend_from_slice(grant.as_str().as_bytes());
        Sealing { keyring, aad }
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// `document` sealed under the first key, as the bytes a store writes. Deterministic: the
    /// same document sealed again gives the same bytes.
    ///
    /// Errors: [`SealError::Format`] for a document too large for AES-GCM (never a token
    /// document).
    pub fn seal(&self, document: &TokenDocument) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = self.keyring.sealing_key();
        let mut data = document.to_bytes();
        // A synthetic nonce: HMAC-SHA256 of the authenticated data and the document under a key
        // derived from the sealing key. The same document sealed twice is the same bytes (a
        // save repeated after a lost reply is recognised as the one already stored), and two
        // different documents get different nonces (a collision needs about 2^48 documents).
        let mac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.nonce_key().as_ref());
        let mut context = ring::hmac::Context::with_key(&mac_key);
        context.update(&self.aad);
        context.update(&data);
        let tag = context.sign();
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tag.as_ref()[..NONCE_LEN]);
        key.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad),
                &mut *data,
            )
            .map_err(|_| SealError::Format("the document is too large to seal".into()))?;
        let envelope = Envelope {
            sealed: SEALED_VERSION,
            alg: ALG.into(),
            kid: key.id().to_owned(),
            nonce: URL_SAFE_NO_PAD.encode(nonce),
            ciphertext: URL_SAFE_NO_PAD.encode(&*data),
        };
        Ok(Zeroizing::new(
            serde_json::to_vec(&envelope).expect("an envelope serializes"),
        ))
    }

    /// Opens `envelope` (whose bytes [`sealed_kid`] recognized).
    fn open(&self, envelope: &Envelope) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = self
            .keyring
            .keys
            .iter()
            .find(|k| k.id() == envelope.kid)
            .ok_or_else(|| SealError::UnknownKey {
                kid: envelope.kid.clone(),
            })?;
        let tampered = || SealError::Tampered {
            kid: envelope.kid.clone(),
        };
        let nonce: [u8; NONCE_LEN] = URL_SAFE_NO_PAD
            .decode(&envelope.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(tampered)?;
        let mut data = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(&envelope.ciphertext)
                .map_err(|_| tampered())?,
        );
        let plain_len = key
            .aead()
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad),
                &mut data,
            )
            .map_err(|_| tampered())?
            .len();
        // What follows the plaintext is the tag; wipe it with the rest on drop.
        data.truncate(plain_len);
        Ok(data)
    }
}

/// The sealed form.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    sealed: u32,
    alg: String,
    kid: String,
    nonce: String,
    ciphertext: String,
}

impl Drop for Envelope {
    fn drop(&mut self) {
        self.ciphertext.zeroize();
    }
}

/// What a store read: a plain document, or a sealed one.
fn envelope_of(bytes: &[u8]) -> Option<Envelope> {
    if bytes.len() > MAX_SEALED {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

/// The id of the key `bytes` is sealed under, when they are a sealed document.
pub fn sealed_kid(bytes: &[u8]) -> Option<String> {
    envelope_of(bytes).map(|e| e.kid.clone())
}

/// How a store reads what it holds: a sealed document opens under `sealing` (an error without
/// one, or under a key it lacks); a plain one is read as it is (migration).
pub(crate) enum Read {
    /// The document's bytes, plain (opened, or plain as stored).
    Plain(Zeroizing<Vec<u8>>),
    /// The bytes as they were: not a sealed document.
    Unsealed,
}

/// Opens `bytes` if they are a sealed document.
///
/// Errors: [`SealError::NoKeyForSealed`] when sealed and no sealing is given;
/// [`SealError::UnknownKey`], [`SealError::Tampered`], [`SealError::Format`].
pub(crate) fn open(bytes: &[u8], sealing: Option<&Sealing>) -> Result<Read, SealError> {
    let Some(envelope) = envelope_of(bytes) else {
        return Ok(Read::Unsealed);
    };
    if envelope.sealed != SEALED_VERSION || envelope.alg != ALG {
        return Err(SealError::Format(format!(
            "version {}, {}",
            envelope.sealed,
            envelope.alg.chars().take(16).collect::<String>()
        )));
    }
    let Some(sealing) = sealing else {
        return Err(SealError::NoKeyForSealed {
            kid: envelope.kid.clone(),
        });
    };
    sealing.open(&envelope).map(Read::Plain)
}

/// Reads a stored document, opening it if sealed: what every store calls on what it read.
///
/// Errors: [`SealError`] for a sealed document that does not open; `Ok(Err(_))` for bytes that
/// are not a token document.
pub fn read_document(
    bytes: &[u8],
    sealing: Option<&Sealing>,
) -> Result<Result<TokenDocument, pinterest_oauth_core::DocumentError>, SealError> {
    Ok(match open(bytes, sealing)? {
        Read::Plain(plain) => TokenDocument::from_bytes(&plain),
        Read::Unsealed => TokenDocument::from_bytes(bytes),
    })
}

/// The largest stored document a store reads (a token document is well under 4 KiB).
pub const MAX_STORED: usize = 1024 * 1024;

/// A stored document as every store reads it: at most [`MAX_STORED`] bytes, opened with
/// `sealing` if sealed, parsed. `location` names where it was read (for the error).
///
/// Errors: [`StoreError::Corrupt`](crate::StoreError::Corrupt) (too large, or not a token document);
/// [`StoreError::Sealed`](crate::StoreError::Sealed) (a sealed document that does not open).
pub fn read_stored(
    bytes: &[u8],
    sealing: Option<&Sealing>,
    location: impl Fn() -> String,
) -> Result<TokenDocument, crate::StoreError> {
    let corrupt = |problem| crate::StoreError::Corrupt {
        location: location(),
        problem,
    };
    if bytes.len() > MAX_STORED {
        return Err(corrupt(pinterest_oauth_core::DocumentError::TooLarge));
    }
    read_document(bytes, sealing)
        .map_err(|problem| crate::StoreError::Sealed {
            location: location(),
            problem,
        })?
        .map_err(corrupt)
}

/// The bytes a store writes for `document`: sealed under `sealing` when given, else plain.
///
/// Errors: [`SealError::Format`] (see [`Sealing::seal`]).
pub fn write_document(
    document: &TokenDocument,
    sealing: Option<&Sealing>,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    match sealing {
        Some(sealing) => sealing.seal(document),
        None => Ok(document.to_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn document() -> TokenDocument {
        let token = pinterest_oauth_core::parse_token_response(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
            &pinterest_oauth_core::http::Response::new(
                r#"{"access_token":"pina_SECRET","expires_in":3600,"scope":"boards:read","refresh_token":"pinr_SECRET"}"#,
            ),
        )
        .unwrap();
        TokenDocument::new(token)
    }

    fn sealing(keys: Vec<TokenKey>, grant: &str) -> Sealing {
        Sealing::new(
            Keyring::new(keys).unwrap(),
            &AppId::new("1234567").unwrap(),
            &GrantName::new(grant).unwrap(),
        )
    }

    #[test]
    fn a_sealed_document_holds_no_secret_in_the_clear_and_opens_back() {
        let key = TokenKey::generate().unwrap();
        let alice = sealing(vec![key.clone()], "alice");
        let sealed = alice.seal(&document()).unwrap();
        let text = String::from_utf8_lossy(&sealed);
        assert!(
            !text.contains("SECRET") && !text.contains("boards"),
            "{text}"
        );
        assert!(text.contains(key.id()));
        assert_eq!(sealed_kid(&sealed).as_deref(), Some(key.id()));
        let read = read_document(&sealed, Some(&alice)).unwrap().unwrap();
        assert_eq!(read, document());
        // The same document seals to the same bytes (a repeated save is recognised); another
        // document, or another grant, to other bytes with another nonce.
        assert_eq!(*alice.seal(&document()).unwrap(), *sealed);
        let nonce = |bytes: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(bytes).unwrap()["nonce"].clone()
        };
        let next = document().after(Some(&document()));
        assert_ne!(nonce(&alice.seal(&next).unwrap()), nonce(&sealed));
        let bob = sealing(vec![key.clone()], "bob");
        assert_ne!(nonce(&bob.seal(&document()).unwrap()), nonce(&sealed));
    }

    #[test]
    fn a_wrong_key_a_moved_document_and_a_tampered_one_are_typed_errors() {
        let (key, other) = (TokenKey::generate().unwrap(), TokenKey::generate().unwrap());
        let sealed = sealing(vec![key.clone()], "alice")
            .seal(&document())
            .unwrap();
        // Not given the key.
        assert!(matches!(
            read_document(&sealed, Some(&sealing(vec![other.clone()], "alice"))),
            Err(SealError::UnknownKey { kid }) if kid == key.id()
        ));
        // No key at all.
        assert!(matches!(
            read_document(&sealed, None),
            Err(SealError::NoKeyForSealed { .. })
        ));
        // Copied to another grant, or another app: the authenticated data differs.
        assert!(matches!(
            read_document(&sealed, Some(&sealing(vec![key.clone()], "bob"))),
            Err(SealError::Tampered { .. })
        ));
        let other_app = Sealing::new(
            Keyring::new(vec![key.clone()]).unwrap(),
            &AppId::new("7654321").unwrap(),
            &GrantName::new("alice").unwrap(),
        );
        assert!(matches!(
            read_document(&sealed, Some(&other_app)),
            Err(SealError::Tampered { .. })
        ));
        // Any byte of the ciphertext or nonce changed.
        let alice = sealing(vec![key], "alice");
        let mut envelope: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        for field in ["ciphertext", "nonce"] {
            let mut changed = envelope.clone();
            let text = changed[field].as_str().unwrap().to_owned();
            let flipped = if text.starts_with('A') { "B" } else { "A" };
            changed[field] = format!("{flipped}{}", &text[1..]).into();
            let bytes = serde_json::to_vec(&changed).unwrap();
            assert!(
                matches!(
                    read_document(&bytes, Some(&alice)),
                    Err(SealError::Tampered { .. })
                ),
                "{field}"
            );
        }
        envelope["alg"] = "none".into();
        let bytes = serde_json::to_vec(&envelope).unwrap();
        assert!(matches!(
            read_document(&bytes, Some(&alice)),
            Err(SealError::Format(_))
        ));
    }

    #[test]
    fn rotation_seals_with_the_first_key_and_opens_with_any() {
        let (old, new) = (TokenKey::generate().unwrap(), TokenKey::generate().unwrap());
        let before = sealing(vec![old.clone()], "alice")
            .seal(&document())
            .unwrap();
        let rotated = sealing(vec![new.clone(), old.clone()], "alice");
        assert_eq!(
            read_document(&before, Some(&rotated)).unwrap().unwrap(),
            document()
        );
        let after = rotated.seal(&document()).unwrap();
        assert_eq!(sealed_kid(&after).as_deref(), Some(new.id()));
        // The old key alone no longer opens what the new one sealed.
        assert!(read_document(&after, Some(&sealing(vec![old], "alice"))).is_err());
    }

    #[test]
    fn plain_documents_stay_readable_and_keys_parse_strictly() {
        let plain = document().to_bytes();
        let key = TokenKey::generate().unwrap();
        assert_eq!(
            read_document(&plain, Some(&sealing(vec![key.clone()], "alice")))
                .unwrap()
                .unwrap(),
            document()
        );
        assert_eq!(read_document(&plain, None).unwrap().unwrap(), document());
        // Text form round trip; Debug shows only the id.
        let text = key.expose();
        let parsed = TokenKey::parse(&format!("  {}\n", text.as_str())).unwrap();
        assert_eq!(parsed.id(), key.id());
        assert!(!format!("{key:?}").contains(&text[KEY_PREFIX.len()..]));
        for bad in [
            "",
            "ptk1:",
            "ptk1:zz",
            &format!("ptk2:{}", "0".repeat(64)),
            &format!("ptk1:{}", "g".repeat(64)),
            &format!("ptk1:{}", "0".repeat(63)),
        ] {
            assert_eq!(
                TokenKey::parse(bad).unwrap_err(),
                SealError::KeyFormat,
                "{bad:?}"
            );
        }
        let two = format!(
            "# rotated 2026-12\n{}, {}\n",
            key.expose().as_str(),
            TokenKey::generate().unwrap().expose().as_str()
        );
        let keyring = Keyring::parse(&two).unwrap();
        assert_eq!(keyring.ids().len(), 2);
        assert_eq!(keyring.sealing_key().id(), key.id());
        assert_eq!(Keyring::parse(" \n# none\n").unwrap_err(), SealError::NoKey);
    }
}
