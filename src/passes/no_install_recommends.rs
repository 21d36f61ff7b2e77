use super::runs;
use super::{FixAvailability, PassContext};
use crate::managers::Action;
use crate::syntax::{Dockerfile, Keyword};
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// Adds the "no recommended packages" option to package installs: `apt-get install`
    /// and `apt install` get `--no-install-recommends`, `dnf`/`yum install` get
    /// `--setopt=install_weak_deps=False`, `zypper install` gets `--no-recommends`.
    ///
    /// ## Why
    /// By default these managers also install the packages the requested ones merely
    /// recommend: documentation, optional tools, whole toolchains. In images that is often
    /// more than half of what an install adds.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install -y curl
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install --no-install-recommends -y curl ca-certificates
    /// ```
    ///
    /// ## Fix safety
    /// **Unsafe**: the installed package set changes. A program that used a recommended
    /// package breaks; for the well-known cases (`curl`, `wget` and `git` need
    /// `ca-certificates` for HTTPS, `gcc` needs `libc6-dev` to compile anything) the fix adds
    /// the package by name, from the `companions` data in `transforms/`. There is no fix for
    /// `yum` on yum 3 (CentOS 6/7, Amazon Linux 2, Oracle Linux 7: the option does nothing
    /// there), and the message says so when the base does not tell. There is no fix when the
    /// command already decides (either
    /// way), or when the choice is configured: the key (`APT::Install-Recommends`,
    /// `install_weak_deps`, `solver.onlyRequires`) appears in the RUN or in an earlier
    /// instruction, or an earlier `COPY`/`ADD` writes into the manager's configuration
    /// directory.
    pub(crate) static NO_INSTALL_RECOMMENDS = {
        name: "no-install-recommends",
        summary: "Adds the \"no recommended packages\" option to package installs (`--no-install-recommends`, …)",
        fix: FixAvailability::Sometimes,
        may: [changes_package_set],
        run: run,
        tier: Unsafe,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    let mut fixes = Vec::new();
    for (pos, run) in runs.all.iter().enumerate() {
        let Ok(script) = &run.script else {
            continue;
        };
        for inv in run.invocations() {
            let Some(nr) = &inv.manager.no_recommends else {
                continue;
            };
            if inv.action() != Some(Action::Install) || inv.has_any(nr.decided) {
                continue;
            }
            let configured = nr
                .config_keys
                .iter()
                .any(|key| runs::mentioned_through(ctx.file, run.index(), key))
                || config_copied_before(ctx.file, run.index(), nr.config_paths);
            let Some(sub) = inv.sub.filter(|_| !configured) else {
                continue;
            };
            // yum 3 (CentOS 7, Amazon Linux 2) has no weak dependencies: the option does nothing
            let version = super::tool_versions::tool_version(
                runs,
                pos,
                inv.manager.name,
                inv.command.range.start,
            );
            if matches!(version, super::tool_versions::Version::Old(_)) {
                continue;
            }
            let at = script.to_source(sub.range).end;
            let (added, after) = companions(&inv, nr);
            let line_end = |offset: u32| {
                ctx.file.source[offset as usize..]
                    .find('\n')
                    .map_or(ctx.file.source.len(), |i| offset as usize + i)
            };
            // the companions land on the flag's line when the package list ends there
            let after_end = after.map(|a| script.to_source(a).end);
            let same_line = after_end.is_some_and(|e| line_end(at) == line_end(e));
            let shared = if same_line && !added.is_empty() {
                added.iter().map(|a| a.chars().count() + 1).sum()
            } else {
                0
            };
            let flag = super::layout::insert_words_sharing(
                ctx.file,
                run.ins,
                at,
                &format!(" {}", nr.flag),
                shared,
            );
            let moved = flag.content.contains('\n');
            let mut edits = vec![flag];
            let mut message = format!(
                "install without recommended packages: add `{}` (the package set changes)",
                nr.flag
            );
            if let super::tool_versions::Version::Unknown(why) = &version {
                message.push_str("; ");
                message.push_str(why);
            }
            if let (false, Some(after)) = (added.is_empty(), after_end) {
                let names = added.join(" ");
                let names = format!(" {names}");
                // after the flag moved the rest of the line down, that rest is the line
                let fits_below = moved
                    && same_line
                    && run.layout(ctx.file).indent.chars().count()
                        + ctx.file.source[at as usize..line_end(after)]
                            .trim()
                            .chars()
                            .count()
                        + names.chars().count()
                        <= super::layout::limit(ctx.file);
                edits.push(if fits_below {
                    Edit::insert(after, names.clone())
                } else {
                    super::layout::insert_words(ctx.file, run.ins, after, &names)
                });
                message.push_str("; install ");
                message.push_str(names.trim_start());
                message.push_str(" by name, which the listed packages need in practice");
            }
            fixes.extend(ctx.fix(
                NO_INSTALL_RECOMMENDS.name,
                Applicability::Unsafe,
                message,
                edits,
            ));
        }
    }
    fixes
}

/// Whether a `COPY`/`ADD` before instruction `index` may write into one of `paths`.
fn config_copied_before(file: &Dockerfile, index: usize, paths: &[&str]) -> bool {
    // the first such COPY/ADD, found once per file and list of paths
    let first = file
        .memo
        .first(&format!("copy-into:{}", paths.join("\0")), || {
            file.instructions().position(|i| {
                matches!(i.kind, Keyword::Copy | Keyword::Add) && {
                    let dest = i.paths(&file.source).last().copied();
                    // a relative or variable destination may be anywhere
                    dest.is_none_or(|d| {
                        !d.starts_with('/')
                            || d.contains('$')
                            || paths.iter().any(|p| d.starts_with(p))
                    })
                }
            })
        });
    first.is_some_and(|first| first < index)
}

/// The recommended packages that the listed packages need in practice and that are not
/// listed, and the range of the last package word (where they go).
fn companions(
    inv: &crate::managers::Invocation<'_>,
    nr: &crate::managers::NoRecommends,
) -> (Vec<String>, Option<crate::text::JoinedRange>) {
    let Some(sub) = inv.sub else {
        return (Vec::new(), None);
    };
    let mut packages: Vec<&crate::shell::Word> = Vec::new();
    let mut skip_next = false;
    for word in inv
        .command
        .args
        .iter()
        .filter(|w| w.range.start > sub.range.start)
    {
        let value = word.value.as_deref().unwrap_or("");
        if skip_next {
            skip_next = false;
        } else if value.starts_with('-') {
            skip_next = inv.manager.value_options.contains(&value);
        } else {
            packages.push(word);
        }
    }
    // `gcc=4:12.2.0-3`, `gcc:amd64`: the package name
    let name = |w: &crate::shell::Word| -> Option<String> {
        let v = w.value.as_deref()?;
        Some(v.split(['=', ':']).next().unwrap_or(v).to_owned())
    };
    let listed: Vec<String> = packages.iter().filter_map(|w| name(w)).collect();
    let mut added: Vec<String> = Vec::new();
    for package in &listed {
        for companion in nr
            .companions
            .iter()
            .filter(|(p, _)| p == package)
            .flat_map(|(_, list)| *list)
        {
            if !listed.iter().any(|l| l == companion) && !added.iter().any(|a| a == companion) {
                added.push((*companion).to_owned());
            }
        }
    }
    (added, packages.last().map(|w| w.range))
}
