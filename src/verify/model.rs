//! What verify learns about one built image, as plain data.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Everything measured on one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ImageReport {
    /// The tag verify gave the image.
    pub(crate) tag: String,
    /// Sum of the uncompressed layers, as the engine's store counts it.
    pub(crate) bytes: u64,
    /// The layers that hold files, oldest first (metadata-only steps are not layers).
    pub(crate) layers: Vec<Layer>,
    /// The final filesystem, sorted by path. Left out of JSON: it can hold thousands of
    /// entries; the differences are reported instead.
    #[serde(skip)]
    pub(crate) files: Vec<FileEntry>,
    /// The bytes left under each package manager's cache and index directories.
    pub(crate) caches: Vec<super::caches::CacheUsage>,
    pub(crate) config: RuntimeConfig,
}

impl ImageReport {
    pub(crate) fn file_count(&self) -> usize {
        self.files.len()
    }
}

/// One filesystem layer and the instruction that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Layer {
    pub(crate) size: u64,
    pub(crate) created_by: String,
}

/// The kind of a filesystem entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FileKind {
    File,
    Dir,
    Symlink,
    /// Devices, FIFOs, sockets.
    Other,
}

/// One entry of an image's final filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FileEntry {
    /// Absolute path inside the image (`/` for the root).
    pub(crate) path: String,
    pub(crate) kind: FileKind,
    /// Bytes for regular files; 0 for everything else (directory sizes depend on the
    /// storage driver, not on the image).
    pub(crate) size: u64,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// The link target, for symlinks.
    pub(crate) target: Option<String>,
}

/// The runtime configuration an image carries: what `docker run` would use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RuntimeConfig {
    pub(crate) user: String,
    pub(crate) cmd: Option<Vec<String>>,
    pub(crate) entrypoint: Option<Vec<String>>,
    /// Docker prints `null` for an unset list or map; it reads as empty.
    #[serde(deserialize_with = "null_as_default")]
    pub(crate) env: Vec<String>,
    pub(crate) working_dir: String,
    /// The engines print these two as maps to empty objects (`{"8000/tcp": {}}`).
    #[serde(deserialize_with = "map_keys")]
    pub(crate) exposed_ports: BTreeSet<String>,
    #[serde(deserialize_with = "map_keys")]
    pub(crate) volumes: BTreeSet<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub(crate) labels: BTreeMap<String, String>,
}

impl RuntimeConfig {
    /// Reads an engine's config, treating an empty `Cmd`/`Entrypoint` as absent: podman omits
    /// what buildah prints as `[]`, and both mean "not set".
    pub(crate) fn normalized(mut self) -> Self {
        for argv in [&mut self.cmd, &mut self.entrypoint] {
            if argv.as_ref().is_some_and(Vec::is_empty) {
                *argv = None;
            }
        }
        self
    }
}

fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    let value: Option<T> = serde::Deserialize::deserialize(de)?;
    Ok(value.unwrap_or_default())
}

fn map_keys<'de, D: serde::Deserializer<'de>>(de: D) -> Result<BTreeSet<String>, D::Error> {
    let map: Option<BTreeMap<String, serde_json::Value>> = serde::Deserialize::deserialize(de)?;
    Ok(map.map(|m| m.into_keys().collect()).unwrap_or_default())
}

/// How many build steps ran and how many the layer cache served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct StepCounts {
    /// Steps other than `FROM`.
    pub(crate) steps: u32,
    pub(crate) cached: u32,
}

impl StepCounts {
    pub(crate) fn rerun(self) -> u32 {
        self.steps.saturating_sub(self.cached)
    }
}

/// What a smoke command did in one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SmokeResult {
    /// `None` when the command could not be started or was killed by a signal.
    pub(crate) exit_code: Option<i32>,
    pub(crate) stdout: String,
    /// The command's standard error, with the engine's own messages mixed in.
    pub(crate) stderr: String,
}

/// A smoke command: Dockerfile shell form (run by `/bin/sh -c`) or exec form (an argv).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SmokeCommand {
    Shell(String),
    Exec(Vec<String>),
}

impl SmokeCommand {
    /// Reads `--smoke` the way a Dockerfile reads `CMD`: a JSON array of strings is the exec
    /// form, anything else is a shell command.
    pub(crate) fn parse(text: &str) -> Self {
        if text.trim_start().starts_with('[')
            && let Ok(argv) = serde_json::from_str::<Vec<String>>(text)
            && !argv.is_empty()
        {
            return Self::Exec(argv);
        }
        Self::Shell(text.to_owned())
    }

    pub(crate) fn argv(&self) -> Vec<String> {
        match self {
            Self::Shell(cmd) => vec!["/bin/sh".into(), "-c".into(), cmd.clone()],
            Self::Exec(argv) => argv.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_json_array_is_exec_form_and_anything_else_shell_form() {
        assert_eq!(
            SmokeCommand::parse(r#"["app", "--version"]"#),
            SmokeCommand::Exec(vec!["app".into(), "--version".into()])
        );
        assert_eq!(
            SmokeCommand::parse("[ -f /x ] && echo ok"),
            SmokeCommand::Shell("[ -f /x ] && echo ok".into())
        );
        assert_eq!(SmokeCommand::parse("[]"), SmokeCommand::Shell("[]".into()));
        assert_eq!(
            SmokeCommand::parse("echo hi").argv(),
            ["/bin/sh", "-c", "echo hi"]
        );
    }
}
