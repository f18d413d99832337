//! The core over a bare `std::net::TcpStream` speaking HTTP/1.1, no HTTP library at all: what
//! the core asks of a transport fits in a page. Plain `http` to a loopback address only (the
//! core refuses anything else that is not `https`; TLS is out of scope here).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use pinterest_oauth_core::http;

use super::{Failure, MAX_BODY};

/// Sends a request built by the core over one connection (`Connection: close`) and reads the
/// answer: the status line, the headers, and a body of the `Content-Length` they declare (at
/// most [`MAX_BODY`]). A redirect is returned as data, never followed.
pub fn send(request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, Failure> {
    let uri = request.uri();
    if uri.scheme_str() != Some("http") {
        return Err("this driver speaks plain http to loopback only".into());
    }
    pinterest_oauth_core::check_request_uri(uri)?;
    let host = uri.host().ok_or("no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let target = uri.path_and_query().map_or("/", |p| p.as_str());

    let mut stream = TcpStream::connect((host, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;

    // The head: request line, Host, the core's headers as given, and no keep-alive.
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n",
        request.method()
    );
    for (name, value) in request.headers() {
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(value.to_str()?);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(request.body())?;

    // The answer: status line, headers, then the declared body.
    let mut reader = BufReader::new(stream.take(MAX_BODY as u64 + 16 * 1024));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .ok_or("no status line")?
        .parse::<u16>()?;
    let mut response = http::Response::builder().status(status);
    let mut length: Option<usize> = None;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or("a malformed header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse()?);
        }
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked answers are not read by this small driver".into());
        }
        response = response.header(name, value);
    }
    let length = length.unwrap_or(0);
    if length > MAX_BODY {
        return Err("the answer is larger than the body cap".into());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(response.body(body)?)
}
