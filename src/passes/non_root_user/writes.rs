//! Where the application writes, as far as the Dockerfile shows: `VOLUME`s, directories a RUN
//! makes and nothing fills, a final `WORKDIR` nothing is copied into, paths in data-like
//! `ENV`s and start-command flags. Anything that points at a write location the model cannot
//! read (a variable) makes the pass hold back.

use super::{HoldBack, hold};
use crate::semantic::{CopySource, Effect, ExecSpec, StageModel, join};
use crate::syntax::Dockerfile;
use crate::text::TextRange;

/// A directory the user must own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WriteDir {
    /// Filled by COPYs of the final stage (which gain `--chown`): the directory itself is
    /// given to the user.
    Filled(String),
    /// Empty, made by a RUN or WORKDIR (`exists`), or not there yet: created when needed and
    /// given away with what a RUN put in it.
    Empty { path: String, exists: bool },
}

impl WriteDir {
    pub(super) fn path(&self) -> &str {
        match self {
            Self::Filled(p) | Self::Empty { path: p, .. } => p,
        }
    }
}

/// The result: directories, and the keywords of the COPYs that land in them.
pub(super) struct Writes {
    pub(super) dirs: Vec<WriteDir>,
    pub(super) copies: Vec<TextRange>,
}

/// System directories the app never owns; paths under the first group are ignored
/// (writable already, or not data), a write location of the second group holds the pass back.
const IGNORED: &[&str] = &["/tmp", "/var/tmp", "/dev", "/proc", "/sys"];
const SYSTEM: &[&str] = &[
    "/",
    "/usr",
    "/etc",
    "/lib",
    "/lib64",
    "/bin",
    "/sbin",
    "/boot",
    "/root",
    "/var",
    "/opt",
    "/home",
    "/srv",
    "/run",
    "/var/lib",
    "/var/cache",
    "/var/log",
    "/usr/local",
];

/// ENV names that hold a data location.
const DATA_WORDS: &[&str] = &[
    "DATA", "UPLOAD", "STORAGE", "SQLITE", "DATABASE", "MEDIA", "DB",
];

fn under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.starts_with(&format!("{}/", dir.trim_end_matches('/')))
}

fn ignored(path: &str) -> bool {
    IGNORED.iter().any(|d| under(path, d))
        || path.starts_with("/usr/")
        || path.starts_with("/etc/")
        || path.starts_with("/lib")
        || path.starts_with("/bin/")
        || path.starts_with("/sbin/")
        || path.starts_with("/root/")
}

/// A path that names a file (`app.db`): its directory is the write location.
fn dir_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.contains('.') && !name.starts_with('.') {
        match path.rsplit_once('/') {
            Some(("", _)) => "/".to_owned(),
            Some((d, _)) => d.to_owned(),
            None => path.to_owned(),
        }
    } else {
        path.trim_end_matches('/').to_owned()
    }
}

fn data_like(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper
        .split('_')
        .any(|w| DATA_WORDS.contains(&w) || w.ends_with("DATA") || w.ends_with("UPLOADS"))
}

/// A path in a value: `/abs/path`, or a SQLite URL's path (`sqlite:////data/app.db`).
fn path_in(value: &str, workdir: Option<&str>) -> Option<String> {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    if let Some(rest) = v.strip_prefix("sqlite:///") {
        // sqlite:////abs (four slashes) is absolute, sqlite:///rel is relative
        return join(workdir, rest);
    }
    v.starts_with('/').then(|| v.to_owned())
}

impl Writes {
    pub(super) fn find(
        file: &Dockerfile,
        chain: &[&StageModel<'_>],
        last: &StageModel<'_>,
    ) -> Result<Self, HoldBack> {
        let _ = file;
        let mut wanted: Vec<String> = Vec::new();
        // directories the file itself makes (mkdir, WORKDIR)
        let mut made: Vec<String> = Vec::new();
        let unknown = |what: String| hold("unknown-writes", what);
        let steps: Vec<_> = chain.iter().flat_map(|s| s.steps.iter()).collect();
        let copy_dests: Vec<(bool, String)> = chain
            .iter()
            .flat_map(|s| {
                s.steps.iter().filter_map(move |step| match &step.effect {
                    Effect::Copy(c) => Some((s.index == last.index, c.dest.clone())),
                    _ => None,
                })
            })
            .map(|(own, d)| (own, d.unwrap_or_default()))
            .collect();
        let filled = |dir: &str| {
            copy_dests
                .iter()
                .any(|(_, d)| d.is_empty() || under(d.trim_end_matches('/'), dir))
        };
        // 1. VOLUMEs
        for v in &last.runtime.volumes {
            if v.contains('$') {
                let expanded = last.scope.expand(v, file.escape);
                match expanded {
                    Some(e) if e.starts_with('/') => wanted.push(e),
                    _ => return Err(unknown(format!("VOLUME {v} depends on a variable"))),
                }
            } else if v.starts_with('/') {
                wanted.push(v.clone());
            }
        }
        // 2. directories made by mkdir that nothing fills and no later command works in
        for (i, step) in steps.iter().enumerate() {
            let Effect::Run(run) = &step.effect else {
                continue;
            };
            let Some(cmds) = &run.commands else {
                continue;
            };
            for cmd in cmds.iter().filter(|c| c.program() == Some("mkdir")) {
                let mut skip = false;
                for word in cmd.argv.iter().skip(1) {
                    let Some(w) = word else {
                        return Err(unknown(
                            "a RUN makes a directory whose path depends on a variable".to_owned(),
                        ));
                    };
                    if skip {
                        skip = false;
                        continue;
                    }
                    if w == "-m" || w == "--mode" {
                        skip = true;
                        continue;
                    }
                    if w.starts_with('-') {
                        continue;
                    }
                    let Some(dir) = join(cmd.cwd.as_deref(), w) else {
                        return Err(unknown(format!(
                            "a RUN makes {w} in a directory that is not known"
                        )));
                    };
                    if ignored(&dir) || filled(&dir) {
                        continue;
                    }
                    // a later command working inside it, or naming a path in it (`tar -C`,
                    // `git clone … DIR`, `--prefix=DIR`), puts build output there
                    let worked_in = steps.iter().skip(i).any(|s| match &s.effect {
                        Effect::Run(r) => r.commands.iter().flatten().any(|c| {
                            !matches!(c.program(), Some("mkdir" | "chmod" | "chown"))
                                && (c.cwd.as_deref().is_some_and(|d| under(d, &dir))
                                    || c.argv.iter().flatten().any(|w| names_path_in(w, &dir)))
                        }),
                        _ => false,
                    });
                    if !worked_in {
                        made.push(dir.clone());
                        wanted.push(dir);
                    }
                }
            }
        }
        // 3. the final working directory, when it is an empty directory the file made
        if let Some(w) = &last.workdir {
            // set by a WORKDIR of the file, not the image's
            let made_here = chain.iter().any(|s| s.runtime.workdir.is_some());
            let worked_in = steps.iter().any(|s| match &s.effect {
                Effect::Run(r) => r.commands.iter().flatten().any(|c| {
                    c.program() != Some("mkdir") && c.cwd.as_deref().is_some_and(|d| under(d, w))
                }),
                _ => false,
            });
            let first = match last
                .runtime
                .entrypoint
                .as_ref()
                .or(last.runtime.cmd.as_ref())
            {
                Some(ExecSpec::Exec(argv)) => argv.first().cloned(),
                Some(ExecSpec::Shell(text)) => text.split_whitespace().next().map(str::to_owned),
                None => None,
            };
            // a program run from there (`./app`) is not data
            let runs_from_there = first.is_none_or(|p| !p.starts_with('/') && p.contains('/'));
            if made_here
                && !ignored(w)
                && !SYSTEM.contains(&w.as_str())
                && !filled(w)
                && !worked_in
                && !runs_from_there
                && !wanted.contains(w)
            {
                let named = [&last.runtime.entrypoint, &last.runtime.cmd]
                    .into_iter()
                    .flatten()
                    .any(|spec| match spec {
                        ExecSpec::Exec(argv) => argv.iter().any(|a| names_path_in(a, w)),
                        ExecSpec::Shell(text) => {
                            text.split_whitespace().any(|a| names_path_in(a, w))
                        }
                    });
                if !named {
                    // an empty working directory the start command does not name is most
                    // likely where the user mounts their files: its owner is the host's
                    return Err(unknown(format!(
                        "the working directory {w} is empty in the image: a mount point or a data directory, the Dockerfile does not say which"
                    )));
                }
                made.push(w.clone());
                wanted.push(w.clone());
            }
        }
        // 4. data-like ENVs
        for (name, value) in &last.scope.env {
            if !data_like(name) {
                continue;
            }
            match value {
                Some(v) => {
                    if let Some(p) = path_in(v, last.workdir.as_deref()) {
                        wanted.push(dir_of(&p));
                    }
                }
                None => {
                    return Err(unknown(format!(
                        "ENV {name} names a data location through a variable"
                    )));
                }
            }
        }
        // 5. start-command flags naming a data location, SQLite files
        for spec in [&last.runtime.entrypoint, &last.runtime.cmd]
            .into_iter()
            .flatten()
        {
            let words: Vec<String> = match spec {
                ExecSpec::Exec(argv) => argv.clone(),
                ExecSpec::Shell(text) => text.split_whitespace().map(str::to_owned).collect(),
            };
            let mut flag: Option<String> = None;
            for w in &words {
                let w = w.trim_matches(|c| c == '"' || c == '\'');
                if let Some(f) = w.strip_prefix("--").or_else(|| w.strip_prefix('-')) {
                    match f.split_once('=') {
                        Some((n, v)) if flag_like(n) => {
                            if let Some(p) = path_in(v, last.workdir.as_deref()) {
                                wanted.push(dir_of(&p));
                            }
                            flag = None;
                        }
                        _ => flag = Some(f.to_owned()),
                    }
                    continue;
                }
                if flag.take().is_some_and(|n| flag_like(&n))
                    && let Some(p) = path_in(w, last.workdir.as_deref())
                {
                    wanted.push(dir_of(&p));
                    continue;
                }
                let lower = w.to_ascii_lowercase();
                if [".db", ".sqlite", ".sqlite3"]
                    .iter()
                    .any(|e| lower.ends_with(e))
                    && let Some(p) = join(last.workdir.as_deref(), w)
                {
                    wanted.push(dir_of(&p));
                }
            }
        }
        // normalise: no ignored paths; a system directory is too much to give away; drop a
        // directory inside another
        let mut dirs: Vec<String> = Vec::new();
        for w in wanted {
            let w = if w.len() > 1 {
                w.trim_end_matches('/').to_owned()
            } else {
                w
            };
            if ignored(&w) {
                continue;
            }
            if SYSTEM.contains(&w.as_str()) {
                return Err(unknown(format!("the app writes {w}, a system directory")));
            }
            if !dirs.contains(&w) {
                dirs.push(w);
            }
        }
        let outer: Vec<String> = dirs
            .iter()
            .filter(|d| !dirs.iter().any(|o| o != *d && under(d, o)))
            .cloned()
            .collect();
        let mut copies = Vec::new();
        let mut out = Vec::new();
        for dir in outer {
            let own: Vec<_> = last
                .steps
                .iter()
                .filter_map(|s| match &s.effect {
                    Effect::Copy(c)
                        if c.dest
                            .as_deref()
                            .is_some_and(|d| under(d.trim_end_matches('/'), &dir)) =>
                    {
                        Some((s.instruction, c))
                    }
                    _ => None,
                })
                .collect();
            let from_ancestors = copy_dests
                .iter()
                .any(|(own, d)| !own && under(d.trim_end_matches('/'), &dir));
            if own.is_empty() || from_ancestors {
                let exists = made.contains(&dir);
                out.push(WriteDir::Empty { path: dir, exists });
            } else {
                for (ins, c) in own {
                    let chowned = c.flags.iter().any(|f| f.starts_with("--chown"));
                    let _ = matches!(c.from, Some(CopySource::Image(_)));
                    if !chowned && !copies.contains(&ins.keyword()) {
                        copies.push(ins.keyword());
                    }
                }
                out.push(WriteDir::Filled(dir));
            }
        }
        Ok(Self { dirs: out, copies })
    }
}

/// Whether word `w` names `dir` or a path in it (also after `=`: `--prefix=/opt/x`).
fn names_path_in(w: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    w.match_indices(dir).any(|(at, _)| {
        let before_ok = at == 0 || w[..at].ends_with(['=', ':', '"', '\'']);
        let rest = &w[at + dir.len()..];
        before_ok && (rest.is_empty() || rest.starts_with('/') || rest.starts_with(['"', '\'']))
    })
}

/// A start-command flag whose value is a place the app writes.
fn flag_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "data", "db", "database", "upload", "storage", "media", "state",
    ]
    .iter()
    .any(|w| lower.split(['-', '_']).any(|p| p == *w))
        || lower.ends_with("-dir")
        || lower.ends_with("_dir")
}
