//! ## What it does
//! Replaces `ADD` with `COPY`.
use super::PassContext;
use crate::text::Fix;

super::declare_pass! {
    /// ## What it does
    /// Replaces `ADD` of local files with `COPY`.
    pub(crate) static ADD_TO_COPY = {
        name: "add-to-copy",
        fix: super::FixAvailability::Sometimes,
        run: run,
    };
}

fn run(_ctx: &PassContext<'_>) -> Vec<Fix> {
    Vec::new()
}
