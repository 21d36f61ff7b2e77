//! Whether the tool a fix relies on is new enough where the RUN runs: `--no-cache-dir` needs
//! pip 6, `apk add --no-cache` apk-tools 2.6, `composer --no-cache` Composer 2, and
//! `install_weak_deps` does nothing on yum 3. Judged from the stage's base image (followed
//! through `FROM <stage>`) and from what the file ran before (`pip install --upgrade pip`),
//! with the facts in `transforms/tool_versions.toml`. Also: whether the base image runs as root.

use std::sync::LazyLock;

use serde::Deserialize;

use super::runs::Runs;
use crate::managers;
use crate::syntax::Keyword;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    #[serde(borrow)]
    root_images: Vec<&'static str>,
    tool: Vec<Tool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    /// The manager's name in `transforms/*.toml`.
    manager: &'static str,
    /// What the fix adds that needs the version.
    feature: &'static str,
    /// The first version that has it.
    since: &'static str,
    /// Images whose tool is new enough.
    new: Vec<&'static str>,
    /// Images whose tool may be older.
    old: Vec<&'static str>,
    /// Text in an earlier RUN after which the tool is new enough (`get-pip.py`).
    upgraded_by: Vec<&'static str>,
    /// Package names whose install by the manager itself upgrades it (`pip install -U pip`).
    upgrades_itself: Vec<&'static str>,
    /// What an image in neither list gets.
    unknown: Judgement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Judgement {
    New,
    Unknown,
}

fn load() -> Result<Data, String> {
    crate::transforms::table("tool_versions")
}

static DATA: LazyLock<Data> =
    LazyLock::new(|| load().expect("transforms/tool_versions.toml is checked by the test suite"));

/// Whether a fix's tool version is known to fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Version {
    /// New enough, or nothing says otherwise.
    New,
    /// The base image may carry an older tool: the reason.
    Old(String),
    /// Not known either way: the reason.
    Unknown(String),
}

/// How the tool of `manager` fits the command at `command_start` (a joined-text offset) of
/// RUN `pos`.
pub(crate) fn tool_version(
    runs: &Runs<'_>,
    pos: usize,
    manager: &str,
    command_start: u32,
) -> Version {
    let Some(tool) = DATA.tool.iter().find(|t| t.manager == manager) else {
        return Version::New;
    };
    if upgraded_before(runs, pos, tool, command_start) {
        return Version::New;
    }
    // the rest depends on the stage's base image only: judged once per tool and image
    let key = (std::ptr::from_ref(tool) as usize, base_image(runs, pos));
    if let Some(version) = runs.versions.borrow().get(&key) {
        return version.clone();
    }
    let version = judge_image(tool, key.1.as_deref());
    runs.versions.borrow_mut().insert(key, version.clone());
    version
}

/// How `tool` fits a stage built on `image` (normalised; `None`: not known).
fn judge_image(tool: &Tool, image: Option<&str>) -> Version {
    let Some(image) = image else {
        return judge(tool, tool.unknown, "the base image is not known");
    };
    if tool.new.iter().any(|p| matches(p, image)) {
        return Version::New;
    }
    if tool.old.iter().any(|p| matches(p, image)) {
        return Version::Old(format!(
            "`{}` needs {}; {image} may have an older one",
            tool.feature, tool.since
        ));
    }
    judge(tool, tool.unknown, &format!("{image} is not known"))
}

fn judge(tool: &Tool, judgement: Judgement, why: &str) -> Version {
    match judgement {
        Judgement::New => Version::New,
        Judgement::Unknown => {
            Version::Unknown(format!("`{}` needs {}; {why}", tool.feature, tool.since))
        }
    }
}

/// Whether the base image of RUN `pos`'s stage is known to run as root: an official image,
/// and no `USER` in the stage chain before the RUN names anyone but root.
pub(crate) fn known_root(runs: &Runs<'_>, pos: usize) -> bool {
    let run = &runs.all[pos];
    // the base image's part, the same for every RUN of the stage: found once per stage
    let Some(stage) = run.stage() else {
        return false;
    };
    let known = runs.root_bases.borrow().get(stage).copied().flatten();
    let root_base = known.unwrap_or_else(|| {
        let found = base_image(runs, pos)
            .is_some_and(|image| DATA.root_images.iter().any(|p| matches(p, &image)));
        let mut bases = runs.root_bases.borrow_mut();
        if bases.is_empty() {
            bases.resize(runs.stages.len(), None);
        }
        if let Some(slot) = bases.get_mut(stage) {
            *slot = Some(found);
        }
        found
    });
    if !root_base {
        return false;
    }
    let chain = stage_chain(runs, run.stage());
    // the USERs of the chain's stages before the RUN, in file order: the last one holds
    let mut ordered = chain.clone();
    ordered.sort_unstable();
    let mut user: Option<&str> = None;
    for &stage in &ordered {
        if let Some(found) = last_user(runs, stage, run.ins.range.start) {
            user = found.name;
        }
    }
    user.is_none_or(|u| matches!(u.split(':').next().unwrap_or(u), "root" | "0"))
}

/// A `USER` instruction of a stage: where it starts and the user it names (`None` when it
/// names no one).
#[derive(Clone, Copy)]
pub(crate) struct UserAt<'a> {
    start: u32,
    pub(crate) name: Option<&'a str>,
}

/// The last `USER` of stage `stage` that starts before `offset`. The stages' USERs are found
/// once per file rather than walked per RUN.
pub(crate) fn last_user<'a>(runs: &Runs<'a>, stage: usize, offset: u32) -> Option<UserAt<'a>> {
    let users = runs.users.get_or_init(|| {
        runs.stages
            .iter()
            .flat_map(|stage| {
                let index = stage.index;
                stage
                    .instructions()
                    .filter(|i| i.kind == Keyword::User)
                    .map(move |i| {
                        let user = UserAt {
                            start: i.range.start,
                            name: i.word_texts(&runs.file.source).next(),
                        };
                        (index, user)
                    })
            })
            .collect()
    });
    // the USERs are in file order, so by stage and then by start
    let before = users.partition_point(|(s, u)| (*s, u.start) < (stage, offset));
    before
        .checked_sub(1)
        .map(|k| users[k])
        .filter(|(s, _)| *s == stage)
        .map(|(_, user)| user)
}

/// `pos`'s stage and the stages it is built from, nearest first.
fn stage_chain(runs: &Runs<'_>, stage: Option<usize>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = stage;
    while let Some(s) = at {
        if out.contains(&s) {
            break;
        }
        out.push(s);
        at = runs.stages.parent(s);
    }
    out
}

/// The image the stage chain of RUN `pos` starts from, normalised (`ubuntu:14.04`); `None`
/// when it is an expansion or there is no `FROM`.
fn base_image(runs: &Runs<'_>, pos: usize) -> Option<String> {
    let chain = stage_chain(runs, runs.all[pos].stage());
    let root = *chain.last()?;
    let base = runs.stages.get(root)?.base?;
    if base.contains('$') {
        return None;
    }
    Some(normalise(base))
}

fn normalise(image: &str) -> String {
    let image = image
        .split('@')
        .next()
        .unwrap_or(image)
        .to_ascii_lowercase();
    let image = image.strip_prefix("docker.io/").unwrap_or(&image);
    let image = image.strip_prefix("library/").unwrap_or(image);
    let has_tag = image
        .rsplit_once(':')
        .is_some_and(|(_, tag)| !tag.contains('/'));
    if has_tag {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// A pattern (`name`, `name:tag`, with `*`) against a normalised image.
fn matches(pattern: &str, image: &str) -> bool {
    let (name, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
    match pattern.rsplit_once(':') {
        Some((p_name, p_tag)) if !p_tag.contains('/') => glob(p_name, name) && glob(p_tag, tag),
        _ => glob(pattern, name),
    }
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((head, tail)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(head) else {
        return false;
    };
    let (middle, last) = tail.rsplit_once('*').unwrap_or(("", tail));
    // the parts between stars, each found after the one before (none without a second star)
    for part in middle.split('*').filter(|_| tail.contains('*')) {
        let Some(at) = rest.find(part) else {
            return false;
        };
        rest = &rest[at + part.len()..];
    }
    rest.ends_with(last)
}

/// Whether an earlier RUN of the stage chain (or an earlier command of this RUN) upgraded
/// the tool: `pip install --upgrade pip`, `get-pip.py`.
fn upgraded_before(runs: &Runs<'_>, pos: usize, tool: &Tool, command_start: u32) -> bool {
    let run = &runs.all[pos];
    // a RUN before any FROM belongs to no stage chain: nothing counts for it
    if run.stage().is_none() {
        return false;
    }
    let first = first_upgraders(runs, tool);
    let earlier = stage_chain(runs, run.stage())
        .into_iter()
        .any(|s| first.get(s).copied().flatten().is_some_and(|at| at < pos));
    earlier
        || run
            .all_invocations()
            .iter()
            .any(|(inv, _)| inv.command.range.start < command_start && upgrades_itself(inv, tool))
}

/// Per stage, the position of its first RUN that upgrades `tool` (by its text or by a
/// command): found once per file for every RUN that asks, so that asking does not re-read
/// every earlier RUN.
fn first_upgraders(runs: &Runs<'_>, tool: &Tool) -> std::rc::Rc<Vec<Option<usize>>> {
    let key = std::ptr::from_ref(tool) as usize;
    if let Some(found) = runs.upgraders.borrow().get(&key) {
        return found.clone();
    }
    let mut first = vec![None; runs.stages.len()];
    for (pos, r) in runs.all.iter().enumerate() {
        let Some(slot) = r.stage().and_then(|s| first.get_mut(s)) else {
            continue;
        };
        if slot.is_some() {
            continue;
        }
        let text = runs.file.slice(r.ins.range);
        if tool.upgraded_by.iter().any(|u| text.contains(u))
            || r.all_invocations()
                .iter()
                .any(|(inv, _)| upgrades_itself(inv, tool))
        {
            *slot = Some(pos);
        }
    }
    let first = std::rc::Rc::new(first);
    runs.upgraders.borrow_mut().insert(key, first.clone());
    first
}

/// Whether `inv` installs the tool's own package with an upgrade flag (`pip install -U pip`).
fn upgrades_itself(inv: &managers::Invocation<'_>, tool: &Tool) -> bool {
    inv.manager.name == tool.manager
        && inv.action() == Some(managers::Action::Install)
        && inv.command.has_flag(&["-U", "--upgrade"])
        && inv.command.args.iter().any(|w| {
            w.value
                .as_deref()
                .is_some_and(|v| tool.upgrades_itself.contains(&v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_loads_and_names_managers() {
        let data = load().unwrap();
        for tool in &data.tool {
            assert!(
                managers::all().any(|m| m.name == tool.manager),
                "{}",
                tool.manager
            );
        }
    }

    #[test]
    fn patterns() {
        assert!(matches("python", &normalise("python:3.12-slim")));
        assert!(matches("python", &normalise("docker.io/library/python")));
        assert!(matches("ubuntu:14.04*", &normalise("ubuntu:14.04")));
        assert!(!matches("ubuntu:14.04*", &normalise("ubuntu:24.04")));
        assert!(matches(
            "*:*trusty*",
            &normalise("buildpack-deps:trusty-scm")
        ));
        assert!(matches(
            "*:*14.04*",
            &normalise("nvidia/cuda:10.0-devel-ubuntu14.04")
        ));
        assert!(matches("debian/*", &normalise("debian/eol:jessie")));
        assert!(!matches("centos:7*", &normalise("centos")));
        assert_eq!(normalise("localhost:5000/x"), "localhost:5000/x:latest");
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy"));
        assert!(glob("a*", "a") && glob("*", "") && glob("**", "x") && !glob("a*", "b"));
        assert!(glob("a**c", "abc") && glob("*b*", "abc") && !glob("*b*", "ac"));
    }
}
