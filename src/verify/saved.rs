//! Reading an image from the tar stream `docker save` writes: the layers applied in order
//! (whiteouts included) give the image's final filesystem, exactly as a mounted image would
//! show it, and the config's history says which steps made a layer.
//!
//! `docker export` of a container would add the container's init layer (`/.dockerenv`,
//! `/etc/hosts`, `/dev/console`, …), which is not part of the image, so the image itself is read.
//! Both layouts are understood: `<id>/layer.tar` (Docker ≤ 24) and `blobs/sha256/<digest>`
//! (Docker 25+, OCI layout); either way `manifest.json` names the config and the layers in order.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read};

use serde::Deserialize;

use super::model::{FileEntry, FileKind};
use super::parse::HistoryStep;

/// What verify learns from a saved image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavedImage {
    /// The final filesystem, sorted by path, `/` first.
    pub(crate) files: Vec<FileEntry>,
    /// The config's history, oldest first.
    pub(crate) history: Vec<HistoryStep>,
}

/// One change a layer makes.
#[derive(Debug, Clone)]
enum Change {
    /// `.wh.NAME`: NAME and everything under it are deleted.
    Whiteout(String),
    /// `.wh..wh..opq` in DIR: everything under DIR from lower layers is deleted.
    Opaque(String),
    Add(FileEntry),
    /// A hard link: a regular file with its target's size.
    HardLink(FileEntry, String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    history: Vec<HistoryStep>,
}

/// Reads a `docker save` stream holding one image.
pub(crate) fn read(stream: impl Read) -> io::Result<SavedImage> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let mut layers: HashMap<String, Vec<Change>> = HashMap::new();
    let mut jsons: HashMap<String, Vec<u8>> = HashMap::new();
    // Docker writes a layer whose content equals an earlier one's as a symlink to it.
    let mut links: HashMap<String, String> = HashMap::new();
    let mut archive = tar::Archive::new(stream);
    for entry in archive.entries()? {
        let entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if entry.header().entry_type().is_symlink() {
            if let Some(target) = entry.link_name()? {
                let resolved = resolve_link(&name, &target.to_string_lossy());
                links.insert(name, resolved);
            }
            continue;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let mut reader = BufReader::new(entry);
        // A JSON document (manifest, config, index) starts with `{` or `[`; a layer is a tar.
        let json = matches!(reader.fill_buf()?.first(), Some(b'{' | b'['));
        if json {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes)?;
            jsons.insert(name, bytes);
        } else if name.ends_with("layer.tar") || name.starts_with("blobs/") {
            layers.insert(name, changes(reader)?);
        }
        // Anything else (`VERSION`, `oci-layout`) says nothing about the filesystem.
    }
    let manifest = jsons
        .get("manifest.json")
        .ok_or_else(|| bad("docker save output has no manifest.json".into()))?;
    let mut manifest: Vec<ManifestEntry> = serde_json::from_slice(manifest)
        .map_err(|e| bad(format!("docker save manifest.json: {e}")))?;
    if manifest.len() != 1 {
        return Err(bad(format!(
            "docker save output holds {} images, expected one",
            manifest.len()
        )));
    }
    let image = manifest.remove(0);
    let history = match jsons.get(&image.config) {
        Some(bytes) => {
            serde_json::from_slice::<Config>(bytes)
                .map_err(|e| bad(format!("docker save config {}: {e}", image.config)))?
                .history
        }
        None => return Err(bad(format!("docker save has no config {}", image.config))),
    };
    let mut tree: BTreeMap<String, FileEntry> = BTreeMap::new();
    for name in &image.layers {
        let mut at = name.as_str();
        for _ in 0..8 {
            match links.get(at) {
                Some(target) => at = target,
                None => break,
            }
        }
        let changes = layers
            .get(at)
            .ok_or_else(|| bad(format!("docker save has no layer {name}")))?;
        apply(&mut tree, changes.clone());
    }
    add_missing_parents(&mut tree);
    Ok(SavedImage {
        files: tree.into_values().collect(),
        history,
    })
}

/// The member a symlink member points to: `a/layer.tar` -> `../b/layer.tar` is `b/layer.tar`.
fn resolve_link(name: &str, target: &str) -> String {
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// The changes one layer tar makes, in its order.
fn changes(layer: impl Read) -> io::Result<Vec<Change>> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(layer);
    for entry in archive.entries()? {
        let entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let path = image_path(&raw);
        let (dir, base) = match path.rsplit_once('/') {
            Some(("", base)) => ("/", base),
            Some((dir, base)) => (dir, base),
            None => ("/", path.as_str()),
        };
        if base == ".wh..wh..opq" {
            out.push(Change::Opaque(dir.to_owned()));
            continue;
        }
        if base.starts_with(".wh..wh.") {
            continue; // aufs bookkeeping (`.wh..wh.plnk`), not part of the filesystem
        }
        if let Some(name) = base.strip_prefix(".wh.") {
            out.push(Change::Whiteout(join(dir, name)));
            continue;
        }
        let header = entry.header();
        let kind = header.entry_type();
        let file_kind = if kind.is_dir() {
            FileKind::Dir
        } else if kind.is_symlink() {
            FileKind::Symlink
        } else if kind.is_file() || kind.is_hard_link() {
            FileKind::File
        } else {
            FileKind::Other
        };
        let link = entry.link_name()?.map(|l| l.to_string_lossy().into_owned());
        let file = FileEntry {
            path,
            kind: file_kind,
            size: if file_kind == FileKind::File {
                header.size()?
            } else {
                0
            },
            mode: header.mode()? & 0o7777,
            uid: u32::try_from(header.uid()?).unwrap_or(u32::MAX),
            gid: u32::try_from(header.gid()?).unwrap_or(u32::MAX),
            target: if file_kind == FileKind::Symlink {
                link.clone()
            } else {
                None
            },
        };
        match link {
            Some(target) if kind.is_hard_link() => {
                out.push(Change::HardLink(file, image_path(&target)));
            }
            _ => out.push(Change::Add(file)),
        }
    }
    Ok(out)
}

/// Applies one layer: its deletions act on the layers below, so they go first.
fn apply(tree: &mut BTreeMap<String, FileEntry>, changes: Vec<Change>) {
    for change in &changes {
        match change {
            Change::Whiteout(path) => remove_under(tree, path, true),
            Change::Opaque(dir) => remove_under(tree, dir, false),
            Change::Add(_) | Change::HardLink(..) => {}
        }
    }
    for change in changes {
        match change {
            Change::Add(file) => {
                // A directory entry over an existing directory keeps what is below it.
                tree.insert(file.path.clone(), file);
            }
            Change::HardLink(mut file, target) => {
                file.size = tree.get(&target).map_or(0, |t| t.size);
                tree.insert(file.path.clone(), file);
            }
            Change::Whiteout(_) | Change::Opaque(_) => {}
        }
    }
}

/// Removes everything below `path`, and `path` itself when `itself`.
fn remove_under(tree: &mut BTreeMap<String, FileEntry>, path: &str, itself: bool) {
    if itself {
        tree.remove(path);
    }
    let prefix = if path == "/" {
        "/".to_owned()
    } else {
        format!("{path}/")
    };
    let below: Vec<String> = tree
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .map(|(p, _)| p.clone())
        .filter(|p| p != "/")
        .collect();
    for p in below {
        tree.remove(&p);
    }
}

/// Layer tars may leave out directories (always the root): a mounted image has them, so they
/// are listed as plain root-owned directories.
fn add_missing_parents(tree: &mut BTreeMap<String, FileEntry>) {
    let mut missing = vec!["/".to_owned()];
    for path in tree.keys() {
        let mut at = path.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            missing.push(parent.to_owned());
            at = parent;
        }
    }
    for dir in missing {
        tree.entry(dir.clone()).or_insert(FileEntry {
            path: dir,
            kind: FileKind::Dir,
            size: 0,
            mode: 0o755,
            uid: 0,
            gid: 0,
            target: None,
        });
    }
}

/// A tar member name (`./usr/bin/`, `usr/bin`) as an absolute path inside the image.
fn image_path(raw: &str) -> String {
    let parts: Vec<&str> = raw
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar from `(name, kind, body or link target)`.
    fn tar_of(members: &[(&str, char, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, body) in members {
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            match kind {
                'd' => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    builder.append_data(&mut header, name, io::empty()).unwrap();
                }
                'l' | 'h' => {
                    header.set_entry_type(if *kind == 'l' {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    });
                    header.set_mode(0o777);
                    header.set_size(0);
                    builder.append_link(&mut header, name, body).unwrap();
                }
                _ => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0o4755);
                    header.set_size(body.len() as u64);
                    builder
                        .append_data(&mut header, name, body.as_bytes())
                        .unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    fn saved(layers: &[Vec<u8>], config: &str, oci: bool) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut names = Vec::new();
        let add = |builder: &mut tar::Builder<Vec<u8>>, name: &str, bytes: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_size(bytes.len() as u64);
            builder.append_data(&mut header, name, bytes).unwrap();
        };
        for (i, layer) in layers.iter().enumerate() {
            let name = if oci {
                format!("blobs/sha256/{i:064}")
            } else {
                format!("{i:064}/layer.tar")
            };
            add(&mut builder, &name, layer);
            names.push(name);
        }
        let config_name = if oci { "blobs/sha256/cfg" } else { "cfg.json" };
        add(&mut builder, config_name, config.as_bytes());
        let manifest = serde_json::json!([{"Config": config_name, "Layers": names}]);
        add(
            &mut builder,
            "manifest.json",
            manifest.to_string().as_bytes(),
        );
        builder.into_inner().unwrap()
    }

    fn paths(image: &SavedImage) -> Vec<&str> {
        image.files.iter().map(|f| f.path.as_str()).collect()
    }

    const CONFIG: &str = r#"{"history": [{"created_by": "COPY a /"},
        {"created_by": "USER 1000", "empty_layer": true}, {"created_by": "RUN x"}]}"#;

    #[test]
    fn layers_apply_in_order_with_whiteouts_and_opaque_dirs() {
        let lower = tar_of(&[
            ("bin/", 'd', ""),
            ("bin/busybox", 'f', "12345"),
            ("bin/sh", 'h', "bin/busybox"),
            ("etc/", 'd', ""),
            ("etc/old", 'f', "x"),
            ("var/cache/apt/", 'd', ""),
            ("var/cache/apt/a.bin", 'f', "aaaa"),
            ("var/cache/apt/b.bin", 'f', "bb"),
        ]);
        let upper = tar_of(&[
            ("etc/.wh.old", 'f', ""),
            ("var/cache/apt/.wh..wh..opq", 'f', ""),
            ("var/cache/apt/new", 'f', "n"),
            ("link", 'l', "/bin/busybox"),
        ]);
        for oci in [false, true] {
            let image = read(&saved(&[lower.clone(), upper.clone()], CONFIG, oci)[..]).unwrap();
            assert_eq!(
                paths(&image),
                [
                    "/",
                    "/bin",
                    "/bin/busybox",
                    "/bin/sh",
                    "/etc",
                    "/link",
                    "/var",
                    "/var/cache",
                    "/var/cache/apt",
                    "/var/cache/apt/new"
                ],
                "oci layout: {oci}"
            );
            let sh = &image.files[3];
            assert_eq!(
                (sh.kind, sh.size, sh.target.as_deref()),
                (FileKind::File, 5, None)
            );
            let busybox = &image.files[2];
            assert_eq!((busybox.mode, busybox.uid), (0o4755, 0));
            let link = &image.files[5];
            assert_eq!(
                (link.kind, link.target.as_deref()),
                (FileKind::Symlink, Some("/bin/busybox"))
            );
            assert_eq!(image.history.len(), 3);
            assert!(image.history[1].empty_layer);
            assert_eq!(image.history[2].created_by, "RUN x");
        }
    }

    #[test]
    fn a_layer_saved_as_a_link_to_an_equal_one_is_applied_again() {
        // Docker ≤ 24 writes `<id>/layer.tar` of a layer equal to an earlier one as a symlink.
        let add = tar_of(&[("x", 'f', "1")]);
        let remove = tar_of(&[(".wh.x", 'f', "")]);
        let mut bytes = saved(&[add, remove], CONFIG, false);
        // Rebuild the archive with a third layer: a link to the first one.
        let mut outer = tar::Archive::new(&bytes[..]);
        let mut builder = tar::Builder::new(Vec::new());
        let mut layers = Vec::new();
        for entry in outer.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if name == "manifest.json" {
                continue;
            }
            if name.ends_with("layer.tar") {
                layers.push(name.clone());
            }
            let mut header = entry.header().clone();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            builder.append_data(&mut header, &name, &data[..]).unwrap();
        }
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "again/layer.tar", format!("../{}", layers[0]))
            .unwrap();
        layers.push("again/layer.tar".into());
        let manifest = serde_json::json!([{"Config": "cfg.json", "Layers": layers}]);
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.to_string().len() as u64);
        builder
            .append_data(
                &mut header,
                "manifest.json",
                manifest.to_string().as_bytes(),
            )
            .unwrap();
        bytes = builder.into_inner().unwrap();
        let image = read(&bytes[..]).unwrap();
        assert_eq!(paths(&image), ["/", "/x"]);
        assert_eq!(resolve_link("a/layer.tar", "../b/layer.tar"), "b/layer.tar");
    }

    #[test]
    fn a_whiteout_removes_a_whole_directory() {
        let lower = tar_of(&[
            ("opt/", 'd', ""),
            ("opt/x/", 'd', ""),
            ("opt/x/y", 'f', "1"),
        ]);
        let upper = tar_of(&[("opt/.wh.x", 'f', ""), ("opt/z", 'f', "2")]);
        let image = read(&saved(&[lower, upper], CONFIG, false)[..]).unwrap();
        assert_eq!(paths(&image), ["/", "/opt", "/opt/z"]);
    }

    #[test]
    fn output_without_a_manifest_is_an_error() {
        let err = read(&tar_of(&[("x", 'f', "1")])[..]).unwrap_err();
        assert!(err.to_string().contains("manifest.json"), "{err}");
    }
}
