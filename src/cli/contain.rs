//! Panic containment: a bug that panics while one file is rewritten becomes that file's
//! internal error, reported as `PATH: internal error: … (please report)`, and a directory run
//! goes on with the other files and exits 2 at the end (as it does for bad files).

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while a contained call runs: its panics are recorded, not printed.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
    /// Where and why the last contained call panicked.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Runs `rewrite`, turning a panic into [`dfrewrite::Error::Internal`].
pub(crate) fn rewrite<T>(
    name: &str,
    rewrite: impl FnOnce() -> Result<T, dfrewrite::Error>,
) -> Result<T, dfrewrite::Error> {
    install_hook();
    CONTAINING.with(|c| c.set(true));
    // The closure owns nothing that outlives the call, so a half-done rewrite is dropped.
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        test_hook(name);
        rewrite()
    }));
    CONTAINING.with(|c| c.set(false));
    result.unwrap_or_else(|_| {
        let what = PANIC
            .with(RefCell::take)
            .unwrap_or_else(|| "panicked".to_owned());
        Err(dfrewrite::Error::Internal(what))
    })
}

/// A panic hook that records contained panics and leaves every other one to the default
/// hook (which prints it).
fn install_hook() {
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CONTAINING.with(Cell::get) {
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                PANIC.with(|p| *p.borrow_mut() = Some(format!("panicked{at}: {payload}")));
            } else {
                default(info);
            }
        }));
    });
}

/// Test-only hook, compiled into debug builds only (the binary the CLI tests run): with
/// `DFREWRITE_TEST_PANIC=SUFFIX` in the environment, rewriting a file whose shown path ends
/// with SUFFIX panics, as a bug in a pass would. Release builds never read the variable.
fn test_hook(name: &str) {
    #[cfg(debug_assertions)]
    if let Some(suffix) = std::env::var_os("DFREWRITE_TEST_PANIC")
        && name.ends_with(&*suffix.to_string_lossy())
    {
        panic!("DFREWRITE_TEST_PANIC: a pass panicked on {name}");
    }
    let _ = name;
}
