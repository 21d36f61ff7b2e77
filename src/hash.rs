//! A fast hasher for the engine's own maps (parsed RUN bodies by text, per-file questions,
//! per-RUN facts, package-manager names): they are looked up many times per round, and
//! SipHash cost more than the rest of the lookup. foldhash's fixed state is unkeyed, so not
//! for keys an attacker picks to collide: the keys are the text of the Dockerfile being
//! rewritten, whose author gains nothing by slowing their own run. Fixed, not random, so a
//! run is the same every time.

/// A `HashMap` hashed with foldhash's fast, fixed-seed hasher.
pub(crate) type FxMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// A `HashSet` hashed the same way.
pub(crate) type FxSet<T> = std::collections::HashSet<T, foldhash::fast::FixedState>;
