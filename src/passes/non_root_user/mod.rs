use super::{FixAvailability, PassContext};
use crate::semantic::images::{self, ImageFacts};
use crate::semantic::{Base, ExecSpec, Model, StageModel, Step};
use crate::syntax::{Instruction, Keyword};
use crate::text::{Applicability, Edit, Fix};

mod review;
mod writes;

use writes::{WriteDir, Writes};

super::declare_pass! {
    /// ## What it does
    /// For a final stage that runs an application and ends as root (no `USER`, or `USER root`
    /// / `0`), switches to a user other than root after the last instruction that builds the
    /// filesystem: the user the base image already has for applications (`node` in the node
    /// images, `65532` in distroless), else a system user created the distribution's way
    /// (`useradd --system --uid 10001 --no-create-home app` on Debian and Ubuntu,
    /// `adduser -S -D -H -u 10001 app` on Alpine, `useradd -r -u 10001 app` on RHEL), or the
    /// number `65532` on `scratch`, which has no `/etc/passwd`. `USER` is written as a number
    /// wherever a name is not the image's own idiom, since Kubernetes' `runAsNonRoot` can
    /// check only a number. The user gets the directories the app writes and nothing else: a
    /// `COPY` into such a directory gains `--chown`, and a data directory (a `VOLUME`, an
    /// otherwise empty directory made by `mkdir` or `WORKDIR`, a path in a data-like `ENV`
    /// or `CMD` flag) is created and `chown`ed. It never uses `chmod 777`.
    ///
    /// ## Why
    /// A process running as root inside a container is root on the host's kernel: one escape
    /// or one mounted volume away from the host. Every hardening guide asks for a user, and
    /// the fixes other tools make break images: `USER nobody` cannot write the data
    /// directory, a user name the image lacks fails at start, uid 1000 is already taken on
    /// Ubuntu 24.04.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20
    /// WORKDIR /app
    /// COPY . .
    /// CMD ["node", "server.js"]
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM node:20
    /// WORKDIR /app
    /// COPY . .
    /// USER node
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// ## Fix safety
    /// **Unsafe**: the application can no longer write where it did. The pass gives it what
    /// the Dockerfile shows it writes, but it cannot see into the code: an app that writes
    /// next to its sources (a SQLite file in the working directory, say) fails until that
    /// directory is given to the user, and the message says which directories were. It
    /// holds back (advice, no fix) when the stage exposes a port below 1024, starts a daemon
    /// that needs root or drops privileges itself (nginx, apache, sshd, supervisord, …),
    /// switches user in its entrypoint (gosu, su-exec, sudo), is a base meant to be extended
    /// (ONBUILD), runs a script or installs packages at start (where it writes is unknown),
    /// creates a user it never switches to, or is built on an image whose users and
    /// distribution `transforms/images.toml` does not know. It also holds back where a user
    /// is likely wrong though nothing above says so: a dev container kept alive for
    /// `docker exec` (`sleep infinity`, a devcontainer label), a container that uses devices
    /// (udev, libusb, `/dev/tty…`, `--privileged`), a tool whose ENTRYPOINT works on a
    /// VOLUME with no port (a bind mount's files belong to the host's user), and a Django
    /// app with no database server in its ENV (the default `db.sqlite3` sits in the project
    /// directory), and files put in `/root` (`pip install --user` included: its packages sit
    /// in `/root/.local`, mode 700 and on no other user's `sys.path`). A stage with no CMD or
    /// ENTRYPOINT runs no application of its own (a base, or a build-only file): nothing is said.
    pub(crate) static NON_ROOT_USER = {
        name: "non-root-user",
        summary: "Runs the final stage as a user other than root that the base has or the distribution creates, owning only the directories the app writes",
        fix: FixAvailability::Sometimes,
        may: [changes_user],
        run: run,
        tier: Unsafe,
    };
}

/// Why the pass holds back: the kind (counted over the corpus) and the sentence shown.
struct HoldBack {
    kind: &'static str,
    reason: String,
}

fn hold(kind: &'static str, reason: impl Into<String>) -> HoldBack {
    HoldBack {
        kind,
        reason: reason.into(),
    }
}

/// Who the app will run as.
struct RunAs {
    /// What `USER` says.
    user: String,
    /// The uid, for `--chown` and `chown`.
    uid: u32,
    /// The command that creates the user, when the image lacks one.
    create: Option<String>,
    /// Whether RUN can run here (a shell exists).
    shell: bool,
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    // a split applied in this round gives the image another final stage (often on a base
    // without a shell): wait for it, and decide on the stage it leaves
    if split_pending(ctx) {
        return Vec::new();
    }
    let model = ctx.model();
    let Some(last) = model.last() else {
        return Vec::new();
    };
    let chain = chain(model, last.index);
    match plan(ctx, model, &chain, last) {
        Ok(Some(fix)) => vec![fix],
        Ok(None) => Vec::new(),
        Err(h) => {
            let at = insertion_anchor(last).range.end;
            Fix::new(
                NON_ROOT_USER.name,
                Applicability::DisplayOnly,
                format!("still runs as root, held back ({}): {}", h.kind, h.reason),
                vec![Edit::insert(at, "")],
            )
            .into_iter()
            .collect()
        }
    }
}

/// Whether split-stages runs and proposes a fix these settings apply, or waits a round to.
fn split_pending(ctx: &PassContext<'_>) -> bool {
    let split = &super::split_stages::SPLIT_STAGES;
    ctx.settings.runs(split.name)
        && (split.run)(ctx).iter().any(|f| {
            f.applicability >= ctx.settings.threshold
                && f.applicability > Applicability::DisplayOnly
                && !f.edits().is_empty()
                && !ctx.held_back(f)
        })
        || (ctx.settings.runs(split.name)
            && ctx.settings.threshold <= Applicability::Unsafe
            && super::split_stages::waits(ctx))
}

/// The stages the final stage is built on, root first, the final stage last.
fn chain<'m, 'a>(model: &'m Model<'a>, index: usize) -> Vec<&'m StageModel<'a>> {
    let mut out = Vec::new();
    let mut at = model.stage(index);
    while let Some(stage) = at {
        out.push(stage);
        at = match stage.base {
            Base::Stage(i) if i < stage.index => model.stage(i),
            _ => None,
        };
    }
    out.reverse();
    out
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user).trim();
    name == "root" || name == "0"
}

fn plan(
    ctx: &PassContext<'_>,
    model: &Model<'_>,
    chain: &[&StageModel<'_>],
    last: &StageModel<'_>,
) -> Result<Option<Fix>, HoldBack> {
    let runtime = &last.runtime;
    // no CMD or ENTRYPOINT: a base meant to be extended (or a build-only file), not an
    // application; the image built on it decides its user, and there is nothing to say
    if runtime.cmd.is_none() && runtime.entrypoint.is_none() {
        return Ok(None);
    }
    let root_base = &chain.first().map_or(&last.base, |s| &s.base);
    // who the stage runs as now
    match &runtime.user {
        Some(u) if u.contains('$') => {
            return Err(hold(
                "unknown-user",
                format!("USER {u} depends on a variable"),
            ));
        }
        Some(u) if !is_root(u) => return Ok(None),
        _ => {}
    }
    let facts = match root_base {
        Base::Image(r) => {
            let Some(f) = images::facts(&r.repository) else {
                return Err(hold(
                    "unknown-base",
                    format!(
                        "transforms/images.toml does not know the users and distribution of {}",
                        r.repository
                    ),
                ));
            };
            if runtime.user.is_none() && f.runs_as_nonroot(r.tag_or_latest()) {
                return Ok(None);
            }
            Some((f, r.tag_or_latest()))
        }
        Base::Scratch => None,
        Base::Unresolved(b) => {
            return Err(hold(
                "unknown-base",
                format!("the base image {b} is not known until build time"),
            ));
        }
        Base::Stage(_) => return Ok(None),
    };
    held_back(last, chain)?;
    review::doubtful(ctx.file, last, chain)?;
    let run_as = run_as(facts)?;
    let writes = Writes::find(ctx.file, chain, last)?;
    build_fix(ctx, model, last, &run_as, &writes).map(Some)
}

/// The reasons to leave the stage as it is, in the order they are checked.
fn held_back(last: &StageModel<'_>, chain: &[&StageModel<'_>]) -> Result<(), HoldBack> {
    let runtime = &last.runtime;
    let data = images::user_data();
    if !runtime.onbuild.is_empty() {
        return Err(hold(
            "base-image",
            "ONBUILD triggers: a base meant to be extended; the image built on it decides its user",
        ));
    }

    let programs = start_programs(runtime.entrypoint.as_ref(), runtime.cmd.as_ref());
    if let [only] = programs.as_slice()
        && matches!(only.as_str(), "bash" | "sh" | "ash" | "zsh" | "dash")
        && is_bare_shell(runtime.entrypoint.as_ref(), runtime.cmd.as_ref())
    {
        return Err(hold(
            "base-image",
            "the start command is an interactive shell: whoever runs it decides the user",
        ));
    }
    let steps = || chain.iter().flat_map(|s| s.steps.iter());
    let installed: Vec<String> = steps()
        .filter_map(|s| match &s.effect {
            crate::semantic::Effect::Run(r) => Some(r),
            _ => None,
        })
        .flat_map(|r| r.installs.iter().flat_map(|i| i.packages.iter().cloned()))
        .collect();
    let package_name = |p: &str| {
        p.split(['=', '<', '>', '~', '@'])
            .next()
            .unwrap_or(p)
            .to_ascii_lowercase()
    };
    if let Some(p) = programs
        .iter()
        .find(|p| data.privilege_droppers.iter().any(|d| d == *p))
    {
        return Err(hold(
            "privilege-drop",
            format!("the start command runs {p}, which switches user itself and needs root"),
        ));
    }
    if let Some(p) = installed
        .iter()
        .map(|p| package_name(p))
        .find(|p| data.privilege_droppers.iter().any(|d| d == p))
    {
        return Err(hold(
            "privilege-drop",
            format!("the image installs {p}: its entrypoint likely switches user itself"),
        ));
    }
    if let Some(p) = programs
        .iter()
        .find(|p| data.daemons.iter().any(|d| d == *p))
    {
        return Err(hold(
            "daemon",
            format!(
                "the start command runs {p}, a daemon that needs root or drops privileges itself"
            ),
        ));
    }
    if let Some(p) = installed
        .iter()
        .map(|p| package_name(p))
        .find(|p| data.daemon_packages.iter().any(|d| d == p))
    {
        return Err(hold(
            "daemon",
            format!("the image installs {p}, a daemon that needs root or drops privileges itself"),
        ));
    }
    for port in &runtime.expose {
        match low_port(port) {
            Some(true) => {
                return Err(hold(
                    "low-port",
                    format!("EXPOSE {port}: a user other than root cannot bind a port below 1024"),
                ));
            }
            Some(false) => {}
            None => {
                return Err(hold(
                    "low-port",
                    format!("EXPOSE {port}: the port is not known, it may be below 1024"),
                ));
            }
        }
    }
    if let Some(p) = programs.iter().find(|p| is_script(p)) {
        return Err(hold(
            "unknown-writes",
            format!(
                "the start command runs the script {p}: where it writes, and whether it switches user, is not known"
            ),
        ));
    }
    if let Some(p) = programs.iter().find(|p| installs_at_start(p)) {
        return Err(hold(
            "unknown-writes",
            format!("the start command runs {p}, which may install or write anywhere"),
        ));
    }
    for step in steps() {
        if let crate::semantic::Effect::Run(r) = &step.effect
            && let Some(cmds) = &r.commands
            && let Some(p) = cmds.iter().filter_map(|c| c.program()).find(|p| {
                matches!(
                    *p,
                    "useradd" | "adduser" | "groupadd" | "addgroup" | "usermod" | "chown"
                )
            })
        {
            return Err(hold(
                "creates-user",
                format!(
                    "a RUN already runs {p} without a USER switch: the file's own user setup decides"
                ),
            ));
        }
    }
    Ok(())
}

/// A start command that is a shell with no script (`CMD ["bash"]`).
fn is_bare_shell(entrypoint: Option<&ExecSpec>, cmd: Option<&ExecSpec>) -> bool {
    let words: Vec<String> = [entrypoint, cmd]
        .into_iter()
        .flatten()
        .flat_map(|spec| match spec {
            ExecSpec::Exec(argv) => argv.clone(),
            ExecSpec::Shell(text) => text.split_whitespace().map(str::to_owned).collect(),
        })
        .collect();
    words
        .iter()
        .skip(1)
        .all(|w| w.starts_with('-') && !w.contains('c'))
}

/// `Some(true)` for a port (or range) below 1024, `None` when it is not a number.
fn low_port(port: &str) -> Option<bool> {
    let number = port.split('/').next().unwrap_or(port);
    let first = number.split('-').next().unwrap_or(number);
    first.trim().parse::<u32>().ok().map(|p| p < 1024)
}

/// A program that is a script from the image or context (`./start.sh`, `docker-entrypoint`).
fn is_script(program: &str) -> bool {
    let p = std::path::Path::new(program);
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("sh") || e.eq_ignore_ascii_case("bash"))
        || program.contains("entrypoint")
}

/// Tools that install or fetch at start (`npm install && node app.js`).
fn installs_at_start(program: &str) -> bool {
    matches!(
        program,
        "apt-get"
            | "apt"
            | "apk"
            | "yum"
            | "dnf"
            | "microdnf"
            | "pip"
            | "pip3"
            | "composer"
            | "bundle"
            | "npx"
            | "make"
    )
}

/// The basenames of the programs the start command runs: the first word, the word after a
/// wrapper (`tini --`, `exec`, `env`), each command of a shell string.
fn start_programs(entrypoint: Option<&ExecSpec>, cmd: Option<&ExecSpec>) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for spec in [entrypoint, cmd].into_iter().flatten() {
        match spec {
            ExecSpec::Exec(argv) => {
                if let [sh, flag, script, ..] = argv.as_slice()
                    && matches!(basename(sh), "sh" | "bash" | "ash" | "dash")
                    && flag.starts_with('-')
                    && flag.contains('c')
                {
                    words.extend(shell_programs(script));
                } else {
                    words.extend(programs_of(argv.iter().map(String::as_str)));
                }
            }
            ExecSpec::Shell(text) => words.extend(shell_programs(text)),
        }
    }
    words
}

fn shell_programs(text: &str) -> Vec<String> {
    let spaced = text
        .replace("&&", " && ")
        .replace("||", " || ")
        .replace(';', " ; ")
        .replace('|', " | ");
    programs_of(
        spaced
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\'')),
    )
}

/// Program basenames among `words`: the first, and each after a separator or wrapper.
fn programs_of<'w>(words: impl Iterator<Item = &'w str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut expect = true;
    for w in words {
        if matches!(w, "&&" | "||" | ";" | "|" | "--" | "exec") {
            expect = true;
            continue;
        }
        if expect {
            if w.contains('=') && !w.starts_with('-') || w.starts_with('-') {
                continue;
            }
            // an init script (`/etc/init.d/td-agent`) starts a service: a daemon
            let b = if w.starts_with("/etc/init.d/") {
                "service"
            } else {
                basename(w)
            };
            out.push(b.to_owned());
            // a wrapper runs the next word; a shell runs the script that follows it
            expect = matches!(
                b,
                "tini"
                    | "dumb-init"
                    | "env"
                    | "nice"
                    | "nohup"
                    | "time"
                    | "sh"
                    | "bash"
                    | "ash"
                    | "dash"
                    | "zsh"
            );
        }
    }
    out
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The user to switch to, from the image data.
fn run_as(facts: Option<(&ImageFacts, &str)>) -> Result<RunAs, HoldBack> {
    let data = images::user_data();
    let Some((facts, tag)) = facts else {
        // scratch: no /etc/passwd, so only a number works
        return Ok(RunAs {
            user: data.scratch_uid.to_string(),
            uid: data.scratch_uid,
            create: None,
            shell: false,
        });
    };
    if let (Some(user), Some(uid)) = (&facts.app_user, facts.app_uid) {
        return Ok(RunAs {
            user: user.clone(),
            uid,
            create: None,
            shell: facts.shell,
        });
    }
    let distro = facts
        .distro_for(tag)
        .and_then(images::distro)
        .ok_or_else(|| {
            hold(
                "unknown-base",
                format!(
                    "transforms/images.toml does not say how {}:{tag} creates a user",
                    facts.repository
                ),
            )
        })?;
    let uid = data.created_uid;
    Ok(RunAs {
        user: uid.to_string(),
        uid,
        create: Some(
            distro
                .add_user
                .replace("{uid}", &uid.to_string())
                .replace("{name}", &data.created_name),
        ),
        shell: facts.shell,
    })
}

/// The instruction after which `USER` goes: the last one that builds the filesystem or sets
/// the user or working directory (a RUN after it would run as the new user), else `FROM`.
fn insertion_anchor<'a>(last: &StageModel<'a>) -> &'a Instruction {
    last.steps
        .iter()
        .rev()
        .map(|s: &Step<'a>| s.instruction)
        .find(|i| {
            matches!(
                i.kind,
                Keyword::Run | Keyword::Copy | Keyword::Add | Keyword::User | Keyword::Workdir
            )
        })
        .unwrap_or(last.from)
}

fn build_fix(
    ctx: &PassContext<'_>,
    _model: &Model<'_>,
    last: &StageModel<'_>,
    run_as: &RunAs,
    writes: &Writes,
) -> Result<Fix, HoldBack> {
    let file = ctx.file;
    let anchor = insertion_anchor(last);
    let anchor_text = file.slice(anchor.range);
    let newline = if anchor_text.ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let lower = file
        .slice(anchor.keyword())
        .chars()
        .all(|c| !c.is_ascii_uppercase());
    let kw = |k: &str| {
        if lower {
            k.to_ascii_lowercase()
        } else {
            k.to_owned()
        }
    };
    let uid = run_as.uid;
    let mut commands: Vec<String> = run_as.create.iter().cloned().collect();
    let mut edits = Vec::new();
    for dir in &writes.dirs {
        match dir {
            WriteDir::Filled(path) => commands.push(format!("chown {uid} {path}")),
            WriteDir::Empty { path, exists: true } => {
                commands.push(format!("chown -R {uid} {path}"));
            }
            WriteDir::Empty {
                path,
                exists: false,
            } => {
                // two commands, so that a long path puts each on a line of its own
                commands.push(format!("mkdir -p {path}"));
                commands.push(format!("chown -R {uid} {path}"));
            }
        }
    }
    for copy in &writes.copies {
        edits.push(Edit::insert(copy.end, format!(" --chown={uid}")));
    }
    if !commands.is_empty() && !run_as.shell {
        // without a shell only COPY --chown can give a directory away
        let only_filled =
            run_as.create.is_none() && writes.dirs.iter().all(|d| matches!(d, WriteDir::Filled(_)));
        if !only_filled {
            return Err(hold(
                "no-shell",
                "the app writes a directory that only a RUN could create and chown, and the image has no shell",
            ));
        }
        commands.clear();
    }
    if let Some(step) = last.steps.last()
        && !matches!(
            step.shell().first().map(|s| basename(s)),
            Some("sh" | "bash" | "ash" | "dash")
        )
        && !commands.is_empty()
    {
        return Err(hold(
            "unknown-writes",
            "the stage's SHELL is not a POSIX shell",
        ));
    }
    let mut text = String::new();
    // after a last line with no final newline the new lines go before the end, not after it,
    // so the file still ends without one
    let at_unterminated_end = !anchor_text.ends_with('\n');
    if at_unterminated_end {
        text.push_str(newline);
    }
    if !commands.is_empty() {
        let one_line = format!("{} {}", kw("RUN"), commands.join(" && "));
        if one_line.len() <= 100 {
            text.push_str(&one_line);
        } else {
            let joiner = format!(" {}{newline}    && ", file.escape);
            text.push_str(&kw("RUN"));
            text.push(' ');
            text.push_str(&commands.join(&joiner));
        }
        text.push_str(newline);
    }
    text.push_str(&kw("USER"));
    text.push(' ');
    text.push_str(&run_as.user);
    if !at_unterminated_end {
        text.push_str(newline);
    }
    edits.push(Edit::insert(anchor.range.end, text));
    let given = if writes.dirs.is_empty() {
        "the Dockerfile shows no directory it writes, so it owns none (/tmp stays writable); give it any directory it writes".to_owned()
    } else {
        let names: Vec<&str> = writes.dirs.iter().map(WriteDir::path).collect();
        format!(
            "it owns {} and nothing else (/tmp stays writable)",
            names.join(", ")
        )
    };
    let who = match &run_as.create {
        Some(_) => format!("a system user created with uid {uid}"),
        None if run_as.user == uid.to_string() => format!("uid {uid}"),
        None => format!("{} (uid {uid}, the base image's own user)", run_as.user),
    };
    Fix::new(
        NON_ROOT_USER.name,
        Applicability::Unsafe,
        format!("run as {who} instead of root; {given}"),
        edits,
    )
    .map_err(|_| hold("unknown-writes", "overlapping edits"))
}
