//! The single ordered list of passes. No other code knows about pass order.

use super::PassInfo;

pub(super) static PASSES: &[&PassInfo] = &[&super::add_to_copy::ADD_TO_COPY];
