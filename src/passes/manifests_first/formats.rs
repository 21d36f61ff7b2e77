//! The manifest readers: whether an install that reads this manifest needs nothing else of
//! the context (no local paths, workspaces, scripts or code), one function per format.

use super::classify::Install;
use crate::managers::ManifestFormat;
use crate::syntax::workdir::plain;

/// Whether the install reads nothing but the manifest `text`: the files it includes
/// (requirement files), relative to its directory; `None` when it needs more.
pub(super) fn reads_only(
    format: ManifestFormat,
    text: &str,
    install: &Install<'_>,
) -> Option<Vec<String>> {
    match format {
        ManifestFormat::Requirements => requirements(text),
        ManifestFormat::PackageJson => package_json(text, install).then(Vec::new),
        ManifestFormat::GoMod => go_mod(text).then(Vec::new),
        ManifestFormat::Cargo => cargo_toml(text).then(Vec::new),
        ManifestFormat::Gemfile => gemfile(text).then(Vec::new),
        ManifestFormat::ComposerJson => composer_json(text, install).then(Vec::new),
        ManifestFormat::Pyproject => pyproject(text).then(Vec::new),
        ManifestFormat::Pipfile => pipfile(text).then(Vec::new),
    }
}

/// A requirements file: the files it includes (`-r`/`-c`), or `None` when it reads more
/// than itself (editable or local requirements, local indexes).
fn requirements(text: &str) -> Option<Vec<String>> {
    let mut includes = Vec::new();
    let joined = text.replace("\\\r\n", "").replace("\\\n", "");
    for raw in joined.lines() {
        let line = match raw.find(" #").or_else(|| raw.find("\t#")) {
            Some(at) => &raw[..at],
            None => raw,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(option) = line.strip_prefix('-') {
            let (name, value) = split_option(option);
            match name {
                "r" | "-requirement" | "c" | "-constraint" => {
                    if value.is_empty() || value.contains("://") || !plain(value, '\\') {
                        return None;
                    }
                    includes.push(value.to_owned());
                }
                "i" | "-index-url" | "-extra-index-url" | "f" | "-find-links" => {
                    if !(value.starts_with("https://") || value.starts_with("http://")) {
                        return None;
                    }
                }
                "-trusted-host" | "-pre" | "-prefer-binary" | "-only-binary" | "-no-binary"
                | "-require-hashes" | "-use-feature" => {}
                _ => return None,
            }
            continue;
        }
        let spec = line.split(';').next().unwrap_or(line);
        let spec = spec.split(" --").next().unwrap_or(spec).trim();
        if !spec
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return None;
        }
        let lower = spec.to_ascii_lowercase();
        if lower.contains("file:") {
            return None;
        }
        if !lower.contains("://") {
            let archive = [".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"]
                .iter()
                .any(|s| lower.ends_with(s));
            if lower.contains(['/', '\\']) || archive {
                return None;
            }
        }
    }
    Some(includes)
}

/// `-r file`, `-rfile`, `--requirement=file`, `--requirement file`: the name after the
/// first dash and the value.
fn split_option(option: &str) -> (&str, &str) {
    if let Some(long) = option.strip_prefix('-') {
        let end = long.find(['=', ' ', '\t']).unwrap_or(long.len());
        let value = long[end..].trim_start_matches(['=', ' ', '\t']).trim();
        (&option[..=end], value)
    } else {
        let Some(c) = option.chars().next() else {
            return ("", "");
        };
        let value = option[c.len_utf8()..]
            .trim_start_matches(['=', ' ', '\t'])
            .trim();
        (&option[..c.len_utf8()], value)
    }
}

/// A dependency specification that points into the file system.
fn local_spec(spec: &str) -> bool {
    let s = spec.trim();
    [
        "file:",
        "link:",
        "workspace:",
        "portal:",
        "./",
        "../",
        "/",
        "~/",
        "..",
    ]
    .iter()
    .any(|p| s.starts_with(p))
        || s == "."
}

fn package_json(text: &str, install: &Install<'_>) -> bool {
    let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return false;
    };
    if !install.scripts_off
        && let Some(scripts) = root.get("scripts")
    {
        let Some(scripts) = scripts.as_object() else {
            return false;
        };
        if install
            .data
            .scripts
            .iter()
            .any(|s| scripts.contains_key(*s))
        {
            return false;
        }
    }
    if ["workspaces", "bundleDependencies", "bundledDependencies"]
        .iter()
        .any(|k| root.contains_key(*k))
    {
        return false;
    }
    let tables = [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
        "overrides",
        "resolutions",
    ];
    !tables
        .iter()
        .any(|t| root.get(*t).is_some_and(has_local_string))
}

fn has_local_string(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => local_spec(s),
        serde_json::Value::Object(map) => map.values().any(has_local_string),
        serde_json::Value::Array(items) => items.iter().any(has_local_string),
        _ => false,
    }
}

/// `go.mod` without local `replace` targets.
fn go_mod(text: &str) -> bool {
    let mut in_replace = false;
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if in_replace {
            if line.starts_with(')') {
                in_replace = false;
                continue;
            }
        } else if let Some(rest) = line.strip_prefix("replace") {
            let rest = rest.trim_start();
            if rest.starts_with('(') {
                in_replace = true;
                continue;
            }
        } else {
            continue;
        }
        let Some((_, target)) = line.split_once("=>") else {
            continue;
        };
        let target = target.trim().trim_matches('"');
        if target.starts_with('.') || target.starts_with('/') {
            return false;
        }
    }
    true
}

fn toml_table(text: &str) -> Option<toml::Table> {
    toml::from_str::<toml::Table>(text).ok()
}

/// Whether any table below `value` has one of `keys`.
fn has_key(value: &toml::Value, keys: &[&str]) -> bool {
    match value {
        toml::Value::Table(t) => {
            keys.iter().any(|k| t.contains_key(*k)) || t.values().any(|v| has_key(v, keys))
        }
        toml::Value::Array(items) => items.iter().any(|v| has_key(v, keys)),
        _ => false,
    }
}

/// `Cargo.toml` of one package whose targets are declared with their paths and whose
/// dependencies all come from registries or git.
fn cargo_toml(text: &str) -> bool {
    let Some(root) = toml_table(text) else {
        return false;
    };
    if root.contains_key("workspace") || !root.contains_key("package") {
        return false;
    }
    let with_path = |v: &toml::Value| v.as_table().is_some_and(|t| t.contains_key("path"));
    let lib = root.get("lib");
    let bins = root.get("bin").and_then(toml::Value::as_array);
    let declared = lib.is_some_and(with_path) || bins.is_some_and(|b| !b.is_empty());
    if !declared
        || lib.is_some_and(|l| !with_path(l))
        || bins.is_some_and(|b| !b.iter().all(with_path))
    {
        return false;
    }
    root.iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "package" | "lib" | "bin" | "example" | "test" | "bench"
            )
        })
        .all(|(_, v)| !has_key(v, &["path", "workspace"]))
        && root
            .get("package")
            .and_then(toml::Value::as_table)
            .is_some_and(|p| !p.contains_key("workspace"))
}

/// A `Gemfile` that only lists gems: no paths, gemspecs or code that reads files.
fn gemfile(text: &str) -> bool {
    const CODE: &[&str] = &[
        "path",
        "gemspec",
        "eval_gemfile",
        "require",
        "load",
        "File",
        "Dir",
        "__dir__",
        "__FILE__",
        "instance_eval",
        "`",
        "%x",
    ];
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .all(|l| !CODE.iter().any(|c| l.contains(c)))
}

fn composer_json(text: &str, install: &Install<'_>) -> bool {
    let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return false;
    };
    let local_repo = root
        .get("repositories")
        .and_then(|r| match r {
            serde_json::Value::Array(a) => Some(a.clone()),
            serde_json::Value::Object(o) => Some(o.values().cloned().collect()),
            _ => None,
        })
        .is_some_and(|repos| {
            repos.iter().any(|r| {
                r.get("type")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|t| matches!(t, "path" | "artifact"))
            })
        });
    let config = root.get("config");
    let plugins = config
        .and_then(|c| c.get("allow-plugins"))
        .is_some_and(|p| match p {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Object(o) => {
                o.values().any(|v| v != &serde_json::Value::Bool(false))
            }
            _ => true,
        });
    let _ = install;
    !local_repo && !plugins && config.is_none_or(|c| c.get("vendor-dir").is_none())
}

/// `pyproject.toml` without path or workspace sources and without the project files Poetry
/// reads even with `--no-root`.
fn pyproject(text: &str) -> bool {
    let Some(root) = toml_table(text) else {
        return false;
    };
    let tool = root.get("tool").and_then(toml::Value::as_table);
    let poetry = tool.and_then(|t| t.get("poetry"));
    let uv = tool.and_then(|t| t.get("uv"));
    if poetry.is_some_and(|p| {
        has_key(p, &["path"])
            || ["readme", "packages", "include", "build"]
                .iter()
                .any(|k| p.get(k).is_some())
    }) {
        return false;
    }
    if uv.is_some_and(|u| u.get("workspace").is_some() || has_key(u, &["path", "workspace"])) {
        return false;
    }
    let project_deps = root
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_array)
        .is_some_and(|deps| {
            deps.iter()
                .filter_map(toml::Value::as_str)
                .any(|d| d.contains("file:") || d.contains("@ ."))
        });
    !project_deps
}

fn pipfile(text: &str) -> bool {
    let Some(root) = toml_table(text) else {
        return false;
    };
    root.values().all(|v| {
        !has_key(v, &["path"])
            && !v.as_table().is_some_and(|t| {
                t.values().any(|d| {
                    d.get("file")
                        .and_then(toml::Value::as_str)
                        .is_some_and(|f| !f.contains("://"))
                        || d.get("editable").and_then(toml::Value::as_bool) == Some(true)
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_files() {
        assert_eq!(
            requirements("flask==3\n# c\n-r base.txt\n"),
            Some(vec!["base.txt".into()])
        );
        assert_eq!(
            requirements("--requirement=a/b.txt"),
            Some(vec!["a/b.txt".into()])
        );
        assert_eq!(requirements("-e .\n"), None);
        assert_eq!(requirements("./pkg\n"), None);
        assert_eq!(requirements("pkg @ file:///x\n"), None);
        assert_eq!(requirements("dist/x-1.0-py3-none-any.whl\n"), None);
        assert_eq!(requirements("-f ./wheels\n"), None);
        assert!(
            requirements("-i https://pypi.org/simple\nrequests[socks]>=2 ; python_version>'3'\n")
                .is_some()
        );
        assert!(requirements("git+https://github.com/a/b.git#egg=b\n").is_some());
    }

    #[test]
    fn other_formats() {
        assert!(go_mod("module x\n\nrequire a v1\nreplace a => b v2\n"));
        assert!(!go_mod("module x\nreplace (\n  a => ./a\n)\n"));
        assert!(!cargo_toml("[package]\nname='x'\n"));
        assert!(cargo_toml(
            "[package]\nname='x'\n[[bin]]\nname='x'\npath='src/main.rs'\n[dependencies]\nserde='1'\n"
        ));
        assert!(!cargo_toml(
            "[package]\nname='x'\n[[bin]]\nname='x'\npath='m.rs'\n[dependencies]\ny={path='../y'}\n"
        ));
        assert!(gemfile(
            "source 'https://rubygems.org'\ngem 'rails', '~> 7'\n"
        ));
        assert!(!gemfile("gemspec\n"));
        assert!(!gemfile("gem 'x', path: 'vendor/x'\n"));
        assert!(pyproject("[tool.poetry.dependencies]\npython='^3.11'\n"));
        assert!(!pyproject("[tool.poetry.dependencies]\nx={path='../x'}\n"));
        assert!(!pyproject("[tool.uv.workspace]\nmembers=['a']\n"));
        assert!(pipfile("[packages]\nrequests='*'\n"));
        assert!(!pipfile("[packages]\nme={path='.', editable=true}\n"));
    }
}
