//! How many bytes each package manager's cache and index directories hold in an image, from
//! the package-manager data: what a rewrite left behind, directory by directory.

use serde::Serialize;

use super::model::{FileEntry, FileKind};

/// The regular files under one cache or index directory of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CacheUsage {
    /// The directory as found in the image (`/home/node/.npm` for the pattern
    /// `/home/*/.npm`).
    pub(crate) dir: String,
    /// The managers that keep something there (`apt-get, apt`).
    pub(crate) managers: String,
    pub(crate) bytes: u64,
    pub(crate) files: u64,
}

/// The directories of `locations` (manager, directory or `/home/*/…` pattern) that hold
/// regular files in `files`, with their bytes, in directory order.
pub(crate) fn usage(files: &[FileEntry], locations: &[(&str, String)]) -> Vec<CacheUsage> {
    let mut out: Vec<CacheUsage> = Vec::new();
    for file in files.iter().filter(|f| f.kind == FileKind::File) {
        // the innermost matching directory (/root/.cache/pip, not a shorter one)
        let mut best: Option<(String, Vec<&str>)> = None;
        for (manager, pattern) in locations {
            let Some(dir) = matched_dir(&file.path, pattern) else {
                continue;
            };
            match &mut best {
                Some((d, managers)) if *d == dir => {
                    if !managers.contains(manager) {
                        managers.push(manager);
                    }
                }
                Some((d, _)) if d.len() >= dir.len() => {}
                _ => best = Some((dir, vec![*manager])),
            }
        }
        let Some((dir, managers)) = best else {
            continue;
        };
        match out.iter_mut().find(|u| u.dir == dir) {
            Some(u) => {
                u.bytes += file.size;
                u.files += 1;
            }
            None => out.push(CacheUsage {
                dir,
                managers: managers.join(", "),
                bytes: file.size,
                files: 1,
            }),
        }
    }
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    out
}

/// When `path` lies under `pattern` (`*` stands for one path component), the directory the
/// pattern names in this image.
pub(crate) fn matched_dir(path: &str, pattern: &str) -> Option<String> {
    let mut components = path.split('/');
    let mut dir = Vec::new();
    for want in pattern.trim_end_matches('/').split('/') {
        let got = components.next()?;
        if want != "*" && want != got {
            return None;
        }
        dir.push(got);
    }
    // strictly below: the directory itself is not a file in it
    components.next()?;
    Some(dir.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            kind: FileKind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            target: None,
        }
    }

    #[test]
    fn bytes_per_directory_and_user() {
        let locations = vec![
            ("npm", "/root/.npm".to_owned()),
            ("npm", "/home/*/.npm".to_owned()),
            ("apt-get", "/var/lib/apt/lists".to_owned()),
            ("apt", "/var/lib/apt/lists".to_owned()),
            ("composer", "/root/.cache".to_owned()),
            ("pip", "/root/.cache/pip".to_owned()),
        ];
        let files = vec![
            file("/root/.npm/_cacache/a", 10),
            file("/root/.npm/_logs/b.log", 5),
            file("/home/node/.npm/_cacache/c", 7),
            file("/home/node/app/index.js", 100),
            file("/var/lib/apt/lists/x_Packages", 40),
            file("/root/.cache/pip/http/y", 3),
            file("/root/.npmrc", 1),
        ];
        let got = usage(&files, &locations);
        let rows: Vec<(&str, &str, u64, u64)> = got
            .iter()
            .map(|u| (u.dir.as_str(), u.managers.as_str(), u.bytes, u.files))
            .collect();
        assert_eq!(
            rows,
            [
                ("/home/node/.npm", "npm", 7, 1),
                ("/root/.cache/pip", "pip", 3, 1),
                ("/root/.npm", "npm", 15, 2),
                ("/var/lib/apt/lists", "apt-get, apt", 40, 1),
            ]
        );
    }

    #[test]
    fn patterns_match_whole_components() {
        assert_eq!(
            matched_dir("/home/a/.npm/x", "/home/*/.npm").as_deref(),
            Some("/home/a/.npm")
        );
        assert_eq!(matched_dir("/home/a/.npmrc", "/home/*/.npm"), None);
        assert_eq!(matched_dir("/root/.npm", "/root/.npm"), None);
        assert_eq!(matched_dir("/root/.npm-x/y", "/root/.npm"), None);
    }
}
