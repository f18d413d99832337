//! What the parser targets share: an HTTP answer read from the fuzz input as raw HTTP/1.1
//! text (`HTTP/1.1 200 OK`, header lines, a blank line, the body), so seeds are real answers.

use pinterest_oauth_core::http::{HeaderName, HeaderValue, Response, StatusCode};

/// The answer in `data`; `None` when the status line has no status `http` can represent.
/// Header lines that are not `name: value` with a valid name and value are skipped; the body is
/// every byte after the first blank line (or nothing).
pub fn response(data: &[u8]) -> Option<Response<&[u8]>> {
    let (head, body) = split_head(data);
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next()?;
    let status = status_line.split(|b| *b == b' ').nth(1)?;
    let status = StatusCode::from_bytes(status).ok()?;
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for line in lines.take(32) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            response.headers_mut().append(name, value);
        }
    }
    Some(response)
}

fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    for (i, window) in data.windows(2).enumerate() {
        if window == b"\n\n" {
            return (&data[..i], &data[i + 2..]);
        }
        if window == b"\n\r" && data.get(i + 2) == Some(&b'\n') {
            return (&data[..i], &data[i + 3..]);
        }
    }
    (data, &[])
}
