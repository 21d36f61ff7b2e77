//! `dfrewrite verify` end to end: real buildah builds of tiny `FROM scratch` images whose only
//! program is a static busybox (as `/bin/busybox` and `/bin/sh`; busybox picks the applet from
//! argv[0]), so no base image is needed.
//!
//! Needs buildah, podman and busybox-static (`.ci/run` installs them). Without them the tests
//! skip, except under `CI`, where a missing engine fails them. The engine is named, since
//! `auto` prefers a Docker daemon when one answers; tests/verify_docker.rs covers Docker.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::RwLock;

use serde_json::Value;

#[path = "common/images.rs"]
mod images;
use images::{ADD_CASE, BIN, Run, hello, running};

/// Builds share buildah's store; removing images while another test builds makes buildah's
/// cache lookup fail ("layer not known"), so builds take this shared and clean-ups exclusive.
static STORE: RwLock<()> = RwLock::new(());

/// Whether a real build can run here; under `CI` a missing tool is a failure, not a skip.
fn engine_ready() -> bool {
    images::ready(&[], "apt-get install buildah podman busybox-static")
}

/// A build context: static busybox as /bin/busybox and /bin/sh, `hello.txt`, the Dockerfile.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(dockerfile: &str) -> Self {
        Self {
            dir: images::busybox_context(dockerfile, &[]),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `dfrewrite verify --engine buildah ARGS… --json OUT Dockerfile` in the context
    /// directory.
    fn verify(&self, args: &[&str]) -> Run {
        let building = STORE
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut run = images::verify(self.path(), "buildah", args, &[]);
        drop(building);
        run.store = Some(&STORE);
        self.assert_untouched();
        run
    }

    /// The context holds exactly what the test put there: the temporary rewrite is gone and
    /// the touched file was edited only in a scratch copy.
    fn assert_untouched(&self) {
        assert_eq!(
            images::names(self.path()),
            ["Dockerfile", "bin", "hello.txt"]
        );
        assert_eq!(
            fs::read_to_string(self.path().join("hello.txt")).unwrap(),
            hello(self.path())
        );
    }
}

fn strs(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn paths(diffs: &Value) -> Vec<&str> {
    diffs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect()
}

#[test]
fn add_to_copy_gives_the_same_image_and_passes_with_the_json_schema() {
    if !engine_ready() {
        return;
    }
    let case = Case::new(ADD_CASE);
    let run = case.verify(&[]);
    run.expect_code(0);
    assert!(run.stdout.contains("verdict: PASS"), "{}", run.stdout);
    assert!(run.stdout.contains("applied: add-to-copy (line 3)"));
    // Engine output never reaches stdout; the step lines are progress on stderr.
    assert!(!run.stdout.contains("STEP "));
    assert!(
        run.stderr
            .contains("  rewrite  STEP 3/6: COPY hello.txt /hello.txt")
    );

    let r = run.report();
    // serde_json's map is sorted, so the keys come back in name order.
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "applied",
            "comparison",
            "context",
            "dockerfile",
            "engine",
            "logs",
            "original",
            "rewrite",
            "rewritten",
            "side_files",
            "smoke",
            "smoke_command",
            "touch",
            "unsafe",
            "verdict"
        ]
    );
    assert_eq!(r["engine"], "buildah");
    assert_eq!(r["unsafe"], false);
    assert_eq!(r["rewritten"], true);
    assert_eq!(r["applied"][0]["pass"], "add-to-copy");
    assert_eq!(r["applied"][0]["applicability"], "safe");
    assert_eq!(r["verdict"]["status"], "pass");
    assert_eq!(r["verdict"]["exit_code"], 0);
    assert_eq!(r["smoke"], Value::Null);
    assert_eq!(r["logs"], Value::Null);
    for side in ["original", "rewrite"] {
        let s = &r[side];
        assert_eq!(s["build"]["ok"], true);
        assert_eq!(s["build"]["steps"], 5, "{side}: every step but FROM");
        let layers = s["image"]["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 3, "{side}: COPY, ADD/COPY, RUN");
        assert!(s["image"]["bytes"].as_u64().unwrap() > 1_900_000);
        assert_eq!(s["image"]["config"]["User"], "1000");
        assert_eq!(
            strs(&s["image"]["config"]["Cmd"]),
            ["/bin/sh", "-c", "cat /hello.txt"]
        );
        assert_eq!(s["warm_rebuild"], Value::Null);
        assert_eq!(s["settle"], Value::Null);
        assert!(
            s.get("file_list").is_none(),
            "listed only with --json-files"
        );
    }
    assert_eq!(r["original"]["files"], r["rewrite"]["files"]);
    let cmp = &r["comparison"];
    assert_eq!(cmp["layers_saved"], 0);
    // ADD and COPY give the same files; only the history text differs.
    assert!(cmp["bytes_saved"].as_i64().unwrap().abs() < 64, "{cmp}");
    for list in ["only_in_original", "only_in_rewrite", "changed", "config"] {
        assert_eq!(cmp[list], Value::Array(Vec::new()), "{list}");
    }
}

#[test]
fn unsafe_tier_is_recorded_and_verified() {
    if !engine_ready() {
        return;
    }
    let case = Case::new(ADD_CASE);
    let run = case.verify(&["--unsafe"]);
    run.expect_code(0);
    let r = run.report();
    assert_eq!(r["unsafe"], true);
    assert_eq!(r["applied"][0]["pass"], "add-to-copy");
    assert!(run.stdout.contains("safe and unsafe fixes"));
}

#[test]
fn smoke_agrees_in_shell_and_exec_form() {
    if !engine_ready() {
        return;
    }
    let case = Case::new(ADD_CASE);
    let run = case.verify(&["--smoke", "cat /hello.txt; id -u", "--expect", "hello"]);
    run.expect_code(0);
    let smoke = &run.report()["smoke"];
    assert_eq!(smoke["original_ok"], true);
    assert_eq!(smoke["rewrite_ok"], true);
    // The image's USER applies to the smoke command.
    let expected = format!("{}1000\n", hello(case.path()));
    assert_eq!(smoke["original"]["stdout"], expected.as_str());
    assert_eq!(smoke["rewrite"]["stdout"], expected.as_str());
    assert_eq!(smoke["rewrite"]["exit_code"], 0);
    assert!(run.stdout.contains("agree"));

    let exec = case.verify(&["--smoke", r#"["/bin/busybox", "cat", "/srv/built.txt"]"#]);
    exec.expect_code(0);
    assert_eq!(exec.report()["smoke"]["rewrite"]["stdout"], "built\n");
}

#[test]
fn a_missing_expected_text_is_the_originals_failure() {
    if !engine_ready() {
        return;
    }
    let case = Case::new(ADD_CASE);
    let run = case.verify(&["--smoke", "cat /hello.txt", "--expect", "goodbye"]);
    run.expect_code(2);
    assert_eq!(run.report()["smoke"]["original_ok"], false);
    assert!(run.stdout.contains("verdict: ERROR"));
}

#[test]
fn a_smoke_difference_fails_the_rewrite() {
    if !engine_ready() {
        return;
    }
    // The RUN step after the ADD/COPY runs once per image and records a fresh UUID, so the
    // two images answer the smoke command differently.
    let case = Case::new(
        "FROM scratch\nCOPY bin/ /bin/\nADD hello.txt /hello.txt\n\
         RUN cat /proc/sys/kernel/random/uuid > /stamp\n",
    );
    let run = case.verify(&["--smoke", "cat /stamp"]);
    run.expect_code(1);
    let r = run.report();
    assert_eq!(r["smoke"]["original_ok"], true);
    assert_eq!(r["smoke"]["rewrite_ok"], false);
    assert_eq!(r["verdict"]["status"], "fail");
    assert!(strs(&r["verdict"]["reasons"])[0].contains("smoke"));
    assert!(run.stdout.contains("DIFFER"));
    // A failed verification keeps its build logs and names them.
    let logs = r["logs"].as_str().unwrap();
    assert!(Path::new(logs).join("rewrite.log").is_file());
    assert!(
        run.stdout
            .contains(&format!("build log: {logs}/rewrite.log"))
    );
}

#[test]
fn a_file_in_one_image_only_is_an_unexpected_difference() {
    if !engine_ready() {
        return;
    }
    let case = Case::new(
        "FROM scratch\nCOPY bin/ /bin/\nADD hello.txt /hello.txt\n\
         RUN touch \"/$(cat /proc/sys/kernel/random/uuid)\"\n",
    );
    let run = case.verify(&[]);
    run.expect_code(1);
    let cmp = &run.report()["comparison"];
    let (only_orig, only_rewr) = (
        paths(&cmp["only_in_original"]),
        paths(&cmp["only_in_rewrite"]),
    );
    assert_eq!((only_orig.len(), only_rewr.len()), (1, 1));
    assert_ne!(only_orig, only_rewr);
    assert_eq!(cmp["only_in_original"][0]["expected"], Value::Null);
    assert!(run.stdout.contains("UNEXPECTED  /"));
    assert_eq!(
        strs(&run.report()["verdict"]["reasons"]),
        ["2 unexpected difference(s) between the images"]
    );
}

#[test]
fn a_broken_original_exits_2_and_names_its_log() {
    if !engine_ready() {
        return;
    }
    let case = Case::new("FROM scratch\nCOPY bin/ /bin/\nADD hello.txt /x\nRUN exit 3\n");
    let run = case.verify(&[]);
    run.expect_code(2);
    let r = run.report();
    assert_eq!(r["verdict"]["status"], "error");
    assert_eq!(
        strs(&r["verdict"]["reasons"]),
        ["the original does not build"]
    );
    assert_eq!(r["original"]["build"]["ok"], false);
    assert_eq!(r["rewrite"], Value::Null);
    let log = PathBuf::from(r["original"]["build"]["log"].as_str().unwrap());
    assert!(fs::read_to_string(&log).unwrap().contains("RUN exit 3"));
    assert!(
        run.stdout
            .contains(&format!("build log: {}", log.display()))
    );
}

#[test]
fn touch_counts_cached_and_rerun_steps_of_the_warm_rebuild() {
    if !engine_ready() {
        return;
    }
    let case = Case::new(ADD_CASE);
    let run = case.verify(&["--touch", "hello.txt"]);
    run.expect_code(0);
    let r = run.report();
    for side in ["original", "rewrite"] {
        let warm = &r[side]["warm_rebuild"];
        assert_eq!(warm["ok"], true, "{side}");
        // COPY bin/ comes from the cache; the edited file's step and every later one
        // (ADD/COPY, RUN, USER, CMD) run again.
        assert_eq!(
            (&warm["steps"], &warm["cached"], &warm["rerun"]),
            (&5.into(), &1.into(), &4.into()),
            "{side}"
        );
        assert!(warm["tag"].as_str().unwrap().ends_with("-touched"));
    }
    assert!(run.stdout.contains("1 cached, 4 re-run"));
}

#[test]
fn touch_counts_the_steps_of_every_stage_of_a_multi_stage_build() {
    if !engine_ready() {
        return;
    }
    // buildah prefixes each step line with the stage (`[1/2] STEP 3/4: …`); every stage's
    // steps count, not only those of a single-stage build.
    let case = Case::new(
        "FROM scratch AS build\nCOPY bin/ /bin/\nADD hello.txt /src/hello.txt\n\
         RUN cp /src/hello.txt /out.txt\n\
         FROM scratch\nCOPY bin/ /bin/\nCOPY --from=build /out.txt /out.txt\nUSER 1000\n\
         CMD [\"/bin/sh\", \"-c\", \"cat /out.txt\"]\n",
    );
    let run = case.verify(&["--touch", "hello.txt"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("  rewrite  [1/2] STEP 3/4: COPY hello.txt /src/hello.txt"),
        "{}",
        run.stderr
    );
    let r = run.report();
    for side in ["original", "rewrite"] {
        assert_eq!(r[side]["build"]["steps"], 7, "{side}: 3 + 4 steps but FROM");
        let warm = &r[side]["warm_rebuild"];
        // Both stages' `COPY bin/` come from the cache; the edited file's step and every
        // later one of its stage, then the final stage's COPY --from, USER and CMD run again.
        assert_eq!(
            (&warm["steps"], &warm["cached"], &warm["rerun"]),
            (&7.into(), &2.into(), &5.into()),
            "{side}"
        );
    }
    assert!(run.stdout.contains("2 cached, 5 re-run"), "{}", run.stdout);
}

#[test]
fn a_touch_file_outside_the_context_is_refused() {
    if !engine_ready() {
        return;
    }
    let case = Case::new(ADD_CASE);
    let run = case.verify(&["--touch", "missing.go"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--touch missing.go: no such file"));
    assert!(run.report.is_none());
}

#[test]
fn no_engine_exits_2_and_names_what_to_install() {
    // No daemon answers on this socket, so this needs no engine at all.
    let case = tempfile::tempdir().unwrap();
    fs::write(case.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let out = Command::new(BIN)
        .args(["verify", "--engine", "docker", "Dockerfile"])
        .current_dir(case.path())
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/dfrewrite-test.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no container engine works"), "{stderr}");
    assert!(
        stderr.contains("no Docker daemon answers") || stderr.contains("`docker` is not installed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("apt-get install buildah podman"),
        "{stderr}"
    );
}

#[test]
fn verify_is_a_subcommand_beside_the_flat_cli() {
    let help = Command::new(BIN)
        .args(["verify", "--help"])
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(
        text.contains("Usage: dfrewrite verify [OPTIONS] <DOCKERFILE>"),
        "{text}"
    );
    let bad = Command::new(BIN)
        .args(["verify", "--expect", "x", "Dockerfile"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "--expect needs --smoke");
    let top = Command::new(BIN).arg("--help").output().unwrap();
    assert!(
        String::from_utf8(top.stdout)
            .unwrap()
            .contains("dfrewrite verify")
    );
}

#[test]
fn ctrl_c_stops_the_build_and_removes_the_temporary_dockerfile() {
    if !engine_ready() {
        return;
    }
    // A sleep no other test runs, so the test can see when this build's RUN step is running.
    let seconds = (600 + std::process::id() % 1000).to_string();
    let case = Case::new(&format!(
        "FROM scratch\nCOPY bin/ /bin/\nADD hello.txt /x\nRUN sleep {seconds}\n"
    ));
    let _building = STORE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut child = Command::new(BIN)
        .args(["verify", "--engine", "buildah", "Dockerfile"])
        .current_dir(case.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    // Signal once the step really runs: buildah 1.28 leaves its per-step containers behind
    // when interrupted while it is still setting a step up.
    while !running(&["sleep", &seconds]) {
        assert!(child.try_wait().unwrap().is_none(), "verify ended early");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let seen = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(
        seen.contains("interrupted; temporary files removed"),
        "{seen}"
    );
    assert!(
        !running(&["sleep", &seconds]),
        "the build's RUN step was stopped"
    );
    case.assert_untouched();
}
