use super::runs;
use super::{FixAvailability, PassContext};
use crate::managers::Action;
use crate::syntax::{Args, Dockerfile, Keyword};
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
    /// RUN apt-get update && apt-get install --no-install-recommends -y curl
    /// ```
    ///
    /// ## Fix safety
    /// **Unsafe**: the installed package set changes. A program that used a recommended
    /// package at run time (`ca-certificates` for `curl https://…` is the classic) breaks;
    /// add such packages by name. There is no fix when the command already decides (either
    /// way), or when the choice is configured: the key (`APT::Install-Recommends`,
    /// `install_weak_deps`, `solver.onlyRequires`) appears in the RUN or in an earlier
    /// instruction, or an earlier `COPY`/`ADD` writes into the manager's configuration
    /// directory.
    pub(crate) static NO_INSTALL_RECOMMENDS = {
        name: "no-install-recommends",
        fix: FixAvailability::Sometimes,
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let runs = ctx.runs();
    let mut fixes = Vec::new();
    for run in &runs.all {
        let Ok(script) = &run.script else {
            continue;
        };
        let body = ctx.file.slice(run.ins.range);
        for inv in run.invocations() {
            let Some(nr) = &inv.manager.no_recommends else {
                continue;
            };
            if inv.action() != Some(Action::Install) || inv.has_any(&nr.decided) {
                continue;
            }
            let configured = nr.config_keys.iter().any(|key| {
                body.contains(key.as_str()) || runs::mentioned_before(ctx.file, run.index, key)
            }) || config_copied_before(ctx.file, run.index, &nr.config_paths);
            let Some(sub) = inv.sub.filter(|_| !configured) else {
                continue;
            };
            let at = script.to_source(sub.range).end;
            if let Ok(fix) = Fix::new(
                NO_INSTALL_RECOMMENDS.name,
                Applicability::Unsafe,
                format!(
                    "install without recommended packages: add `{}` (the package set changes)",
                    nr.flag
                ),
                vec![Edit::insert(at, format!(" {}", nr.flag))],
            ) {
                fixes.push(fix);
            }
        }
    }
    fixes
}

/// Whether a `COPY`/`ADD` before instruction `index` may write into one of `paths`.
fn config_copied_before(file: &Dockerfile, index: usize, paths: &[String]) -> bool {
    file.instructions()
        .take(index)
        .filter(|i| matches!(i.kind, Keyword::Copy | Keyword::Add))
        .any(|i| {
            let dest = match &i.args {
                Args::Json { elems, .. } => elems.last().map(|e| e.value.as_str()),
                _ => i.words.last().map(|w| w.text.as_str()),
            };
            // a relative or variable destination may be anywhere
            dest.is_none_or(|d| {
                !d.starts_with('/')
                    || d.contains('$')
                    || paths.iter().any(|p| d.starts_with(p.as_str()))
            })
        })
}
