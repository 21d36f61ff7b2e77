//! How one command of a RUN uses files: installs from manifests, installs packages by name,
//! or cleans a manager's cache; `None` for anything else.

use crate::managers::{self, Action, Manifests};
use crate::shell::Command;
use crate::syntax::workdir::plain;

/// One command of a moved RUN, as the pass understands it.
pub(super) enum CommandUse<'a> {
    /// Installs from manifests.
    Manifests(Install<'a>),
    /// Installs packages by name from the index, reading no file.
    Registry(Vec<String>),
    /// Cleans a manager's cache or removes its state directory.
    Harmless,
}

pub(super) struct Install<'a> {
    pub(super) data: &'static Manifests,
    /// Files named on the command line (`pip install -r FILE`), as written.
    pub(super) named: Vec<&'a str>,
    /// Package names also given.
    pub(super) packages: Vec<String>,
    /// Whether the command fails without a lockfile.
    pub(super) locked: bool,
    /// Whether the root package's lifecycle scripts are switched off.
    pub(super) scripts_off: bool,
}

/// How `command` uses files, when it is a command the pass understands.
pub(super) fn classify(command: &Command) -> Option<CommandUse<'_>> {
    // `rm -rf /root/.cache/pip`: every operand inside a cache directory of such a manager
    let harmless_rm = command.is("rm")
        && !command.args_no_flags().is_empty()
        && command.args_no_flags().iter().all(|w| {
            w.value.as_deref().is_some_and(|v| {
                let path = v.trim_end_matches('*').trim_end_matches('/');
                path.starts_with('/')
                    && !path.contains(['*', '?', '['])
                    && managers::all().any(|m| {
                        m.manifests.is_some() && m.state_dirs().any(|d| managers::covers(d, path))
                    })
            })
        });
    if harmless_rm {
        return Some(CommandUse::Harmless);
    }
    let inv = managers::invocation(command)?;
    let data = inv.manager.manifests.as_ref()?;
    if inv.action() == Some(Action::Clean) {
        return Some(CommandUse::Harmless);
    }
    let sub = inv.sub?;
    let sub_at = command.args.iter().position(|w| w.range == sub.range)?;
    let program = command.program()?;
    let prefix = inv
        .manager
        .invocations
        .iter()
        .find(|words| {
            let first = &words[0];
            let first_ok = match first.strip_suffix('*') {
                Some(stem) => program.starts_with(stem),
                None => program == *first,
            };
            first_ok
                && words.len() - 1 <= command.args.len()
                && words[1..]
                    .iter()
                    .zip(&command.args)
                    .all(|(want, got)| got.value.as_deref() == Some(*want))
        })
        .map_or(0, |words| words.len() - 1);
    if sub_at != prefix {
        // options before the subcommand
        return None;
    }
    let words: Vec<&str> = command.args[sub_at..]
        .iter()
        .map(|w| w.value.as_deref())
        .collect::<Option<_>>()?;
    let subcommand = data.commands.iter().find(|c| {
        let parts: Vec<&str> = c.split(' ').collect();
        words.len() >= parts.len() && words[..parts.len()] == parts[..]
    });
    let consumed = subcommand.map_or(1, |c| c.split(' ').count());
    let mut install = Install {
        data,
        named: Vec::new(),
        packages: Vec::new(),
        locked: subcommand.is_some_and(|c| data.locked.contains(c)),
        scripts_off: false,
    };
    let mut flags = Vec::new();
    let mut rest = words[consumed..].iter();
    while let Some(&word) = rest.next() {
        if word.starts_with('-') && word != "-" {
            let (name, inline) = match word.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v)),
                _ => (word, None),
            };
            if data.file_options.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => rest.next()?,
                };
                install.named.push(value);
                continue;
            }
            if !data.flags.contains(&name) {
                return None;
            }
            let value = match inline {
                Some(v) => Some(v),
                None if data.value_flags.contains(&name) => Some(*rest.next()?),
                None => None,
            };
            if value.is_some_and(|v| v.starts_with('.') || v.contains("file:")) {
                return None;
            }
            flags.push(name);
        } else if data.packages && is_package_name(word) {
            install.packages.push(word.to_owned());
        } else {
            return None;
        }
    }
    if !data.required_flags.iter().all(|f| flags.contains(f)) {
        return None;
    }
    install.locked |= data.locked_flags.iter().any(|f| flags.contains(f));
    install.scripts_off = data.script_flags.iter().any(|f| flags.contains(f));
    let is_install = subcommand.is_some();
    if is_install && (!install.named.is_empty() || data.file_options.is_empty()) {
        // the words given as named manifests are literal paths
        if install
            .named
            .iter()
            .any(|n| !plain(n, '\\') || n.contains("://"))
        {
            return None;
        }
        return Some(CommandUse::Manifests(install));
    }
    // `pip install --upgrade pip`: packages from the index only
    (inv.action() == Some(Action::Install)
        && data.packages
        && install.named.is_empty()
        && !install.packages.is_empty())
    .then_some(CommandUse::Registry(install.packages))
}

/// A requirement naming a package of the index: `flask`, `Flask[async]==3.0.*`, `pip>=24`.
fn is_package_name(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.[],<>=!~*".contains(c))
        && !std::path::Path::new(&word.to_ascii_lowercase())
            .extension()
            .is_some_and(|e| ["whl", "zip", "gz"].iter().any(|a| e == *a))
}
