//! The README's layout names every top-level folder and every module directly under `src/`,
//! and names nothing that is not there (compared with `git ls-files`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The paths at the start of the layout block's lines (`src/text/`, `src/lib.rs`).
fn layout_paths(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split("## Layout\n")
        .nth(1)
        .expect("README has a Layout section");
    let block = section
        .split("```\n")
        .nth(1)
        .expect("the Layout section has a code block");
    block
        .lines()
        .filter(|line| !line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_layout_matches_the_tracked_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Ok(out) = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
    else {
        assert!(std::env::var_os("CI").is_none(), "git is needed under CI");
        return;
    };
    if !out.status.success() {
        // not a git checkout (a source archive): nothing to compare with
        assert!(
            std::env::var_os("CI").is_none(),
            "not a git checkout under CI"
        );
        return;
    }
    let files: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    let named = layout_paths(&std::fs::read_to_string(root.join("README.md")).unwrap());

    // what must be named: top-level folders, and the files and folders directly in src/
    let mut expected = BTreeSet::new();
    for file in &files {
        let parts: Vec<&str> = file.split('/').collect();
        match parts.as_slice() {
            ["src", entry] => {
                expected.insert(format!("src/{entry}"));
            }
            ["src", dir, ..] => {
                expected.insert(format!("src/{dir}/"));
            }
            [dir, _, ..] => {
                expected.insert(format!("{dir}/"));
            }
            _ => {}
        }
    }
    expected.remove("src/");
    let missing: Vec<&String> = expected.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "README layout does not name {missing:?}"
    );

    // and everything named exists
    for path in &named {
        let exists = if path.ends_with('/') {
            files.iter().any(|f| f.starts_with(path.as_str()))
        } else {
            files.iter().any(|f| f == path)
        };
        assert!(
            exists,
            "README layout names {path}, which git does not track"
        );
    }
}

/// `build/hot-functions.txt`, the code order build.rs gives the linker, is what
/// `bench/hot-functions.sh` writes: one symbol name per line (lld reads `#` as a comment),
/// none twice (lld would warn), the crate's own functions among them.
#[test]
fn hot_function_list_is_one_symbol_per_line() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("build/hot-functions.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let names: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(names.len() > 500, "only {} names", names.len());
    let mut seen = BTreeSet::new();
    for name in &names {
        assert!(
            !name.is_empty() && !name.contains(char::is_whitespace),
            "not a symbol name: {name:?}"
        );
        assert!(seen.insert(*name), "{name} is listed twice");
    }
    assert!(
        names.iter().any(|n| n.starts_with("_ZN9dfrewrite")),
        "no function of the crate is listed"
    );
}
