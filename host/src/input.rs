//! Reading a model file for the command line: a path or `-` for stdin, gzip-compressed or not
//! (told by the gzip magic bytes, whatever the name), never more than a bound, so a huge file
//! or a gzip bomb is an error naming the source instead of an unbounded allocation.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// Most bytes read from a source, after decompression (256 MiB).
pub const MAX_BYTES: u64 = 256 << 20;

/// The two bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A read failure: the source (a path, or `stdin`) and why.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {reason}")]
pub struct InputError {
    /// The path, or `stdin` for `-`.
    pub source_name: String,
    /// What went wrong.
    pub reason: String,
}

/// Whether `path` means stdin (or stdout, for an output): `-`.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The name errors use for `path`: `stdin` for `-`, else the path.
pub fn display_name(path: &Path) -> String {
    if is_stdio(path) {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

/// Whether `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads at most `limit` bytes from `reader`; more is an error saying so.
fn read_limited(reader: impl Read, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("{what} larger than the {limit} bytes accepted"));
    }
    Ok(out)
}

/// The bytes of `path` (`-`: stdin), decompressed when they are gzip, at most `limit` bytes
/// before and after decompression.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let fail = |reason: String| InputError {
        source_name: display_name(path),
        reason,
    };
    let raw = if is_stdio(path) {
        read_limited(std::io::stdin().lock(), limit, "input").map_err(fail)?
    } else {
        let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        read_limited(file, limit, "file").map_err(fail)?
    };
    if !is_gzip(&raw) {
        return Ok(raw);
    }
    read_limited(MultiGzDecoder::new(&raw[..]), limit, "decompressed data").map_err(fail)
}

/// [`read_bounded`] with the default bound [`MAX_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, InputError> {
    read_bounded(path, MAX_BYTES)
}

/// Writes `bytes` to `path`, or to stdout for `-`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), InputError> {
    let fail = |e: std::io::Error| InputError {
        source_name: if is_stdio(path) {
            "stdout".into()
        } else {
            path.display().to_string()
        },
        reason: format!("cannot write: {e}"),
    };
    if is_stdio(path) {
        let mut stdout = std::io::stdout().lock();
        std::io::Write::write_all(&mut stdout, bytes)
            .and_then(|()| std::io::Write::flush(&mut stdout))
            .map_err(fail)
    } else {
        std::fs::write(path, bytes).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("in-memory write");
        encoder.finish().expect("in-memory gzip")
    }

    #[test]
    fn reads_plain_and_gzip_alike_and_bounds_both() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = b"tree\nversion=v4\n".repeat(100);
        let plain = dir.path().join("model.txt");
        std::fs::write(&plain, &text).expect("write");
        // Named without .gz: detected by the magic bytes.
        let packed = dir.path().join("model.bin");
        std::fs::write(&packed, gzip(&text)).expect("write");
        assert_eq!(read(&plain).expect("plain"), text);
        assert_eq!(read(&packed).expect("gzip"), text);
        let limit = text.len() as u64 - 1;
        let err = read_bounded(&plain, limit).expect_err("plain over the bound");
        assert!(err.to_string().contains("model.txt"), "{err}");
        let err = read_bounded(&packed, limit).expect_err("decompressed over the bound");
        assert!(err.to_string().contains("decompressed"), "{err}");
        assert_eq!(
            read_bounded(&packed, text.len() as u64).expect("at the bound"),
            text
        );
    }

    #[test]
    fn bomb_and_corrupt_gzip_are_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        // 64 gzip members of 1 MiB of zeros each (about 64 KiB on disk): 64 MiB unpacked.
        let bomb = dir.path().join("bomb.gz");
        std::fs::write(&bomb, gzip(&vec![0u8; 1 << 20]).repeat(64)).expect("write");
        let err = read_bounded(&bomb, 1 << 20).expect_err("bomb");
        assert!(err.to_string().contains("bomb.gz"), "{err}");
        let truncated = dir.path().join("cut.gz");
        let full = gzip(b"some model text");
        std::fs::write(&truncated, &full[..full.len() / 2]).expect("write");
        let err = read(&truncated).expect_err("truncated gzip");
        assert!(err.to_string().contains("cut.gz"), "{err}");
        let missing = dir.path().join("absent.txt");
        assert!(read(&missing)
            .expect_err("missing")
            .to_string()
            .contains("absent.txt"));
    }
}
