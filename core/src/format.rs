//! The byte container every model file shares: a 4-byte magic, a `u16` version, the
//! format's fields little-endian, and a trailing CRC-32 (IEEE) of every byte before it.
//!
//! [`Writer`] fills a caller buffer and counts bytes past its end, so a format computes its
//! length the same way it writes; [`Reader`] takes bounded little-endian fields from a byte
//! slice. Every read past the end is `Error::Corrupt { reason: "truncated" }`; a checksum
//! that disagrees is `Error::Corrupt { reason: "checksum mismatch" }`.

use crate::error::{Error, Result};

/// Bytes of the trailing checksum.
pub const CHECKSUM_LEN: usize = 4;

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320, as in zlib) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// `Error::Corrupt` with `reason`.
pub const fn corrupt(reason: &'static str) -> Error {
    Error::Corrupt { reason }
}

/// Checks the trailing CRC-32 of `bytes` and returns the bytes before it. Errors: `Corrupt`
/// ("truncated" under [`CHECKSUM_LEN`] bytes, "checksum mismatch").
pub fn verify_checksum(bytes: &[u8]) -> Result<&[u8]> {
    let body_len = bytes
        .len()
        .checked_sub(CHECKSUM_LEN)
        .ok_or(corrupt("truncated"))?;
    let (body, stored) = bytes.split_at(body_len);
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    if crc32(body) != stored {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(body)
}

/// Checks the checksum, then the magic and the exact version, of a file and returns a
/// [`Reader`] over the fields after them (checksum excluded). Errors: `Corrupt` ("truncated",
/// "checksum mismatch", "bad magic", "unsupported version").
pub fn open<'a>(bytes: &'a [u8], magic: &[u8; 4], version: u16) -> Result<Reader<'a>> {
    let mut r = Reader::new(verify_checksum(bytes)?);
    if r.take(4)? != magic {
        return Err(corrupt("bad magic"));
    }
    if r.u16()? != version {
        return Err(corrupt("unsupported version"));
    }
    Ok(r)
}

/// Bounded little-endian reads from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// The bytes not read yet.
    pub const fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// The next `n` bytes (`Corrupt` "truncated" when fewer remain).
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(corrupt("truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The next byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// The next little-endian `u16`.
    pub fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// The next little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// The next little-endian `i32`.
    pub fn i32(&mut self) -> Result<i32> {
        self.array().map(i32::from_le_bytes)
    }

    /// The next little-endian `f32` (bits as stored, NaN included).
    pub fn f32(&mut self) -> Result<f32> {
        self.array().map(f32::from_le_bytes)
    }
}

/// Little-endian writes into a caller buffer. Bytes past the end of the buffer are counted
/// but dropped, so [`Writer::position`] is the length the whole file needs.
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `out`.
    pub fn new(out: &'a mut [u8]) -> Self {
        Writer { out, at: 0 }
    }

    /// A writer at the start of `out` that has written `magic` and `version`.
    pub fn with_header(out: &'a mut [u8], magic: &[u8; 4], version: u16) -> Self {
        let mut w = Writer::new(out);
        w.put(magic);
        w.u16(version);
        w
    }

    /// Bytes written or counted so far.
    pub const fn position(&self) -> usize {
        self.at
    }

    /// Writes `bytes` (dropped where they pass the end of the buffer).
    pub fn put(&mut self, bytes: &[u8]) {
        if let Some(slot) = self.slot(bytes.len()) {
            slot.copy_from_slice(bytes);
        }
    }

    /// The next `n` bytes of the buffer to fill in place (`None` past its end); the position
    /// advances by `n` either way.
    pub fn slot(&mut self, n: usize) -> Option<&mut [u8]> {
        let at = self.at;
        self.at = at.saturating_add(n);
        self.out.get_mut(at..at.checked_add(n)?)
    }

    /// The byte at absolute offset `index` (`None` past the end), to fill ahead of the
    /// position; the position does not move.
    pub fn byte_mut(&mut self, index: usize) -> Option<&mut u8> {
        self.out.get_mut(index)
    }

    /// Advances the position by `n` bytes, leaving them as they are.
    pub fn skip(&mut self, n: usize) {
        self.at = self.at.saturating_add(n);
    }

    /// Writes a little-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        self.put(&v.to_le_bytes());
    }

    /// Writes a little-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }

    /// Writes a little-endian `i32`.
    pub fn i32(&mut self, v: i32) {
        self.put(&v.to_le_bytes());
    }

    /// Writes a little-endian `f32`.
    pub fn f32(&mut self, v: f32) {
        self.put(&v.to_le_bytes());
    }

    /// Appends the CRC-32 of the bytes written so far (of none when the buffer is shorter
    /// than the position) and returns the final position.
    pub fn finish(mut self) -> usize {
        let crc = crc32(self.out.get(..self.at).unwrap_or_default());
        self.u32(crc);
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time CRC-32, straight from the polynomial: the reference for the table.
    fn crc32_bitwise(bytes: &[u8]) -> u32 {
        let mut crc = u32::MAX;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn crc32_matches_the_standard_check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn crc32_table_agrees_with_the_bitwise_definition() {
        let bytes: [u8; 300] = core::array::from_fn(|i| (i * 37 + 11) as u8);
        for n in [0, 1, 2, 7, 64, 255, 300] {
            assert_eq!(crc32(&bytes[..n]), crc32_bitwise(&bytes[..n]), "length {n}");
        }
    }

    #[test]
    fn reader_reads_little_endian_and_stops_at_the_end() {
        let bytes = [1u8, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0, 0, 0x80, 0x3F, 9];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(0x1234));
        assert_eq!(r.u32(), Ok(0x1234_5678));
        assert_eq!(r.f32(), Ok(1.0));
        assert_eq!(r.rest(), &[9]);
        assert_eq!(r.u16(), Err(corrupt("truncated")));
        assert_eq!(r.rest(), &[9], "a failed read consumes nothing");
        assert_eq!(r.take(usize::MAX), Err(corrupt("truncated")));
        assert_eq!(r.u8(), Ok(9));
        assert_eq!(r.u8(), Err(corrupt("truncated")));
        assert_eq!(r.take(0), Ok(&[][..]));
        assert_eq!(Reader::new(&[0xFF; 4]).i32(), Ok(-1));
    }

    #[test]
    fn writer_counts_past_the_end_and_writes_what_fits() {
        let mut buf = [0u8; 6];
        let mut w = Writer::new(&mut buf);
        w.u16(0xBEEF);
        w.u32(0x0102_0304);
        w.f32(2.0);
        assert_eq!(w.position(), 10);
        assert!(w.slot(usize::MAX).is_none());
        assert_eq!(buf, [0xEF, 0xBE, 4, 3, 2, 1]);
    }

    #[test]
    fn checksummed_files_round_trip_and_reject_any_flipped_bit() {
        let mut buf = [0u8; 12];
        let mut w = Writer::with_header(&mut buf, b"TEST", 3);
        w.u16(0xABCD);
        assert_eq!(w.finish(), 12);
        assert_eq!(&buf[..8], b"TEST\x03\x00\xCD\xAB");
        assert_eq!(
            u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]),
            crc32_bitwise(&buf[..8])
        );
        let mut r = open(&buf, b"TEST", 3).unwrap();
        assert_eq!(r.u16(), Ok(0xABCD));
        assert!(r.rest().is_empty());
        assert_eq!(
            open(&buf, b"TEST", 4).err(),
            Some(corrupt("unsupported version"))
        );
        assert_eq!(open(&buf, b"TSET", 3).err(), Some(corrupt("bad magic")));
        assert_eq!(
            open(&buf[..3], b"TEST", 3).err(),
            Some(corrupt("truncated"))
        );
        for bit in 0..buf.len() * 8 {
            let mut bad = buf;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                open(&bad, b"TEST", 3).err(),
                Some(corrupt("checksum mismatch")),
                "bit {bit}"
            );
        }
    }
}
