//! Making server-supplied text safe to keep in an error.

/// Longest text kept from a response (message, description, request id), in characters.
const MAX_TEXT: usize = 512;

/// Makes server-supplied text safe to keep in an error: shortened, control characters replaced,
/// and any word that looks like a token replaced by `<redacted>`.
pub(crate) fn sanitize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT));
    let mut kept = 0usize;
    for word in split_keep_separators(text) {
        if kept >= MAX_TEXT {
            out.push('…');
            break;
        }
        if looks_like_token(word) {
            out.push_str("<redacted>");
            kept += 10;
            continue;
        }
        for c in word.chars() {
            if kept >= MAX_TEXT {
                break;
            }
            out.push(if c.is_control() { ' ' } else { c });
            kept += 1;
        }
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~' | '+' | '/' | '=')
}

/// Splits into alternating runs of token characters and of everything else.
fn split_keep_separators(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let in_token = is_token_char(first);
        let end = rest
            .char_indices()
            .find(|&(_, c)| is_token_char(c) != in_token)
            .map_or(rest.len(), |(i, _)| i);
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

/// Pinterest tokens start with `pina`/`pinr`; anything long and unbroken is treated alike.
fn looks_like_token(word: &str) -> bool {
    let long = word.len() >= 32;
    let prefixed = word.len() >= 12 && (word.starts_with("pina") || word.starts_with("pinr"));
    (long || prefixed) && word.chars().all(is_token_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_redacts_token_like_words_and_caps_length() {
        let text = "bad token pina_AAAAABBBBBCCCCC given\r\nnow";
        assert_eq!(sanitize_text(text), "bad token <redacted> given  now");
        let long = "x".repeat(2000);
        let spaced = format!("a {long}");
        assert!(!sanitize_text(&spaced).contains("xxxxx"));
        let words = "word ".repeat(500);
        let out = sanitize_text(&words);
        assert!(out.chars().count() <= MAX_TEXT + 1, "{}", out.len());
        assert!(out.ends_with('…'));
    }
}
