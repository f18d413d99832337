//! The core over `reqwest` (async, rustls with ring): the client most Rust services already
//! hold. About thirty lines of transport.

use std::time::Duration;

use pinterest_oauth_core::http;

use super::{Failure, MAX_BODY};

/// A reqwest client set up as the core needs: no redirect (a redirect would carry the
/// credentials elsewhere), a connect and a whole-call timeout.
pub fn client() -> Result<reqwest::Client, Failure> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Sends a request built by the core and reads the whole answer, capped at [`MAX_BODY`]. Any
/// status is returned as data: the core's parser reads errors from 4xx and 5xx bodies.
pub async fn send(
    client: &reqwest::Client,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, Failure> {
    // The core refuses plain http except to loopback; a transport should check the same.
    pinterest_oauth_core::check_request_uri(request.uri())?;
    let (parts, body) = request.into_parts();
    let mut answer = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut response = http::Response::builder().status(answer.status());
    if let Some(headers) = response.headers_mut() {
        headers.extend(answer.headers().clone());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err("the answer is larger than the body cap".into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(response.body(bytes)?)
}
