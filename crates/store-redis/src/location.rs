//! Redis URLs: which are accepted, and how they are shown without their password.

/// The URL without its password, in the user part or the query (for messages).
pub(crate) fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let query: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let secret = matches!(k.as_ref(), "pass" | "password");
                    (
                        k.into_owned(),
                        if secret { "***".into() } else { v.into_owned() },
                    )
                })
                .collect();
            if !query.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(query);
            }
            parsed.to_string()
        }
        Err(_) => "an unparsable URL".to_owned(),
    }
}

/// `text` with any password `url` carries replaced (an error message may quote the URL).
pub(crate) fn redact(text: &str, url: &str) -> String {
    let mut text = text.to_owned();
    if let Ok(parsed) = url::Url::parse(url) {
        let secrets = parsed.password().map(str::to_owned).into_iter().chain(
            parsed
                .query_pairs()
                .filter(|(k, _)| matches!(k.as_ref(), "pass" | "password"))
                .map(|(_, v)| v.into_owned()),
        );
        for secret in secrets.filter(|s| !s.is_empty()) {
            text = text.replace(&secret, "***");
        }
    }
    text
}
