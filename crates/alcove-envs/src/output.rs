//! Copying a runtime's stdout and stderr into its log stream, in order with the
//! platform's own `START` / `END` / `REPORT` lines.
//!
//! A runtime writes its output before it posts the invocation's response, so when the
//! response arrives those bytes are already in the pipe. [`Output::settle`] asks each
//! copier to read everything the pipe holds *now* (non-blocking reads on the pipe, which
//! tokio keeps in non-blocking mode, until `EAGAIN`) and waits for it: lines the function
//! printed always land before `END`, and in the `LogType: Tail` capture, without guessing
//! how long a reader task needs. Between settles, the copier reads as tokio wakes it.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot};

use crate::logs::LogStream;

/// Longest a settle waits for one pipe (a copier stuck on a full log disk must not hang
/// invocations).
const SETTLE_LIMIT: Duration = Duration::from_millis(200);

/// Most a settle reads from one pipe.
const SETTLE_BYTES: usize = 4 << 20;

type Barrier = oneshot::Sender<()>;

/// The copiers of one environment's output pipes.
pub struct Output {
    copiers: Vec<mpsc::UnboundedSender<Barrier>>,
}

impl Output {
    pub fn new() -> Output {
        Output { copiers: Vec::new() }
    }

    /// Starts copying `pipe` (the runtime's stdout or stderr) into `log`.
    pub fn copy<P>(&mut self, pipe: P, log: Arc<LogStream>)
    where
        P: AsyncRead + AsFd + Unpin + Send + 'static,
    {
        let (barriers, requests) = mpsc::unbounded_channel();
        tokio::spawn(copy(pipe, log, requests));
        self.copiers.push(barriers);
    }

    /// Returns once everything written to the pipes before this call is in the log.
    pub async fn settle(&self) {
        for copier in &self.copiers {
            let (done, settled) = oneshot::channel();
            if copier.send(done).is_ok() {
                let _ = tokio::time::timeout(SETTLE_LIMIT, settled).await;
            }
        }
    }
}

/// What a pipe had to give.
enum Drained {
    /// Everything available was read; the writer may write more.
    Dry,
    /// The writer is gone.
    Closed,
}

/// Reads what `pipe` holds now, logging each complete line; a partial line waits in
/// `pending` for its end.
fn drain(pipe: &impl AsFd, pending: &mut Vec<u8>, log: &LogStream) -> Drained {
    let mut buffer = [0u8; 8192];
    let mut taken = 0;
    loop {
        if taken >= SETTLE_BYTES {
            // A runtime still writing as fast as we read: what it wrote before the
            // settle is in (a pipe holds far less than this), the rest follows as usual.
            return Drained::Dry;
        }
        match nix::unistd::read(pipe.as_fd(), &mut buffer) {
            Ok(0) => return Drained::Closed,
            Ok(n) => {
                taken += n;
                take_lines(pending, &buffer[..n], log);
            }
            Err(Errno::EAGAIN) => return Drained::Dry,
            Err(Errno::EINTR) => continue,
            Err(_) => return Drained::Closed,
        }
    }
}

/// Appends `bytes` to `pending` and logs every line it completes.
fn take_lines(pending: &mut Vec<u8>, bytes: &[u8], log: &LogStream) {
    pending.extend_from_slice(bytes);
    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = pending.drain(..=end).collect();
        log.line(String::from_utf8_lossy(&line[..end]).trim_end_matches('\r'));
    }
}

async fn copy<P>(mut pipe: P, log: Arc<LogStream>, mut barriers: mpsc::UnboundedReceiver<Barrier>)
where
    P: AsyncRead + AsFd + Unpin,
{
    let mut pending = Vec::new();
    let mut buffer = vec![0u8; 8192];
    let mut listening = true;
    loop {
        tokio::select! {
            read = pipe.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => take_lines(&mut pending, &buffer[..n], &log),
            },
            barrier = barriers.recv(), if listening => match barrier {
                Some(done) => {
                    let closed = matches!(drain(&pipe, &mut pending, &log), Drained::Closed);
                    let _ = done.send(());
                    if closed {
                        break;
                    }
                }
                None => listening = false,
            },
        }
    }
    if !pending.is_empty() {
        log.line(String::from_utf8_lossy(&pending).trim_end());
    }
    // Answer whoever is still waiting: nothing more will come.
    barriers.close();
    while let Ok(done) = barriers.try_recv() {
        let _ = done.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[tokio::test]
    async fn settle_takes_whole_lines_written_so_far() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(LogStream::create(dir.path(), "f", "$LATEST", "env"));
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", "printf 'one\\ntwo\\npartial'; exec sleep 5"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut output = Output::new();
        output.copy(child.stdout.take().unwrap(), Arc::clone(&log));
        // Let the shell write; `settle` must then see both lines however the reader was scheduled.
        std::thread::sleep(Duration::from_millis(300));
        output.settle().await;
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.contains("one\ntwo\n"), "{text}");
        assert!(!text.contains("partial"), "a line without its end waits: {text}");
        child.kill().await.unwrap();
        // At end of file the partial line is written too.
        tokio::time::sleep(Duration::from_millis(200)).await;
        output.settle().await;
        assert!(std::fs::read_to_string(log.path()).unwrap().contains("partial"));
    }
}
