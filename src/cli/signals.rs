//! Ctrl-C, SIGTERM and SIGHUP while `--apply` writes: the temp file in flight is removed and
//! the process then dies by the signal it got, so the user's directory holds the original or
//! the rewrite and nothing else.
//!
//! One lock orders the handler against the writer. The writer holds it while it creates and
//! registers a temp file, while it renames one into place, and for the whole of an in-place
//! write; the handler takes it before unlinking what is registered. A signal therefore lands
//! either before a step (the temp is removed, the original stays) or after it (the rewrite is
//! complete), never inside one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Once, PoisonError};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The temp file being written, if any.
static IN_FLIGHT: Mutex<Option<PathBuf>> = Mutex::new(None);
static INSTALL: Once = Once::new();
/// The signal received, set inside the signal handler itself (0: none). The handler thread
/// may not run before the process would exit on its own; a critical step that ends with a
/// signal pending dies by it instead of going on.
static PENDING: LazyLock<Arc<AtomicUsize>> = LazyLock::new(Arc::default);

/// Holding this keeps the signal handler waiting; it also names the temp file in flight.
pub(crate) struct Critical(MutexGuard<'static, Option<PathBuf>>);

impl Critical {
    /// Registers `path` as the temp file the handler removes.
    pub(crate) fn register(&mut self, path: &Path) {
        *self.0 = Some(path.to_path_buf());
    }

    /// Nothing is in flight any more (renamed into place, or removed).
    pub(crate) fn clear(&mut self) {
        *self.0 = None;
    }
}

impl Drop for Critical {
    fn drop(&mut self) {
        let signal = PENDING.load(Ordering::SeqCst);
        if signal != 0 {
            die(self.0.as_ref(), i32::try_from(signal).unwrap_or(SIGTERM));
        }
    }
}

/// Removes the temp file in flight and dies by `signal`; the caller holds the lock.
fn die(in_flight: Option<&PathBuf>, signal: i32) -> ! {
    if let Some(path) = in_flight {
        let _ = std::fs::remove_file(path);
    }
    // Dies by the signal (the lock is never released), as shells expect: a loop over files
    // stops at Ctrl-C.
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    // Not reached for the signals handled here; exit as a shell reports one.
    signal_hook::low_level::exit(128 + signal)
}

/// Enters a step no signal may interrupt.
pub(crate) fn critical() -> Critical {
    // A panic while holding the lock leaves the path as valid as before.
    Critical(IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Installs the handler (once per process). Without it a signal still stops the run, only a
/// temp file may then be left for the next run to remove.
pub(crate) fn install() -> std::io::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = (|| {
            for signal in [SIGINT, SIGTERM, SIGHUP] {
                let value = usize::try_from(signal).expect("signal numbers are positive");
                signal_hook::flag::register_usize(signal, Arc::clone(&PENDING), value)?;
            }
            let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
            std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        let in_flight = critical();
                        die(in_flight.0.as_ref(), signal);
                    }
                })
                .map(drop)
        })();
    });
    result
}
