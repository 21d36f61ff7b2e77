//! Results a pass computes from the build context alone (the walk of the whole context),
//! kept by the context so that every Dockerfile sharing it computes them once per run.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::BuildContext;

type Slot = Arc<OnceLock<Arc<dyn Any + Send + Sync>>>;

/// One value per type, computed at most once; a context that lives for a whole run (or an
/// editor session) hands it out through [`BuildContext::memo`]. The values must depend on
/// nothing but the context's answers.
#[derive(Default)]
pub struct Memo {
    slots: Mutex<HashMap<TypeId, Slot>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").finish_non_exhaustive()
    }
}

impl Memo {
    fn slot<T: Any>(&self) -> Slot {
        // A panic while the map was held cannot leave it half-changed: insert is the only write.
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(slots.entry(TypeId::of::<T>()).or_default())
    }
}

/// The `T` that `compute` derives from `context`, computed once per context when it keeps a
/// [`Memo`] and on every call otherwise. Callers computing it at the same time wait for the
/// first, rather than walking the context twice.
pub(crate) fn shared<T: Any + Send + Sync>(
    context: &dyn BuildContext,
    compute: impl FnOnce() -> T,
) -> Arc<T> {
    let Some(memo) = context.memo() else {
        return Arc::new(compute());
    };
    let slot = memo.slot::<T>();
    let value = slot.get_or_init(|| Arc::new(compute()) as Arc<dyn Any + Send + Sync>);
    Arc::clone(value)
        .downcast::<T>()
        .expect("a memo slot holds the type it is keyed by")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContextEntry;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        memo: Option<Memo>,
    }

    impl BuildContext for Counting {
        fn probe(&self, _: &str) -> ContextEntry {
            ContextEntry::Missing
        }
        fn memo(&self) -> Option<&Memo> {
            self.memo.as_ref()
        }
    }

    #[test]
    fn computes_once_per_type_when_the_context_keeps_a_memo() {
        let calls = AtomicUsize::new(0);
        let count = || {
            calls.fetch_add(1, Ordering::SeqCst);
            7_u32
        };
        let kept = Counting {
            memo: Some(Memo::default()),
        };
        assert_eq!(*shared(&kept, count), 7);
        assert_eq!(*shared(&kept, count), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // another type has its own slot
        assert_eq!(*shared(&kept, || "x"), "x");

        let plain = Counting { memo: None };
        assert_eq!(*shared(&plain, count), 7);
        assert_eq!(*shared(&plain, count), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
