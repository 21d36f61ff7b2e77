//! The properties the fuzz targets check; `tests/fuzz_regressions.rs` in the main crate
//! replays the saved crashes through the same file.

#[path = "properties.rs"]
pub mod properties;
