//! A RUN body's parse as every RUN with that body shares it, with what the passes derive
//! from the body's text alone: one allocation per distinct body, which the engine's script
//! cache keeps across rounds.

use std::cell::OnceCell;
use std::rc::Rc;

use super::wrappers::{Effective, Wrapped};
use super::{Opaque, Script};

/// A parsed RUN body, shared (cloning it is cheap): every RUN with this body, in every round
/// of a rewrite, reads one copy. Derefs to its [`Script`].
#[derive(Clone)]
pub struct Parsed(Rc<Body>);

/// The manager commands of a script (see `passes::runs`): each one's position, its manager,
/// and the position of its subcommand among its arguments. A boxed slice: every cached
/// body holds two, most of them empty.
pub(crate) type Found = Box<[(usize, &'static crate::managers::Manager, Option<usize>)]>;

/// One body: its text, its parse and what follows from them. The script sits in the same
/// allocation (a separate `Arc<Script>` took 32 more bytes per body, and a second pointer
/// in each RUN).
pub(crate) struct Body {
    /// The body's text: the script cache's key, and [`super::RunScript::text`].
    pub(crate) text: Box<str>,
    /// Empty when the body does not parse.
    script: Script,
    /// Why the body does not parse.
    opaque: Option<Opaque>,
    /// What it runs through wrappers, on first use; `None` for nothing (most bodies: the
    /// cache keeps every distinct body of a large file).
    wrapped: OnceCell<Option<Box<Wrapped>>>,
    /// The manager commands of the script and of what it runs through wrappers, on first
    /// use: kept across rounds with the parse.
    pub(crate) found: OnceCell<Found>,
    pub(crate) found_all: OnceCell<Found>,
}

impl Body {
    /// The body of `text`, parsed by `parse`, whose text is kept as `key`.
    pub(crate) fn new(key: Box<str>, parsed: Result<Script, Opaque>) -> Rc<Self> {
        let (script, opaque) = match parsed {
            Ok(script) => (script, None),
            Err(opaque) => (Script::default(), Some(opaque)),
        };
        Rc::new(Self {
            text: key,
            script,
            opaque,
            wrapped: OnceCell::new(),
            found: OnceCell::new(),
            found_all: OnceCell::new(),
        })
    }

    /// The shared parse, or why there is none.
    pub(crate) fn parsed(self: &Rc<Self>) -> Result<Parsed, Opaque> {
        match self.opaque {
            Some(opaque) => Err(opaque),
            None => Ok(Parsed(Rc::clone(self))),
        }
    }

    /// Every command the body runs, wrappers resolved; `None` when it does not parse.
    pub(crate) fn effective(&self) -> Option<Effective<'_>> {
        if self.opaque.is_some() {
            return None;
        }
        let script = &self.script;
        let wrapped = self.wrapped.get_or_init(|| {
            let wrapped = super::wrappers::wrapped(script);
            (!wrapped.is_empty()).then(|| Box::new(wrapped))
        });
        let wrapped = wrapped.as_deref().unwrap_or(Wrapped::NONE);
        Some(Effective::new(script, wrapped))
    }
}

impl Parsed {
    /// `script`, the parse of `text`, on its own (not from the engine's cache).
    #[must_use]
    pub fn new(text: &str, script: Script) -> Self {
        Self(Body::new(text.into(), Ok(script)))
    }

    /// The body, with what the passes derive from it.
    pub(crate) fn body(&self) -> &Body {
        &self.0
    }
}

impl std::ops::Deref for Parsed {
    type Target = Script;

    fn deref(&self) -> &Script {
        &self.0.script
    }
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.script.fmt(f)
    }
}
