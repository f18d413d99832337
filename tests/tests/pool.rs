//! Many grants of one app in a token pool: a single flight per grant under many threads,
//! bounded memory that never serves a stale set, a refresher that spreads its refreshes and
//! keeps to the app-wide budget, and grants needing consent reported, never retried.

use std::time::{Duration, SystemTime};

use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::TokenDocument;
use pinterest_oauth_store::{FileGrants, GrantName, GrantStore, TokenStore};
use pinterest_oauth_tests::tokens::{ManualClock, expired_at, user_token};
use pinterest_oauth_tests::transports::{config_for, settings_for};
use pinterest_oauth_ureq::{Client, PoolConfig, SourceConfig, TokenPool};

fn client(fake: &FakePinterest) -> Client {
    Client::with_http_config(config_for(fake), &settings_for(fake)).unwrap()
}

fn name(n: &str) -> GrantName {
    GrantName::new(n).unwrap()
}

/// Saves `document` as grant `grant`'s set.
fn put(grants: &FileGrants, grant: &str, document: &TokenDocument) {
    let store = grants.open(&name(grant)).unwrap();
    let lock = store.lock().unwrap();
    store.save(&lock, document).unwrap();
}

fn config(dir: &std::path::Path) -> PoolConfig {
    PoolConfig::default()
        .with_spread(Duration::ZERO)
        .with_source_config(SourceConfig::default().with_recovery_dir(dir.join("recovered")))
}

#[test]
fn many_threads_across_an_expiry_cause_one_refresh_per_grant() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = FileGrants::new(dir.path().join("grants"));
    let names = ["alice", "bob", "carol", "dave"];
    for grant in names {
        let expired = expired_at(
            &user_token(&fake),
            SystemTime::now() - Duration::from_secs(1),
        );
        put(&grants, grant, &expired);
    }
    let pool = TokenPool::with_config(client(&fake), grants, config(dir.path()));
    let tokens: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let pool = pool.clone();
                scope.spawn(move || {
                    let grant = i % names.len();
                    let token = pool.access_token(&name(names[grant])).unwrap();
                    (grant, token.secret().to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for grant in 0..names.len() {
        let mine: Vec<&String> = tokens
            .iter()
            .filter(|(g, _)| *g == grant)
            .map(|(_, t)| t)
            .collect();
        assert!(mine.iter().all(|t| *t == mine[0]), "one token per grant");
        assert!(fake.access_token_valid(mine[0]));
    }
    let stats = fake.stats();
    assert_eq!(
        stats.token.refresh_token,
        names.len() as u64,
        "one refresh per grant"
    );
    assert_eq!(stats.rotated_reuse, 0);
    assert_eq!(
        pool.app_budget().in_window(std::time::Instant::now()),
        names.len()
    );
}

#[test]
fn grants_let_go_from_memory_come_back_from_the_store_never_stale() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = FileGrants::new(dir.path().join("grants"));
    for i in 0..10 {
        put(
            &grants,
            &format!("g{i}"),
            &TokenDocument::new(user_token(&fake)),
        );
    }
    let bounded = TokenPool::with_config(
        client(&fake),
        grants.clone(),
        config(dir.path()).with_max_in_memory(4),
    );
    for round in 0..3 {
        for i in 0..10 {
            bounded.access_token(&name(&format!("g{i}"))).unwrap();
            assert!(
                bounded.in_memory() <= 4,
                "round {round}: {} in memory",
                bounded.in_memory()
            );
        }
    }
    // One grant in memory at most: asking for g1 lets g0 go.
    let pool = TokenPool::with_config(
        client(&fake),
        grants.clone(),
        config(dir.path()).with_max_in_memory(1),
    );
    let first = pool.access_token(&name("g0")).unwrap().secret().to_owned();
    pool.access_token(&name("g1")).unwrap();
    assert_eq!(pool.in_memory(), 1);
    // Meanwhile another process refreshes g0 (its own pool on the same store).
    let other = TokenPool::with_config(client(&fake), grants, config(dir.path()));
    let rotated = other.source(&name("g0")).unwrap().refresh_now().unwrap();
    let rotated = rotated.access_token().unwrap().secret().to_owned();
    assert_ne!(rotated, first);
    // The first pool let g0 go: it reads the store again, and hands out the new set.
    assert_eq!(pool.access_token(&name("g0")).unwrap().secret(), rotated);
    assert_eq!(fake.stats().rotated_reuse, 0);
}

#[test]
fn the_refresher_keeps_to_the_app_budget_and_reports_grants_needing_consent() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = FileGrants::new(dir.path().join("grants"));
    let expired = || {
        expired_at(
            &user_token(&fake),
            SystemTime::now() - Duration::from_secs(1),
        )
    };
    for i in 0..6 {
        put(&grants, &format!("due{i}"), &expired());
    }
    put(&grants, "fresh", &TokenDocument::new(user_token(&fake)));
    // A refresh token Pinterest does not know: the grant is dead.
    let mut dead: serde_json::Value = serde_json::from_slice(&expired().to_bytes()).unwrap();
    dead["refresh_token"] = "pinr_revoked_long_ago".into();
    put(
        &grants,
        "dead",
        &TokenDocument::from_bytes(dead.to_string().as_bytes()).unwrap(),
    );
    let before = fake.stats().token.refresh_token;

    let pool = TokenPool::with_config(
        client(&fake),
        grants,
        config(dir.path()).with_app_budget(4, Duration::from_secs(3600)),
    );
    let report = pool.refresh_due().unwrap();
    assert_eq!(report.checked, 8);
    let sent = fake.stats().token.refresh_token - before;
    assert_eq!(sent, 4, "the app's budget: {report:?}");
    // Four requests: three grants refreshed and the dead one found dead, or four refreshed
    // and the dead one held back; every other due grant waits.
    assert_eq!(
        report.refreshed.len() + report.consent_needed.len(),
        4,
        "{report:?}"
    );
    assert_eq!(
        report.refreshed.len() + report.waiting.len() + report.consent_needed.len(),
        7,
        "{report:?}"
    );
    assert!(!report.refreshed.contains(&name("fresh")));
    assert!(report.failed.is_empty(), "{report:?}");

    // An hour later (a new pool: its budget starts empty), the rest are refreshed; the dead
    // grant is reported again and never sent again.
    let pool = TokenPool::with_config(
        client(&fake),
        pool.grants().clone(),
        config(dir.path()).with_app_budget(10, Duration::from_secs(3600)),
    );
    let _ = pool.refresh_due().unwrap();
    let report = pool.refresh_due().unwrap();
    assert_eq!(report.consent_needed, vec![name("dead")], "{report:?}");
    let total = fake.stats().token.refresh_token - before;
    assert_eq!(
        total, 7,
        "six refreshes and one answer that the grant is dead: {report:?}"
    );
    assert_eq!(fake.stats().rotated_reuse, 0);
}

#[test]
fn a_spread_refreshes_grants_due_together_over_the_spread_and_each_before_it_expires() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = FileGrants::new(dir.path().join("grants"));
    let clock = ManualClock::starting_now();
    let start = clock.now();
    // Forty grants onboarded together: all expire in the same minute, 3 hours from now.
    let expiry = start + Duration::from_secs(3 * 3600);
    for i in 0..40 {
        put(
            &grants,
            &format!("customer-{i}"),
            &expired_at(&user_token(&fake), expiry),
        );
    }
    let before = fake.stats().token.refresh_token;
    let pool = TokenPool::with_config(
        client(&fake),
        grants,
        PoolConfig::default()
            .with_spread(Duration::from_secs(2 * 3600))
            .with_source_config(
                SourceConfig::default()
                    .with_clock(clock.reader())
                    .with_recovery_dir(dir.path().join("recovered")),
            ),
    );
    // A pass every ten minutes until the expiry.
    let mut per_pass = Vec::new();
    while clock.now() < expiry {
        let report = pool.refresh_due().unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
        per_pass.push(report.refreshed.len());
        clock.advance(Duration::from_secs(600));
    }
    let sent = fake.stats().token.refresh_token - before;
    assert_eq!(
        sent, 40,
        "each grant refreshed exactly once, before it expired: {per_pass:?}"
    );
    let busiest = per_pass.iter().max().copied().unwrap_or(0);
    assert!(
        busiest <= 20,
        "spread over the passes, not all at once: {per_pass:?}"
    );
    assert!(
        per_pass.iter().filter(|n| **n > 0).count() >= 4,
        "{per_pass:?}"
    );
}

#[test]
fn the_async_pool_makes_one_refresh_per_grant_for_many_tasks_and_reports_its_pass() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = FileGrants::new(dir.path().join("grants"));
    let names = ["alice", "bob", "carol"];
    for grant in names {
        let expired = expired_at(
            &user_token(&fake),
            SystemTime::now() - Duration::from_secs(1),
        );
        put(&grants, grant, &expired);
    }
    put(&grants, "fresh", &TokenDocument::new(user_token(&fake)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client =
        pinterest_oauth_hyper::Client::with_http_config(config_for(&fake), &settings_for(&fake))
            .unwrap();
    let pool = pinterest_oauth_hyper::TokenPool::with_config(client, grants, config(dir.path()));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let grant = i % names.len();
                    let token = pool.access_token(&name(names[grant])).await.unwrap();
                    (grant, token.secret().to_owned())
                })
            })
            .collect();
        let mut tokens = Vec::new();
        for task in tasks {
            tokens.push(task.await.unwrap());
        }
        for grant in 0..names.len() {
            let first = &tokens.iter().find(|(g, _)| *g == grant).unwrap().1;
            assert!(
                tokens
                    .iter()
                    .filter(|(g, _)| *g == grant)
                    .all(|(_, t)| t == first)
            );
        }
        assert_eq!(fake.stats().token.refresh_token, names.len() as u64);
        // Nothing is due now: the pass reads every grant and sends nothing.
        let report = pool.refresh_due().await.unwrap();
        assert_eq!(report.checked, 4, "{report:?}");
        assert!(
            report.refreshed.is_empty() && report.failed.is_empty(),
            "{report:?}"
        );
    });
    assert_eq!(fake.stats().token.refresh_token, names.len() as u64);
    assert_eq!(fake.stats().rotated_reuse, 0);
}

/// How many grants the onboarding soak test makes (`PINTEREST_OAUTH_POOL_GRANTS`).
fn soak_grants() -> usize {
    std::env::var("PINTEREST_OAUTH_POOL_GRANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

#[test]
#[ignore = "soak: ten thousand grants onboarded together (about a minute); .ci/run runs it"]
fn soak_ten_thousand_grants_due_in_one_hour_are_each_refreshed_once_before_they_expire() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let grants = FileGrants::new(dir.path().join("grants"));
    let clock = ManualClock::starting_now();
    let start = clock.now();
    let count = soak_grants();
    // A bulk onboarding: every access token expires within the same hour, two hours on.
    let mut expiries = std::collections::HashMap::new();
    let seeding = client(&fake);
    let redirect = pinterest_oauth_core::RedirectUri::new("http://localhost:8085/").unwrap();
    for i in 0..count {
        let code = fake.issue_code(redirect.as_str(), &["boards:read"]);
        let token = seeding
            .exchange_code(
                pinterest_oauth_core::AuthorizationCode::new(code),
                &redirect,
            )
            .unwrap();
        let expiry = start + Duration::from_secs(2 * 3600 + (i as u64 % 3600));
        let grant = format!("customer-{i}");
        put(&grants, &grant, &expired_at(&token, expiry));
        expiries.insert(name(&grant), expiry);
    }
    let before = fake.stats().token.refresh_token;
    let (limit, window) = (count as u32 + count as u32 / 5, Duration::from_secs(86_400));
    let pool = TokenPool::with_config(
        client(&fake),
        grants,
        PoolConfig::default()
            .with_spread(Duration::from_secs(3600))
            .with_max_in_memory(1000)
            .with_app_budget(limit, window)
            .with_source_config(
                SourceConfig::default()
                    .with_clock(clock.reader())
                    .with_recovery_dir(dir.path().join("recovered")),
            ),
    );
    let last = start + Duration::from_secs(3 * 3600);
    let mut per_pass = Vec::new();
    let mut refreshed = std::collections::HashSet::new();
    while clock.now() < last {
        let report = pool.refresh_due().unwrap();
        assert!(
            report.failed.is_empty(),
            "{:?}",
            &report.failed[..report.failed.len().min(3)]
        );
        assert!(report.consent_needed.is_empty() && report.stopped.is_empty());
        for grant in report.refreshed {
            assert!(
                clock.now() < expiries[&grant],
                "{grant} refreshed after it expired"
            );
            assert!(refreshed.insert(grant), "a grant refreshed twice");
        }
        per_pass.push(refreshed.len());
        assert!(pool.app_budget().in_window(std::time::Instant::now()) <= limit as usize);
        clock.advance(Duration::from_secs(300));
    }
    let stats = fake.stats();
    assert_eq!(
        refreshed.len(),
        count,
        "every grant refreshed: {per_pass:?}"
    );
    assert_eq!(
        stats.token.refresh_token - before,
        count as u64,
        "exactly once each"
    );
    assert_eq!(stats.rotated_reuse, 0);
    let busiest = per_pass.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    eprintln!(
        "{count} grants: refreshed over {} passes of 5 minutes, at most {busiest} in one (cumulative {per_pass:?})",
        per_pass.iter().filter(|n| **n > 0).count()
    );
    assert!(busiest <= count / 4, "spread out: {per_pass:?}");
}
