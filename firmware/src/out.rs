//! Output lines over semihosting, in the format `host/src/firmware/check.rs` parses, and the error
//! codes the firmware reports.

use core::fmt::Write;
use cortex_m_semihosting::hprintln;
use edgeml_core::Error;
use heapless::String;

/// Prints `key class v0 v1 …` as one line (one semihosting call).
pub fn prediction(key: core::fmt::Arguments<'_>, class: usize, values: &[f32]) {
    let mut line: String<512> = String::new();
    let mut fits = write!(line, "{key} {class}").is_ok();
    for v in values {
        fits &= write!(line, " {v}").is_ok();
    }
    if fits {
        hprintln!("{}", line);
    } else {
        hprintln!("{} {} (values do not fit the line buffer)", key, class);
    }
}

/// A small number per error kind, printed instead of the message (keeps `.text` small).
pub fn code(error: &Error) -> u8 {
    match error {
        Error::ShapeMismatch { .. } => 1,
        Error::BufferTooSmall { .. } => 2,
        Error::CapacityExceeded { .. } => 3,
        Error::RankTooHigh { .. } => 4,
        Error::WrongRank { .. } => 5,
        Error::SizeOverflow => 6,
        Error::NonFinite { .. } => 7,
        Error::Empty => 8,
        Error::InvalidParameter { .. } => 9,
        Error::Corrupt { .. } => 10,
        _ => 11,
    }
}

/// Index of the first largest value (the exporter's rule too).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if values.get(best).is_some_and(|&b| v > b) {
            best = i;
        }
    }
    best
}
