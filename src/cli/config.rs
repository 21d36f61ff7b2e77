//! Configuration files: `.dfrewrite.toml` or `dfrewrite.toml`, the nearest one upward from
//! each Dockerfile (stopping at the repository root, the directory holding `.git`), or the
//! one `--config` names. The library never sees a file: this turns the configuration and the
//! flags into the [`Settings`] each Dockerfile is rewritten with.
//!
//! Selection is layered as in ruff: the file's top-level `select`/`ignore`, then each
//! matching `[[overrides]]` in order, then `--select`/`--ignore`. A layer's `select` replaces
//! the passes that run so far; its `ignore` removes passes from them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dfrewrite::{Applicability, Settings};
use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

/// The names looked for in each directory, the first found winning (as ruff prefers
/// `.ruff.toml` to `ruff.toml`).
const NAMES: [&str; 2] = [".dfrewrite.toml", "dfrewrite.toml"];

/// Flags about configuration, flattened into the main arguments.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ConfigArgs {
    /// Use this configuration file for every Dockerfile instead of looking for
    /// `.dfrewrite.toml` / `dfrewrite.toml` upward from each one.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Ignore inline pragmas (`# dfrewrite: ignore=…`, `# hadolint ignore=…`) and do not
    /// report on them.
    #[arg(long)]
    no_inline_ignores: bool,

    /// Print the settings resolved for FILE (configuration file, overrides, flags) and exit.
    #[arg(long, value_name = "FILE")]
    pub(crate) show_settings: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    select: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
    #[serde(rename = "unsafe")]
    unsafe_fixes: Option<bool>,
    inline_ignores: Option<bool>,
    extend_exclude: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    overrides: Vec<RawOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawOverride {
    files: Vec<Spanned<String>>,
    select: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
    #[serde(rename = "unsafe")]
    unsafe_fixes: Option<bool>,
}

/// Patterns matched against a path relative to the configuration file's directory.
#[derive(Debug)]
struct Patterns {
    written: Vec<String>,
    set: GlobSet,
}

impl Patterns {
    /// Whether `relative` (`/`-separated) or a directory above it matches; a pattern without
    /// `/` also matches any single name (`Dockerfile.dev`, `vendor`).
    fn matches(&self, relative: &str) -> bool {
        let mut prefix = String::new();
        for part in relative.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if self.set.is_match(&prefix) || self.set.is_match(part) {
                return true;
            }
        }
        false
    }
}

/// One selection layer.
#[derive(Debug, Default)]
struct Layer {
    select: Option<Vec<String>>,
    ignore: Vec<String>,
    unsafe_fixes: Option<bool>,
}

#[derive(Debug)]
struct Override {
    files: Patterns,
    layer: Layer,
}

/// A configuration file, checked.
#[derive(Debug)]
pub(crate) struct Config {
    path: PathBuf,
    /// Its directory, absolute: patterns are relative to it.
    dir: PathBuf,
    top: Layer,
    inline_ignores: Option<bool>,
    exclude: Patterns,
    overrides: Vec<Override>,
}

/// A configuration problem, reported as `PATH:LINE:COL: error: MESSAGE`.
#[derive(Debug, Clone)]
pub(crate) struct ConfigError {
    pub(crate) path: PathBuf,
    /// 1-based line and column, when the problem has a place in the file.
    position: Option<(usize, usize)>,
    pub(crate) message: String,
}

impl ConfigError {
    /// `PATH:LINE:COL` or `PATH`, what the error line starts with.
    pub(crate) fn location(&self) -> String {
        match self.position {
            Some((line, col)) => format!("{}:{line}:{col}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

/// A problem found while checking a configuration's text.
type Problem = (Option<(usize, usize)>, String);

impl Config {
    /// Reads and checks the configuration file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let error = |(position, message): Problem| ConfigError {
            path: path.to_path_buf(),
            position,
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| error((None, super::fsio::describe_io(&e))))?;
        Self::parse(path, &text).map_err(error)
    }

    /// Checks `text`.
    fn parse(path: &Path, text: &str) -> Result<Self, Problem> {
        let at = |span: Option<std::ops::Range<usize>>, message: &str| -> Problem {
            (
                span.map(|span| line_col(text, span.start)),
                message.to_owned(),
            )
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().replace('\n', "; ");
            at(e.span(), &message)
        })?;
        let names = |list: Option<Vec<Spanned<String>>>| -> Result<Option<Vec<String>>, Problem> {
            list.map(|list| {
                list.into_iter()
                    .map(
                        |name| match dfrewrite::pass_by_name(name.get_ref().trim()) {
                            Some(pass) => Ok(pass.name.to_owned()),
                            None => Err(at(
                                Some(name.span()),
                                &super::unknown_pass(name.get_ref(), "configuration"),
                            )),
                        },
                    )
                    .collect()
            })
            .transpose()
        };
        let patterns = |list: Vec<Spanned<String>>| -> Result<Patterns, Problem> {
            let mut set = GlobSetBuilder::new();
            let mut written = Vec::new();
            for pattern in list {
                let trimmed = pattern.get_ref().trim_end_matches('/');
                let glob = globset::GlobBuilder::new(trimmed)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| at(Some(pattern.span()), &format!("bad glob: {}", e.kind())))?;
                set.add(glob);
                written.push(pattern.into_inner());
            }
            let set = set.build().map_err(|e| at(None, &e.to_string()))?;
            Ok(Patterns { written, set })
        };
        let mut overrides = Vec::new();
        for o in raw.overrides {
            if o.files.is_empty() {
                return Err(at(None, "an [[overrides]] entry has an empty `files` list"));
            }
            overrides.push(Override {
                files: patterns(o.files)?,
                layer: Layer {
                    select: names(o.select)?,
                    ignore: names(o.ignore)?.unwrap_or_default(),
                    unsafe_fixes: o.unsafe_fixes,
                },
            });
        }
        let dir = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Ok(Self {
            path: path.to_path_buf(),
            dir,
            top: Layer {
                select: names(raw.select)?,
                ignore: names(raw.ignore)?.unwrap_or_default(),
                unsafe_fixes: raw.unsafe_fixes,
            },
            inline_ignores: raw.inline_ignores,
            exclude: patterns(raw.extend_exclude.unwrap_or_default())?,
            overrides,
        })
    }

    /// `path` relative to the configuration's directory, `/`-separated; `None` outside it.
    fn relative(&self, path: &Path) -> Option<String> {
        let abs = std::path::absolute(path).ok()?;
        let rel = abs.strip_prefix(&self.dir).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        )
    }
}

/// `path` relative to the current directory when it lies below it (as messages show paths).
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// The settings one Dockerfile gets, and where they came from.
pub(crate) struct Resolved {
    pub(crate) settings: Settings,
    config: Option<Arc<Config>>,
    /// Indexes of the overrides that matched.
    matched: Vec<usize>,
}

/// The configuration that applies in a directory (none, or the error reading it).
type Lookup = Result<Option<Arc<Config>>, ConfigError>;

/// Finds and caches configuration files, and resolves each Dockerfile's settings.
pub(crate) struct Resolver {
    fixed: Option<Arc<Config>>,
    /// Per directory: the configuration that applies there (or the error reading it).
    /// A mutex, not a cell: a directory run resolves files on many threads.
    found: Mutex<HashMap<PathBuf, Lookup>>,
    no_inline_ignores: bool,
}

impl Resolver {
    /// Reads `--config` when given (its errors are the run's).
    pub(crate) fn new(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let fixed = args.config.as_deref().map(Config::load).transpose()?;
        Ok(Self {
            fixed: fixed.map(Arc::new),
            found: Mutex::new(HashMap::new()),
            no_inline_ignores: args.no_inline_ignores,
        })
    }

    /// The configuration for a Dockerfile at `path` (`None`: standard input without a name,
    /// looked up from the current directory).
    fn config_for(&self, path: Option<&Path>) -> Lookup {
        if let Some(fixed) = &self.fixed {
            return Ok(Some(Arc::clone(fixed)));
        }
        let start = path
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(start) = std::path::absolute(start) else {
            return Ok(None);
        };
        self.lookup(&start)
    }

    fn lookup(&self, dir: &Path) -> Lookup {
        if let Some(found) = self.found().get(dir) {
            return found.clone();
        }
        let here = NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file());
        let result = match here {
            Some(path) => Config::load(&shown(&path)).map(|c| Some(Arc::new(c))),
            // the repository root ends the search
            None if dir.join(".git").exists() => Ok(None),
            None => match dir.parent() {
                Some(parent) => self.lookup(parent),
                None => Ok(None),
            },
        };
        self.found().insert(dir.to_path_buf(), result.clone());
        result
    }

    /// A poisoned lock only means a lookup panicked; the map itself is still whole.
    fn found(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Lookup>> {
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The settings for the Dockerfile at `path`: `flags` (checked `--select`, `--ignore`,
    /// `--unsafe`) over its configuration.
    pub(crate) fn resolve(
        &self,
        flags: &Settings,
        path: Option<&Path>,
    ) -> Result<Resolved, ConfigError> {
        let config = self.config_for(path)?;
        let relative = config.as_ref().zip(path).and_then(|(c, p)| c.relative(p));
        let matched: Vec<usize> = match (&config, &relative) {
            (Some(c), Some(rel)) => c
                .overrides
                .iter()
                .enumerate()
                .filter(|(_, o)| o.files.matches(rel))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        let cli = Layer {
            select: flags.select.clone(),
            ignore: flags.ignore.clone(),
            unsafe_fixes: (flags.threshold == Applicability::Unsafe).then_some(true),
        };
        let mut layers: Vec<&Layer> = Vec::new();
        if let Some(c) = &config {
            layers.push(&c.top);
            layers.extend(matched.iter().map(|&i| &c.overrides[i].layer));
        }
        layers.push(&cli);
        let mut running: Option<Vec<String>> = None;
        let mut unsafe_fixes = false;
        for layer in layers {
            let mut names = layer.select.clone().or_else(|| running.take());
            if !layer.ignore.is_empty() {
                let all = || {
                    dfrewrite::passes()
                        .iter()
                        .map(|p| p.name.to_owned())
                        .collect()
                };
                let mut kept: Vec<String> = names.unwrap_or_else(all);
                kept.retain(|n| !layer.ignore.contains(n));
                names = Some(kept);
            }
            running = names;
            unsafe_fixes = layer.unsafe_fixes.unwrap_or(unsafe_fixes);
        }
        let inline = config
            .as_ref()
            .and_then(|c| c.inline_ignores)
            .unwrap_or(true);
        Ok(Resolved {
            settings: Settings {
                threshold: if unsafe_fixes {
                    Applicability::Unsafe
                } else {
                    Applicability::Safe
                },
                // registry order, so the list reads like `--list-passes`
                select: running.map(|names| {
                    dfrewrite::passes()
                        .iter()
                        .filter(|p| names.iter().any(|n| n == p.name))
                        .map(|p| p.name.to_owned())
                        .collect()
                }),
                ignore: Vec::new(),
                inline_ignores: inline && !self.no_inline_ignores,
                ..flags.clone()
            },
            config,
            matched,
        })
    }

    /// Whether a Dockerfile found by walking a directory is excluded by its configuration's
    /// `extend-exclude` (a configuration that cannot be read excludes nothing: its error is
    /// reported when the file is processed).
    pub(crate) fn excluded(&self, path: &Path) -> bool {
        let Ok(Some(config)) = self.config_for(Some(path)) else {
            return false;
        };
        config
            .relative(path)
            .is_some_and(|rel| config.exclude.matches(&rel))
    }
}

/// The settings for `verify` and the language server: `flags` (their own `--select`,
/// `--ignore`, `--unsafe` or client settings) over the configuration found for `path`.
/// Read afresh on every call: the language server must see an edited configuration file.
pub(crate) fn discovered(flags: &Settings, path: Option<&Path>) -> Result<Settings, ConfigError> {
    Resolver::new(&ConfigArgs::default())?
        .resolve(flags, path)
        .map(|r| r.settings)
}

/// What `--explain` prints for the reports on inline pragmas (they are not passes, but the
/// language server links their code to `--explain` as it does a pass's).
pub(crate) fn explain_report(name: &str) -> Option<&'static str> {
    match name {
        "unused-pragma" => Some(
            "# unused-pragma\n\n\
             A `# dfrewrite: ignore=PASS` (or `ignore-stage=`, `ignore-file=`) comment names a pass\n\
             that held back no fix or advice in what the pragma covers, over every round of the\n\
             rewrite. It is only reported when that pass ran (not for one left out by `--select`).\n\
             Remove the pass from the pragma, or the pragma. hadolint's comments are never\n\
             reported: hadolint reads them too. `--no-inline-ignores` turns the report off.\n",
        ),
        "invalid-pragma" => Some(
            "# invalid-pragma\n\n\
             A `# dfrewrite:` comment that cannot mean what it says: an unknown pass, text after\n\
             the pass list that is not `reason=\"…\"`, `ignore=` not directly above an\n\
             instruction, `ignore-stage=` not directly above a FROM, or `ignore-file=` after the\n\
             first instruction. The passes it names that exist still apply where it is placed\n\
             correctly.\n",
        ),
        _ => None,
    }
}

/// `--show-settings`: the resolved settings, as TOML a configuration file could hold.
pub(crate) fn show(resolved: &Resolved, file: &Path, excluded: bool) -> String {
    use std::fmt::Write as _;
    let quote = |s: &str| format!("{s:?}");
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut out = String::new();
    let _ = writeln!(out, "# settings for {}", file.display());
    match &resolved.config {
        Some(c) => {
            let _ = writeln!(out, "# configuration: {}", c.path.display());
            for &i in &resolved.matched {
                let _ = writeln!(
                    out,
                    "# override matched: files = {}",
                    list(&c.overrides[i].files.written)
                );
            }
        }
        None => out.push_str("# configuration: none (defaults and flags only)\n"),
    }
    let s = &resolved.settings;
    let passes: Vec<String> = dfrewrite::passes()
        .iter()
        .filter(|p| s.runs(p.name))
        .map(|p| p.name.to_owned())
        .collect();
    let _ = writeln!(out, "select = {}", list(&passes));
    let _ = writeln!(out, "unsafe = {}", s.threshold == Applicability::Unsafe);
    let _ = writeln!(out, "inline-ignores = {}", s.inline_ignores);
    let exclude = resolved
        .config
        .as_ref()
        .map(|c| c.exclude.written.clone())
        .unwrap_or_default();
    let _ = writeln!(out, "extend-exclude = {}", list(&exclude));
    let _ = writeln!(out, "# excluded from directory walks: {excluded}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("dfrewrite.toml"), text).map_err(|(position, message)| {
            let (line, col) = position.unwrap_or_default();
            format!(":{line}:{col}: error: {message}")
        })
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse("select = [\"add-to-copy\"]\nbogus = 1\n").unwrap_err();
        assert!(
            err.starts_with(":2:1: error: unknown field `bogus`"),
            "{err}"
        );
        let err = parse("ignore = [\"add-to-copy\", \"nope\"]\n").unwrap_err();
        assert!(
            err.starts_with(":1:26: error: unknown pass `nope`"),
            "{err}"
        );
        let err = parse("unsafe = \"yes\"\n").unwrap_err();
        assert!(err.starts_with(":1:10: error: invalid type"), "{err}");
        let err = parse("[[overrides]]\nfiles = [\"a/[\"]\n").unwrap_err();
        assert!(err.starts_with(":2:10: error: bad glob"), "{err}");
    }

    #[test]
    fn patterns_match_paths_directories_and_names() {
        let c = parse("extend-exclude = [\"vendor\", \"legacy/**\", \"*.dev\"]\n").unwrap();
        for yes in [
            "vendor/Dockerfile",
            "a/vendor/Dockerfile",
            "legacy/x/Dockerfile",
            "Dockerfile.dev",
        ] {
            assert!(c.exclude.matches(yes), "{yes}");
        }
        for no in ["Dockerfile", "app/Dockerfile", "legacyx/Dockerfile"] {
            assert!(!c.exclude.matches(no), "{no}");
        }
    }
}
