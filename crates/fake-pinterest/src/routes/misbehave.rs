//! Running a scripted fault instead of (or before) the proper answer.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt;

use super::{Call, ENDLESS_CHUNK};
use crate::body::FakeBody;
use crate::fault::Fault;

impl Call<'_> {
    /// Runs a scripted fault.
    pub(super) async fn misbehave(&self, fault: Fault) -> Response<FakeBody> {
        let mut fault = fault;
        loop {
            match fault {
                Fault::Delay(d) => {
                    tokio::time::sleep(d).await;
                    return self.answer();
                }
                Fault::DelayThen(d, inner) => {
                    tokio::time::sleep(d).await;
                    fault = *inner;
                }
                Fault::AnswerLate(d) => {
                    // Carried out now, answered later: a client stopped meanwhile holds a
                    // request Pinterest has already acted on.
                    let answer = self.answer();
                    tokio::time::sleep(d).await;
                    return answer;
                }
                other => return self.misbehave_now(other).await,
            }
        }
    }

    async fn misbehave_now(&self, fault: Fault) -> Response<FakeBody> {
        let counter = self.shared.fault_body_bytes.clone();
        match fault {
            Fault::Respond {
                status,
                headers,
                body,
            } => {
                let mut response = Response::new(FakeBody::full(body));
                *response.status_mut() = status;
                for (name, value) in headers {
                    if let (Ok(name), Ok(value)) = (
                        header::HeaderName::from_bytes(name.as_bytes()),
                        HeaderValue::from_str(&value),
                    ) {
                        response.headers_mut().append(name, value);
                    }
                }
                response
            }
            Fault::CloseMidBody {
                status,
                declared,
                sent,
            } => {
                let mut response = Response::new(FakeBody::truncated(sent).counted(counter));
                *response.status_mut() = status;
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, declared.into());
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Fault::Drip(interval) => {
                let (parts, body) = self.answer().into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let mut response = Response::from_parts(
                    parts,
                    FakeBody::drip(bytes.clone(), interval).counted(counter),
                );
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, bytes.len().into());
                response
            }
            Fault::Endless { declared } => {
                let chunk = Bytes::from(vec![b' '; ENDLESS_CHUNK]);
                let mut response =
                    Response::new(FakeBody::endless(chunk, declared).counted(counter));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                if let Some(n) = declared {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_LENGTH, n.into());
                }
                response
            }
            Fault::Redirect { status, location } => {
                let mut response = Response::new(FakeBody::empty());
                *response.status_mut() = status;
                if let Ok(location) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                response
            }
            Fault::Garbage(bytes) => {
                self.connection.hijack(bytes);
                Response::new(FakeBody::empty())
            }
            Fault::NeverAnswer => {
                self.shared.stopped().await;
                let mut response = Response::new(FakeBody::pending());
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                response
            }
            Fault::LoseAnswer { sent } => {
                let answer = self.answer();
                let mut raw = format!(
                    "HTTP/1.1 {} {}\r\n",
                    answer.status().as_u16(),
                    answer.status().canonical_reason().unwrap_or("")
                )
                .into_bytes();
                let (parts, body) = answer.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                for (name, value) in &parts.headers {
                    raw.extend_from_slice(name.as_str().as_bytes());
                    raw.extend_from_slice(b": ");
                    raw.extend_from_slice(value.as_bytes());
                    raw.extend_from_slice(b"\r\n");
                }
                raw.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
                raw.extend_from_slice(&body);
                raw.truncate(sent);
                self.shared
                    .state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .stats
                    .lost_answers += 1;
                self.connection.hijack(Bytes::from(raw));
                Response::new(FakeBody::empty())
            }
            Fault::Delay(_) | Fault::DelayThen(..) | Fault::AnswerLate(_) => self.answer(),
        }
    }
}
