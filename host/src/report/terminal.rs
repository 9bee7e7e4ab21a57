//! What the terminal gets, set once by the binary: summaries as text, as JSON lines, or nothing
//! on stdout (`--quiet`, which also turns progress and notes on stderr off).

use std::sync::atomic::{AtomicU8, Ordering};

/// The terminal output mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A short text block per experiment on stdout; progress and notes on stderr.
    Text,
    /// One JSON object per experiment on stdout; progress and notes on stderr.
    Json,
    /// Nothing on stdout; only errors and warnings on stderr.
    Quiet,
}

static MODE: AtomicU8 = AtomicU8::new(0);

const fn code(mode: Mode) -> u8 {
    match mode {
        Mode::Text => 0,
        Mode::Json => 1,
        Mode::Quiet => 2,
    }
}

/// Sets the mode for the rest of the process (the binary does this once, from its flags).
pub fn set_mode(mode: Mode) {
    MODE.store(code(mode), Ordering::Relaxed);
}

/// The current mode ([`Mode::Text`] unless [`set_mode`] said otherwise).
pub fn mode() -> Mode {
    match MODE.load(Ordering::Relaxed) {
        1 => Mode::Json,
        2 => Mode::Quiet,
        _ => Mode::Text,
    }
}

/// Whether progress and notes go to stderr (not with `--quiet`).
pub fn chatty() -> bool {
    mode() != Mode::Quiet
}

/// Prints `message` on stderr unless the mode is [`Mode::Quiet`]: progress notes, never errors.
pub fn note(message: impl std::fmt::Display) {
    if chatty() {
        eprintln!("{message}");
    }
}

/// Prints `warning: {message}` on stderr in every mode.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("warning: {message}");
}
