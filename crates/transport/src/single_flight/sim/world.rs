//! The simulated world: one disk (the file store's directory and the recovery directory), one
//! Redis, and Pinterest, all behind one mutex, in virtual time.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use pinterest_oauth_core::TokenDocument;

use super::Pid;

/// Which store the processes share in a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Redis,
}

/// The token file's directory and the recovery directory, as the file store and the keeper
/// see them.
#[derive(Debug, Clone, Default)]
pub(super) struct Disk {
    /// `token.json`.
    pub(super) file: Option<TokenDocument>,
    /// Complete documents left in temporary files (a rename that failed, a writer killed
    /// before its rename), by a unique number.
    pub(super) temps: Vec<(u64, TokenDocument)>,
    /// Sets kept in the recovery directory, by a unique number.
    pub(super) kept: Vec<(u64, TokenDocument)>,
    /// Raw answers kept aside.
    pub(super) raw: Vec<(u64, Vec<u8>)>,
    /// The `flock` holder: released when its holder ends, however it ends.
    pub(super) lock: Option<Pid>,
    /// No file can be created (a full disk): temporary files, kept sets.
    pub(super) full: bool,
    pub(super) serial: u64,
    /// Rooms reserved for kept sets.
    pub(super) reserved: u32,
}

/// A Redis holding the document (compare-and-set on revisions) and the lease.
#[derive(Debug, Clone, Default)]
pub(super) struct Redis {
    pub(super) document: Option<TokenDocument>,
    /// The lease: its owner (a number per acquisition), the process holding it, and when it
    /// runs out.
    pub(super) lease: Option<(u64, Pid, SystemTime)>,
    pub(super) owners: u64,
    /// The in-flight mark: the owner whose request may be in flight, until when (Redis's
    /// clock, which is true time).
    pub(super) in_flight: Option<(u64, SystemTime)>,
    /// Recent confirmed requests (Redis's clock), by owner.
    pub(super) requests: Vec<(u64, SystemTime)>,
    /// The next call fails as an unreachable server would.
    pub(super) down: bool,
}

/// Store faults armed for the next save.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SaveFaults {
    /// The temporary file is written but cannot be renamed (the set stays in it).
    pub(super) rename_fails: bool,
    /// The process is killed between the temporary file's write and its rename.
    pub(super) crash: bool,
}

/// What Pinterest does with the next token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// Carried out and answered at once.
    Normal(Shape),
    /// Carried out, answered after this long (past the HTTP timeout: never).
    Delayed(Duration, Shape),
    /// Carried out; the answer is lost (the caller times out).
    Lost,
    /// Not carried out: 503.
    Unavailable,
    /// Not carried out: 429 with `Retry-After` of this many seconds.
    RateLimited(u64),
    /// Not carried out: 401 code 2 (the app's credentials refused).
    InvalidClient,
    /// Not carried out: nothing was sent (a failed connect).
    Connect,
}

/// The shapes a 2xx may take (every one a rotation unless said).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Plain,
    /// `refresh_token` twice, the second the real one.
    DuplicateMember,
    /// Bytes after the JSON object.
    TrailingBytes,
    /// `"expires_in": 1e400`.
    HugeNumber,
    /// `refresh_token_expires_at` already past (0).
    ExpiresAtZero,
    /// `refresh_token_expires_at` as a lifetime, not a time.
    ExpiresAtRelative,
    /// No `scope`, no `response_type`, status 201.
    Sparse,
    /// A legacy grant: no refresh token in the answer, none rotated.
    Legacy,
    /// The stored pair again, nothing rotated.
    SamePair,
}

/// An answer: status, headers, body, and when it arrives (`None`: never).
pub(super) type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>, Option<Duration>);

/// Pinterest, rotating the refresh token on every refresh with no grace.
#[derive(Debug, Clone, Default)]
pub(super) struct Pinterest {
    /// The live refresh token, if there is a grant.
    pub(super) refresh: Option<String>,
    pub(super) access: Option<String>,
    pub(super) serial: u64,
    /// Refresh tokens rotated away.
    pub(super) retired: HashSet<String>,
    /// True times of the token requests received since the grant became live.
    pub(super) requests: Vec<SystemTime>,
    /// Requests that presented a rotated-away refresh token.
    pub(super) reuse: Vec<String>,
    /// The grant was lost in a way no client can prevent: an answer lost on the wire, or a
    /// process killed with its request in flight. Checks of the grant pause until a login.
    pub(super) lost: Option<&'static str>,
    /// The next request's fate.
    pub(super) next: Option<Answer>,
    /// Set when a request was refused as invalid client: automatic requests must stop.
    pub(super) refused_client: Option<SystemTime>,
}

impl Pinterest {
    /// A new grant (a login): its first pair.
    pub(super) fn login(&mut self) -> (String, String) {
        self.serial += 1;
        let access = format!("pina_{}", self.serial);
        let refresh = format!("pinr_{}", self.serial);
        if let Some(old) = self.refresh.replace(refresh.clone()) {
            self.retired.insert(old);
        }
        self.access = Some(access.clone());
        self.lost = None;
        self.requests.clear();
        self.refused_client = None;
        (access, refresh)
    }

    /// Rotates: a new pair for the live refresh token.
    fn rotate(&mut self) -> (String, String) {
        self.serial += 1;
        let access = format!("pina_{}", self.serial);
        let refresh = format!("pinr_{}", self.serial);
        if let Some(old) = self.refresh.replace(refresh.clone()) {
            self.retired.insert(old);
        }
        self.access = Some(access.clone());
        (access, refresh)
    }

    /// Handles a refresh presenting `presented` at true time `now`: the status and body of
    /// the answer, and when it arrives (`None`: never).
    pub(super) fn refresh(&mut self, now: SystemTime, presented: &str) -> Reply {
        self.requests.push(now);
        let answer = self.next.take().unwrap_or(Answer::Normal(Shape::Plain));
        let error = |code: i64, message: &str| {
            format!(r#"{{"code":{code},"message":"{message}"}}"#).into_bytes()
        };
        match answer {
            Answer::Unavailable => return (503, vec![], error(0, "unavailable"), Some(ZERO)),
            Answer::RateLimited(secs) => {
                return (
                    429,
                    vec![("retry-after", secs.to_string())],
                    error(8, "Max rate limit exceeded"),
                    Some(ZERO),
                );
            }
            Answer::InvalidClient => {
                self.refused_client = Some(now);
                return (401, vec![], error(2, "Authentication failed."), Some(ZERO));
            }
            Answer::Connect => return (0, vec![], Vec::new(), Some(ZERO)),
            _ => {}
        }
        if self.refresh.as_deref() != Some(presented) {
            if self.retired.contains(presented) && self.lost.is_none() {
                self.reuse.push(presented.to_owned());
            }
            return (
                401,
                vec![],
                error(283, "The authorization grant is invalid"),
                Some(ZERO),
            );
        }
        let shape = match answer {
            Answer::Normal(shape) | Answer::Delayed(_, shape) => shape,
            _ => Shape::Plain,
        };
        let (access, refresh) = match shape {
            Shape::Legacy | Shape::SamePair => (
                self.access.clone().unwrap_or_default(),
                presented.to_owned(),
            ),
            _ => self.rotate(),
        };
        let body = body(shape, &access, &refresh);
        let status = if shape == Shape::Sparse { 201 } else { 200 };
        let delay = match answer {
            Answer::Lost => None,
            Answer::Delayed(d, _) if d >= HTTP_TIMEOUT => None,
            Answer::Delayed(d, _) => Some(d),
            _ => Some(ZERO),
        };
        (status, vec![], body.into_bytes(), delay)
    }
}

const ZERO: Duration = Duration::ZERO;

/// How long a process waits for an answer before it gives up (the HTTP timeout).
pub(super) const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The access token's lifetime Pinterest grants (short, so refreshes come often).
pub(super) const ACCESS_TTL: u64 = 3600;
/// The refresh token's lifetime.
pub(super) const REFRESH_TTL: u64 = 60 * 86_400;

fn body(shape: Shape, access: &str, refresh: &str) -> String {
    let plain = || {
        format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{ACCESS_TTL},"scope":"boards:read","response_type":"refresh_token","refresh_token":"{refresh}","refresh_token_expires_in":{REFRESH_TTL}}}"#
        )
    };
    match shape {
        Shape::Plain | Shape::SamePair => plain(),
        Shape::DuplicateMember => format!(
            r#"{{"access_token":"{access}","refresh_token":"pinr_decoy","token_type":"bearer","expires_in":{ACCESS_TTL},"scope":"boards:read","refresh_token":"{refresh}","refresh_token_expires_in":{REFRESH_TTL}}}"#
        ),
        Shape::TrailingBytes => format!("{}\n<!-- served by edge -->", plain()),
        Shape::HugeNumber => format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":1e400,"scope":"boards:read","refresh_token":"{refresh}","refresh_token_expires_in":{REFRESH_TTL}}}"#
        ),
        Shape::ExpiresAtZero => format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{ACCESS_TTL},"scope":"boards:read","refresh_token":"{refresh}","refresh_token_expires_in":{REFRESH_TTL},"refresh_token_expires_at":0}}"#
        ),
        Shape::ExpiresAtRelative => format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{ACCESS_TTL},"scope":"boards:read","refresh_token":"{refresh}","refresh_token_expires_at":{REFRESH_TTL}}}"#
        ),
        Shape::Sparse => format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{ACCESS_TTL},"refresh_token":"{refresh}"}}"#
        ),
        Shape::Legacy => format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{ACCESS_TTL},"scope":"boards:read"}}"#
        ),
    }
}

/// Everything the processes share.
#[derive(Debug)]
pub(super) struct World {
    pub(super) kind: Kind,
    /// True time.
    pub(super) now: SystemTime,
    pub(super) disk: Disk,
    pub(super) redis: Redis,
    pub(super) pinterest: Pinterest,
    pub(super) save_faults: SaveFaults,
    /// Processes killed: a Redis lease they held is not released (it runs out).
    pub(super) dead: HashSet<Pid>,
    /// The process whose save was told to crash it.
    pub(super) crash_after_save: Option<Pid>,
}

/// How long a lease lasts unless renewed.
pub(super) const LEASE: Duration = Duration::from_secs(15);

impl World {
    pub(super) fn new(kind: Kind, now: SystemTime) -> World {
        World {
            kind,
            now,
            disk: Disk::default(),
            redis: Redis::default(),
            pinterest: Pinterest::default(),
            save_faults: SaveFaults::default(),
            dead: HashSet::new(),
            crash_after_save: None,
        }
    }

    /// Time passes: leases held by live processes are renewed (their renewal thread runs);
    /// others run out.
    pub(super) fn advance(&mut self, by: Duration) {
        self.now += by;
        if let Some((owner, pid, until)) = self.redis.lease
            && !self.dead.contains(&pid)
        {
            self.redis.lease = Some((owner, pid, until.max(self.now + LEASE)));
        }
        if let Some((_, _, until)) = self.redis.lease
            && until <= self.now
        {
            self.redis.lease = None;
        }
    }
}
