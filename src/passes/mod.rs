//! The passes: one file each, declared with [`declare_pass!`] so that the doc comment is the
//! documentation `--explain` prints. Order lives only in [`registry`].

mod add_to_copy;
mod apt_update_with_install;
mod base_image_advice;
mod cache_cleanup;
mod cache_mounts;
mod dockerignore;
mod index_users;
pub(crate) mod layout;
mod maintainer_to_label;
mod manifests_first;
mod merge_run_chains;
mod no_cache_flags;
mod no_install_recommends;
mod non_root_user;
mod registry;
mod runs;
mod same_layer_cleanup;
mod secrets_in_env;
mod slim_base;
mod split_stages;
mod strip_binaries;
mod tool_versions;

use std::rc::Rc;
use std::sync::Arc;

use crate::Settings;
use crate::context::ignore::IgnoreRules;
use crate::syntax::Dockerfile;
use crate::text::{Applicability, Fix};

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

/// What a pass may do beyond rewriting the words of a RUN or an ADD in place. The fixture
/// harness holds each pass to its declaration, and `verify` reads it to know which image
/// differences an applied pass explains.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts, each read by name"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MayDo {
    /// Joins two RUNs into one (the blank lines between them may go).
    pub merges: bool,
    /// Moves RUNs (with the comment lines above them) and inserts COPYs of single files.
    pub moves: bool,
    /// Changes which packages the image installs.
    pub changes_package_set: bool,
    /// Adds a build stage.
    pub adds_stage: bool,
    /// Changes the user the image runs as.
    pub changes_user: bool,
    /// Changes the image a stage is built `FROM` (a variant of the same image).
    pub changes_base: bool,
    /// Proposes a new file beside the Dockerfile instead of (or besides) edits.
    pub proposes_file: bool,
    /// Changes the image's metadata (labels, the author field), never what it runs.
    pub changes_metadata: bool,
}

impl MayDo {
    /// Edits RUN or ADD instructions in place, nothing more.
    pub const NOTHING_ELSE: Self = Self {
        merges: false,
        moves: false,
        changes_package_set: false,
        adds_stage: false,
        changes_user: false,
        changes_base: false,
        proposes_file: false,
        changes_metadata: false,
    };
}

/// A pass: its stable name, its documentation and the function that finds fixes.
#[derive(Debug)]
pub struct PassInfo {
    /// Stable kebab-case name, used by `--select`, `--ignore` and `--explain`.
    pub name: &'static str,
    /// One line: what the pass does (`--list-passes`).
    pub summary: &'static str,
    /// The doc comment of the pass (markdown with the four sections).
    pub doc: &'static str,
    /// Whether the pass fixes always, sometimes or never (checked by the fixture harness).
    pub fix: FixAvailability,
    /// What the pass may do besides in-place edits.
    pub may: MayDo,
    pub(crate) run: fn(&PassContext<'_>) -> Vec<Fix>,
    /// For a pass that proposes new files beside the Dockerfile (not edits of it): run once,
    /// on the final text, after the edits have converged.
    pub(crate) files: Option<fn(&PassContext<'_>) -> Vec<crate::NewFile>>,
    /// The most applicable tier of the pass's fixes: below the settings' threshold, the
    /// engine runs it only on the final text (see `fixpoint`), where its fixes are reported.
    pub(crate) tier: Applicability,
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
}

/// Everything a pass may look at.
pub(crate) struct PassContext<'a> {
    pub(crate) file: &'a Dockerfile,
    pub(crate) settings: &'a Settings,
    scripts: &'a ScriptCache,
    runs: std::cell::OnceCell<runs::Runs<'a>>,
    model: std::cell::OnceCell<crate::semantic::Model<'a>>,
    ignore: std::cell::OnceCell<Option<IgnoreRules>>,
    /// Bugs found while the passes ran (a fix built from overlapping edits): the engine turns
    /// them into [`crate::Error::Internal`] rather than let a pass fail silently.
    bugs: std::cell::RefCell<Vec<String>>,
    /// For each line of the text the passes see, its line in the original file; no lines
    /// before any edit (each line is then its own).
    original_lines: &'a crate::fixpoint::OriginalLines,
    /// The inline pragmas of the text, when the settings honour them.
    pragmas: Option<&'a crate::pragma::Pragmas>,
    /// The rewrite's messages, which equal messages of fixes share.
    messages: Option<&'a crate::text::Messages>,
    /// How the engine describes a fix for its report.
    describe: Option<&'a dyn Fn(&Fix) -> crate::fixpoint::Report>,
    /// While the fixes of one pass are only reported (see [`Self::report_only`]): that
    /// pass and its reports.
    reports: std::cell::RefCell<Option<(&'static str, Vec<crate::fixpoint::Report>)>>,
}

/// The line map of a text no round has edited.
static NO_EDITS: crate::fixpoint::OriginalLines = crate::fixpoint::OriginalLines::NONE;

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
            model: std::cell::OnceCell::new(),
            ignore: std::cell::OnceCell::new(),
            bugs: std::cell::RefCell::new(Vec::new()),
            original_lines: &NO_EDITS,
            pragmas: None,
            messages: None,
            describe: None,
            reports: std::cell::RefCell::new(None),
        }
    }

    /// The same context, its fixes described for a report by `describe`.
    pub(crate) fn with_describer(
        mut self,
        describe: &'a dyn Fn(&Fix) -> crate::fixpoint::Report,
    ) -> Self {
        self.describe = Some(describe);
        self
    }

    /// From now on, until [`Self::take_reports`], the fixes `pass` builds are only
    /// reported (the final text's passes below the threshold, which the engine runs last,
    /// after every pass that could read their edits): [`Self::fix`] describes each one onto
    /// `reports` and returns none, so that a large file's fixes are never all held at once.
    /// Another pass's fixes (a pass that runs one it depends on) come back whole.
    pub(crate) fn report_only(&self, pass: &'static str, reports: Vec<crate::fixpoint::Report>) {
        debug_assert!(self.describe.is_some(), "reporting needs a describer");
        *self.reports.borrow_mut() = Some((pass, reports));
    }

    /// The reports made since [`Self::report_only`], which ends.
    pub(crate) fn take_reports(&self) -> Vec<crate::fixpoint::Report> {
        self.reports.take().map(|(_, r)| r).unwrap_or_default()
    }

    /// `fix`, or, while its pass's fixes are only reported, none: it is described onto the
    /// reports. A pass that holds a fix built earlier (before the context reported only)
    /// gives it here, in its place among the fixes it builds.
    pub(crate) fn report(&self, fix: Fix) -> Option<Fix> {
        match (self.reports.borrow_mut().as_mut(), self.describe) {
            (Some((pass, reports)), Some(describe)) if *pass == fix.pass => {
                reports.push(describe(&fix));
                None
            }
            _ => Some(fix),
        }
    }

    /// The same context, its fixes' messages shared through `messages`.
    pub(crate) fn with_messages(mut self, messages: &'a crate::text::Messages) -> Self {
        self.messages = Some(messages);
        self
    }

    /// The same context, with the text's inline pragmas.
    pub(crate) fn with_pragmas(mut self, pragmas: &'a crate::pragma::Pragmas) -> Self {
        self.pragmas = Some(pragmas);
        self
    }

    /// Whether an inline pragma holds `fix` back: for a pass that waits on another pass's
    /// fixes, which must not wait for one that never comes.
    pub(crate) fn held_back(&self, fix: &Fix) -> bool {
        self.pragmas.is_some_and(|p| p.holds_back(fix))
    }

    /// The same context, for a text that earlier rounds rewrote: `lines` maps each of its
    /// lines to the original's.
    pub(crate) fn with_original_lines(mut self, lines: &'a crate::fixpoint::OriginalLines) -> Self {
        self.original_lines = lines;
        self
    }

    /// The original file's line for `line` of the text the passes see: what every message
    /// and report line names, so that users find it in the file they gave.
    pub(crate) fn original_line(&self, line: u32) -> u32 {
        self.original_lines.get(line).unwrap_or(line)
    }

    /// The original line on which `ins` starts.
    pub(crate) fn line(&self, ins: &crate::syntax::Instruction) -> u32 {
        self.original_line(ins.start_line)
    }

    /// Builds a fix of `pass`. Edits that overlap each other are a bug in the pass: it is
    /// recorded (see [`Self::take_bugs`]) and no fix is returned. While the fixes are only
    /// reported, none is returned either (see [`Self::report`]).
    pub(crate) fn fix(
        &self,
        pass: &'static str,
        applicability: Applicability,
        message: impl AsRef<str>,
        edits: Vec<crate::text::Edit>,
    ) -> Option<Fix> {
        let message = self.shared(message.as_ref());
        self.fix_with(pass, applicability, message.into(), edits)
    }

    /// [`Self::fix`] with a message that names `line`: `template` with
    /// [`Message::LINE`](crate::text::Message) where it goes. The template is shared by
    /// every fix that uses it, and the text is made only for the report.
    pub(crate) fn fix_naming_line(
        &self,
        pass: &'static str,
        applicability: Applicability,
        template: &str,
        line: u32,
        edits: Vec<crate::text::Edit>,
    ) -> Option<Fix> {
        let message = crate::text::Message::with_line(self.shared(template), line);
        self.fix_with(pass, applicability, message, edits)
    }

    /// The shared copy of `message`.
    fn shared(&self, message: &str) -> Arc<str> {
        self.messages
            .map_or_else(|| Arc::from(message), |m| m.get(message))
    }

    fn fix_with(
        &self,
        pass: &'static str,
        applicability: Applicability,
        message: crate::text::Message,
        edits: Vec<crate::text::Edit>,
    ) -> Option<Fix> {
        let fix = Fix::new(pass, applicability, message, edits)
            .map_err(|e| self.bugs.borrow_mut().push(format!("{pass}: {e}")))
            .ok()?;
        self.report(fix)
    }

    /// The bugs recorded so far.
    pub(crate) fn take_bugs(&self) -> Vec<String> {
        self.bugs.take()
    }

    /// The build context, when it can be read.
    pub(crate) fn context(&self) -> Option<&'a dyn crate::BuildContext> {
        self.settings.context.as_deref()
    }

    /// The ignore rules BuildKit applies to this Dockerfile (`None` without a context), read
    /// once for all passes.
    pub(crate) fn ignore_rules(&self) -> Option<&IgnoreRules> {
        self.ignore
            .get_or_init(|| {
                let context = self.context()?;
                Some(IgnoreRules::for_dockerfile(
                    context,
                    self.settings.dockerfile.as_deref(),
                ))
            })
            .as_ref()
    }

    /// The RUNs of the file with their parsed shell, computed once for all passes.
    pub(crate) fn runs(&self) -> &runs::Runs<'a> {
        self.runs.get_or_init(|| {
            let runs = runs::Runs::new(self.file, self.scripts);
            // every RUN body of the round has been asked for: what the last round parsed and
            // this one did not ask for is a rewritten body, which nothing reads again
            self.scripts.forget_unasked();
            runs
        })
    }
}

impl<'a> PassContext<'a> {
    /// The semantic model of the file, built once for all passes (its RUN bodies come from
    /// the script cache).
    pub(crate) fn model(&self) -> &crate::semantic::Model<'a> {
        self.model.get_or_init(|| {
            let runs = self.runs();
            let scripts = self.scripts;
            // the full stages and POSIX shells only while the model is built (the RUNs keep
            // them compactly, and the model keeps what it needs of them)
            // sized exactly: a large file has tens of thousands, and a doubling list of
            // them was the final round's peak
            let mut stages = Vec::with_capacity(runs.stages.len());
            stages.extend(runs.stages.iter());
            crate::semantic::Model::with_parts(
                self.file,
                &stages,
                runs.posix_shells().clone(),
                Box::new(|text| scripts.parse(text)),
            )
        })
    }
}

/// Parsed RUN bodies by text, kept across the rounds of one rewrite: most bodies do not
/// change between rounds, and tree-sitter parsing is the expensive step. Each round shares
/// the entry of an unchanged body rather than copying or recomputing it. Entries that a
/// round did not ask for are dropped after it ([`Self::next_round`]): the text they parsed
/// was rewritten, and keeping every version would grow memory with each round.
#[derive(Default)]
pub(crate) struct ScriptCache {
    /// The entries asked for in this round.
    current: std::cell::RefCell<crate::hash::FxSet<Entry>>,
    /// The entries of the round before that this one has not asked for (yet).
    previous: std::cell::RefCell<crate::hash::FxSet<Entry>>,
}

/// A cache entry, found by its body's text: the body holds the only copy of the text, so
/// the table's slot is one pointer (a `String` key beside it was a second copy and made
/// each slot three times larger).
struct Entry(Rc<Body>);

impl std::hash::Hash for Entry {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.text.hash(state);
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.0.text == other.0.text
    }
}

impl Eq for Entry {}

impl std::borrow::Borrow<str> for Entry {
    fn borrow(&self) -> &str {
        &self.0.text
    }
}

/// One RUN body's parse and what follows from the body's text alone.
pub(crate) use crate::shell::Body;

impl ScriptCache {
    pub(crate) fn parse(&self, text: &str) -> Result<crate::shell::Parsed, crate::shell::Opaque> {
        self.body(text).parsed()
    }

    /// The entry of `text`, parsed on first use.
    pub(crate) fn body(&self, text: &str) -> Rc<Body> {
        if let Some(found) = self.current.borrow().get(text) {
            return Rc::clone(&found.0);
        }
        let kept = self.previous.borrow_mut().take(text);
        let body = kept.map_or_else(
            || Body::new(text.into(), crate::shell::parse(text)),
            |entry| entry.0,
        );
        self.current.borrow_mut().insert(Entry(Rc::clone(&body)));
        body
    }

    /// Drops the entries of the round before that this one has not asked for.
    pub(crate) fn forget_unasked(&self) {
        drop(self.previous.take());
    }

    /// Ends a round: the entries the round did not ask for are dropped, and those it asked
    /// for are kept for the next.
    #[expect(
        clippy::mutable_key_type,
        reason = "an entry hashes its body's text, which never changes; only the body's \
                  lazily filled cells do"
    )]
    pub(crate) fn next_round(&self) {
        let asked = self.current.take();
        drop(self.previous.replace(asked));
    }
}

/// Declares a pass, capturing its doc comment as its documentation. `may: [...]` lists the
/// [`MayDo`] facts that hold (`may: [merges]`); `files:` names the function proposing new
/// files, for a pass that may `proposes_file`; `tier: Unsafe` (or `DisplayOnly`) says that
/// no fix of the pass is more applicable than that (a debug build checks it), so that the
/// engine runs the pass only on the final text when the threshold is above it.
macro_rules! declare_pass {
    (
        $(#[doc = $doc:literal])*
        pub(crate) static $ident:ident = {
            name: $name:literal,
            summary: $summary:literal,
            fix: $fix:expr,
            may: [$($may:ident),* $(,)?],
            run: $run:path
            $(, files: $files:path)?
            $(, tier: $tier:ident)? $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub(crate) static $ident: $crate::passes::PassInfo = $crate::passes::PassInfo {
            name: $name,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
            fix: $fix,
            may: $crate::passes::MayDo {
                $($may: true,)*
                ..$crate::passes::MayDo::NOTHING_ELSE
            },
            run: $run,
            files: $crate::passes::optional_files!($($files)?),
            tier: $crate::passes::tier!($($tier)?),
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

/// The tier a pass declares with `tier:` (`Unsafe`, `DisplayOnly`), `Safe` otherwise.
macro_rules! tier {
    () => {
        $crate::text::Applicability::Safe
    };
    ($tier:ident) => {
        $crate::text::Applicability::$tier
    };
}
pub(crate) use tier;

/// All passes, in the order they run.
pub fn passes() -> &'static [&'static PassInfo] {
    registry::PASSES
}

/// The pass called `name`, if there is one.
pub fn pass_by_name(name: &str) -> Option<&'static PassInfo> {
    passes().iter().copied().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::{ScriptCache, passes};
    use std::rc::Rc;

    #[test]
    fn the_script_cache_keeps_what_each_round_asks_for() {
        let cache = ScriptCache::default();
        let kept = cache.body("apt-get update");
        let dropped = cache.body("echo old");
        assert!(Rc::ptr_eq(&kept, &cache.body("apt-get update")));
        cache.next_round();
        // asked again in the next round: the same parse, not a new one
        assert!(Rc::ptr_eq(&kept, &cache.body("apt-get update")));
        cache.next_round();
        // not asked for in a round: gone, parsed anew
        assert!(!Rc::ptr_eq(&dropped, &cache.body("echo old")));
        assert!(Rc::ptr_eq(&kept, &cache.body("apt-get update")));
        assert!(kept.effective().is_some());
        assert!(cache.body("echo 'unterminated").effective().is_none());
    }

    #[test]
    fn a_pass_proposes_files_exactly_when_it_says_so() {
        for pass in passes() {
            assert_eq!(
                pass.may.proposes_file,
                pass.files.is_some(),
                "{}: `may: [proposes_file]` and `files:` disagree",
                pass.name
            );
        }
    }
}
