//! Every pass together, `--unsafe`, through the binary, on small apps with a build context
//! (`tests/combined/NAME/`): split-stages and non-root-user meet here, which the one-pass
//! fixtures cannot show. The applied fixes and the diff are snapshotted; the applied file
//! then proposes nothing more, and its final stage runs as a user other than root.

use dfrewrite::semantic::Model;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dfrewrite");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("Dockerfile")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn split_stages_and_non_root_user_together() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/combined");
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(&name);
        copy_dir(&root.join(&name), &dir);
        let (code, diff, said) = run(&dir, &["--unsafe", "--diff"]);
        assert_eq!(code, 1, "{name}: nothing to change?\n{said}");
        for pass in ["split-stages", "non-root-user"] {
            assert!(
                said.lines()
                    .any(|l| l.contains(&format!(": {pass}: ")) && !l.contains("advice")),
                "{name}: {pass} did not apply:\n{said}"
            );
        }
        insta::with_settings!({ snapshot_suffix => name.clone(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("combined", format!("{said}\n{diff}"));
        });
        let (code, _, said) = run(&dir, &["--unsafe", "--apply"]);
        assert_eq!(code, 0, "{name}: --apply failed:\n{said}");
        let (code, again, _) = run(&dir, &["--unsafe", "--diff"]);
        assert_eq!(code, 0, "{name}: the applied file still changes:\n{again}");
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let file = dfrewrite::syntax::parse(&text).unwrap();
        let model = Model::new(&file);
        let user = model.stages.last().unwrap().runtime.user.clone();
        let user = user.unwrap_or_default();
        let who = user.split(':').next().unwrap_or_default();
        assert!(
            !who.is_empty() && who != "root" && who != "0",
            "{name}: final user {user:?}\n{text}"
        );
    }
}
