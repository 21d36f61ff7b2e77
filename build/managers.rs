//! The package-manager families (`transforms/FAMILY.toml`) as Rust source: one `static`
//! of the structs in `src/managers.rs`, so a run reads them in place and deserialises and
//! allocates nothing (the serde walk of the tables was 205 K instructions of a 200-line
//! run). The schema below is the check `deny_unknown_fields` and serde's required fields
//! made: an unknown key, a missing required key or a value of the wrong type stops the
//! build naming the file and key. Used by `build.rs` and, for its tests, by
//! `src/managers.rs`.

use std::fmt::Write as _;

use toml::Value;

/// The families, in the order `managers::all` lists their managers.
pub(crate) const FAMILIES: &[&str] = &[
    "apt", "apk", "dnf", "zypper", "pip", "npm", "gem", "composer", "go", "cargo", "python",
];

/// What a key holds, and how it is written in Rust.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    OptStr,
    Strs,
    StrsStrs,
    Bool,
    /// A string naming a variant of the enum (kebab-case or lowercase).
    Enum(&'static str),
    OptStruct(&'static str),
    Structs(&'static str),
    /// A table of string lists, as `(key, list)` pairs in key order.
    StrMap,
}

/// A key of a struct: its TOML name, its Rust field, what it holds, and whether it may be
/// left out (an `Option` or a list, `false`, empty when it is).
struct Field {
    key: &'static str,
    rust: &'static str,
    kind: Kind,
    optional: bool,
}

const fn f(key: &'static str, kind: Kind, optional: bool) -> Field {
    Field {
        key,
        rust: key,
        kind,
        optional,
    }
}

const REQ: bool = false;
const OPT: bool = true;

use Kind::{Bool, Enum, OptStr, OptStruct, Str, StrMap, Strs, StrsStrs, Structs};

/// Every struct's keys (the field documentation is in `src/managers.rs`).
fn schema(name: &str) -> Vec<Field> {
    match name {
        "Family" => vec![
            Field {
                key: "family",
                rust: "name",
                kind: Str,
                optional: REQ,
            },
            f("distributions", Strs, REQ),
            Field {
                key: "manager",
                rust: "managers",
                kind: Structs("Manager"),
                optional: REQ,
            },
        ],
        "Manager" => vec![
            f("name", Str, REQ),
            f("invocations", StrsStrs, REQ),
            f("value_options", Strs, REQ),
            f("install", Strs, REQ),
            f("refresh", Strs, REQ),
            f("upgrade", Strs, REQ),
            f("remove", Strs, REQ),
            f("clean", Strs, REQ),
            f("assume_yes", Strs, REQ),
            f("no_recommends", OptStruct("NoRecommends"), OPT),
            f("index", OptStruct("Index"), OPT),
            f("cache", OptStruct("Cache"), OPT),
            f("no_cache", OptStruct("NoCache"), OPT),
            f("cache_mount", OptStruct("CacheMount"), OPT),
            f("manifests", OptStruct("Manifests"), OPT),
            f("cache_cleanup", Structs("CacheCleanup"), OPT),
        ],
        "CacheCleanup" => vec![
            f("dirs", Strs, REQ),
            f("command", OptStr, OPT),
            f("on", Strs, REQ),
            f("bare_writes", Bool, OPT),
            f("unless_no_cache", Bool, OPT),
            f("readers", Strs, REQ),
            f("runners", Strs, OPT),
            f("moved_by", Strs, REQ),
            f("mentions", Strs, REQ),
            f("project_files", Strs, OPT),
            f("project_texts", Strs, OPT),
            f("tier", Enum("Tier"), REQ),
            f("reason", OptStr, OPT),
        ],
        "CacheMount" => vec![
            f("what", OptStr, OPT),
            f("targets", Strs, REQ),
            f("sharing", OptStr, OPT),
            f("tmpfs", Strs, OPT),
            f("on", Strs, REQ),
            f("drop_flags", Strs, REQ),
            f("drop_commands", Strs, REQ),
            f("env", Strs, REQ),
            f("before", OptStr, OPT),
            f("after", OptStr, OPT),
        ],
        "Manifests" => vec![
            f("commands", Strs, REQ),
            f("file_options", Strs, OPT),
            f("files", Strs, OPT),
            f("optional", Strs, OPT),
            f("lockfiles", Strs, OPT),
            f("locked", Strs, OPT),
            f("locked_flags", Strs, OPT),
            f("scripts", Strs, OPT),
            f("script_flags", Strs, OPT),
            f("required_flags", Strs, OPT),
            f("flags", Strs, REQ),
            f("value_flags", Strs, OPT),
            f("packages", Bool, OPT),
            f("writes", Strs, OPT),
            f("needs_more", Strs, OPT),
            f("format", Enum("ManifestFormat"), REQ),
            f("requires_context", Bool, OPT),
            f("fallback", Strs, OPT),
        ],
        "NoRecommends" => vec![
            f("flag", Str, REQ),
            f("decided", Strs, REQ),
            f("config_keys", Strs, REQ),
            f("config_paths", Strs, REQ),
            f("companions", StrMap, OPT),
        ],
        "Index" => vec![
            f("dirs", Strs, REQ),
            f("cleanup", Str, REQ),
            f("needed_by", Strs, REQ),
            f("refresh_flags", Strs, OPT),
            f("fresh_flags", Strs, OPT),
            f("auto_refresh", Bool, OPT),
            f("readers", Strs, OPT),
        ],
        "Cache" => vec![
            f("dirs", Strs, REQ),
            f("cleanup", OptStr, OPT),
            f("env", Strs, OPT),
        ],
        "NoCache" => vec![
            f("flag", Str, REQ),
            f("on", Strs, REQ),
            f("decided", Strs, REQ),
            f("env", Strs, REQ),
            f("tier", Enum("Tier"), REQ),
            f("may_change", OptStr, OPT),
        ],
        _ => unreachable!("no struct {name} in the schema"),
    }
}

/// The Rust source of `static FAMILIES: &[Family]`, from each family's name and parsed
/// TOML; an error names the file and the key.
pub(crate) fn rust(families: &[(&str, Value)]) -> Result<String, String> {
    let mut out = String::from(
        "/// Every family of `transforms/`, written by `build/managers.rs`.\n\
         pub(crate) static FAMILIES: &[Family] = &[\n",
    );
    for (name, value) in families {
        let at = |e: String| format!("transforms/{name}.toml: {e}");
        let family = value.get("family").and_then(Value::as_str);
        if family != Some(name) {
            return Err(at(format!("family is {family:?}")));
        }
        out.push_str(&strukt("Family", value, "").map_err(at)?);
        out.push_str(",\n");
    }
    out.push_str("];\n");
    Ok(out)
}

/// `value`, a TOML table, as a struct literal of `name`; `path` names it in errors.
fn strukt(name: &str, value: &Value, path: &str) -> Result<String, String> {
    let Value::Table(table) = value else {
        return Err(format!("{path}: a table expected"));
    };
    let fields = schema(name);
    if let Some(key) = table.keys().find(|k| fields.iter().all(|f| f.key != *k)) {
        return Err(format!("{path}: unknown key `{key}` (in {name})"));
    }
    let mut out = format!("{name} {{ ");
    for field in fields {
        let path = if path.is_empty() {
            field.key.to_owned()
        } else {
            format!("{path}.{}", field.key)
        };
        let expr = match table.get(field.key) {
            Some(v) => expr(field.kind, v, &path)?,
            None if field.optional => empty(field.kind).to_owned(),
            None => return Err(format!("missing key `{path}`")),
        };
        let _ = write!(out, "{}: {expr}, ", field.rust);
    }
    out.push('}');
    Ok(out)
}

/// What a key left out holds.
fn empty(kind: Kind) -> &'static str {
    match kind {
        OptStr | OptStruct(_) => "None",
        Strs | StrsStrs | Structs(_) | StrMap => "&[]",
        Bool => "false",
        Str | Enum(_) => unreachable!("a required key"),
    }
}

fn expr(kind: Kind, value: &Value, path: &str) -> Result<String, String> {
    let string = |v: &Value| {
        v.as_str()
            .map(|s| format!("{s:?}"))
            .ok_or_else(|| format!("{path}: a string expected"))
    };
    let list = |v: &Value, each: &dyn Fn(&Value) -> Result<String, String>| {
        let items = v
            .as_array()
            .ok_or_else(|| format!("{path}: an array expected"))?;
        let items = items.iter().map(each).collect::<Result<Vec<_>, _>>()?;
        Ok::<_, String>(format!("&[{}]", items.join(", ")))
    };
    Ok(match kind {
        Str => string(value)?,
        OptStr => format!("Some({})", string(value)?),
        Strs => list(value, &string)?,
        StrsStrs => list(value, &|v| list(v, &string))?,
        Bool => value
            .as_bool()
            .ok_or_else(|| format!("{path}: a boolean expected"))?
            .to_string(),
        Enum(name) => {
            let s = value
                .as_str()
                .ok_or_else(|| format!("{path}: a string expected"))?;
            // kebab-case to the variant's name; a name that is no variant fails to compile
            let variant: String = s
                .split('-')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map_or_else(String::new, |first| {
                        first.to_ascii_uppercase().to_string() + c.as_str()
                    })
                })
                .collect();
            if variant.is_empty() || !variant.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("{path}: `{s}` is no {name}"));
            }
            format!("{name}::{variant}")
        }
        OptStruct(name) => format!("Some({})", strukt(name, value, path)?),
        Structs(name) => list(value, &|v| strukt(name, v, path))?,
        StrMap => {
            let Value::Table(table) = value else {
                return Err(format!("{path}: a table expected"));
            };
            let mut pairs = Vec::new();
            for (key, v) in table {
                pairs.push(format!("({key:?}, {})", list(v, &string)?));
            }
            format!("&[{}]", pairs.join(", "))
        }
    })
}
