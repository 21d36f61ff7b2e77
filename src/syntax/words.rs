//! Word splitting as BuildKit does it.
