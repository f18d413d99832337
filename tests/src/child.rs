//! Child processes of a test: killed when dropped, their output read line by line on a thread.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child killed when dropped (a failing test leaves no process behind).
#[derive(Debug)]
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines a child prints (on stdout, or any stream: its stderr), read on a thread of their
/// own.
pub fn lines(stdout: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                return;
            }
        }
    });
    receive
}

/// Starts `command` (its stdout piped) and reads its lines.
///
/// # Panics
///
/// When the command cannot start.
pub fn spawn(command: &mut Command) -> (Killed, mpsc::Receiver<String>) {
    let mut child = Killed(
        command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the child starts"),
    );
    let out = lines(child.0.stdout.take().expect("stdout is piped"));
    (child, out)
}

/// Every line until the output ends.
///
/// # Panics
///
/// When it has not ended within `limit`.
pub fn all_lines(receiver: &mpsc::Receiver<String>, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    loop {
        match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => out.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => return out,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("no end of output within {limit:?}; so far {out:?}")
            }
        }
    }
}
