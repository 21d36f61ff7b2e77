//! The files a rewrite adds to the build context (the `.dockerignore` the `dockerignore` pass
//! proposes): what each keeps out of the context, for the report and for the comparison, where
//! a path missing from the rewrite's image because it was kept out is expected.

use std::fs;
use std::path::Path;

use dfrewrite::NewFile;
use serde::Serialize;

/// How many kept-out paths a report lists.
const KEPT_OUT_LIMIT: usize = 200;

/// One side file of the rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SideFileReport {
    /// Relative to the context root.
    pub(crate) path: String,
    pub(crate) pass: &'static str,
    /// Context paths the file keeps out of the build (a directory stands for everything in
    /// it), sorted; at most [`KEPT_OUT_LIMIT`].
    pub(crate) kept_out: Vec<String>,
    /// How many kept-out paths there are in all.
    pub(crate) kept_out_total: usize,
}

/// Reports the side files proposed for `context`.
pub(crate) fn report(context: &Path, files: &[NewFile]) -> Vec<SideFileReport> {
    files
        .iter()
        .map(|file| {
            let mut kept_out = Vec::new();
            if file.path == ".dockerignore" {
                walk(context, "", &file.content, &mut kept_out);
            }
            kept_out.sort();
            let total = kept_out.len();
            kept_out.truncate(KEPT_OUT_LIMIT);
            SideFileReport {
                path: file.path.clone(),
                pass: file.pass,
                kept_out,
                kept_out_total: total,
            }
        })
        .collect()
}

/// Collects the paths under `dir` (relative, `/`-separated) that `ignore` excludes; an excluded
/// directory is listed once and not entered.
fn walk(root: &Path, dir: &str, ignore: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(root.join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        };
        if dfrewrite::dockerignore_excludes(ignore, &path) {
            out.push(path);
        } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(root, &path, ignore, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfrewrite::Applicability;

    #[test]
    fn kept_out_lists_excluded_paths_once_per_directory() {
        let ctx = tempfile::tempdir().unwrap();
        fs::create_dir_all(ctx.path().join("node_modules/left-pad")).unwrap();
        fs::write(ctx.path().join("node_modules/left-pad/index.js"), "").unwrap();
        fs::create_dir(ctx.path().join(".git")).unwrap();
        fs::write(ctx.path().join("app.js"), "").unwrap();
        let file = NewFile {
            path: ".dockerignore".into(),
            content: ".git\nnode_modules\n".into(),
            pass: "dockerignore",
            applicability: Applicability::Safe,
            message: String::new(),
            line: 1,
        };
        let reports = report(ctx.path(), &[file]);
        assert_eq!(reports[0].kept_out, [".git", "node_modules"]);
        assert_eq!(reports[0].kept_out_total, 2);
        assert_eq!(reports[0].pass, "dockerignore");
    }
}
