//! Writing to stdout and stderr without ever panicking: `println!` panics when stdout is a
//! closed pipe (`pinterest-oauth token | head -c0`), which would end the command with exit
//! 101 after the rotated set was saved. `out!` reports the failure as an error (exit 1);
//! `note!` writes what a person reads on stderr and ignores a stderr nobody reads.

/// Writes a line to stdout; `Err(CliError::Output)` when it cannot be written.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, $($arg)*)
            .and_then(|()| stdout.flush())
            .map_err($crate::error::CliError::Output)
    }};
}

/// Writes text to stdout as is (no newline added); `Err(CliError::Output)` when it cannot be
/// written.
macro_rules! out_raw {
    ($text:expr) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(::std::convert::AsRef::<[u8]>::as_ref(&$text))
            .and_then(|()| stdout.flush())
            .map_err($crate::error::CliError::Output)
    }};
}

/// Writes a line to stderr; a stderr that cannot be written to is ignored.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub(crate) use {note, out, out_raw};
