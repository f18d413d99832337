//! The transports on loopback, against one local server answering Pinterest's canned token
//! answer with keep-alive: each transport's HTTP stack sending a prebuilt refresh request, against
//! the raw client it wraps sending the same request (a ureq agent; a hyper-util client), from 1
//! caller, and from 64 at once (the time for all their calls: throughput).
//!
//! `cargo bench -p pinterest-oauth-benches --bench transports`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::OnceLock;

use bytes::Bytes;
use divan::{Bencher, black_box};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use pinterest_oauth_benches::{APP_ID, APP_SECRET, REFRESH_ANSWER, REFRESH_TOKEN};
use pinterest_oauth_core::{
    AppId, AppSecret, BaseUrl, ClientConfig, Grant, RefreshToken, token_request,
};
use pinterest_oauth_transport::{AsyncHttp, FromHttpConfig, Http, HttpConfig};

fn main() {
    divan::main();
}

/// Concurrent callers of the "many" benchmarks.
const MANY: usize = 64;

/// A keep-alive HTTP/1.1 server on loopback answering every request with the canned refresh
/// answer (after reading the body), on a runtime of its own.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        let service = service_fn(
                            |request: http::Request<hyper::body::Incoming>| async move {
                                let _ = request.into_body().collect().await;
                                Ok::<_, Infallible>(
                                    http::Response::builder()
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from_static(REFRESH_ANSWER)))
                                        .unwrap(),
                                )
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                            .await;
                    });
                }
            });
        });
        addr
    })
}

/// The refresh request the core builds for the local server.
fn request() -> http::Request<Vec<u8>> {
    let base = BaseUrl::parse(&format!("http://{}/v5", server())).unwrap();
    let config = ClientConfig::new(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET))
        .with_base_url(base);
    token_request(
        &config,
        &Grant::refresh_token(RefreshToken::new(REFRESH_TOKEN)),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A raw ureq agent as the transport sets one up (statuses as data, no redirects), with
/// `configure` applied on top.
fn raw_agent(
    configure: impl FnOnce(
        ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    ) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
) -> ureq::Agent {
    configure(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0),
    )
    .build()
    .new_agent()
}

mod ureq_stack {
    use super::*;

    /// 64 callers at once, 8 calls each: the time for all 512 (throughput, not one thread's
    /// latency under a 2-core scheduler).
    #[divan::bench(sample_count = 20)]
    fn pinterest_oauth_ureq_64_callers(bencher: Bencher<'_, '_>) {
        let http =
            pinterest_oauth_ureq::HttpClient::from_http_config(&HttpConfig::default()).unwrap();
        let request = request();
        bencher.bench(|| {
            std::thread::scope(|scope| {
                for _ in 0..MANY {
                    scope.spawn(|| {
                        for _ in 0..8 {
                            black_box(http.execute(request.clone()).unwrap());
                        }
                    });
                }
            })
        });
    }

    /// The raw agent, the same way.
    #[divan::bench(sample_count = 20)]
    fn raw_ureq_64_callers(bencher: Bencher<'_, '_>) {
        let agent = raw_agent(|config| config);
        let request = request();
        bencher.bench(|| {
            std::thread::scope(|scope| {
                for _ in 0..MANY {
                    scope.spawn(|| {
                        for _ in 0..8 {
                            let mut response = agent.run(request.clone()).unwrap();
                            black_box(response.body_mut().read_to_vec().unwrap());
                        }
                    });
                }
            })
        });
    }

    #[divan::bench]
    fn pinterest_oauth_ureq(bencher: Bencher<'_, '_>) {
        let (http, request) = (
            pinterest_oauth_ureq::HttpClient::from_http_config(&HttpConfig::default()).unwrap(),
            request(),
        );
        bencher
            .with_inputs(|| request.clone())
            .bench_values(|request| black_box(http.execute(request).unwrap()));
    }

    #[divan::bench]
    fn raw_ureq(bencher: Bencher<'_, '_>) {
        let agent = raw_agent(|config| config);
        let request = request();
        bencher
            .with_inputs(|| request.clone())
            .bench_values(|request| {
                let mut response = agent.run(request).unwrap();
                black_box(response.body_mut().read_to_vec().unwrap())
            });
    }
}

/// Why the ureq stack splits its timeout into phases: a raw agent with each kind of timeout.
/// A global or per-call deadline makes ureq reset the socket timeouts on every read and write.
mod ureq_timeouts {
    use super::*;

    fn with(
        configure: impl FnOnce(
            ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
        ) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
        bencher: Bencher<'_, '_>,
    ) {
        let agent = raw_agent(configure);
        let request = request();
        bencher
            .with_inputs(|| request.clone())
            .bench_values(|request| {
                let mut response = agent.run(request).unwrap();
                black_box(response.body_mut().read_to_vec().unwrap())
            });
    }

    #[divan::bench]
    fn raw_timeout_connect(bencher: Bencher<'_, '_>) {
        with(
            |c| c.timeout_connect(Some(std::time::Duration::from_secs(10))),
            bencher,
        );
    }

    #[divan::bench]
    fn raw_timeout_global(bencher: Bencher<'_, '_>) {
        with(
            |c| c.timeout_global(Some(std::time::Duration::from_secs(30))),
            bencher,
        );
    }

    #[divan::bench]
    fn raw_timeout_per_call(bencher: Bencher<'_, '_>) {
        with(
            |c| c.timeout_per_call(Some(std::time::Duration::from_secs(30))),
            bencher,
        );
    }

    #[divan::bench]
    fn raw_timeout_recv(bencher: Bencher<'_, '_>) {
        with(
            |c| {
                c.timeout_recv_response(Some(std::time::Duration::from_secs(30)))
                    .timeout_recv_body(Some(std::time::Duration::from_secs(30)))
            },
            bencher,
        );
    }

    /// No timeout, and the body read the way the stack reads it (borrowed body, chunked reads).
    #[divan::bench]
    fn raw_borrowed_body_and_reader(bencher: Bencher<'_, '_>) {
        use std::io::Read;
        let agent = raw_agent(|config| config);
        let request = request();
        bencher
            .with_inputs(|| request.clone())
            .bench_values(|request| {
                let (parts, body) = request.into_parts();
                let mut response = agent
                    .run(http::Request::from_parts(parts, body.as_slice()))
                    .unwrap();
                let mut out = Vec::with_capacity(1024);
                let mut chunk = [0u8; 4096];
                let mut reader = response.body_mut().as_reader();
                loop {
                    let n = reader.read(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&chunk[..n]);
                }
                black_box(out)
            });
    }
}

mod hyper_stack {
    use super::*;

    /// One caller, one call at a time (latency).
    #[divan::bench]
    fn pinterest_oauth_hyper(bencher: Bencher<'_, '_>) {
        let runtime = runtime();
        let http =
            pinterest_oauth_hyper::HttpClient::from_http_config(&HttpConfig::default()).unwrap();
        let request = request();
        bencher.bench(|| runtime.block_on(async { http.execute(request.clone()).await.unwrap() }));
    }

    /// The raw pooled client, the same way.
    #[divan::bench]
    fn raw_hyper_util(bencher: Bencher<'_, '_>) {
        let runtime = runtime();
        let client = raw_client();
        let request = request().map(Bytes::from);
        bencher.bench(|| runtime.block_on(raw_call(&client, request.clone())));
    }

    /// 64 tasks at once, 8 calls each: the time for all 512 (throughput).
    #[divan::bench(sample_count = 50)]
    fn pinterest_oauth_hyper_64_callers(bencher: Bencher<'_, '_>) {
        let runtime = runtime();
        let http =
            pinterest_oauth_hyper::HttpClient::from_http_config(&HttpConfig::default()).unwrap();
        let request = request();
        bencher.bench(|| {
            runtime.block_on(async {
                let tasks = (0..MANY).map(|_| {
                    let (http, request) = (http.clone(), request.clone());
                    tokio::spawn(async move {
                        for _ in 0..8 {
                            black_box(http.execute(request.clone()).await.unwrap());
                        }
                    })
                });
                for task in tasks.collect::<Vec<_>>() {
                    task.await.unwrap();
                }
            })
        });
    }

    /// The raw pooled client, the same way.
    #[divan::bench(sample_count = 50)]
    fn raw_hyper_util_64_callers(bencher: Bencher<'_, '_>) {
        let runtime = runtime();
        let client = raw_client();
        let request = request().map(Bytes::from);
        bencher.bench(|| {
            runtime.block_on(async {
                let tasks = (0..MANY).map(|_| {
                    let (client, request) = (client.clone(), request.clone());
                    tokio::spawn(async move {
                        for _ in 0..8 {
                            black_box(raw_call(&client, request.clone()).await);
                        }
                    })
                });
                for task in tasks.collect::<Vec<_>>() {
                    task.await.unwrap();
                }
            })
        });
    }

    type RawClient = hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >;

    fn raw_client() -> RawClient {
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Full<Bytes>>()
    }

    async fn raw_call(client: &RawClient, request: http::Request<Bytes>) -> Bytes {
        let response = client.request(request.map(Full::new)).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    }
}
