//! The one place raw system-call results become `io::Result`s. libc's calls (and
//! `syscall(2)`) return a negative value on failure and leave the cause in `errno`; every
//! call site goes through [`check`] instead of repeating that test.

use std::io;

/// A return value of a libc call: negative on failure.
pub(crate) trait ReturnCode: Copy {
    fn failed(self) -> bool;
}

impl ReturnCode for i32 {
    fn failed(self) -> bool {
        self < 0
    }
}

impl ReturnCode for i64 {
    fn failed(self) -> bool {
        self < 0
    }
}

impl ReturnCode for isize {
    fn failed(self) -> bool {
        self < 0
    }
}

/// `Ok(ret)` if the call succeeded, else the error `errno` holds. Allocates nothing, so it
/// is safe between `fork` and `exec`.
pub(crate) fn check<T: ReturnCode>(ret: T) -> io::Result<T> {
    if ret.failed() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn negative_results_carry_errno() {
        // SAFETY: close(2) on a descriptor number that is never open here.
        let closed = check(unsafe { libc::close(-1) });
        assert_eq!(closed.unwrap_err().raw_os_error(), Some(libc::EBADF));
        assert_eq!(check(0i64).unwrap(), 0);
        assert_eq!(check(7isize).unwrap(), 7);
    }
}
