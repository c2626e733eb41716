//! The encoding of the messages between the server and the processes it starts sandboxes
//! through (the starter, each activator): a sequence of length-prefixed byte strings, so
//! any path, argument or environment value passes through unchanged.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

#[derive(Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(value);
        self
    }

    pub fn number(&mut self, value: u64) -> &mut Self {
        self.bytes(value.to_string().as_bytes())
    }

    pub fn os(&mut self, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.bytes(value.as_ref().as_bytes())
    }

    pub fn os_list<T: AsRef<std::ffi::OsStr>>(&mut self, values: &[T]) -> &mut Self {
        self.number(values.len() as u64);
        for value in values {
            self.os(value);
        }
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads a message; `what` names it in errors.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { rest: bytes, what }
    }

    pub fn invalid(&self, detail: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {detail}", self.what))
    }

    pub fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let (len, rest) = self.rest.split_first_chunk::<4>().ok_or_else(|| self.invalid("truncated"))?;
        let (value, rest) = rest
            .split_at_checked(u32::from_le_bytes(*len) as usize)
            .ok_or_else(|| self.invalid("truncated"))?;
        self.rest = rest;
        Ok(value)
    }

    pub fn text(&mut self) -> io::Result<&'a str> {
        let raw = self.bytes()?;
        std::str::from_utf8(raw).map_err(|_| self.invalid("not UTF-8"))
    }

    pub fn number<T: std::str::FromStr>(&mut self) -> io::Result<T> {
        let text = self.text()?;
        text.parse().map_err(|_| self.invalid("not a number"))
    }

    pub fn os(&mut self) -> io::Result<OsString> {
        Ok(OsString::from_vec(self.bytes()?.to_vec()))
    }

    pub fn os_list(&mut self) -> io::Result<Vec<OsString>> {
        let count: usize = self.number()?;
        (0..count).map(|_| self.os()).collect()
    }

    /// Fails if anything is left over.
    pub fn end(&self) -> io::Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.invalid("trailing bytes"))
        }
    }
}
