//! The passes: one file each, declared with [`declare_pass!`] so that the doc comment is the
//! documentation `--explain` prints. Order lives only in [`registry`].

mod add_to_copy;
mod apt_update_with_install;
mod cache_mounts;
mod dockerignore;
mod ignore_patterns;
mod ignore_rules;
mod manifests_first;
mod merge_run_chains;
mod no_cache_flags;
mod no_install_recommends;
mod registry;
mod runs;
mod same_layer_cleanup;

use crate::Settings;
use crate::syntax::Dockerfile;
use crate::text::Fix;

/// Whether a pass can produce fixes (checked by the fixture harness).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixAvailability {
    /// Every finding comes with a fix.
    Always,
    /// Some findings come with a fix.
    Sometimes,
    /// Findings are advice only.
    Never,
}

/// A pass: its stable name, its documentation and the function that finds fixes.
#[derive(Debug)]
pub struct PassInfo {
    /// Stable kebab-case name, used by `--select`, `--ignore` and `--explain`.
    pub name: &'static str,
    /// The doc comment of the pass (markdown with the four sections).
    pub doc: &'static str,
    /// Whether the pass fixes always, sometimes or never.
    pub fix: FixAvailability,
    pub(crate) run: fn(&PassContext<'_>) -> Vec<Fix>,
    /// For a pass that proposes new files beside the Dockerfile (not edits of it): run once,
    /// on the final text, after the edits have converged.
    pub(crate) files: Option<fn(&PassContext<'_>) -> Vec<crate::NewFile>>,
}

impl PassInfo {
    /// The documentation as markdown: [`Self::doc`] without the doc comments' leading space.
    pub fn documentation(&self) -> String {
        self.doc
            .lines()
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .fold(String::new(), |mut out, line| {
                out.push_str(line);
                out.push('\n');
                out
            })
    }

    /// The first sentence of the "What it does" section.
    pub fn summary(&self) -> &'static str {
        let body = self
            .doc
            .split("## What it does")
            .nth(1)
            .unwrap_or(self.doc)
            .trim_start();
        let para = body.split("\n\n").next().unwrap_or("").trim();
        para.split_once(". ").map_or(para, |(first, _)| first)
    }
}

/// Everything a pass may look at.
pub(crate) struct PassContext<'a> {
    pub(crate) file: &'a Dockerfile,
    pub(crate) settings: &'a Settings,
    scripts: &'a ScriptCache,
    runs: std::cell::OnceCell<runs::Runs<'a>>,
}

impl<'a> PassContext<'a> {
    pub(crate) fn new(
        file: &'a Dockerfile,
        settings: &'a Settings,
        scripts: &'a ScriptCache,
    ) -> Self {
        Self {
            file,
            settings,
            scripts,
            runs: std::cell::OnceCell::new(),
        }
    }

    /// The RUNs of the file with their parsed shell, computed once for all passes.
    pub(crate) fn runs(&self) -> &runs::Runs<'a> {
        self.runs
            .get_or_init(|| runs::Runs::new(self.file, self.scripts))
    }
}

/// Parsed RUN bodies by text, kept across the rounds of one rewrite: most bodies do not
/// change between rounds, and tree-sitter parsing is the expensive step.
#[derive(Default)]
pub(crate) struct ScriptCache(
    std::cell::RefCell<
        std::collections::HashMap<String, Result<crate::shell::Script, crate::shell::Opaque>>,
    >,
);

impl ScriptCache {
    pub(crate) fn parse(&self, text: &str) -> Result<crate::shell::Script, crate::shell::Opaque> {
        if let Some(found) = self.0.borrow().get(text) {
            return found.clone();
        }
        let parsed = crate::shell::parse(text);
        self.0.borrow_mut().insert(text.to_owned(), parsed.clone());
        parsed
    }
}

/// Declares a pass, capturing its doc comment as its documentation.
macro_rules! declare_pass {
    (
        $(#[doc = $doc:literal])*
        pub(crate) static $ident:ident = {
            name: $name:literal,
            fix: $fix:expr,
            run: $run:path
            $(, files: $files:path)? $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub(crate) static $ident: $crate::passes::PassInfo = $crate::passes::PassInfo {
            name: $name,
            doc: concat!($($doc, "\n"),*),
            fix: $fix,
            run: $run,
            files: $crate::passes::optional_files!($($files)?),
        };
    };
}
pub(crate) use declare_pass;

/// `Some(path)` for a pass that declares `files:`, `None` otherwise.
macro_rules! optional_files {
    () => {
        None
    };
    ($files:path) => {
        Some($files)
    };
}
pub(crate) use optional_files;

/// All passes, in the order they run.
pub fn passes() -> &'static [&'static PassInfo] {
    registry::PASSES
}

/// The pass called `name`, if there is one.
pub fn pass_by_name(name: &str) -> Option<&'static PassInfo> {
    passes().iter().copied().find(|p| p.name == name)
}
