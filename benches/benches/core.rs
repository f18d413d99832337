//! The core per exchange: build the request and parse Pinterest's answer, against the `oauth2`
//! crate doing the same through an in-memory HTTP client, and against the floor (the least
//! work any client must do). Allocations per iteration are counted by divan's allocator.
//!
//! `cargo bench -p pinterest-oauth-benches --bench core`

use divan::{AllocProfiler, Bencher, black_box};
use pinterest_oauth_benches::{
    APP_ID, APP_SECRET, CODE, CODE_ANSWER, REDIRECT_URI, REFRESH_ANSWER, REFRESH_TOKEN, TOKEN_URI,
    answer, floor_code_exchange, floor_refresh, now,
};
use pinterest_oauth_core::{
    AppId, AppSecret, AuthorizationCode, AuthorizationCodeGrant, ClientConfig, Grant, RedirectUri,
    RefreshToken, parse_token_response, token_request,
};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

fn config() -> ClientConfig {
    ClientConfig::new(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET))
}

/// `oauth2`'s client, set up once as an app would.
type Oauth2Client = oauth2::basic::BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn oauth2_client() -> Oauth2Client {
    oauth2::basic::BasicClient::new(oauth2::ClientId::new(APP_ID.to_owned()))
        .set_client_secret(oauth2::ClientSecret::new(APP_SECRET.to_owned()))
        .set_token_uri(oauth2::TokenUrl::new(TOKEN_URI.to_owned()).unwrap())
        .set_redirect_uri(oauth2::RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap())
}

/// `oauth2`'s in-memory HTTP client: the canned answer, whatever the request.
fn in_memory(
    body: &'static [u8],
) -> impl Fn(oauth2::HttpRequest) -> Result<oauth2::HttpResponse, std::io::Error> {
    move |_request| {
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .expect("a valid response"))
    }
}

mod code_exchange {
    use super::*;

    #[divan::bench]
    fn pinterest_oauth(bencher: Bencher<'_, '_>) {
        let (config, redirect, answer) = (
            config(),
            RedirectUri::new(REDIRECT_URI).unwrap(),
            answer(CODE_ANSWER),
        );
        bencher.bench(|| {
            let grant = Grant::AuthorizationCode(AuthorizationCodeGrant::new(
                AuthorizationCode::new(CODE),
                redirect.clone(),
            ));
            let request = token_request(&config, &grant);
            let token = parse_token_response(now(), &answer).unwrap();
            black_box((request, token))
        });
    }

    #[divan::bench]
    fn floor(bencher: Bencher<'_, '_>) {
        let (uri, answer) = (http::Uri::from_static(TOKEN_URI), answer(CODE_ANSWER));
        bencher.bench(|| black_box(floor_code_exchange(&uri, &answer)));
    }

    #[divan::bench]
    fn oauth2(bencher: Bencher<'_, '_>) {
        let (client, http) = (oauth2_client(), in_memory(CODE_ANSWER));
        bencher.bench(|| {
            let token = client
                .exchange_code(oauth2::AuthorizationCode::new(CODE.to_owned()))
                .request(&http)
                .unwrap();
            black_box(token)
        });
    }

    /// The in-memory client's own share of `oauth2`'s figures (subtract it).
    #[divan::bench]
    fn oauth2_in_memory_client_alone(bencher: Bencher<'_, '_>) {
        let http = in_memory(CODE_ANSWER);
        bencher
            .with_inputs(|| http::Request::new(Vec::new()))
            .bench_values(|request| black_box(http(request).unwrap()));
    }
}

mod refresh {
    use super::*;

    #[divan::bench]
    fn pinterest_oauth(bencher: Bencher<'_, '_>) {
        let (config, answer) = (config(), answer(REFRESH_ANSWER));
        bencher.bench(|| {
            let grant = Grant::refresh_token(RefreshToken::new(REFRESH_TOKEN));
            let request = token_request(&config, &grant);
            let token = parse_token_response(now(), &answer).unwrap();
            black_box((request, token))
        });
    }

    #[divan::bench]
    fn floor(bencher: Bencher<'_, '_>) {
        let (uri, answer) = (http::Uri::from_static(TOKEN_URI), answer(REFRESH_ANSWER));
        bencher.bench(|| black_box(floor_refresh(&uri, &answer)));
    }

    #[divan::bench]
    fn oauth2(bencher: Bencher<'_, '_>) {
        let (client, http) = (oauth2_client(), in_memory(REFRESH_ANSWER));
        let refresh = oauth2::RefreshToken::new(REFRESH_TOKEN.to_owned());
        bencher.bench(|| {
            let token = client
                .exchange_refresh_token(&refresh)
                .request(&http)
                .unwrap();
            black_box(token)
        });
    }
}

/// The core's two halves apart, to see where the allocations are.
mod parts {
    use super::*;

    #[divan::bench]
    fn code_request(bencher: Bencher<'_, '_>) {
        let (config, redirect) = (config(), RedirectUri::new(REDIRECT_URI).unwrap());
        bencher.bench(|| {
            let grant = Grant::AuthorizationCode(AuthorizationCodeGrant::new(
                AuthorizationCode::new(CODE),
                redirect.clone(),
            ));
            black_box(token_request(&config, &grant))
        });
    }

    #[divan::bench]
    fn floor_answer_parse(bencher: Bencher<'_, '_>) {
        let answer = answer(CODE_ANSWER);
        bencher.bench(|| {
            black_box(
                serde_json::from_slice::<pinterest_oauth_benches::FloorToken<'_>>(answer.body())
                    .unwrap(),
            )
        });
    }

    #[divan::bench]
    fn code_answer_parse(bencher: Bencher<'_, '_>) {
        let answer = answer(CODE_ANSWER);
        bencher.bench(|| black_box(parse_token_response(now(), &answer).unwrap()));
    }
}
