//! The second reading of a success answer the strict reader refused, and a scan for every
//! refresh token a body carries.
//!
//! Once Pinterest answers a refresh with a 2xx it has rotated the refresh token: a body that
//! breaks JSON's rules in small ways (a member twice, bytes after the object, a number no
//! `f64` holds) still carries the only valid refresh token. [`read_object`] reads it anyway:
//! the last of duplicate members wins, whatever follows the object is ignored, numbers of any
//! size are read (saturating). [`refresh_tokens_in`] finds every well-formed
//! `"refresh_token": "…"` member anywhere in a body, so a caller can tell when a parse did not
//! take them all and keep the raw body aside ([`must_keep_raw_answer`]).
//!
//! Neither ever panics, recurses, or quotes what it reads.

use std::borrow::Cow;

use zeroize::Zeroizing;

use crate::json::{Json, Object, Slot};
use crate::token::Token;

/// The longest body scanned (the transports cap bodies well below this).
const MAX_BODY: usize = 1 << 20;

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string starting at the opening quote, decoded (invalid escapes and bytes replaced).
    fn string(&mut self) -> Option<Zeroizing<String>> {
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        // Room for the longest string the rest could hold: never reallocated, so no copy of a
        // token is freed unwiped.
        let mut raw = Zeroizing::new(Vec::with_capacity(self.bytes.len().saturating_sub(self.at)));
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let escaped = self.peek()?;
                    self.at += 1;
                    match escaped {
                        b'"' | b'\\' | b'/' => raw.push(escaped),
                        b'b' => raw.push(8),
                        b'f' => raw.push(12),
                        b'n' => raw.push(b'\n'),
                        b'r' => raw.push(b'\r'),
                        b't' => raw.push(b'\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let c = if (0xd800..0xdc00).contains(&unit) {
                                let low = (self.peek() == Some(b'\\')
                                    && self.bytes.get(self.at + 1) == Some(&b'u'))
                                .then(|| {
                                    self.at += 2;
                                    self.hex4()
                                })
                                .flatten();
                                low.filter(|low| (0xdc00..0xe000).contains(low))
                                    .and_then(|low| {
                                        char::from_u32(
                                            0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00),
                                        )
                                    })
                            } else {
                                char::from_u32(unit)
                            };
                            let mut buf = [0u8; 4];
                            raw.extend_from_slice(
                                c.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes(),
                            );
                        }
                        _ => raw.extend_from_slice("\u{fffd}".as_bytes()),
                    }
                }
                _ => raw.push(byte),
            }
        }
        Some(match String::from_utf8(std::mem::take(&mut *raw)) {
            Ok(text) => Zeroizing::new(text),
            Err(bad) => {
                let bytes = Zeroizing::new(bad.into_bytes());
                Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned())
            }
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    }

    /// A number, read whatever its size: an integer past `u64` saturates, a float past `f64`
    /// is infinite.
    fn number(&mut self) -> Option<Json<'static>> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        let text = std::str::from_utf8(self.bytes.get(start..self.at)?).ok()?;
        if text.is_empty() {
            return None;
        }
        if let Ok(n) = text.parse::<u64>() {
            return Some(Json::U64(n));
        }
        if let Ok(n) = text.parse::<i64>() {
            return Some(Json::I64(n));
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Json::U64(u64::MAX));
        }
        text.parse::<f64>().ok().map(Json::F64)
    }

    /// Skips a nested object or array (iteratively, strings respected).
    fn skip_container(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.at += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        (self.bytes.get(self.at..self.at + word.len())? == word).then(|| self.at += word.len())
    }

    fn value(&mut self) -> Option<Slot<'static>> {
        self.skip_ws();
        Some(match self.peek()? {
            b'"' => {
                let mut text = self.string()?;
                // Moved out, not copied: whoever drops it wipes it (see `wipe`).
                Slot::Value(Json::Str(Cow::Owned(std::mem::take(&mut *text))))
            }
            b'{' => {
                self.skip_container()?;
                Slot::Value(Json::Object)
            }
            b'[' => {
                self.skip_container()?;
                Slot::Value(Json::Array)
            }
            b't' => {
                self.literal(b"true")?;
                Slot::Value(Json::Bool(true))
            }
            b'f' => {
                self.literal(b"false")?;
                Slot::Value(Json::Bool(false))
            }
            b'n' => {
                self.literal(b"null")?;
                Slot::Null
            }
            _ => Slot::Value(self.number()?),
        })
    }
}

/// Wipes a string value this reader made and nobody keeps.
fn wipe(slot: Slot<'_>) {
    if let Slot::Value(Json::Str(Cow::Owned(text))) = slot {
        drop(Zeroizing::new(text));
    }
}

/// Reads the first JSON object in `body` leniently (see the module docs): `None` when not even
/// that finds one.
pub(crate) fn read_object<T: Object<'static>>(body: &[u8]) -> Option<T> {
    let body = body.get(..MAX_BODY).unwrap_or(body);
    let mut cursor = Cursor {
        bytes: body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body),
        at: 0,
    };
    cursor.eat(b'{')?;
    let mut object = T::default();
    cursor.skip_ws();
    if cursor.peek()? == b'}' {
        return Some(object);
    }
    loop {
        cursor.skip_ws();
        let key = cursor.string()?;
        cursor.eat(b':')?;
        let value = cursor.value()?;
        match T::field(&key).and_then(|name| object.slot(name)) {
            // The last of duplicate members wins; the one it replaces is wiped.
            Some(slot) => wipe(std::mem::replace(slot, value)),
            None => wipe(value),
        }
        cursor.skip_ws();
        match cursor.peek()? {
            b',' => cursor.at += 1,
            // Whatever follows the object is ignored.
            b'}' => return Some(object),
            _ => return None,
        }
    }
}

/// Every well-formed `"refresh_token": "…"` member anywhere in `body` (at any depth, in any
/// order, duplicates included), decoded; wiped when dropped.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::refresh_tokens_in;
///
/// let body = br#"{"refresh_token":"pinr.a","refresh_token" : "pinr.b"} trailing"#;
/// let found: Vec<String> = refresh_tokens_in(body).iter().map(|t| t.to_string()).collect();
/// assert_eq!(found, ["pinr.a", "pinr.b"]);
/// ```
pub fn refresh_tokens_in(body: &[u8]) -> Vec<Zeroizing<String>> {
    let body = body.get(..MAX_BODY).unwrap_or(body);
    let mut found = Vec::new();
    for (at, _) in body.iter().enumerate().filter(|(_, b)| **b == b'"') {
        // A key spelled with escapes (`"refresh\u005ftoken"`) is the same key.
        let Some(end) = key_at(body, at) else {
            continue;
        };
        let mut cursor = Cursor {
            bytes: body,
            at: end,
        };
        if cursor.eat(b':').is_none() {
            continue;
        }
        cursor.skip_ws();
        if let Some(token) = cursor.string()
            && !token.is_empty()
        {
            found.push(token);
        }
    }
    found
}

/// Where the JSON string starting at `at` ends when it decodes to `refresh_token`, decoded a
/// character at a time against the name (nothing is allocated, at most a few dozen bytes are
/// looked at).
fn key_at(body: &[u8], at: usize) -> Option<usize> {
    const NAME: &[u8] = b"refresh_token";
    let mut i = at + 1;
    for expected in NAME {
        let byte = *body.get(i)?;
        let decoded = match byte {
            b'\\' => match *body.get(i + 1)? {
                b'u' => {
                    let hex = std::str::from_utf8(body.get(i + 2..i + 6)?).ok()?;
                    i += 6;
                    u8::try_from(u32::from_str_radix(hex, 16).ok()?).ok()?
                }
                b'/' => {
                    i += 2;
                    b'/'
                }
                _ => return None,
            },
            b'"' => return None,
            other => {
                i += 1;
                other
            }
        };
        if decoded != *expected {
            return None;
        }
    }
    (*body.get(i)? == b'"').then_some(i + 1)
}

/// Whether a token endpoint's 2xx answer must be kept aside as it came (mode 0600, like a set
/// no store would take): when reading it found no refresh token it carries, or needed the
/// lenient second reading (the strict one refused it), or found several, or found one of a
/// type other than a string, or could not read it at all. `parsed` is what
/// [`parse_token_response`](crate::parse_token_response) made of it, if anything.
///
/// When it says `false`, every refresh token the body carries is `parsed`'s.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{must_keep_raw_answer, parse_token_response, http};
/// use std::time::SystemTime;
///
/// let plain = br#"{"access_token":"pina.a","refresh_token":"pinr.a","expires_in":60}"#;
/// let token = parse_token_response(SystemTime::UNIX_EPOCH, &http::Response::new(&plain[..]))?;
/// assert!(!must_keep_raw_answer(plain, Some(&token)));
///
/// let odd = br#"{"access_token":"pina.a","refresh_token":"pinr.a","expires_in":60} !"#;
/// let token = parse_token_response(SystemTime::UNIX_EPOCH, &http::Response::new(&odd[..]))?;
/// assert_eq!(token.refresh_token().unwrap().secret(), "pinr.a");
/// assert!(must_keep_raw_answer(odd, Some(&token)));
/// # Ok::<(), pinterest_oauth_core::ResponseError>(())
/// ```
pub fn must_keep_raw_answer(body: &[u8], parsed: Option<&Token>) -> bool {
    // A success that could not be read at all (compressed unasked, another encoding, HTML
    // around it) may carry a refresh token in a form no scan can see: it is kept.
    let Some(token) = parsed else {
        return !body.iter().all(u8::is_ascii_whitespace);
    };
    // A `refresh_token` of another type (a number, an array, an object) was not taken.
    if token.ignored_fields().any(|field| field == "refresh_token") {
        return true;
    }
    let found = refresh_tokens_in(body);
    if token.read_leniently() || found.len() > 1 {
        return !found.is_empty();
    }
    let taken = token.refresh_token().map(|t| t.secret());
    found.iter().any(|t| Some(t.as_str()) != taken)
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use crate::{http, parse_token_response};

    use super::*;

    crate::json::json_object! {
        struct Probe { refresh_token }
    }

    fn parse(body: &str) -> crate::Token {
        parse_token_response(
            SystemTime::UNIX_EPOCH,
            &http::Response::new(body.to_owned()),
        )
        .unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    #[test]
    fn a_success_breaking_json_still_gives_its_refresh_token() {
        let cases = [
            (
                r#"{"access_token":"pina.a","refresh_token":"pinr.decoy","refresh_token":"pinr.b","expires_in":60}"#,
                "pinr.b",
            ),
            (
                r#"{"access_token":"pina.a","refresh_token":"pinr.b","expires_in":60}</html>"#,
                "pinr.b",
            ),
            (
                r#"{"access_token":"pina.a","refresh_token":"pinr.b","expires_in":1e400}"#,
                "pinr.b",
            ),
            (
                "\u{feff}{\"access_token\":\"pina.a\",\"refresh_token\":\"pinr.\\u0062\"} {",
                "pinr.b",
            ),
        ];
        for (body, refresh) in cases {
            let token = parse(body);
            assert!(token.read_leniently(), "{body}");
            assert_eq!(token.refresh_token().unwrap().secret(), refresh, "{body}");
            assert!(
                must_keep_raw_answer(body.as_bytes(), Some(&token)),
                "{body}"
            );
        }
        // An integer past u64 is a float to the strict reader, then clamped.
        let token = parse(
            r#"{"access_token":"pina.a","refresh_token":"pinr.b","expires_in":99999999999999999999999}"#,
        );
        assert_eq!(token.expires_in(), crate::MAX_LIFETIME);
        // A huge lifetime saturates (and is clamped), it never fails the answer.
        let token = parse(r#"{"access_token":"pina.a","expires_in":1e400} x"#);
        assert_eq!(token.expires_in(), crate::MAX_LIFETIME);
    }

    #[test]
    fn a_well_formed_answer_is_not_kept_aside() {
        let body = r#"{"access_token":"pina.a","refresh_token":"pinr.b","expires_in":60}"#;
        let token = parse(body);
        assert!(!token.read_leniently());
        assert!(!must_keep_raw_answer(body.as_bytes(), Some(&token)));
        // A nested member the strict reader skips is one more refresh token: kept aside.
        let nested =
            r#"{"access_token":"pina.a","refresh_token":"pinr.b","x":{"refresh_token":"pinr.c"}}"#;
        assert!(must_keep_raw_answer(
            nested.as_bytes(),
            Some(&parse(nested))
        ));
    }

    #[test]
    fn a_refresh_token_that_was_not_taken_keeps_the_answer_aside() {
        // A refresh token of another type: the access token is read, the refresh token not.
        for body in [
            r#"{"access_token":"pina.a","refresh_token":123451,"expires_in":60}"#,
            r#"{"access_token":"pina.a","refresh_token":["pinr.b"],"expires_in":60}"#,
            r#"{"access_token":"pina.a","refresh_token":{"value":"pinr.b"},"expires_in":60}"#,
        ] {
            let token = parse(body);
            assert!(token.refresh_token().is_none(), "{body}");
            assert!(
                must_keep_raw_answer(body.as_bytes(), Some(&token)),
                "{body}"
            );
        }
        // A key spelled with escapes, in a body no reader takes.
        let escaped = br#"<html>{"refresh\u005ftoken":"pinr.b"} {"#;
        assert_eq!(refresh_tokens_in(escaped)[0].as_str(), "pinr.b");
        assert!(must_keep_raw_answer(escaped, None));
        // A success no reader takes at all (compressed unasked, UTF-16): kept.
        assert!(must_keep_raw_answer(&[0x1f, 0x8b, 0x08, 0x00], None));
        assert!(must_keep_raw_answer(
            "{\"a\"}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
                .as_slice(),
            None
        ));
        assert!(!must_keep_raw_answer(b"  \n", None), "nothing to keep");
    }

    #[test]
    fn the_scan_finds_every_member_and_never_panics() {
        assert_eq!(
            refresh_tokens_in(br#""refresh_token"  :  "a\"b""#)[0].as_str(),
            "a\"b"
        );
        assert_eq!(
            refresh_tokens_in(br#"{"refresh_token"refresh_token":"x"}"#)[0].as_str(),
            "x"
        );
        for junk in [
            &b""[..],
            b"\"refresh_token\"",
            b"\"refresh_token\":\"",
            b"\"refresh_token\":\"\\u12",
            b"\"refresh_token\":\"\\ud800\\u0041\"",
        ] {
            let _ = refresh_tokens_in(junk);
            let _ = read_object::<Probe<'static>>(junk);
        }
    }
}
