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
/// and the position of its subcommand among its arguments. A boxed slice, allocated at its
/// length.
pub(crate) type Found = Box<[(usize, &'static crate::managers::Manager, Option<usize>)]>;

/// One body: its text, its parse and what follows from them. The script sits in the same
/// allocation (a separate `Arc<Script>` took 32 more bytes per body, and a second pointer
/// in each RUN).
pub(crate) struct Body {
    /// The body's text: the script cache's key, and [`super::RunScript::text`].
    pub(crate) text: Box<str>,
    /// The parse, or why the body does not parse (in the script's own bytes: a separate
    /// `Option<Opaque>` took 8 more per body).
    script: Result<Script, Opaque>,
    /// What the body runs through wrappers and its manager commands, found together on
    /// first use and kept across rounds with the parse; `None` inside when there are none
    /// (most bodies: the cache keeps every distinct body of a large file, and one cell of
    /// a pointer took 16 bytes per body where three cells took 40).
    derived: OnceCell<Option<Box<Derived>>>,
}

/// What [`Body::derived`] holds when a body runs a wrapper or a manager.
struct Derived {
    wrapped: Wrapped,
    /// The manager commands of the script.
    found: Found,
    /// The manager commands of the script and of what it runs through wrappers.
    found_all: Found,
}

impl Body {
    /// The body of `text`, parsed by `parse`, whose text is kept as `key`.
    pub(crate) fn new(key: Box<str>, parsed: Result<Script, Opaque>) -> Rc<Self> {
        Rc::new(Self {
            text: key,
            script: parsed,
            derived: OnceCell::new(),
        })
    }

    /// The shared parse, or why there is none.
    pub(crate) fn parsed(self: &Rc<Self>) -> Result<Parsed, Opaque> {
        match self.script {
            Err(opaque) => Err(opaque),
            Ok(_) => Ok(Parsed(Rc::clone(self))),
        }
    }

    /// See [`Self::derived`]: found on first use.
    fn derived(&self) -> Option<&Derived> {
        let Ok(script) = &self.script else {
            return None;
        };
        self.derived
            .get_or_init(|| {
                let wrapped = super::wrappers::wrapped(script);
                let found = crate::managers::found(script.commands.iter());
                let found_all = if wrapped.is_empty() {
                    found.clone()
                } else {
                    let effective = Effective::new(script, &wrapped);
                    crate::managers::found(effective.commands().map(|r| r.command))
                };
                (!(wrapped.is_empty() && found.is_empty() && found_all.is_empty())).then(|| {
                    Box::new(Derived {
                        wrapped,
                        found,
                        found_all,
                    })
                })
            })
            .as_deref()
    }

    /// Every command the body runs, wrappers resolved; `None` when it does not parse.
    pub(crate) fn effective(&self) -> Option<Effective<'_>> {
        let Ok(script) = &self.script else {
            return None;
        };
        let wrapped = self.derived().map_or(Wrapped::NONE, |d| &d.wrapped);
        Some(Effective::new(script, wrapped))
    }

    /// The manager commands of the script (empty when it does not parse).
    pub(crate) fn found(&self) -> &[(usize, &'static crate::managers::Manager, Option<usize>)] {
        self.derived().map_or(&[], |d| &d.found)
    }

    /// The manager commands of the script and of what it runs through wrappers, positions
    /// in [`Effective::commands`] (empty when it does not parse).
    pub(crate) fn found_all(&self) -> &[(usize, &'static crate::managers::Manager, Option<usize>)] {
        self.derived().map_or(&[], |d| &d.found_all)
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
        // a `Parsed` is made only of a body that parsed
        static NONE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(Script::default);
        self.0.script.as_ref().unwrap_or_else(|_| &NONE)
    }
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Body;

    /// The script cache keeps one body per distinct RUN body of a file, across rounds.
    #[test]
    fn a_body_stays_small() {
        assert!(
            size_of::<Body>() <= 96,
            "Body is {} bytes",
            size_of::<Body>()
        );
    }

    #[test]
    fn a_body_without_managers_or_wrappers_keeps_nothing_derived() {
        let plain = Body::new(
            "echo done > /tmp/a".into(),
            crate::shell::parse("echo done > /tmp/a"),
        );
        assert!(plain.found().is_empty() && plain.found_all().is_empty());
        assert!(plain.derived.get().is_some_and(Option::is_none));
        let wrapped = Body::new(
            "sudo apt-get update".into(),
            crate::shell::parse("sudo apt-get update"),
        );
        assert!(wrapped.found().is_empty());
        assert_eq!(wrapped.found_all().len(), 1);
        assert_eq!(wrapped.effective().unwrap().commands().count(), 2);
        let direct = Body::new(
            "apt-get update".into(),
            crate::shell::parse("apt-get update"),
        );
        assert_eq!((direct.found().len(), direct.found_all().len()), (1, 1));
    }
}
