//! Inline pragmas: comment lines that keep passes away from an instruction, a stage or the
//! whole file.
//!
//! - `# dfrewrite: ignore=PASS[,PASS] reason="…"` in the comment lines directly above an
//!   instruction: no fix or advice of those passes that touches the instruction;
//! - `# dfrewrite: ignore-stage=…` directly above a `FROM`: the same, for the whole stage;
//! - `# dfrewrite: ignore-file=…` among the comments before the first instruction: the file;
//! - `# hadolint ignore=DL3009,…` (and `# hadolint global ignore=…`, file-wide), through the
//!   table in `transforms/hadolint.toml`.
//!
//! `all` names every pass. The pragmas are read from the parse of every round, so a fix held
//! back in one round is held back in the next. Passes never edit a pragma: a fix that would
//! change or drop a pragma line is withheld (unless it re-inserts the line unchanged, as a
//! move of a RUN with its comments does), and a new line a fix inserts right above an
//! instruction with pragmas goes above the pragmas, so they stay on the instruction.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use crate::syntax::{Dockerfile, Item, Keyword};
use crate::text::{Edit, Fix, TextRange};

/// Which tool's comment a pragma is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Dfrewrite,
    /// Not reported when unused: hadolint itself reads it.
    Hadolint,
}

/// What a pragma covers, narrowest first (a fix is credited to the narrowest pragma).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Instruction,
    Stage,
    File,
}

#[derive(Debug, Clone)]
struct Pragma {
    /// The comment line, its line break included.
    comment: TextRange,
    /// The comment line's text without the line break, and its ordinal among pragmas with
    /// the same text: the pragma's identity across rounds.
    key: (String, usize),
    kind: Kind,
    origin: Origin,
    /// What it covers.
    scope: TextRange,
    /// For a pragma above an instruction: that instruction's start.
    target_start: Option<u32>,
    /// The passes it names; `None` for `all`.
    passes: Option<Vec<&'static str>>,
}

/// A pragma that cannot mean what it says (unknown pass, misplaced, bad syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Offset of the comment line.
    pub(crate) at: u32,
    pub(crate) message: String,
}

/// Which (pragma, pass) pairs held back a fix, over all rounds of a rewrite.
pub(crate) type Used = BTreeSet<((String, usize), &'static str)>;

/// The pragmas of one text.
#[derive(Debug, Default)]
pub(crate) struct Pragmas {
    list: Vec<Pragma>,
    problems: Vec<Problem>,
}

/// The hadolint code → passes table, from `transforms/hadolint.toml`.
fn hadolint_table() -> &'static HashMap<String, Vec<String>> {
    static TABLE: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            codes: HashMap<String, Vec<String>>,
        }
        crate::transforms::table::<File>("hadolint")
            .expect("transforms/hadolint.toml is checked by a test")
            .codes
    })
}

fn pass_name(name: &str) -> Option<&'static str> {
    crate::pass_by_name(name).map(|p| p.name)
}

impl Pragmas {
    /// Reads the pragmas of a parsed file.
    pub(crate) fn read(file: &Dockerfile) -> Self {
        let mut out = Self::default();
        let froms: Vec<u32> = file
            .instructions()
            .filter(|i| i.kind == Keyword::From)
            .map(|i| i.range.start)
            .collect();
        let mut seen_instruction = false;
        let mut ordinals: HashMap<String, usize> = HashMap::new();
        for (index, item) in file.items.iter().enumerate() {
            let range = match item {
                Item::Instruction(_) => {
                    seen_instruction = true;
                    continue;
                }
                Item::Comment(range) => *range,
                _ => continue,
            };
            let text = file.slice(range).trim_end_matches(['\n', '\r']);
            let Some(parsed) = parse_comment(text) else {
                continue;
            };
            let at = range.start;
            let (kind, origin, names) = match parsed {
                Ok(p) => p,
                Err(message) => {
                    out.problems.push(Problem { at, message });
                    continue;
                }
            };
            let passes = match resolve(origin, &names) {
                Ok(passes) => passes,
                Err(unknown) => {
                    for name in &unknown.unknown {
                        out.problems.push(Problem {
                            at,
                            message: format!("unknown pass `{name}` in pragma"),
                        });
                    }
                    match unknown.known {
                        Some(known) if !known.is_empty() => Some(known),
                        _ => continue,
                    }
                }
            };
            // the instruction after the comment lines directly below this one
            let target = file.items[index + 1..]
                .iter()
                .find(|i| !matches!(i, Item::Comment(_)))
                .and_then(Item::instruction);
            let scope = match scope_of(at, kind, origin, target, &froms, seen_instruction) {
                Ok(scope) => scope,
                Err(problem) => {
                    out.problems
                        .extend(problem.map(|message| Problem { at, message }));
                    continue;
                }
            };
            let ordinal = ordinals.entry(text.to_owned()).or_default();
            *ordinal += 1;
            out.list.push(Pragma {
                comment: range,
                key: (text.to_owned(), *ordinal),
                kind,
                origin,
                scope,
                target_start: target
                    .filter(|_| kind != Kind::File)
                    .map(|ins| ins.range.start),
                passes,
            });
        }
        out
    }

    /// The narrowest pragma that holds `fix` back, if any.
    fn suppressor(&self, fix: &Fix) -> Option<&Pragma> {
        self.list
            .iter()
            .filter(|p| {
                p.passes
                    .as_ref()
                    .is_none_or(|names| names.contains(&fix.pass))
            })
            .filter(|p| fix.edits().iter().any(|e| touches(p.scope, e.range)))
            .min_by_key(|p| p.kind)
    }

    /// Whether `fix` would change or drop a pragma line (without re-inserting it unchanged).
    fn breaks_a_pragma(&self, fix: &Fix) -> bool {
        self.list.iter().any(|p| {
            let c = p.comment;
            let hits = fix.edits().iter().any(|e| {
                let r = e.range;
                if r.is_empty() {
                    c.start < r.start && r.start < c.end
                } else {
                    r.start < c.end && c.start < r.end
                }
            });
            hits && !fix.edits().iter().any(|e| e.content.contains(&p.key.0))
        })
    }

    /// Whether the text has no pragma that could hold a fix back.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether the pragmas hold `fix` back (for a pass that looks at another pass's fixes).
    pub(crate) fn holds_back(&self, fix: &Fix) -> bool {
        self.suppressor(fix).is_some() || self.breaks_a_pragma(fix)
    }

    /// The fixes the pragmas let through, with lines inserted right above an instruction
    /// that has pragmas moved above them; records in `used` which pragmas held one back.
    pub(crate) fn filter(&self, fixes: Vec<Fix>, used: &mut Used) -> Vec<Fix> {
        if self.list.is_empty() {
            return fixes;
        }
        fixes
            .into_iter()
            .filter_map(|fix| {
                if let Some(p) = self.suppressor(&fix) {
                    used.insert((p.key.clone(), fix.pass));
                    return None;
                }
                if self.breaks_a_pragma(&fix) {
                    return None;
                }
                self.keep_attached(fix)
            })
            .collect()
    }

    /// The proposed files the pragmas let through: only `ignore-file=` (and hadolint's
    /// `global ignore=`) can hold one back, a new file being about no instruction.
    pub(crate) fn filter_files(
        &self,
        files: Vec<crate::NewFile>,
        used: &mut Used,
    ) -> Vec<crate::NewFile> {
        files
            .into_iter()
            .filter(|f| {
                let held = self.list.iter().find(|p| {
                    p.kind == Kind::File
                        && p.passes
                            .as_ref()
                            .is_none_or(|names| names.contains(&f.pass))
                });
                if let Some(p) = held {
                    used.insert((p.key.clone(), f.pass));
                }
                held.is_none()
            })
            .collect()
    }

    /// `fix` with each whole line it inserts between pragmas and their instruction (at the
    /// instruction's start, or between the comment lines above it) inserted above the first
    /// pragma instead (comments do nothing in a build, so the
    /// image is the same); `None` in the unlikely case that the moved edit then overlaps
    /// another of the fix's edits.
    fn keep_attached(&self, fix: Fix) -> Option<Fix> {
        // an insertion between a pragma and its instruction (there are only comment lines)
        let block_start = |at: u32| {
            self.list
                .iter()
                .filter(|p| p.comment.start < at && p.target_start.is_some_and(|t| at <= t))
                .map(|p| p.comment.start)
                .min()
        };
        let moves = fix.edits().iter().any(|e| {
            e.range.is_empty() && e.content.ends_with('\n') && block_start(e.range.start).is_some()
        });
        if !moves {
            return Some(fix);
        }
        let edits: Vec<Edit> = fix
            .edits()
            .iter()
            .map(|e| match block_start(e.range.start) {
                Some(to) if e.range.is_empty() && e.content.ends_with('\n') => {
                    Edit::insert(to, e.content.clone()).with_side(e.side)
                }
                _ => e.clone(),
            })
            .collect();
        Fix::new(fix.pass, fix.applicability, fix.message, edits).ok()
    }

    /// Reports on the pragmas after the last round: those that cannot mean what they say,
    /// and `dfrewrite` pragmas that held nothing back (only for passes the settings ran).
    /// Each is (offset of the comment line, report name, message).
    pub(crate) fn reports(
        &self,
        used: &Used,
        runs: impl Fn(&str) -> bool,
    ) -> Vec<(u32, &'static str, String)> {
        let mut out: Vec<(u32, &'static str, String)> = self
            .problems
            .iter()
            .map(|p| (p.at, "invalid-pragma", p.message.clone()))
            .collect();
        for p in self.list.iter().filter(|p| p.origin == Origin::Dfrewrite) {
            let credited = |name: &str| used.iter().any(|(k, n)| *k == p.key && *n == name);
            let message = match &p.passes {
                None => {
                    let nothing = !used.iter().any(|(k, _)| *k == p.key);
                    let all_ran = crate::passes().iter().all(|pass| runs(pass.name));
                    if !(nothing && all_ran) {
                        continue;
                    }
                    "pragma held back no fix: no pass touches what it covers".to_owned()
                }
                Some(names) => {
                    let idle: Vec<String> = names
                        .iter()
                        .filter(|n| runs(n) && !credited(n))
                        .map(|n| format!("`{n}`"))
                        .collect();
                    if idle.is_empty() {
                        continue;
                    }
                    format!(
                        "pragma held back no fix of {}: remove {}",
                        idle.join(", "),
                        if idle.len() == 1 { "it" } else { "them" }
                    )
                }
            };
            out.push((p.comment.start, "unused-pragma", message));
        }
        out
    }
}

/// What a pragma of `kind` above `target` covers; `Err` when it is misplaced, with a
/// message for a `dfrewrite` pragma (hadolint's own placement rules are not ours to check).
fn scope_of(
    at: u32,
    kind: Kind,
    origin: Origin,
    target: Option<&crate::syntax::Instruction>,
    froms: &[u32],
    seen_instruction: bool,
) -> Result<TextRange, Option<String>> {
    let ours = |message: &str| (origin == Origin::Dfrewrite).then(|| message.to_owned());
    match kind {
        // from the pragma's own line: a line inserted right above it is as good as above
        // the instruction
        Kind::Instruction => target
            .map(|ins| TextRange::new(at, ins.range.end))
            .ok_or_else(|| {
                ours(
                    "`ignore=` pragma is not directly above an instruction; it applies to the \
                  instruction on the next line",
                )
            }),
        Kind::Stage => {
            let from = target
                .filter(|ins| ins.kind == Keyword::From)
                .ok_or_else(|| ours("`ignore-stage=` pragma is not directly above a FROM"))?;
            let end = froms
                .iter()
                .copied()
                .find(|&s| s > from.range.start)
                .unwrap_or(u32::MAX);
            Ok(TextRange::new(from.range.start, end))
        }
        Kind::File if seen_instruction && origin == Origin::Dfrewrite => Err(ours(
            "`ignore-file=` pragma is not among the comments before the first instruction",
        )),
        Kind::File => Ok(TextRange::new(0, u32::MAX)),
    }
}

/// Whether an edit of `r` touches `scope`: shares bytes with it, or inserts inside it or
/// at its start.
fn touches(scope: TextRange, r: TextRange) -> bool {
    if r.is_empty() {
        scope.start <= r.start && r.start < scope.end
    } else {
        r.start < scope.end && scope.start < r.end
    }
}

type Parsed = (Kind, Origin, Vec<String>);

/// A comment line read as a pragma: `None` when it is no pragma at all, an error message
/// when it is a `dfrewrite:` pragma that does not parse.
fn parse_comment(line: &str) -> Option<Result<Parsed, String>> {
    let body = line.trim_start().strip_prefix('#')?.trim_start();
    if let Some(rest) = body.strip_prefix("dfrewrite:") {
        return Some(parse_dfrewrite(rest.trim()));
    }
    let rest = body.strip_prefix("hadolint")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    let (kind, rest) = match rest.strip_prefix("global") {
        Some(after) if after.starts_with([' ', '\t']) => (Kind::File, after.trim_start()),
        _ => (Kind::Instruction, rest),
    };
    // `# hadolint ignore=DL3008,DL3009 # why`: the list ends at blanks or `#`
    let list = rest.strip_prefix("ignore=")?;
    let list = list.split([' ', '\t', '#']).next().unwrap_or("");
    Some(Ok((kind, Origin::Hadolint, split_list(list))))
}

fn parse_dfrewrite(rest: &str) -> Result<Parsed, String> {
    let (key, value) = rest.split_once('=').ok_or_else(|| {
        format!("unknown pragma `{rest}`; expected ignore=, ignore-stage= or ignore-file=")
    })?;
    let kind = match key.trim() {
        "ignore" => Kind::Instruction,
        "ignore-stage" => Kind::Stage,
        "ignore-file" => Kind::File,
        other => {
            return Err(format!(
                "unknown pragma `{other}=`; expected ignore=, ignore-stage= or ignore-file="
            ));
        }
    };
    let (list, tail) = value
        .split_once([' ', '\t'])
        .map_or((value, ""), |(l, t)| (l, t.trim()));
    if !tail.is_empty() && !is_reason(tail) {
        return Err(format!(
            "unexpected `{tail}` after the pass list; a reason is written reason=\"…\""
        ));
    }
    let names = split_list(list);
    if names.is_empty() {
        return Err(format!("`{}=` names no pass", key.trim()));
    }
    Ok((kind, Origin::Dfrewrite, names))
}

/// `reason="…"` (a double-quoted string, nothing after it).
fn is_reason(tail: &str) -> bool {
    tail.strip_prefix("reason=\"")
        .and_then(|r| r.strip_suffix('"'))
        .is_some_and(|inner| !inner.contains('"'))
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

struct Unresolved {
    known: Option<Vec<&'static str>>,
    unknown: Vec<String>,
}

/// The passes a pragma's names stand for (`None`: all). hadolint codes go through the table;
/// codes it does not list stand for no pass (they are hadolint's business, not an error).
fn resolve(origin: Origin, names: &[String]) -> Result<Option<Vec<&'static str>>, Unresolved> {
    let mut known: Vec<&'static str> = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match origin {
            Origin::Dfrewrite if name == "all" => return Ok(None),
            Origin::Dfrewrite => match pass_name(name) {
                Some(n) => known.push(n),
                None => unknown.push(name.clone()),
            },
            Origin::Hadolint => {
                let table = hadolint_table();
                let passes = table.get(name.to_ascii_uppercase().as_str());
                known.extend(passes.into_iter().flatten().filter_map(|n| pass_name(n)));
            }
        }
    }
    known.sort_unstable();
    known.dedup();
    if !unknown.is_empty() {
        return Err(Unresolved {
            known: Some(known),
            unknown,
        });
    }
    if known.is_empty() {
        // a hadolint comment naming only codes no pass corresponds to
        return Err(Unresolved {
            known: None,
            unknown,
        });
    }
    Ok(Some(known))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragmas(src: &str) -> Pragmas {
        Pragmas::read(&crate::syntax::parse(src).unwrap())
    }

    fn fix(pass: &'static str, at: u32) -> Fix {
        Fix::new(
            pass,
            crate::Applicability::Safe,
            "m",
            vec![Edit::insert(at, " x")],
        )
        .unwrap()
    }

    #[test]
    fn the_hadolint_table_names_only_passes_that_exist() {
        for (code, passes) in hadolint_table() {
            for pass in passes {
                assert!(pass_name(pass).is_some(), "{code}: no pass `{pass}`");
            }
        }
    }

    #[test]
    fn an_instruction_pragma_covers_only_the_next_instruction() {
        let src =
            "FROM a\n# dfrewrite: ignore=add-to-copy reason=\"tarball\"\nADD x /x\nADD y /y\n";
        let p = pragmas(src);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let first = src.find("ADD x").unwrap() + 5;
        let second = src.find("ADD y").unwrap() + 5;
        let mut used = Used::new();
        let kept = p.filter(
            vec![
                fix("add-to-copy", crate::text::to_u32(first)),
                fix("add-to-copy", crate::text::to_u32(second)),
            ],
            &mut used,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].range().start, crate::text::to_u32(second));
        assert_eq!(used.len(), 1);
        // another pass is not held back
        assert_eq!(
            p.filter(
                vec![fix("no-cache-flags", crate::text::to_u32(first))],
                &mut used
            )
            .len(),
            1
        );
    }

    #[test]
    fn misplaced_and_unknown_pragmas_are_problems() {
        let p = pragmas(
            "FROM a\n# dfrewrite: ignore-file=add-to-copy\n# dfrewrite: ignore=nope\nRUN x\n\
             # dfrewrite: ignore-stage=add-to-copy\nRUN y\n# dfrewrite: ignore=add-to-copy\n\nRUN z\n\
             # dfrewrite: ignore=add-to-copy because\nRUN w\n",
        );
        let messages: Vec<&str> = p.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert!(messages[0].contains("ignore-file"));
        assert!(messages[1].contains("unknown pass `nope`"));
        assert!(messages[2].contains("ignore-stage"));
        assert!(messages[3].contains("not directly above an instruction"));
        assert!(messages[4].contains("reason="));
    }

    #[test]
    fn hadolint_codes_map_to_passes_and_unmapped_codes_are_silent() {
        let p = pragmas(
            "FROM a\n# hadolint ignore=DL3008,DL3009 # pinned elsewhere\nRUN x\n# hadolint ignore=DL3008\nRUN y\n",
        );
        assert!(p.problems.is_empty());
        assert_eq!(p.list.len(), 1);
        assert_eq!(
            p.list[0].passes.as_deref(),
            Some(&["same-layer-cleanup"][..])
        );
    }

    /// Where a line that manifests-first inserts before `before` in `src` ends up.
    fn inserted_line_start(src: &str, before: &str) -> u32 {
        let at = crate::text::to_u32(src.find(before).unwrap());
        let f = Fix::new(
            "manifests-first",
            crate::Applicability::Safe,
            "m",
            vec![Edit::insert(at, "COPY a .\n")],
        )
        .unwrap();
        let kept = pragmas(src).filter(vec![f], &mut Used::new());
        kept[0].edits()[0].range.start
    }

    #[test]
    fn a_line_inserted_above_an_instruction_goes_above_its_pragmas() {
        let src = "FROM a\n# dfrewrite: ignore=add-to-copy\nRUN x\n";
        assert_eq!(inserted_line_start(src, "RUN"), 7);
    }

    #[test]
    fn a_line_inserted_between_a_pragma_and_a_comment_goes_above_the_pragma() {
        let src = "FROM a\n# dfrewrite: ignore=add-to-copy\n# why\nRUN x\n";
        assert_eq!(inserted_line_start(src, "# why"), 7);
    }

    #[test]
    fn a_fix_that_drops_a_pragma_line_is_withheld() {
        let src = "FROM a\n# dfrewrite: ignore=add-to-copy\nRUN x\n";
        let p = pragmas(src);
        let drop = Fix::new(
            "merge-run-chains",
            crate::Applicability::Safe,
            "m",
            vec![Edit::delete(TextRange::new(7, 39))],
        )
        .unwrap();
        assert!(p.filter(vec![drop], &mut Used::new()).is_empty());
    }
}
