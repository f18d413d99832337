//! The loopback login: forged callbacks, slow clients, squatters, another local user, PKCE,
//! the out-of-band flow, and what login says while it waits.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_pinterest::{ConsentMode, FakeConfig, Fault, Route, Times};

use crate::support::*;

#[test]
fn login_checks_the_token_file_before_spending_the_consent() {
    for content in [
        &b"{ corrupt"[..],
        br#"{"version":99,"access_token":"pina_x"}"#,
    ] {
        let env = Env::new("ureq");
        std::fs::write(env.token_file(), content).unwrap();
        let login = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "5"]);
        assert_eq!(code(&login), 6, "{}", text(&login.stderr));
        assert!(
            text(&login.stderr).contains("untouched"),
            "{}",
            text(&login.stderr)
        );
        assert!(
            !text(&login.stderr).contains("/oauth/?"),
            "the consent page never opened"
        );
        assert_eq!(env.fake.stats().consent, 0);
        assert_eq!(std::fs::read(env.token_file()).unwrap(), content);
    }
}

#[test]
fn fifty_forged_callbacks_cannot_end_or_steal_a_login() {
    let env = Env::new("ureq");
    let pending = env.start_login(&[]);
    let listener = pending.listener();
    let origin = format!("http://127.0.0.1:{}", listener.port().unwrap());
    let forged = [
        "/?code=forged&state=wrong-state-of-the-right-length-000000",
        "/?code=forged",
        "/?error=access_denied",
        "/?error=access_denied&error_description=FORGED-DESCRIPTION",
        "/?error=access_denied&state=also-wrong",
        "/?state=",
        "/?state=wrong&state=wrong",
        "/?code=a&code=b",
        "/other/path?code=x",
        "/?",
    ];
    for i in 0..50 {
        let page = get(&format!("{origin}{}", forged[i % forged.len()]));
        assert!(matches!(page.status, 400 | 404), "{i}: {}", page.status);
    }
    // The real browser comes back: the login still listens, and succeeds.
    let page = pending.browse();
    assert_eq!(page.status, 200, "{}", page.page);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("FORGED"),
        "a forger's text is never shown"
    );
    assert_eq!(
        env.fake.stats().token.authorization_code,
        1,
        "exactly one code exchange"
    );
    assert!(env.token_file().exists());
}

#[test]
fn slow_and_idle_connections_neither_stretch_the_timeout_nor_delay_the_callback() {
    use std::io::Write;
    use std::net::TcpStream;
    let env = Env::new("ureq");
    let pending = env.start_login(&["--timeout", "5"]);
    let started = Instant::now();
    let port = pending.listener().port().unwrap();
    // Six idle connections (a browser's preconnects) and one client dripping a byte a second.
    let idle: Vec<TcpStream> = (0..6)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let slowloris = std::thread::spawn(move || {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            return 0;
        };
        let mut sent = 0;
        for byte in b"GET /?code=x&state=y HTTP/1.1\r\nHost: x\r\n"
            .iter()
            .cycle()
            .take(60)
        {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(1000));
        }
        sent
    });
    let output = pending.finish();
    let elapsed = started.elapsed();
    assert_eq!(code(&output), 3, "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("no answer from the browser"));
    assert!(
        elapsed < Duration::from_secs(6),
        "a --timeout 5 login ran {elapsed:?}"
    );
    drop(idle);
    let _ = slowloris.join();

    // With six idle connections open, the real callback is still served at once.
    let env = Env::new("ureq");
    let pending = env.start_login(&["--timeout", "4"]);
    let port = pending.listener().port().unwrap();
    let idle: Vec<TcpStream> = (0..6)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    assert_eq!(pending.browse().status, 200);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    drop(idle);
}

#[test]
fn a_squatter_on_either_loopback_address_never_receives_the_code() {
    use std::net::TcpListener;
    for squat in ["[::1]:0", "127.0.0.1:0"] {
        let Ok(squatter) = TcpListener::bind(squat) else {
            continue; // no such address family on this machine: nobody can squat it
        };
        squatter.set_nonblocking(true).unwrap();
        let port = squatter.local_addr().unwrap().port().to_string();
        let env = Env::new("ureq");
        let login = env.run(&["login", "--no-browser", "--port", &port, "--timeout", "5"]);
        assert_eq!(code(&login), 2, "{squat}: {}", text(&login.stderr));
        let err = text(&login.stderr);
        assert!(err.contains("cannot listen on"), "{err}");
        assert!(
            !err.contains("/oauth/?"),
            "{squat}: the consent page never opened"
        );
        assert_eq!(env.fake.stats().consent, 0);
        assert!(
            squatter.accept().is_err(),
            "{squat}: nothing reached the squatter"
        );
    }
}

#[test]
fn any_registered_loopback_redirect_uri_with_a_path_works() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registered = format!("http://127.0.0.1:{port}/pinterest/callback");
    let env = Env::with(
        "ureq",
        FakeConfig {
            redirect_uris: vec![registered.clone()],
            ..FakeConfig::default()
        },
    );
    let pending = env.start_login(&["--redirect-uri", &registered]);
    assert_eq!(
        pending.listener().as_str(),
        registered,
        "sent byte for byte"
    );
    // Another path is not the callback.
    assert_eq!(get(&format!("http://127.0.0.1:{port}/?code=x")).status, 404);
    let browsed = pending.browse();
    assert_eq!(
        browsed.status, 200,
        "the fake accepts only the registered uri"
    );
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));

    // An https or remote uri cannot be listened on: a clear error points to --no-listen.
    for uri in ["https://app.example/callback", "http://app.example:8085/"] {
        let refused = env.run(&["login", "--no-browser", "--redirect-uri", uri]);
        assert_eq!(code(&refused), 2, "{uri}: {}", text(&refused.stderr));
        assert!(
            text(&refused.stderr).contains("--no-listen"),
            "{}",
            text(&refused.stderr)
        );
    }
}

#[test]
fn the_out_of_band_login_takes_the_pasted_redirect() {
    use std::io::Write;
    let registered = "https://app.example/pinterest/callback";
    let env = Env::with(
        "ureq",
        FakeConfig {
            redirect_uris: vec![registered.into()],
            ..FakeConfig::default()
        },
    );
    let mut command = env.command(&["login", "--no-listen", "--redirect-uri", registered]);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut consent_url = None;
    for line in stderr.lines().map_while(Result::ok) {
        if line.starts_with(&env.fake.consent_url()) {
            consent_url = Some(line);
            break;
        }
    }
    let consent = get(&consent_url.expect("the consent url is printed"));
    let landed = consent.location.unwrap();
    assert!(landed.starts_with(registered), "{landed}");
    writeln!(stdin, "{landed}").unwrap();
    drop(stdin);
    let output = finish(child);
    assert_eq!(code(&output), 0, "{}", text(&output.stdout));
    assert!(env.token_file().exists());
    assert_eq!(env.fake.stats().token.authorization_code, 1);
}

#[test]
fn pkce_sends_a_challenge_and_its_verifier() {
    let env = Env::new("ureq");
    let pending = env.start_login(&[]);
    assert!(
        pending.consent_url.contains("code_challenge="),
        "on by default: {}",
        pending.consent_url
    );
    assert!(pending.consent_url.contains("code_challenge_method=S256"));
    assert_eq!(pending.browse().status, 200);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(
        env.fake.stats().pkce_refused,
        0,
        "the fake checked the verifier"
    );
    let exchange = env
        .fake
        .requests()
        .into_iter()
        .find(|r| String::from_utf8_lossy(&r.body).contains("grant_type=authorization_code"))
        .unwrap();
    assert!(String::from_utf8_lossy(&exchange.body).contains("code_verifier="));
}

#[test]
fn denied_consent_and_a_login_timeout_need_consent() {
    let env = Env::with(
        "ureq",
        FakeConfig {
            consent: ConsentMode::Deny,
            ..FakeConfig::default()
        },
    );
    let (login, browsed) = env.login(&[]);
    assert_eq!(browsed.status, 400);
    assert_eq!(code(&login), 3);
    assert!(
        text(&login.stderr).contains("access_denied"),
        "{}",
        text(&login.stderr)
    );

    let env = Env::new("ureq");
    let timeout = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "1"]);
    assert_eq!(code(&timeout), 3);
    assert!(text(&timeout.stderr).contains("no answer from the browser"));
}

#[test]
fn an_omitted_scope_at_login_is_what_was_asked_for() {
    let env = Env::new("ureq");
    env.fake.set_shape(fake_pinterest::AnswerShape {
        omit_scope: true,
        ..Default::default()
    });
    let (login, _) = env.login(&["--scopes", "boards:read,pins:read"]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert_eq!(
        stored(&env.token_file())["scopes"],
        serde_json::json!(["boards:read", "pins:read"])
    );
}

#[test]
fn another_local_user_cannot_hijack_a_login() {
    if !acts_as_another_user() {
        return;
    }
    let env = Env::new("ureq");
    let mut pending = env.launch_login(&[], false);

    // The attacker reads every process's command line: the login's `state` is on none.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline);
            assert!(
                !cmdline.contains("state="),
                "a command line holds a state: {cmdline}"
            );
            assert!(
                !cmdline.contains("/oauth/?"),
                "a command line holds the consent url"
            );
        }
    }
    // Say the start address leaked (a browser launcher's command line): the attacker fetches
    // it first. Its connection is refused: the listener serves only its own user.
    let fetched = curl_as_nobody(&pending.start_url);
    assert!(
        !fetched.contains("302"),
        "the attacker got the consent page: {fetched}"
    );
    assert!(!fetched.contains("set-cookie"), "{fetched}");
    // The attacker consents on its own account for the same app and redirect URI, keeps the
    // code, and sends it to the listener with a state of its choosing.
    let own = fake_pinterest::visit(
        &format!(
            "{}?client_id={}&redirect_uri={}&response_type=code&scope=boards:read&state=attacker",
            env.fake.consent_url(),
            env.fake.app_id(),
            pending.redirect_uri
        ),
        None,
    )
    .unwrap();
    let forged = own.location.expect("the attacker's own consent redirects");
    assert!(forged.contains("code="), "{forged}");
    let sent = curl_as_nobody(&forged);
    assert!(!sent.contains("200 OK"), "{sent}");

    // The user's own browser then opens the start address and consents: the login ends with
    // the user's own grant.
    pending.open(&env);
    let browsed = pending.browse();
    assert_eq!(browsed.status, 200, "{}", browsed.page);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let stored = stored(&env.token_file());
    let exchanges: Vec<String> = env
        .fake
        .requests()
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("grant_type=authorization_code"))
        .collect();
    assert_eq!(exchanges.len(), 1, "only the user's own code was exchanged");
    let attacker_code = url::Url::parse(&forged)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert!(
        !exchanges[0].contains(&attacker_code),
        "the attacker's code was never sent"
    );
    assert!(
        exchanges[0].contains("code_verifier="),
        "PKCE is on by default"
    );
    assert!(
        env.fake
            .access_token_valid(stored["access_token"].as_str().unwrap())
    );
    assert!(
        text(&output.stderr).contains("another local user"),
        "the refusal is reported: {}",
        text(&output.stderr)
    );
}

#[test]
fn a_start_address_opened_twice_stops_the_login_and_saves_nothing() {
    let env = Env::new("ureq");
    let pending = env.start_login(&[]);
    // A second fetch, from the same user (where no socket table can tell it apart).
    let again = fake_pinterest::visit(&pending.start_url, None).unwrap();
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("opened twice"), "{}", again.body);
    let output = pending.finish();
    assert_ne!(code(&output), 0);
    assert!(
        text(&output.stderr).contains("start address was opened twice"),
        "{}",
        text(&output.stderr)
    );
    assert!(!env.token_file().exists(), "nothing saved");
    assert_eq!(env.fake.stats().token.authorization_code, 0);
}

#[test]
fn only_the_browser_that_opened_the_start_address_can_finish() {
    let env = Env::new("ureq");
    let pending = env.start_login(&["--timeout", "20"]);
    // Another browser (no cookie) comes back with the right state and a real code.
    let consent = fake_pinterest::visit(&pending.consent_url, None).unwrap();
    let callback = consent.location.unwrap();
    let other = fake_pinterest::visit(&callback, None).unwrap();
    assert_eq!(other.status, 400, "{}", other.body);
    assert!(other.body.contains("did not start"), "{}", other.body);
    // The user's own browser finishes it.
    assert_eq!(pending.browse().status, 200);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(env.fake.stats().token.authorization_code, 1);
}

#[test]
fn login_says_where_it_listens_until_when_and_whose_account_it_connected() {
    let env = Env::new("ureq");
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let said = text(&login.stderr);
    assert!(said.contains("listening on 127.0.0.1:"), "{said}");
    assert!(said.contains("press Ctrl-C to cancel"), "{said}");
    assert!(said.contains(" until 20"), "the deadline: {said}");
    let out = text(&login.stdout);
    // --no-browser: the start address alone on stdout's first line (for a script's browser).
    let (address, out) = out.split_once('\n').unwrap_or_default();
    assert!(
        address.starts_with("http://") && address.contains("/start/"),
        "{address}"
    );
    assert!(
        said.contains("Open the address printed on stdout"),
        "{said}"
    );
    // The default scopes include user_accounts:read: the fake's account name is reported.
    assert!(out.starts_with("logged in as fake_pinterest_user"), "{out}");
    assert!(
        out.contains("user_accounts:read"),
        "the scopes granted: {out}"
    );
    assert_eq!(env.fake.stats().user_account, 1);

    // Without that scope nothing is asked; when asking fails, the login still succeeds.
    let env = Env::new("ureq");
    let (login, _) = env.login(&["--scopes", "boards:read"]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert!(
        text(&login.stdout).contains("\nlogged in;"),
        "{}",
        text(&login.stdout)
    );
    assert_eq!(env.fake.stats().user_account, 0);
    // With --json, stdout is the one JSON document: the address goes to stderr.
    let env = Env::new("ureq");
    let (login, _) = env.login(&["--json"]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert!(
        json(&login)["access_token"].is_string(),
        "{}",
        text(&login.stdout)
    );
    assert!(
        text(&login.stderr).contains("/start/"),
        "{}",
        text(&login.stderr)
    );
    let env = Env::new("ureq");
    env.fake
        .push_fault(Route::UserAccount, Fault::unavailable(), Times::Always);
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert!(
        text(&login.stderr)
            .contains("warning: the login succeeded, but the account's name could not be read"),
        "{}",
        text(&login.stderr)
    );
}

#[test]
fn the_port_help_says_pinterest_accepts_only_registered_ports() {
    let env = Env::new("ureq");
    let help = text(&env.run(&["login", "--help"]).stdout);
    assert!(help.contains("registered"), "{help}");
    assert!(help.contains("--no-pkce"), "{help}");
}
