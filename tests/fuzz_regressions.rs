//! Every input the fuzz targets (fuzz/, see its README) ever crashed on, replayed through the
//! same properties: `fuzz/regressions/<target>/<name>`. Also the shared tricky cases and the
//! pass fixtures, so that the properties themselves are exercised on every test run.

// Public for the fuzz crate, which calls it from its targets.
#[allow(unreachable_pub)]
#[path = "../fuzz/src/properties.rs"]
mod properties;

mod common;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(result.is_ok(), "{} fails again", path.display());
    }
}

#[test]
fn saved_crashes_hold_every_property() {
    // A target that never crashed has no directory.
    replay("parse", properties::parse);
    replay("shell", properties::shell);
    replay("rewrite", properties::rewrite);
}

#[test]
fn cases_and_fixtures_hold_every_property() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .flat_map(|dir| common::dockerfiles(std::fs::read_dir(dir.unwrap().path()).unwrap()))
        .collect();
    assert!(files.len() > 50, "fixtures found: {}", files.len());
    files.extend(common::case_files().unwrap_or_default());
    for path in files {
        let data = std::fs::read(&path).unwrap();
        for check in [properties::parse, properties::shell, properties::rewrite] {
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{}", path.display());
        }
    }
}
