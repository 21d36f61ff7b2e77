//! Images where a user other than root is likely wrong even though nothing the pass checks
//! first says so: tools run over files mounted from the host, dev containers kept alive for
//! `docker exec`, containers that use devices, and Django apps whose default SQLite database
//! sits in the project directory.

use super::{HoldBack, hold, start_programs};
use crate::semantic::{Effect, ExecSpec, StageModel, images};
use crate::syntax::Dockerfile;

pub(super) fn doubtful(
    file: &Dockerfile,
    last: &StageModel<'_>,
    chain: &[&StageModel<'_>],
) -> Result<(), HoldBack> {
    let runtime = &last.runtime;
    let data = images::user_data();
    let start_words = start_words(runtime.entrypoint.as_ref(), runtime.cmd.as_ref());
    let programs = start_programs(runtime.entrypoint.as_ref(), runtime.cmd.as_ref());
    // 1. kept alive for `docker exec`: whoever execs in decides the user
    if let Some(first) = programs.first()
        && data.keep_alive.iter().any(|k| k == first)
        && keeps_alive(first, &start_words)
    {
        return Err(hold(
            "dev-container",
            format!(
                "the start command ({first}) only keeps the container alive: a dev or tooling container, used through `docker exec` as whoever it is given"
            ),
        ));
    }
    if runtime
        .labels
        .iter()
        .any(|(k, _)| k.trim_matches('"').starts_with("devcontainer"))
    {
        return Err(hold(
            "dev-container",
            "a devcontainer label: the dev container's own settings (remoteUser) decide the user",
        ));
    }
    // a bare interpreter (`CMD ["python3"]`, `ENTRYPOINT ["pwsh"]`) is a REPL: a base image
    if let [only] = programs.as_slice()
        && INTERPRETERS.contains(&only.as_str())
        && start_words
            .iter()
            .skip_while(|w| super::basename(w) != only)
            .skip(1)
            .all(|w| w.starts_with('-'))
    {
        return Err(hold(
            "base-image",
            format!(
                "the start command is the {only} interpreter with no program: a base image or a REPL, whoever runs it decides the user"
            ),
        ));
    }
    // 2. devices: their nodes belong to root or to a group the new user is not in
    let installed = installed_packages(chain);
    if let Some(p) = installed
        .iter()
        .find(|p| data.device_packages.iter().any(|d| d == *p))
    {
        return Err(hold(
            "device-access",
            format!(
                "the image installs {p}: it uses devices, whose nodes belong to root or a group a new user is not in"
            ),
        ));
    }
    let django_words = ["manage.py", "django-admin"];
    let words: Vec<&str> = (data.device_words.iter().map(String::as_str))
        .chain(django_words)
        .collect();
    let found = mentioned(&file.source, &words);
    let (device_found, django_found) = found.split_at(data.device_words.len());
    if let Some(w) = words
        .iter()
        .zip(device_found)
        .find_map(|(w, &f)| f.then_some(w))
    {
        return Err(hold(
            "device-access",
            format!(
                "the file mentions {w}: the container uses devices, whose nodes belong to root or a group a new user is not in"
            ),
        ));
    }
    // files put in root's home (`/root/.aws`, `~/.rally`): read at run time from a HOME
    // that another user neither has nor may read
    if let Some(at) = in_root_home(chain) {
        return Err(hold(
            "root-home",
            format!(
                "{at} puts files in /root, root's home: the app may read them at run time, and another user has another HOME and may not read /root"
            ),
        ));
    }
    // VOLUMEs that are not plain paths, or are system directories the app writes
    for v in &runtime.volumes {
        let odd = v.contains(['[', ']', ',', '"', '\'', '~']) || !v.starts_with(['/', '$']);
        let system = [
            "/etc/", "/usr/", "/root", "/lib", "/bin/", "/sbin/", "/boot",
        ]
        .iter()
        .any(|d| v.starts_with(d));
        if odd || system {
            return Err(hold(
                "unknown-writes",
                format!(
                    "VOLUME {v}: {}",
                    if odd {
                        "not a plain absolute path, so where the app writes is not clear"
                    } else {
                        "the app writes a system directory, which only root owns"
                    }
                ),
            ));
        }
    }
    // 3. a tool over mounted files: a bind mount's files belong to the host's user, whose
    // uid the image cannot know (`docker run --user "$(id -u)"` is the way)
    if runtime.entrypoint.is_some()
        && runtime.expose.is_empty()
        && let Some(v) = runtime.volumes.first()
    {
        return Err(hold(
            "mount-point",
            format!(
                "an ENTRYPOINT with VOLUME {v} and no port: a tool run over files mounted from the host, which belong to the host's user; run it with `--user \"$(id -u):$(id -g)\"`"
            ),
        ));
    }
    // 4. Django: the default database is db.sqlite3 next to manage.py
    let django = start_words.iter().any(|w| w.ends_with("manage.py"))
        || installed.iter().any(|p| p == "django")
        || django_found.contains(&true);
    let other_database = runtime.env.iter().any(|(name, value)| {
        let value = value.trim_matches(['"', '\'']);
        name.to_ascii_uppercase().contains("DATABASE")
            && value.contains("://")
            && !value.starts_with("sqlite")
    });
    if django && !other_database {
        let dir = last.workdir.as_deref().unwrap_or("the working directory");
        return Err(hold(
            "unknown-writes",
            format!(
                "a Django app: its default database, db.sqlite3, is written next to manage.py (under {dir}), which a new user would not own; set DATABASE_URL to a server or give that directory to the user"
            ),
        ));
    }
    Ok(())
}

/// Interpreters that, started with no program, are a REPL.
const INTERPRETERS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "node",
    "nodejs",
    "ruby",
    "irb",
    "php",
    "perl",
    "pwsh",
    "powershell",
    "lua",
    "R",
    "julia",
    "ghci",
    "scala",
    "jshell",
    "erl",
    "iex",
    "bun",
    "deno",
];

/// What puts files under `/root` (a COPY/ADD there, or a RUN naming a path in it): the
/// instruction's keyword and the path.
fn in_root_home(chain: &[&StageModel<'_>]) -> Option<String> {
    let names = |w: &str| {
        w.starts_with("/root/") || w == "/root" || w.starts_with("~/") || w.contains("$HOME/")
    };
    chain
        .iter()
        .flat_map(|s| s.steps.iter())
        .find_map(|step| match &step.effect {
            Effect::Copy(c) => c
                .dest
                .as_deref()
                .filter(|d| names(d))
                .map(|d| format!("a {} to {d}", if c.add { "ADD" } else { "COPY" })),
            Effect::Run(r) if r.commands.iter().flatten().any(pip_user_install) => {
                Some("a RUN `pip install --user`".to_owned())
            }
            Effect::Run(r) => r
                .commands
                .iter()
                .flatten()
                .filter(|c| {
                    matches!(
                        c.program(),
                        Some("mkdir" | "cp" | "mv" | "ln" | "touch" | "install")
                    )
                })
                .find_map(|c| c.argv.iter().flatten().find(|w| names(w)))
                .map(|w| format!("a RUN naming {w}")),
            Effect::None => None,
        })
}

/// `pip install --user` (or `python -m pip install --user`): packages and scripts go to
/// root's user base (`/root/.local`), which only root's HOME puts on `sys.path`.
fn pip_user_install(c: &crate::semantic::RunCommand) -> bool {
    let words: Vec<&str> = c.argv.iter().flatten().map(String::as_str).collect();
    let pip = words.iter().position(|w| {
        super::basename(w)
            .strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    });
    let pip = pip.or_else(|| {
        words
            .windows(2)
            .position(|p| p == ["-m", "pip"])
            .map(|i| i + 1)
    });
    pip.is_some_and(|i| words.get(i + 1) == Some(&"install") && words[i + 2..].contains(&"--user"))
}

/// Whether a keep-alive program runs forever here: `sleep infinity` (or an hour and more),
/// `tail -f /dev/null`, `cat` with no file.
fn keeps_alive(program: &str, words: &[String]) -> bool {
    let after: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .skip_while(|w| super::basename(w) != program)
        .skip(1)
        .collect();
    match program {
        "sleep" => after
            .first()
            .is_some_and(|w| *w == "infinity" || w.parse::<u64>().is_ok_and(|n| n >= 3600)),
        "tail" => after.contains(&"/dev/null"),
        "cat" => after.is_empty(),
        _ => false,
    }
}

fn start_words(entrypoint: Option<&ExecSpec>, cmd: Option<&ExecSpec>) -> Vec<String> {
    [entrypoint, cmd]
        .into_iter()
        .flatten()
        .flat_map(|spec| match spec {
            ExecSpec::Exec(argv) => argv.clone(),
            ExecSpec::Shell(text) => text.split_whitespace().map(str::to_owned).collect(),
        })
        .collect()
}

/// Which of `words` (lowercase) `text` contains, ASCII case ignored: one pass over the text,
/// no lowercased copy of it (a large file's worth at the peak).
fn mentioned(text: &str, words: &[&str]) -> Vec<bool> {
    let mut found = vec![false; words.len()];
    let searcher = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .expect("a few short words from the image table always build");
    for m in searcher.find_overlapping_iter(text) {
        found[m.pattern().as_usize()] = true;
    }
    found
}

/// Package names (lowercased, versions cut) the stages install.
fn installed_packages(chain: &[&StageModel<'_>]) -> Vec<String> {
    chain
        .iter()
        .flat_map(|s| s.steps.iter())
        .filter_map(|s| match &s.effect {
            Effect::Run(r) => Some(r),
            _ => None,
        })
        .flat_map(|r| r.installs.iter().flat_map(|i| i.packages.iter()))
        .map(|p| {
            p.split(['=', '<', '>', '~', '@', '['])
                .next()
                .unwrap_or(p)
                .to_ascii_lowercase()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn mentioned_finds_what_a_lowercased_copy_would() {
        // words far apart, a long line, multibyte text
        let mut text = "é".repeat(40_000);
        text.push_str("\nDjango-Admin x\n");
        text.push_str(&"a".repeat(70_000));
        text.push_str("/DEV/snd\nmanage.PY");
        let words = ["django-admin", "/dev/snd", "manage.py", "nvidia", ""];
        let lower = text.to_ascii_lowercase();
        let expected: Vec<bool> = words.iter().map(|w| lower.contains(w)).collect();
        assert_eq!(expected, [true, true, true, false, true]);
        assert_eq!(super::mentioned(&text, &words), expected);
        assert_eq!(
            super::mentioned("", &words),
            [false, false, false, false, true]
        );
    }
}
