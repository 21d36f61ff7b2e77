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
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Apps of `corpus/` that are also combined cases, read from there rather than copied.
const CORPUS_APPS: [&str; 1] = ["c-json"];

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
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("tests/combined");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            (root.join(&name), name)
        })
        .collect();
    cases.extend(
        CORPUS_APPS.map(|app| (manifest.join("corpus").join(app), format!("corpus_{app}"))),
    );
    cases.sort();
    assert!(!cases.is_empty());
    for (source, name) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(&name);
        copy_dir(&source, &dir);
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
        let user = model.last().unwrap().runtime.user.clone();
        let user = user.unwrap_or_default();
        let who = user.split(':').next().unwrap_or_default();
        assert!(
            !who.is_empty() && who != "root" && who != "0",
            "{name}: final user {user:?}\n{text}"
        );
    }
}

/// A Python app that copies its sources before the installs: manifests-first moves that COPY
/// after them, and the split waits for it, so the sources land in the runtime stage and the
/// build stage (the installs and the ldd walk over the venv) stays cached when a source
/// changes.
#[test]
fn python_sources_land_in_the_runtime_stage() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/combined/py_sources_after_installs");
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root, tmp.path());
    let (code, _, said) = run(tmp.path(), &["--unsafe", "--apply"]);
    assert_eq!(code, 0, "--apply failed:\n{said}");
    let text = std::fs::read_to_string(tmp.path().join("Dockerfile")).unwrap();
    let file = dfrewrite::syntax::parse(&text).unwrap();
    let model = Model::new(&file);
    assert_eq!(model.len(), 2, "not split:\n{text}");
    let copies_sources = |stage: &dfrewrite::semantic::StageModel<'_>| {
        stage.steps.iter().any(|s| match &s.effect {
            dfrewrite::semantic::Effect::Copy(c) => {
                c.from.is_none() && c.sources.iter().any(|src| src == "." || src == "./")
            }
            _ => false,
        })
    };
    assert!(
        !copies_sources(model.stage(0).unwrap()),
        "sources in the build stage:\n{text}"
    );
    assert!(
        copies_sources(model.stage(1).unwrap()),
        "sources lost:\n{text}"
    );
}

/// `pip install --user` puts the packages in /root/.local, which another user can neither
/// read (/root is mode 700) nor find (its HOME differs): the split still applies, and
/// non-root-user holds back, with or without the split.
#[test]
fn python_user_install_keeps_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/combined_held/py_user_install");
    for args in [
        &["--unsafe"][..],
        &["--unsafe", "--ignore", "split-stages"][..],
    ] {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&root, tmp.path());
        let mut apply = args.to_vec();
        apply.push("--apply");
        let (code, _, said) = run(tmp.path(), &apply);
        assert_eq!(code, 0, "{args:?}: --apply failed:\n{said}");
        assert!(
            said.lines()
                .any(|l| l.contains(": non-root-user: ") && l.contains("held back (root-home)")),
            "{args:?}: non-root-user not held back:\n{said}"
        );
        let split = said.lines().any(|l| l.contains(": split-stages: "));
        assert_eq!(split, args.len() == 1, "{args:?}:\n{said}");
        let text = std::fs::read_to_string(tmp.path().join("Dockerfile")).unwrap();
        let file = dfrewrite::syntax::parse(&text).unwrap();
        let model = Model::new(&file);
        let user = model.last().unwrap().runtime.user.clone();
        assert!(user.is_none(), "{args:?}: final user {user:?}\n{text}");
    }
}
