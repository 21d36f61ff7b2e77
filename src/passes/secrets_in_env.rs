use std::sync::LazyLock;

use serde::Deserialize;

use super::{FixAvailability, PassContext};
use crate::syntax::{Instruction, Keyword};
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// Points at an `ENV` or `ARG` that looks like it carries a secret, and says how to
    /// pass it instead: a BuildKit secret mount (`RUN --mount=type=secret,id=…,env=…`) for
    /// the RUN that needs it at build time, the runtime's own secrets (`docker run -e`, a
    /// Kubernetes Secret) for the app. Advice only, never a fix.
    ///
    /// ## Why
    /// An `ENV` value is part of the image's config: `docker inspect` shows it to everyone
    /// who can pull the image, and every image built on it inherits it. An `ARG` value given
    /// with `--build-arg` is recorded in the image history of the RUNs that see it. A secret
    /// mount reaches one RUN and is stored nowhere.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:20
    /// ARG NPM_TOKEN
    /// ENV DB_PASSWORD=hunter2
    /// RUN npm ci
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM node:20
    /// ARG NPM_TOKEN
    /// ENV DB_PASSWORD=hunter2
    /// RUN npm ci
    /// ```
    ///
    /// ## Fix safety
    /// **Display only**: moving a secret changes how the image is built and run (the build
    /// command gains `--secret`, the deployment gains the variable), which only its owner
    /// can do. The patterns are data (`transforms/secrets.toml`): a name whose words include
    /// one of a secret's (`PASSWORD`, `TOKEN`, `API_KEY`, …) unless a word after it makes it
    /// a pointer or a setting (`PASSWORD_FILE=/run/secrets/db`, `TOKEN_URL`,
    /// `SECRET_NAME`); values that are empty, a switch (`true`, `0`) or an absolute path are
    /// not secrets. A value in a provider's token format (`ghp_…`, `AKIA…`) or a URL with a
    /// password in it is reported whatever the name. The message never repeats the value.
    pub(crate) static SECRETS_IN_ENV = {
        name: "secrets-in-env",
        summary: "Reports ENV and ARG values that look like secrets and says how to pass them as BuildKit secrets",
        fix: FixAvailability::Never,
        may: [],
        run: run,
        tier: DisplayOnly,
    };
}

/// `transforms/secrets.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretData {
    #[serde(borrow)]
    words: Vec<&'static str>,
    pairs: Vec<[&'static str; 2]>,
    reference_words: Vec<&'static str>,
    ignore_values: Vec<&'static str>,
    #[serde(rename = "token")]
    tokens: Vec<TokenFormat>,
}

/// A provider's token format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFormat {
    #[serde(borrow)]
    what: &'static str,
    prefixes: Vec<&'static str>,
    min_length: usize,
}

fn load() -> Result<SecretData, String> {
    crate::transforms::table("secrets")
}

static DATA: LazyLock<SecretData> =
    LazyLock::new(|| load().expect("transforms/secrets.toml is checked by the test suite"));

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let mut fixes = Vec::new();
    for ins in ctx.file.instructions() {
        for (name, value) in variables(ins, &ctx.file.source) {
            let Some(why) = secret(ins.kind, &name, value.as_deref()) else {
                continue;
            };
            let id = name.to_ascii_lowercase();
            let message = match ins.kind {
                Keyword::Env => format!(
                    "ENV {name} looks like a secret ({why}): its value is stored in the image config, where `docker inspect` shows it to anyone who pulls the image; give it to the RUN that needs it with `RUN --mount=type=secret,id={id},env={name}` (`docker build --secret id={id},env={name}`) and to the app at run time (`docker run -e {name}`, a Kubernetes Secret)"
                ),
                _ => format!(
                    "ARG {name} looks like a secret ({why}): a build argument's value is recorded in the image history of the RUNs that see it; use `RUN --mount=type=secret,id={id},env={name}` with `docker build --secret id={id},env={name}` instead"
                ),
            };
            fixes.extend(ctx.fix(
                SECRETS_IN_ENV.name,
                Applicability::DisplayOnly,
                message,
                vec![Edit::insert(ins.keyword().start, "")],
            ));
        }
    }
    fixes
}

/// The variables an ENV or ARG sets: name and value as written (quotes kept); an ARG with
/// no default has `None`.
fn variables(ins: &Instruction, source: &str) -> Vec<(String, Option<String>)> {
    match ins.kind {
        Keyword::Env => ins
            .value(source)
            .chunks(2)
            .filter_map(|p| match p {
                [n, v] => Some(((*n).to_owned(), Some((*v).to_owned()))),
                _ => None,
            })
            .collect(),
        Keyword::Arg => ins
            .value(source)
            .into_iter()
            .map(|w| match w.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (w.to_owned(), None),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Why `name=value` looks like a secret, or `None`.
fn secret(kind: Keyword, name: &str, value: Option<&str>) -> Option<String> {
    let data = &*DATA;
    let value = value.map(unquote);
    if let Some(v) = value
        && let Some(what) = token_format(v)
    {
        return Some(format!("the value has the format of {what}"));
    }
    if let Some(v) = value
        && url_with_password(v)
    {
        return Some("the value is a URL with a password in it".to_owned());
    }
    let word = secret_word(name)?;
    match value {
        // a build argument with no default gets its value at build time
        None if kind == Keyword::Arg => Some(format!("its name says {word}")),
        None => None,
        Some(v) => {
            let plain = v.trim();
            let not_secret = plain.is_empty()
                || plain.starts_with('/')
                || data
                    .ignore_values
                    .iter()
                    .any(|i| i.eq_ignore_ascii_case(plain));
            (!not_secret).then(|| format!("its name says {word}"))
        }
    }
}

/// The secret word (or pair) in a variable name, unless a word after it makes the name a
/// pointer to the secret or a setting about it.
fn secret_word(name: &str) -> Option<String> {
    let data = &*DATA;
    let words: Vec<String> = name
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let is_reference = |after: usize| {
        words[after..]
            .iter()
            .any(|w| data.reference_words.iter().any(|r| r == w))
    };
    for (i, w) in words.iter().enumerate() {
        if let Some(next) = words.get(i + 1)
            && data.pairs.iter().any(|[a, b]| a == w && b == next)
        {
            return (!is_reference(i + 2)).then(|| format!("{w}_{next}"));
        }
        if data.words.iter().any(|s| s == w) {
            // SECRET_KEY: the pair, read above, decides; SECRET alone here
            return (!is_reference(i + 1)).then(|| w.clone());
        }
    }
    None
}

/// The provider whose token format `value` has.
fn token_format(value: &str) -> Option<&'static str> {
    if value.contains(['$', ' ']) {
        return None;
    }
    DATA.tokens
        .iter()
        .find(|t| {
            value.len() >= t.min_length
                && t.prefixes.iter().any(|p| value.starts_with(p))
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        })
        .map(|t| t.what)
}

/// `scheme://user:password@host…` with a literal password.
fn url_with_password(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return false;
    };
    let Some((_, password)) = userinfo.split_once(':') else {
        return false;
    };
    !password.is_empty() && !password.starts_with('$') && !password.starts_with('<')
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::{Keyword, load, secret, secret_word};

    #[test]
    fn the_data_loads() {
        load().unwrap();
    }

    #[test]
    fn names() {
        for yes in [
            "DB_PASSWORD",
            "NPM_TOKEN",
            "GITHUB_TOKEN",
            "API_KEY",
            "STRIPE_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "SECRET_KEY_BASE",
            "client-secret",
            "MYSQL_ROOT_PASSWORD",
        ] {
            assert!(secret_word(yes).is_some(), "{yes}");
        }
        for no in [
            "PASSWORD_FILE",
            "TOKEN_URL",
            "SECRET_NAME",
            "AWS_ACCESS_KEY_ID",
            "TOKENIZERS_PARALLELISM",
            "KEYBOARD",
            "PASSWORD_MIN_LENGTH",
            "PATH",
            "PWD",
            "NODE_ENV",
        ] {
            assert!(secret_word(no).is_none(), "{no}");
        }
    }

    #[test]
    fn values() {
        let env = |n, v| secret(Keyword::Env, n, Some(v)).is_some();
        assert!(env("DB_PASSWORD", "hunter2"));
        assert!(env("API_TOKEN", "${API_TOKEN}"));
        assert!(!env("DB_PASSWORD", ""));
        assert!(!env("DB_PASSWORD", "\"\""));
        assert!(!env("DB_PASSWORD", "/run/secrets/db"));
        assert!(!env("AUTH_TOKEN", "false"));
        assert!(env("GIT_REPO", "ghp_0123456789abcdefghijABCDEFGHIJ012345"));
        assert!(env("DATABASE_URL", "postgres://app:s3cret@db/app"));
        assert!(!env("DATABASE_URL", "postgres://app:${PW}@db/app"));
        assert!(!env("DATABASE_URL", "postgres://db/app"));
        assert!(secret(Keyword::Arg, "NPM_TOKEN", None).is_some());
        assert!(secret(Keyword::Env, "NPM_TOKEN", None).is_none());
        assert!(secret(Keyword::Arg, "VERSION", None).is_none());
    }
}
