//! Test helper: one process asking a file-backed token source for a token.
//!
//! `token_client <api-base-url> <app-id> <app-secret> <token-file>` prints the access token
//! (the fake's, for the test to compare) and exits 0, or prints the error and exits 1.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use pinterest_oauth_ureq::{
    AppId, AppSecret, BaseUrl, Client, ClientConfig, FileStore, SourceConfig, TokenSource,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, app_id, app_secret, file] = args.as_slice() else {
        eprintln!("usage: token_client <api-base-url> <app-id> <app-secret> <token-file>");
        return ExitCode::from(2);
    };
    let run = || -> Result<String, Box<dyn std::error::Error>> {
        let config = ClientConfig::new(
            AppId::new(app_id.as_str())?,
            AppSecret::new(app_secret.as_str()),
        )
        .with_base_url(BaseUrl::parse(base)?);
        let store = FileStore::new(file);
        let recovery = std::path::Path::new(file).with_extension("recovered");
        let options = SourceConfig::default().with_recovery_dir(recovery);
        let source = TokenSource::with_config(Client::new(config)?, store, options)?;
        Ok(source.access_token()?.secret().to_owned())
    };
    match run() {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
