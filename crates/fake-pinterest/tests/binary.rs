//! `fake-pinterest` as a standalone binary: options, printed URLs, TLS with `--ca-file`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the child however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn runs_standalone_and_prints_what_clients_need() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_fake-pinterest"))
            .args(["--port", "0", "--app-id", "42", "--app-secret", "s3cr3t"])
            .args([
                "--redirect-uri",
                "https://app.example/cb",
                "--access-ttl",
                "60",
            ])
            .args(["--refresh-ttl", "120", "--tls", "--ca-file"])
            .arg(&ca_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    while !printed.iter().any(|l: &String| l.contains("press Ctrl-C")) {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the fake prints its banner");
        printed.push(line);
    }
    let value = |label: &str| -> String {
        printed
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {label} in {printed:?}"))
    };
    assert_eq!(value("app id:"), "42");
    assert_eq!(value("app secret:"), "s3cr3t");
    let base = value("api base url:");
    assert!(
        base.starts_with("https://127.0.0.1:") && base.ends_with("/v5"),
        "{base}"
    );
    let stats_url = value("stats:");

    let pem = std::fs::read(&ca_file).unwrap();
    let ca = ureq::tls::Certificate::from_pem(&pem).unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
                .build(),
        )
        .build()
        .new_agent();
    // Only the registered redirect URI is accepted.
    let consent = value("consent url:");
    let loopback = agent
        .get(&format!("{consent}?client_id=42&redirect_uri=http%3A%2F%2Flocalhost%2F&response_type=code&scope=ads%3Aread"))
        .call()
        .unwrap();
    assert_eq!(loopback.status(), 400);
    let registered = agent
        .get(&format!("{consent}?client_id=42&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=ads%3Aread"))
        .call()
        .unwrap();
    assert_eq!(registered.status(), 302);
    // The configured lifetimes are what the token endpoint grants.
    let token: serde_json::Value = agent
        .post(&format!("{base}/oauth/token"))
        .header("authorization", "Basic NDI6czNjcjN0")
        .header("content-type", "application/x-www-form-urlencoded")
        .send("grant_type=client_credentials&scope=ads%3Aread")
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(token["expires_in"], 60);
    let stats: serde_json::Value = agent
        .get(&stats_url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(stats["consent"], 2);
    assert_eq!(stats["token"]["client_credentials"], 1);
}
