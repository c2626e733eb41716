//! Splitting a runtime's output into log lines.
//!
//! A function controls what it writes: one line of a gigabyte, or a gigabyte of empty
//! lines. The splitter must cost the server time linear in the bytes it is given and
//! memory bounded whatever comes, so it scans only newly read bytes for newlines (never
//! what it already holds), carries at most one partial line, and cuts a line that reaches
//! Lambda's maximum log event size, [`MAX_LINE`], logging each piece as its own line, as
//! Lambda does. A cut never splits a UTF-8 character: the character's first bytes move to
//! the next piece.

use memchr::memchr;

/// Longest line logged whole: Lambda's maximum log event size, 256 KB. A longer line is
/// logged as several lines of at most this many bytes.
pub const MAX_LINE: usize = 256 * 1024;

/// A partial line's buffer is released once a line that made it grow past this ends, so
/// that one long line does not keep its memory for the environment's life.
const KEPT_CAPACITY: usize = 64 * 1024;

/// Cuts a byte stream into lines, without their newline.
#[derive(Default)]
pub struct LineSplitter {
    /// The start of a line whose end has not been read yet; never longer than [`MAX_LINE`].
    partial: Vec<u8>,
}

impl LineSplitter {
    pub fn new() -> Self {
        LineSplitter::default()
    }

    /// Bytes held for a line not finished yet.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Takes the next bytes of the stream, handing every line they complete (and every
    /// [`MAX_LINE`] piece of an overlong one) to `line`, in order. A trailing `\r` is
    /// removed from complete lines.
    pub fn feed(&mut self, bytes: &[u8], line: &mut impl FnMut(&[u8])) {
        let mut rest = bytes;
        while let Some(end) = memchr(b'\n', rest) {
            let head = &rest[..end];
            if self.partial.is_empty() && head.len() <= MAX_LINE {
                // The common case: a whole line inside what was just read, not copied.
                line(trim_cr(head));
            } else {
                self.extend(head, line);
                line(trim_cr(&self.partial));
                self.clear();
            }
            rest = &rest[end + 1..];
        }
        self.extend(rest, line);
    }

    /// The stream ended: the partial line, if any, is a line of its own.
    pub fn finish(&mut self, line: &mut impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            line(self.partial.trim_ascii_end());
            self.clear();
        }
    }

    /// Appends bytes to the partial line, cutting off each piece that reaches [`MAX_LINE`].
    fn extend(&mut self, mut bytes: &[u8], line: &mut impl FnMut(&[u8])) {
        while self.partial.len() + bytes.len() > MAX_LINE {
            if self.partial.is_empty() {
                let cut = char_boundary(&bytes[..MAX_LINE]);
                line(&bytes[..cut]);
                bytes = &bytes[cut..];
            } else {
                let room = MAX_LINE - self.partial.len();
                self.partial.extend_from_slice(&bytes[..room]);
                bytes = &bytes[room..];
                let cut = char_boundary(&self.partial);
                line(&self.partial[..cut]);
                // At most three bytes (a character's start) stay.
                self.partial.drain(..cut);
            }
        }
        self.partial.extend_from_slice(bytes);
    }

    fn clear(&mut self) {
        if self.partial.capacity() > KEPT_CAPACITY {
            self.partial = Vec::new();
        } else {
            self.partial.clear();
        }
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where to cut `piece` (a full [`MAX_LINE`]) so that a UTF-8 character begun in its last
/// three bytes is not split: before that character's first byte, else at the end.
fn char_boundary(piece: &[u8]) -> usize {
    let len = piece.len();
    for back in 1..=3.min(len) {
        let byte = piece[len - back];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte: look further back for the first byte
        }
        let width = match byte {
            0b1100_0000..=0b1101_1111 => 2,
            0b1110_0000..=0b1110_1111 => 3,
            0b1111_0000..=0b1111_0111 => 4,
            _ => 1,
        };
        return if width > back { len - back } else { len };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn split(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, LineSplitter) {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, &mut |l| lines.push(l.to_vec()));
        }
        (lines, splitter)
    }

    #[test]
    fn lines_across_reads_and_the_partial_one() {
        let (lines, mut splitter) = split(&[b"one\ntw", b"o\r\n\nthr", b"ee"]);
        assert_eq!(lines, vec![b"one".to_vec(), b"two".to_vec(), b"".to_vec()]);
        assert_eq!(splitter.pending(), 5);
        let mut last = Vec::new();
        splitter.finish(&mut |l| last.push(l.to_vec()));
        assert_eq!(last, vec![b"three".to_vec()]);
        assert_eq!(splitter.pending(), 0);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_one_line() {
        let mut line = vec![b'a'; MAX_LINE];
        line.push(b'\n');
        let (lines, splitter) = split(&[&line[..1000], &line[1000..]]);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(splitter.pending(), 0);
    }

    #[test]
    fn overlong_lines_are_cut_at_256_kb() {
        // 600 KB then a newline, read in odd-sized chunks: pieces of 256 KB, 256 KB, 88 KB.
        let mut stream = vec![b'x'; 600 * 1024];
        stream.push(b'\n');
        stream.extend_from_slice(b"next\n");
        let chunks: Vec<&[u8]> = stream.chunks(7777).collect();
        let (lines, splitter) = split(&chunks);
        let sizes: Vec<usize> = lines.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![MAX_LINE, MAX_LINE, 600 * 1024 - 2 * MAX_LINE, 4]);
        assert_eq!(splitter.pending(), 0);
        // In one read too.
        let (lines, _) = split(&[&stream]);
        assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), sizes);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // "é" is two bytes; an odd number of ASCII bytes first puts one across the cut.
        let mut stream = b"a".to_vec();
        for _ in 0..MAX_LINE {
            stream.extend_from_slice("é".as_bytes());
        }
        stream.push(b'\n');
        for chunks in [vec![&stream[..]], stream.chunks(4096).collect()] {
            let (lines, _) = split(&chunks);
            assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
            assert!(lines.iter().all(|l| std::str::from_utf8(l).is_ok()), "every piece is valid UTF-8");
            assert_eq!(lines[0].len(), MAX_LINE - 1);
            assert_eq!(lines.iter().map(Vec::len).sum::<usize>(), stream.len() - 1);
        }
    }

    #[test]
    fn char_boundary_cuts_before_an_unfinished_character() {
        assert_eq!(char_boundary(b"abc"), 3);
        assert_eq!(char_boundary("ab\u{e9}".as_bytes()), 4);
        assert_eq!(char_boundary(&"ab\u{e9}".as_bytes()[..3]), 2);
        assert_eq!(char_boundary(&"a\u{20ac}".as_bytes()[..3]), 1);
        assert_eq!(char_boundary(&"a\u{1f600}".as_bytes()[..4]), 1);
        assert_eq!(char_boundary("a\u{1f600}".as_bytes()), 5);
        // Not UTF-8 at all: cut where the limit says.
        assert_eq!(char_boundary(&[0x80, 0x80, 0x80, 0x80]), 4);
    }

    #[test]
    fn no_newline_at_all_is_linear_and_bounded() {
        // 64 MB without a newline in 8 KB reads, as a runtime writing flat out would give
        // them. Rescanning what is held on each read (the old copier) takes minutes.
        let chunk = vec![b'y'; 8192];
        let mut splitter = LineSplitter::new();
        let (mut count, mut bytes, mut held) = (0usize, 0usize, 0usize);
        let started = Instant::now();
        for _ in 0..(64 << 20) / chunk.len() {
            splitter.feed(&chunk, &mut |l| {
                count += 1;
                bytes += l.len();
            });
            held = held.max(splitter.partial.capacity());
        }
        let took = started.elapsed();
        // Every full piece is out; the last one waits in case more of its line comes.
        assert_eq!(count, (64 << 20) / MAX_LINE - 1);
        assert_eq!(bytes + splitter.pending(), 64 << 20);
        assert!(held <= 2 * MAX_LINE, "the partial line's buffer stays under 512 KB: {held}");
        assert!(took < Duration::from_secs(5), "64 MB took {took:?}");
    }

    #[test]
    fn many_empty_lines_are_linear() {
        let chunk = vec![b'\n'; 65536];
        let mut splitter = LineSplitter::new();
        let mut count = 0usize;
        let started = Instant::now();
        for _ in 0..64 {
            splitter.feed(&chunk, &mut |l| {
                assert!(l.is_empty());
                count += 1;
            });
        }
        assert_eq!(count, 64 * 65536);
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }
}
