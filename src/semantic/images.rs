//! Facts about base images (tag families, slim counterparts, the Debian release behind a tag,
//! users, interpreter paths), loaded from `transforms/images.toml` (compiled in). Passes take
//! every image fact from here.

use std::sync::LazyLock;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageData {
    pub(crate) split: Split,
    #[serde(rename = "release")]
    pub(crate) releases: Vec<Release>,
    #[serde(rename = "image")]
    pub(crate) images: Vec<ImageFacts>,
    /// Facts for running as a user other than root.
    pub(crate) users: UserData,
    /// How each distribution creates a system user.
    #[serde(rename = "distro")]
    pub(crate) distros: Vec<Distro>,
}

/// The `[users]` table: the ids to use and the programs that need root.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserData {
    /// The uid of a user created for the application.
    pub created_uid: u32,
    /// Its name.
    pub created_name: String,
    /// The uid written for a base with no `/etc/passwd` (scratch).
    pub scratch_uid: u32,
    /// Programs that need root to start or drop privileges themselves.
    pub daemons: Vec<String>,
    /// Packages that install such a program.
    pub daemon_packages: Vec<String>,
    /// Programs that switch user themselves.
    pub privilege_droppers: Vec<String>,
    /// Packages that say the container uses devices.
    pub device_packages: Vec<String>,
    /// Words of the file that say so (`--privileged`, `/dev/ttyUSB0`).
    pub device_words: Vec<String>,
    /// Programs that only keep a container alive (`sleep infinity`).
    pub keep_alive: Vec<String>,
}

/// A distribution and how it creates a system user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distro {
    pub name: String,
    /// The command, with `{uid}` and `{name}` to replace.
    pub add_user: String,
}

/// What the split-stages pass builds runtimes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub static_runtime: String,
    pub glibc_runtime: String,
    /// A C++ program that needs libstdc++ and libgcc beyond glibc.
    pub cxx_runtime: String,
    pub debian: String,
    pub system_path: Vec<String>,
    pub build_packages: Vec<String>,
    pub build_package_suffixes: Vec<String>,
    pub go_build_packages: Vec<String>,
    pub go_runtime_packages: Vec<String>,
}

impl Split {
    /// Whether `package` (`gcc`, `libpq-dev=15.*`, `gcc:amd64`) is only needed to build.
    pub fn is_build_package(&self, package: &str) -> bool {
        let name = package.split(['=', ':']).next().unwrap_or(package);
        self.build_packages.iter().any(|p| p == name)
            || self
                .build_package_suffixes
                .iter()
                .any(|s| name.ends_with(s.as_str()))
    }
}

/// The split data.
pub fn split() -> &'static Split {
    &DATA.split
}

/// A Debian release: codename and number, as tags write either.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Release {
    pub(crate) codename: String,
    pub(crate) number: String,
}

/// One image repository.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about an image, read by name"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFacts {
    /// Normalised repository (`golang`, `gcr.io/distroless/static-debian12`).
    pub repository: String,
    /// `go`, `python`, `node`, `c` (a Debian or Ubuntu base), or `runtime`.
    pub language: String,
    /// The release every tag is built on, for repositories fixed to one.
    #[serde(default)]
    pub release: Option<String>,
    /// The image's WORKDIR.
    pub workdir: String,
    /// Directories the image puts on PATH before the usual system ones.
    pub path: Vec<String>,
    /// Users (names and ids) the image's `/etc/passwd` has.
    pub users: Vec<String>,
    /// Whether `/bin/sh` exists.
    pub shell: bool,
    /// Command-line tools the image has beyond a minimal Debian (`curl`, `gcc`).
    pub tools: Vec<String>,
    /// Whether a CA bundle is in `/etc/ssl/certs`.
    pub ca_certificates: bool,
    /// Whether `/usr/share/zoneinfo` is there.
    pub zoneinfo: bool,
    /// Where the language's interpreter or tool lives.
    #[serde(default)]
    pub interpreter: Option<String>,
    /// Where the language's installer puts programs (`go install`: `/go/bin`).
    #[serde(default)]
    pub install_dir: Option<String>,
    /// Whether glibc is there (only distroless static lacks it).
    #[serde(default = "yes")]
    pub libc: bool,
    /// The tag of the slim counterpart: `{version}`, `{release}` and `{-release}` (a dash and
    /// the release word as the tag wrote it, or nothing) are replaced.
    #[serde(default)]
    pub slim: Option<String>,
    /// The tag of the Alpine (musl) counterpart, `{version}` replaced: advice only, never a
    /// fix (`base-image-advice`).
    #[serde(default)]
    pub alpine: Option<String>,
    /// The first version the Alpine variant is known to exist for (older tags may lack it).
    #[serde(default)]
    pub alpine_since: Option<String>,
    /// For bare tags: the newest release a version before `before` was built on.
    pub bare_release: Vec<BareRelease>,
    /// The distribution (`debian`, `ubuntu`, `alpine`, `rhel`, or `distroless`: no shell)
    /// of the image's default tags; an `alpine…` tag is Alpine whatever this says.
    #[serde(default)]
    pub distro: Option<String>,
    /// The user the image ships for applications (`node`), as `USER` should name it.
    #[serde(default)]
    pub app_user: Option<String>,
    /// That user's uid.
    #[serde(default)]
    pub app_uid: Option<u32>,
    /// Tag words that mean the image already runs as a user other than root (`nonroot`).
    #[serde(default)]
    pub nonroot_tags: Vec<String>,
    /// Debian packages the image holds whole (distroless: its build's package lists), so a
    /// split copies only the others a program's libraries need.
    #[serde(default)]
    pub packages: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BareRelease {
    pub before: String,
    pub at_most: String,
}

pub(crate) fn load() -> Result<ImageData, String> {
    crate::transforms::table("images")
}

static DATA: LazyLock<ImageData> =
    LazyLock::new(|| load().expect("transforms/images.toml is checked by the test suite"));

/// A tag read word by word.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tag {
    /// The leading version word (`1.22`, `3.11-` → `3.11`), when there is one.
    pub version: Option<String>,
    /// The Debian release word as written (`bookworm`, `12`), when there is one.
    pub release_word: Option<String>,
    /// The release's codename, when the tag names one.
    pub release: Option<String>,
    pub slim: bool,
    /// `alpine…`, `windowsservercore…` and other non-Debian variants.
    pub other_os: bool,
    /// Words that are none of the above (`rc`, `bullseye-ish`): the tag is not understood.
    pub unknown: Vec<String>,
}

/// Reads a tag of an official image (`3.11-slim-bookworm`, `18-bookworm-slim`, `bookworm`).
pub fn parse_tag(tag: &str) -> Tag {
    let mut out = Tag::default();
    for (i, word) in tag.split('-').enumerate() {
        let lower = word.to_ascii_lowercase();
        if let Some(r) = DATA
            .releases
            .iter()
            .find(|r| r.codename == lower || (r.number == lower && i > 0))
        {
            // a leading number is a version here; for debian (`12-slim`) `read_tag` makes it
            // the release
            out.release_word = Some(word.to_owned());
            out.release = Some(r.codename.clone());
        } else if lower == "slim" {
            out.slim = true;
        } else if lower.starts_with("alpine")
            || lower.starts_with("windowsservercore")
            || lower.starts_with("nanoserver")
        {
            out.other_os = true;
        } else if i == 0
            && (lower.starts_with(|c: char| c.is_ascii_digit())
                || matches!(lower.as_str(), "latest" | "lts" | "current" | "stable"))
        {
            out.version = Some(word.to_owned());
        } else {
            out.unknown.push(word.to_owned());
        }
    }
    out
}

/// The facts for a normalised repository.
pub fn facts(repository: &str) -> Option<&'static ImageFacts> {
    DATA.images.iter().find(|i| i.repository == repository)
}

/// The `[users]` facts.
pub fn user_data() -> &'static UserData {
    &DATA.users
}

/// How distribution `name` creates a system user, when the data knows.
pub fn distro(name: &str) -> Option<&'static Distro> {
    DATA.distros.iter().find(|d| d.name == name)
}

/// The release codename for a release word (`12` → `bookworm`).
pub fn release_codename(word: &str) -> Option<&'static str> {
    DATA.releases
        .iter()
        .find(|r| r.codename == word || r.number == word)
        .map(|r| r.codename.as_str())
}

/// The Debian release number of a codename (`bookworm` → `12`).
pub fn release_number(codename: &str) -> Option<&'static str> {
    DATA.releases
        .iter()
        .find(|r| r.codename == codename)
        .map(|r| r.number.as_str())
}

/// Orders releases oldest first; `None` for an unknown codename.
pub fn release_rank(codename: &str) -> Option<usize> {
    DATA.releases.iter().position(|r| r.codename == codename)
}

impl ImageFacts {
    /// The tag of the slim counterpart of `tag` (same version and release), when the family
    /// has one and the tag is understood.
    pub fn slim_tag(&self, tag: &str) -> Option<String> {
        let template = self.slim.as_ref()?;
        let parsed = self.read_tag(tag)?;
        if parsed.slim || parsed.other_os || !parsed.unknown.is_empty() {
            return None;
        }
        let needs_version = template.contains("{version}");
        let needs_release = template.contains("{release}");
        if (needs_version && parsed.version.is_none())
            || (needs_release && parsed.release_word.is_none())
        {
            return None;
        }
        // `latest` names no version: the variant's bare tag (`slim`, not `latest-slim`)
        if parsed.version.as_deref() == Some("latest") {
            return template
                .split(['-', '{'])
                .any(|w| w == "slim")
                .then(|| "slim".to_owned())
                .filter(|_| parsed.release_word.is_none());
        }
        let release_word = parsed.release_word.unwrap_or_default();
        let dash_release = if release_word.is_empty() {
            String::new()
        } else {
            format!("-{release_word}")
        };
        Some(
            template
                .replace("{version}", parsed.version.as_deref().unwrap_or_default())
                .replace("{-release}", &dash_release)
                .replace("{release}", &release_word),
        )
    }

    /// The tag of the Alpine counterpart of `tag` (same version), when the family has one
    /// and `tag` is a full or slim Debian tag it understands.
    pub fn alpine_tag(&self, tag: &str) -> Option<String> {
        let template = self.alpine.as_ref()?;
        let parsed = self.read_tag(tag)?;
        if parsed.other_os || !parsed.unknown.is_empty() {
            return None;
        }
        match parsed.version.as_deref() {
            None | Some("latest") => Some("alpine".to_owned()),
            Some(v)
                if self
                    .alpine_since
                    .as_deref()
                    .is_some_and(|since| version_before(v, since)) =>
            {
                None
            }
            Some(v) => Some(template.replace("{version}", v)),
        }
    }

    /// Reads `tag` for this family: for a family whose tags are releases (debian), a leading
    /// number is the release.
    pub fn read_tag(&self, tag: &str) -> Option<Tag> {
        let mut parsed = parse_tag(tag);
        if self.language == "c"
            && parsed.release.is_none()
            && let Some(v) = parsed.version.take()
        {
            let codename = release_codename(&v)?;
            parsed.release = Some(codename.to_owned());
            parsed.release_word = Some(v);
        }
        Some(parsed)
    }

    /// The newest Debian release `tag` can be built on: the tag's own, the repository's, or
    /// for a bare tag what `bare_release` vouches for.
    pub fn release_at_most(&self, tag: &str) -> Option<String> {
        if let Some(r) = &self.release {
            return Some(r.clone());
        }
        let parsed = self.read_tag(tag)?;
        if parsed.other_os || !parsed.unknown.is_empty() {
            return None;
        }
        if let Some(r) = parsed.release {
            return Some(r);
        }
        let version = parsed.version?;
        self.bare_release
            .iter()
            .find(|b| version_before(&version, &b.before))
            .map(|b| b.at_most.clone())
    }

    /// The distribution a tag of this image is built on, when the data knows: an `alpine…`
    /// tag is Alpine, another OS's tag (`windowsservercore`) is unknown.
    pub fn distro_for(&self, tag: &str) -> Option<&str> {
        let lower = tag.to_ascii_lowercase();
        if lower.split('-').any(|w| w.starts_with("alpine")) {
            return Some("alpine");
        }
        if parse_tag(tag).other_os {
            return None;
        }
        self.distro.as_deref()
    }

    /// Whether `tag` is a variant that already runs as a user other than root.
    pub fn runs_as_nonroot(&self, tag: &str) -> bool {
        let lower = tag.to_ascii_lowercase();
        self.nonroot_tags
            .iter()
            .any(|t| lower == *t || lower.ends_with(&format!("-{t}")))
    }

    /// Whether `user` (a name or number, before any `:group`) is in the image's passwd.
    pub fn has_user(&self, user: &str) -> bool {
        let name = user.split(':').next().unwrap_or(user);
        self.users.iter().any(|u| u == name)
    }
}

/// Whether dotted version `v` is before `limit` (numeric fields compared in order); `false`
/// when `v` is not a dotted number.
pub fn version_before(v: &str, limit: &str) -> bool {
    let parse = |s: &str| -> Option<Vec<u64>> { s.split('.').map(|p| p.parse().ok()).collect() };
    match (parse(v), parse(limit)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_loads_and_is_consistent() {
        let data = load().unwrap();
        assert!(data.images.len() >= 6);
        for image in &data.images {
            assert!(image.workdir.starts_with('/'), "{}", image.repository);
            for b in &image.bare_release {
                assert!(release_rank(&b.at_most).is_some(), "{}", image.repository);
            }
            if let Some(r) = &image.release {
                assert!(release_rank(r).is_some(), "{}", image.repository);
            }
        }
        for distro in &data.distros {
            assert!(distro.add_user.contains("{uid}") && distro.add_user.contains("{name}"));
        }
        for image in &data.images {
            if let Some(d) = &image.distro {
                assert!(
                    d == "distroless" || distro(d).is_some(),
                    "{}",
                    image.repository
                );
            }
            assert_eq!(
                image.app_user.is_some(),
                image.app_uid.is_some(),
                "{}",
                image.repository
            );
        }
        assert_ne!(data.users.created_uid, 1000);
        let text = "[[release]]\ncodename = \"x\"\nnumber = \"1\"\nbogus = 1\n";
        assert!(toml::from_str::<ImageData>(text).is_err());
    }

    #[test]
    fn slim_counterparts() {
        let python = facts("python").unwrap();
        assert_eq!(python.slim_tag("3.11").as_deref(), Some("3.11-slim"));
        assert_eq!(
            python.slim_tag("3.11-bookworm").as_deref(),
            Some("3.11-slim-bookworm")
        );
        assert_eq!(python.slim_tag("3.11-alpine"), None);
        assert_eq!(python.slim_tag("3.11-slim"), None);
        let node = facts("node").unwrap();
        assert_eq!(
            node.slim_tag("18-bookworm").as_deref(),
            Some("18-bookworm-slim")
        );
        let debian = facts("debian").unwrap();
        assert_eq!(
            debian.slim_tag("bookworm").as_deref(),
            Some("bookworm-slim")
        );
        assert_eq!(debian.slim_tag("12").as_deref(), Some("12-slim"));
        assert_eq!(facts("golang").unwrap().slim_tag("1.22"), None);
    }

    #[test]
    fn releases_behind_tags() {
        let go = facts("golang").unwrap();
        assert_eq!(go.release_at_most("1.19").as_deref(), Some("bookworm"));
        assert_eq!(go.release_at_most("1.22.3").as_deref(), Some("bookworm"));
        assert_eq!(go.release_at_most("1.24"), None);
        assert_eq!(go.release_at_most("latest"), None);
        assert_eq!(
            go.release_at_most("1.24-bullseye").as_deref(),
            Some("bullseye")
        );
        assert_eq!(go.release_at_most("1.21-alpine"), None);
        assert_eq!(
            facts("debian").unwrap().release_at_most("12").as_deref(),
            Some("bookworm")
        );
        assert!(version_before("1.9", "1.24"));
        assert!(!version_before("1.24.1", "1.24"));
    }
}
