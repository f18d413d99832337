//! A test allocator that looks for secrets in memory as it is freed.
//!
//! Install it in a test binary (safe code: the `unsafe` lives here) and watch a piece of work:
//!
//! ```
//! use wipe_check::{Pattern, Scanner};
//!
//! #[global_allocator]
//! static ALLOC: Scanner = Scanner;
//!
//! let session = wipe_check::session(&[Pattern::exact(b"hunter2-secret")]);
//! let ((), found) = session.watch(|| drop(b"hunter2-secret".to_vec()));
//! assert_eq!(found.blocks, 1, "a plain Vec is freed with the secret in it");
//! let ((), found) = session.watch(|| drop(zeroize::Zeroizing::new(b"hunter2-secret".to_vec())));
//! assert_eq!(found.blocks, 0, "a Zeroizing one is wiped first");
//! ```
//!
//! While a [`Session::watch`] runs, every block the watching thread allocates is filled with a
//! known byte (so every byte later read is initialized) and remembered. When a remembered block
//! is freed, by any thread, its bytes are searched for the session's [`Pattern`]s; a match is
//! counted. Blocks allocated before the watch, or by other threads, are never read. Sessions
//! are exclusive: one at a time per process.
//!
//! The only crate of the workspace with `unsafe` code: a global allocator cannot be written
//! without it. It is a dev-dependency of tests, never of a shipped crate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Blocks remembered at once; more are not tracked (see [`Found::untracked`]).
const CAPACITY: usize = 1 << 16;
/// What a watched block is filled with when allocated.
const FILL: u8 = 0xA5;
/// The most patterns per session, and the longest exact pattern.
const MAX_PATTERNS: usize = 8;
const MAX_LEN: usize = 256;
/// How much of a block with a secret is kept, to say what it was.
const SAMPLE: usize = 160;
/// How many such blocks are sampled.
const SAMPLES: usize = 16;

/// What to look for in freed memory.
#[derive(Clone, Copy, Debug)]
pub enum Pattern<'a> {
    /// These bytes, anywhere in the block.
    Exact(&'a [u8]),
    /// This prefix followed by at least `tail` bytes of a token alphabet (`A-Z a-z 0-9 - _ .
    /// ~ + /`): a token whose value is not known in advance.
    Token {
        /// The prefix, such as `pina_`.
        prefix: &'a [u8],
        /// The least number of token characters after it.
        tail: usize,
    },
}

impl<'a> Pattern<'a> {
    /// [`Pattern::Exact`].
    pub fn exact(bytes: &'a [u8]) -> Pattern<'a> {
        Pattern::Exact(bytes)
    }

    /// [`Pattern::Token`].
    pub fn token(prefix: &'a [u8], tail: usize) -> Pattern<'a> {
        Pattern::Token { prefix, tail }
    }
}

#[derive(Clone, Copy)]
struct Stored {
    bytes: [u8; MAX_LEN],
    len: usize,
    /// `None`: exact; `Some(n)`: a token prefix with at least `n` token characters after it.
    tail: Option<usize>,
}

impl Stored {
    const EMPTY: Stored = Stored {
        bytes: [0; MAX_LEN],
        len: 0,
        tail: None,
    };

    fn found_in(&self, block: &[u8]) -> bool {
        let needle = &self.bytes[..self.len];
        if needle.is_empty() || block.len() < needle.len() {
            return false;
        }
        (0..=block.len() - needle.len()).any(|at| {
            block[at..].starts_with(needle)
                && self.tail.is_none_or(|tail| {
                    block[at + needle.len()..]
                        .iter()
                        .take(tail)
                        .filter(|b| is_token_byte(**b))
                        .count()
                        == tail
                })
        })
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/')
}

struct State {
    patterns: [Stored; MAX_PATTERNS],
    pattern_count: usize,
    tracked: [usize; CAPACITY],
    tracked_len: usize,
    untracked: usize,
    found_blocks: usize,
    found_sizes: [usize; 32],
    samples: [[u8; SAMPLE]; SAMPLES],
}

impl State {
    const fn new() -> State {
        State {
            patterns: [Stored::EMPTY; MAX_PATTERNS],
            pattern_count: 0,
            tracked: [0; CAPACITY],
            tracked_len: 0,
            untracked: 0,
            found_blocks: 0,
            found_sizes: [0; 32],
            samples: [[0; SAMPLE]; SAMPLES],
        }
    }

    /// Back to a fresh session, in place (the table is too large for the stack).
    fn reset(&mut self, patterns: [Stored; MAX_PATTERNS], pattern_count: usize) {
        self.patterns = patterns;
        self.pattern_count = pattern_count;
        self.tracked_len = 0;
        self.untracked = 0;
        self.found_blocks = 0;
        self.found_sizes = [0; 32];
    }

    fn track(&mut self, address: usize) {
        if self.tracked_len < CAPACITY {
            self.tracked[self.tracked_len] = address;
            self.tracked_len += 1;
        } else {
            self.untracked += 1;
        }
    }

    /// Forgets `address`; whether it was tracked.
    fn untrack(&mut self, address: usize) -> bool {
        let live = &self.tracked[..self.tracked_len];
        match live.iter().rposition(|a| *a == address) {
            Some(at) => {
                self.tracked[at] = self.tracked[self.tracked_len - 1];
                self.tracked_len -= 1;
                true
            }
            None => false,
        }
    }

    fn scan(&mut self, block: &[u8]) {
        let hit = self.patterns[..self.pattern_count]
            .iter()
            .any(|p| p.found_in(block));
        if hit {
            if let Some(slot) = self.found_sizes.get_mut(self.found_blocks) {
                *slot = block.len();
            }
            if let Some(sample) = self.samples.get_mut(self.found_blocks) {
                let n = block.len().min(SAMPLE);
                sample[..n].copy_from_slice(&block[..n]);
                sample[n..].fill(0);
            }
            self.found_blocks += 1;
        }
    }
}

static STATE: Mutex<State> = Mutex::new(State::new());
/// Every thread is watched (see [`Session::watch_all`]).
static WATCH_ALL: AtomicBool = AtomicBool::new(false);
static SESSION: Mutex<()> = Mutex::new(());

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

fn watched() -> bool {
    WATCH_ALL.load(Ordering::Relaxed) || WATCHING.with(Cell::get)
}

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The allocator: the system allocator, plus the watching described in the crate docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scanner;

#[allow(unsafe_code)]
// SAFETY (whole impl): every call is forwarded to `System` with the caller's layout and
// pointer; the extra work only writes to a block this allocator just obtained (the fill) and
// reads a block about to be freed whose every byte was initialized by that fill or since.
unsafe impl GlobalAlloc for Scanner {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && watched() {
            // SAFETY: `ptr` points to `layout.size()` writable bytes just allocated.
            unsafe { std::ptr::write_bytes(ptr, FILL, layout.size()) };
            state().track(ptr as usize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && watched() {
            state().track(ptr as usize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        {
            let mut state = state();
            if state.tracked_len > 0 && state.untrack(ptr as usize) {
                // SAFETY: a tracked block was filled (or zeroed) when allocated, so all of its
                // `layout.size()` bytes are initialized; it is still allocated here.
                let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
                state.scan(block);
            }
        }
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// What a watch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Blocks freed with a pattern in them.
    pub blocks: usize,
    /// Their sizes (the first 32).
    pub sizes: Vec<usize>,
    /// Blocks allocated while watching but not tracked (the table was full): `0` for a
    /// conclusive watch.
    pub untracked: usize,
    /// The first bytes of the first 16 such blocks (fill bytes and NULs shown as `.`), to tell
    /// which buffer it was. They hold the secret: print them only for test values.
    pub samples: Vec<String>,
}

/// An exclusive scanning session (see the crate docs); ends when dropped.
#[derive(Debug)]
pub struct Session {
    _exclusive: MutexGuard<'static, ()>,
}

/// Starts a session looking for `patterns` (at most 8, exact ones at most 256 bytes).
///
/// # Panics
///
/// With more than 8 patterns or a longer one: a mistake in the test.
pub fn session(patterns: &[Pattern<'_>]) -> Session {
    assert!(
        patterns.len() <= MAX_PATTERNS,
        "at most {MAX_PATTERNS} patterns"
    );
    let exclusive = SESSION.lock().unwrap_or_else(PoisonError::into_inner);
    let mut stored = [Stored::EMPTY; MAX_PATTERNS];
    for (slot, pattern) in stored.iter_mut().zip(patterns) {
        let (bytes, tail) = match *pattern {
            Pattern::Exact(bytes) => (bytes, None),
            Pattern::Token { prefix, tail } => (prefix, Some(tail)),
        };
        assert!(
            bytes.len() <= MAX_LEN,
            "patterns are at most {MAX_LEN} bytes"
        );
        slot.bytes[..bytes.len()].copy_from_slice(bytes);
        slot.len = bytes.len();
        slot.tail = tail;
    }
    state().reset(stored, patterns.len());
    Session {
        _exclusive: exclusive,
    }
}

impl Session {
    /// Runs `work` with this thread watched; what was freed with a pattern in it meanwhile
    /// (by any thread, among blocks this thread allocated during this session's watches).
    pub fn watch<R>(&self, work: impl FnOnce() -> R) -> (R, Found) {
        self.run(
            work,
            || WATCHING.with(|w| w.set(true)),
            || WATCHING.with(|w| w.set(false)),
        )
    }

    /// Runs `work` with every thread of the process watched (threads `work` starts included);
    /// only for work no other code of the process runs beside, such as an in-process server
    /// holding the same secrets.
    pub fn watch_all<R>(&self, work: impl FnOnce() -> R) -> (R, Found) {
        self.run(
            work,
            || WATCH_ALL.store(true, Ordering::SeqCst),
            || WATCH_ALL.store(false, Ordering::SeqCst),
        )
    }

    fn run<R>(
        &self,
        work: impl FnOnce() -> R,
        on: impl FnOnce(),
        off: impl FnOnce(),
    ) -> (R, Found) {
        {
            let mut state = state();
            state.found_blocks = 0;
            state.found_sizes = [0; 32];
        }
        on();
        let result = work();
        off();
        let state = state();
        let (blocks, untracked) = (state.found_blocks, state.untracked);
        let sizes = state.found_sizes[..blocks.min(32)].to_vec();
        let samples = state.samples[..blocks.min(SAMPLES)]
            .iter()
            .map(|s| {
                s.iter()
                    .map(|b| match b {
                        0x20..=0x7e => *b as char,
                        _ => '.',
                    })
                    .collect()
            })
            .collect();
        drop(state);
        (
            result,
            Found {
                blocks,
                sizes,
                untracked,
                samples,
            },
        )
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        state().reset([Stored::EMPTY; MAX_PATTERNS], 0);
    }
}
