//! Reading events: large reads split into lines in place, validated as
//! UTF-8 a block at a time, with `BufRead::read_line`'s answers (the same
//! lines, the same error at the same line).

use std::io::{self, Read};
use std::sync::Arc;

/// Lines of a reader, a block of complete lines at a time.
pub struct Blocks<R> {
    inner: R,
    buf: Vec<u8>,
    /// `buf[start..end]` is read but not yet handed out.
    start: usize,
    end: usize,
    eof: bool,
    /// The lines handed out last stopped before invalid UTF-8.
    invalid: bool,
}

const BLOCK: usize = 1 << 18;

impl<R: Read> Blocks<R> {
    pub fn new(inner: R) -> Self {
        Blocks {
            inner,
            buf: vec![0; BLOCK],
            start: 0,
            end: 0,
            eof: false,
            invalid: false,
        }
    }

    /// The next complete lines (each ending with `\n`, but the last line
    /// of the input may not); `None` at the end.
    ///
    /// # Errors
    ///
    /// A read error, or invalid UTF-8 (after the valid lines before it).
    pub fn next_block(&mut self) -> io::Result<Option<&str>> {
        if self.invalid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ));
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let mut searched = 0;
        let complete = loop {
            if let Some(nl) =
                self.buf[searched..self.end].iter().rposition(|&b| b == b'\n')
            {
                break searched + nl + 1;
            }
            searched = self.end;
            if self.eof {
                if self.end == 0 {
                    return Ok(None);
                }
                break self.end;
            }
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        let valid = match std::str::from_utf8(&self.buf[..complete]) {
            Ok(_) => complete,
            Err(e) => {
                // Hand out the lines before the bad one, then fail.
                self.invalid = true;
                let good = &self.buf[..e.valid_up_to()];
                good.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1)
            }
        };
        self.start = valid;
        if valid == 0 && self.invalid {
            return self.next_block();
        }
        match std::str::from_utf8(&self.buf[..valid]) {
            Ok(text) => Ok(Some(text)),
            // Cannot happen: checked above.
            Err(_) => Err(io::Error::from(io::ErrorKind::InvalidData)),
        }
    }
}

/// The lines of a block, without their line ends (`\n`, and any `\r`
/// before it, as `read_line` and `trim_end_matches(['\n', '\r'])`).
pub fn lines(block: &str) -> impl Iterator<Item = &str> {
    line_ranges(block).map(|r| &block[r])
}

/// Where the [`lines`] of `block` are.
pub fn line_ranges(
    block: &str,
) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = &block[at..];
        if rest.is_empty() {
            return None;
        }
        let (len, next) = match find_newline(rest.as_bytes()) {
            Some(nl) => (nl, at + nl + 1),
            None => (rest.len(), block.len()),
        };
        // A newline is ASCII: both sides are char boundaries, and so is
        // the end of the trimmed line.
        let line = rest[..len].trim_end_matches(['\n', '\r']);
        let range = at..at + line.len();
        at = next;
        Some(range)
    })
}

/// Calls `f` with every line of `block` as a range of the text it shares
/// with the other lines of its piece (see [`pieces`]): one allocation per
/// piece, not per line. Stops at the first error `f` returns.
pub fn for_each_shared_line<E>(
    block: &str,
    size: usize,
    mut f: impl FnMut(&Arc<str>, std::ops::Range<usize>) -> Result<(), E>,
) -> Result<(), E> {
    for piece in pieces(block, size) {
        let shared: Arc<str> = piece.into();
        for range in line_ranges(&shared) {
            f(&shared, range)?;
        }
    }
    Ok(())
}

/// `block` cut into pieces of whole lines, each of `size` bytes or less
/// unless one line is longer (then it is a piece of its own): the
/// [`lines`] of the pieces are the lines of the block. Events share the
/// text of their piece, so small pieces keep little text alive for the
/// events a partial match holds.
pub fn pieces(block: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = block;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let b = rest.as_bytes();
        let cut = match b.get(..size) {
            None => b.len(),
            Some(head) => match head.iter().rposition(|&c| c == b'\n') {
                Some(nl) => nl + 1,
                None => find_newline(&b[size..])
                    .map_or(b.len(), |nl| size + nl + 1),
            },
        };
        // Just after a newline (ASCII) or at the end: a char boundary.
        let (piece, after) = rest.split_at(cut);
        rest = after;
        Some(piece)
    })
}

/// The first `\n`, eight bytes at a time.
fn find_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        let zero = v.wrapping_sub(ONES) & !v & HIGH;
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'\n').map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;

    use super::*;

    /// A reader handing out a few bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn ours(input: &[u8], step: usize) -> (Vec<String>, bool) {
        let mut blocks = Blocks::new(Trickle(input, step));
        let mut out = Vec::new();
        loop {
            match blocks.next_block() {
                Ok(Some(block)) => {
                    out.extend(lines(block).map(str::to_owned));
                }
                Ok(None) => return (out, false),
                Err(_) => return (out, true),
            }
        }
    }

    fn std_lines(input: &[u8]) -> (Vec<String>, bool) {
        let mut r = io::BufReader::new(input);
        let mut out = Vec::new();
        let mut buf = String::new();
        loop {
            buf.clear();
            match r.read_line(&mut buf) {
                Ok(0) => return (out, false),
                Ok(_) => {
                    out.push(buf.trim_end_matches(['\n', '\r']).to_owned());
                }
                Err(_) => return (out, true),
            }
        }
    }

    #[test]
    fn the_lines_read_line_gives() {
        let long = "x".repeat(BLOCK * 2 + 5);
        let inputs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\n".to_vec(),
            b"a".to_vec(),
            b"a\nb".to_vec(),
            b"a\nb\n".to_vec(),
            b"a\r\n\r\nb\r\r\n\n".to_vec(),
            b"\xc3\xa9t\xc3\xa9\n\xf0\x9f\x98\x80 12345678\n".to_vec(),
            b"ok\nok2\nbad\xff\nafter\n".to_vec(),
            b"ok\n\xc3".to_vec(),
            b"\xff".to_vec(),
            format!("a\n{long}\nb").into_bytes(),
            (0..5000)
                .map(|i| format!("line {i}\n"))
                .collect::<String>()
                .into_bytes(),
        ];
        for input in &inputs {
            let want = std_lines(input);
            for step in [1, 3, 7, 64, 1 << 20] {
                assert_eq!(
                    ours(input, step),
                    want,
                    "{:?} by {step}",
                    String::from_utf8_lossy(&input[..input.len().min(40)])
                );
            }
        }
    }

    #[test]
    fn pieces_hold_whole_lines() {
        let text: String = (0..500)
            .map(|i| {
                format!("{}{}", "x".repeat(i % 37), ["\n", "\r\n"][i % 2])
            })
            .collect::<String>()
            + "last";
        let want: Vec<&str> = lines(&text).collect();
        for size in [1, 2, 10, 64, 100, 4096, 1 << 20] {
            let mut got = Vec::new();
            for piece in pieces(&text, size) {
                let newlines = piece.bytes().filter(|&b| b == b'\n').count();
                assert!(piece.len() <= size || newlines <= 1, "{size}");
                got.extend(lines(piece));
            }
            assert_eq!(got, want, "{size}");
        }
        assert_eq!(pieces("", 8).count(), 0);
    }

    #[test]
    fn newlines_found() {
        for n in 0..40 {
            let mut b = vec![b'a'; n];
            assert_eq!(find_newline(&b), None);
            for at in 0..n {
                b[at] = b'\n';
                assert_eq!(find_newline(&b), Some(at));
                b[at] = 0x8a;
            }
        }
    }
}
