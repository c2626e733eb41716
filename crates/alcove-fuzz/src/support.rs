//! What the targets share: a panic anywhere (a server task, a blocking thread) fails the
//! input that caused it, and async code runs on one small runtime per test thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

static PANICS: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

/// Counts panics in every thread, then lets the previous hook (bolero's or libtest's)
/// report them as before. Tokio catches a panicking task's unwind, so without this a
/// handler that panics on some input would pass unnoticed.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// Runs `work` and fails if anything panicked meanwhile, in any thread.
pub fn no_panic<T>(work: impl FnOnce() -> T) -> T {
    install_hook();
    let before = PANICS.load(Ordering::SeqCst);
    let value = work();
    assert_eq!(PANICS.load(Ordering::SeqCst), before, "a thread panicked on this input");
    value
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
}

/// Runs a future to completion on this thread's runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// Bytes as text the way an HTTP layer would hand them on: invalid UTF-8 never reaches a
/// `&str` parser, so such inputs are skipped rather than converted.
pub fn text(input: &[u8]) -> Option<&str> {
    std::str::from_utf8(input).ok()
}
