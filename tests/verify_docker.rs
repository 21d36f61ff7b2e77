//! `dfrewrite verify --engine docker` end to end, and the same Dockerfiles through buildah:
//! both engines must reach the same verdicts, byte figures within 2 % and the same file lists.
//! The contexts are `FROM scratch` images whose only program is a static busybox, as in
//! tests/verify.rs.
//!
//! Needs a Docker daemon the `docker` client reaches (DOCKER_HOST honoured) and a client that
//! builds with BuildKit (buildx, or a client before 23), plus buildah, podman and
//! busybox-static. `.ci/run` installs Debian's docker.io and starts a daemon of its own. Without
//! them the tests skip, except under `CI`, where they fail.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde_json::Value;

#[path = "common/images.rs"]
mod images;
use images::{ADD_CASE, BIN, Run, running, works};

/// buildah's store is shared with tests/verify.rs's way of working: removing images while a
/// build runs breaks its cache lookup, so these tests take turns.
static TURN: Mutex<()> = Mutex::new(());

/// Entries an engine's RUN steps leave in an image by themselves: mount points for the files
/// and directories each engine provides to a running step (buildah: `/etc/hosts`, `/run`, its
/// CA mount; BuildKit: `/dev`, `/proc`, `/sys`). They are equal within one engine, so the
/// comparison of an original with its rewrite never sees them; across engines they are left out.
const ENGINE_ARTEFACTS: &[&str] = &[
    "/",
    "/dev",
    "/etc",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/proc",
    "/run",
    "/sys",
    "/usr",
    "/usr/local",
    "/usr/local/share",
    "/usr/local/share/ca-certificates",
];

/// Whether docker can build with BuildKit here: a daemon answers and the client has buildx or
/// builds with BuildKit itself (before 23).
fn docker_works() -> bool {
    if !works("docker", &["info"]) {
        return false;
    }
    if works("docker", &["buildx", "version"]) {
        return true;
    }
    Command::new("docker")
        .args(["version", "--format", "{{.Client.Version}}"])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split('.')
                .next()
                .and_then(|m| m.trim().parse::<u32>().ok())
        })
        .is_some_and(|major| major < 23)
}

/// Whether both engines can run here; under `CI` a missing one is a failure, not a skip.
fn engines_ready() -> bool {
    images::ready(
        &[("docker (a daemon and a BuildKit client)", docker_works())],
        ".ci/run installs docker.io and starts a daemon",
    )
}

/// A build context: static busybox as /bin/busybox and /bin/sh, `hello.txt`, the Dockerfile,
/// and any extra files.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(dockerfile: &str, extra: &[(&str, &str)]) -> Self {
        Self {
            dir: images::busybox_context(dockerfile, extra),
        }
    }

    /// Runs `dfrewrite verify --engine ENGINE ARGS… --json OUT --json-files Dockerfile`.
    fn verify(&self, engine: &str, args: &[&str]) -> Run {
        self.verify_with(engine, args, &[])
    }

    fn verify_with(&self, engine: &str, args: &[&str], env: &[(&str, &Path)]) -> Run {
        let args = [&["--json-files"], args].concat();
        images::verify(self.dir.path(), engine, &args, env)
    }

    /// Runs the same verification on both engines, one after the other.
    fn both(&self, args: &[&str]) -> [Run; 2] {
        let _turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        [self.verify("docker", args), self.verify("buildah", args)]
    }
}

// Only the Docker tests read file listings and byte figures.
impl Run {
    /// One side's file listing without the engines' own mount points.
    fn files(&self, side: &str) -> BTreeMap<String, Value> {
        self.report()[side]["file_list"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no file_list for {side}", self.engine))
            .iter()
            .filter(|f| !ENGINE_ARTEFACTS.contains(&f["path"].as_str().unwrap()))
            .map(|f| (f["path"].as_str().unwrap().to_owned(), f.clone()))
            .collect()
    }

    fn bytes(&self, side: &str) -> u64 {
        self.report()[side]["image"]["bytes"].as_u64().unwrap()
    }
}

/// The two engines agree: verdict, exit code, layer count, byte figures within 2 %, file list.
fn assert_agree(runs: &[Run; 2]) {
    let [docker, buildah] = runs;
    assert_eq!(docker.report()["engine"], "docker");
    assert_eq!(buildah.report()["engine"], "buildah");
    assert_eq!(docker.code, buildah.code, "exit codes");
    assert_eq!(
        docker.report()["verdict"]["status"],
        buildah.report()["verdict"]["status"]
    );
    for side in ["original", "rewrite"] {
        if docker.report()[side]["image"].is_null() {
            continue;
        }
        let (d, b) = (docker.bytes(side), buildah.bytes(side));
        #[allow(clippy::cast_precision_loss)]
        let off = (d as f64 - b as f64).abs() / b as f64;
        assert!(off < 0.02, "{side}: docker {d} vs buildah {b} bytes");
        assert_eq!(
            docker.report()[side]["image"]["layers"]
                .as_array()
                .unwrap()
                .len(),
            buildah.report()[side]["image"]["layers"]
                .as_array()
                .unwrap()
                .len(),
            "{side}: layers"
        );
        assert_eq!(docker.files(side), buildah.files(side), "{side}: files");
    }
}

#[test]
fn both_engines_pass_add_to_copy_with_the_same_figures() {
    if !engines_ready() {
        return;
    }
    let case = Case::new(ADD_CASE, &[]);
    let runs = case.both(&["--smoke", "cat /hello.txt; id -u", "--expect", "hello"]);
    for run in &runs {
        run.expect_code(0);
        let r = run.report();
        assert_eq!(r["applied"][0]["pass"], "add-to-copy");
        assert_eq!(r["smoke"]["rewrite_ok"], true);
        assert!(
            r["smoke"]["rewrite"]["stdout"]
                .as_str()
                .unwrap()
                .ends_with("1000\n")
        );
        let cmp = &r["comparison"];
        assert!(cmp["bytes_saved"].as_i64().unwrap().abs() < 64, "{cmp}");
        for side in ["original", "rewrite"] {
            assert_eq!(r[side]["image"]["config"]["User"], "1000");
            assert!(
                r[side]["image"]["layers"][0]["created_by"]
                    .as_str()
                    .unwrap()
                    .contains("COPY")
            );
        }
        // Engine output stays off stdout; step lines are progress on stderr.
        assert!(run.stdout.contains("verdict: PASS"), "{}", run.stdout);
    }
    assert!(
        runs[0].stderr.contains("  rewrite  #"),
        "{}",
        runs[0].stderr
    );
    assert!(runs[0].stderr.contains("COPY hello.txt /hello.txt"));
    assert_agree(&runs);
    // The listing is the image's own: none of `docker export`'s container files.
    let docker_files = runs[0].files("original");
    assert!(docker_files.contains_key("/bin/busybox"));
    assert!(docker_files.contains_key("/srv/built.txt"));
    assert!(!docker_files.contains_key("/.dockerenv"));
    assert!(!docker_files.contains_key("/etc/mtab"));
}

#[test]
fn a_broken_rewrite_is_caught_on_both_engines() {
    if !engines_ready() {
        return;
    }
    // The RUN after the ADD/COPY runs once per image and records a fresh UUID, as a file name
    // and as content: the images differ in a file and in the smoke output.
    let case = Case::new(
        "FROM scratch\nCOPY bin/ /bin/\nADD hello.txt /hello.txt\n\
         RUN cat /proc/sys/kernel/random/uuid > /stamp && touch \"/$(cat /stamp)\"\n",
        &[],
    );
    let runs = case.both(&["--smoke", "cat /stamp"]);
    for run in &runs {
        run.expect_code(1);
        let r = run.report();
        assert_eq!(r["smoke"]["rewrite_ok"], false, "{}", run.engine);
        let reasons: Vec<&str> = r["verdict"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            [
                "2 unexpected difference(s) between the images",
                "the rewrite's smoke result differs from the original's"
            ],
            "{}",
            run.engine
        );
    }
    assert_eq!(runs[0].code, runs[1].code);
}

#[test]
fn an_original_that_does_not_build_is_an_error_on_both_engines() {
    if !engines_ready() {
        return;
    }
    // The original's ADD of a missing file fails the same way in both images, so the
    // original does not build: exit 2 on both engines.
    let case = Case::new("FROM scratch\nCOPY bin/ /bin/\nADD missing.txt /x\n", &[]);
    let runs = case.both(&[]);
    for run in &runs {
        run.expect_code(2);
        assert_eq!(run.report()["verdict"]["status"], "error");
        assert_eq!(run.report()["original"]["build"]["ok"], false);
    }
}

#[test]
fn warm_rebuilds_of_dockerfiles_sharing_a_prefix_count_their_own_steps() {
    if !engines_ready() {
        return;
    }
    // Original and rewrite share `FROM scratch` + `COPY bin/`; the touched file is read by the
    // third step. Each side's warm rebuild must take `COPY bin/` from the cache and re-run the
    // rest, and the settling build before it must be served wholly from the cache.
    let case = Case::new(ADD_CASE, &[]);
    let runs = case.both(&["--touch", "hello.txt"]);
    // BuildKit shows no step for USER and CMD; buildah counts them.
    let expected = [("docker", 3, 1, 2), ("buildah", 5, 1, 4)];
    for (run, (engine, steps, cached, rerun)) in runs.iter().zip(expected) {
        run.expect_code(0);
        assert_eq!(run.engine, engine);
        for side in ["original", "rewrite"] {
            let settle = &run.report()[side]["settle"];
            assert_eq!(settle["ok"], true, "{engine} {side}");
            assert_eq!(
                settle["steps"], settle["cached"],
                "{engine} {side}: {settle}"
            );
            let warm = &run.report()[side]["warm_rebuild"];
            assert_eq!(
                (&warm["steps"], &warm["cached"], &warm["rerun"]),
                (&steps.into(), &cached.into(), &rerun.into()),
                "{engine} {side}"
            );
        }
    }
}

#[test]
fn the_proposed_dockerignore_is_part_of_the_rewrites_build() {
    if !engines_ready() {
        return;
    }
    // `COPY . /app/` with a log file in the context: the dockerignore pass proposes a
    // .dockerignore that keeps `*.log` out (unsafe: the log is under a COPY source).
    let case = Case::new(
        "FROM scratch\nCOPY bin/ /bin/\nCOPY . /app/\n",
        &[("debug.log", "noise\n")],
    );
    let runs = case.both(&["--unsafe"]);
    for run in &runs {
        run.expect_code(0);
        let r = run.report();
        assert_eq!(
            r["side_files"][0]["path"], ".dockerignore",
            "{}",
            run.engine
        );
        assert_eq!(
            r["side_files"][0]["kept_out"],
            serde_json::json!(["debug.log"])
        );
        let cmp = &r["comparison"];
        assert_eq!(cmp["only_in_original"][0]["path"], "/app/debug.log");
        assert!(
            cmp["only_in_original"][0]["expected"]
                .as_str()
                .unwrap()
                .contains("kept out of the context by the proposed .dockerignore")
        );
        assert_eq!(cmp["only_in_rewrite"][0]["path"], "/app/.dockerignore");
        assert!(!run.files("rewrite").contains_key("/app/debug.log"));
        assert!(
            run.stdout.contains(
                "side file: .dockerignore (dockerignore), keeps out 1 path(s): debug.log"
            )
        );
    }
    // The user's context is left alone.
    assert!(!case.dir.path().join(".dockerignore").exists());
}

#[test]
fn markdown_and_github_outputs() {
    if !engines_ready() {
        return;
    }
    let case = Case::new(ADD_CASE, &[]);
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let run = case.verify(
        "docker",
        &[
            "--output-format",
            "markdown",
            "--smoke",
            "cat /hello.txt",
            "--touch",
            "hello.txt",
        ],
    );
    run.expect_code(0);
    let md = &run.stdout;
    assert!(
        md.starts_with("### dfrewrite verify `Dockerfile`: **PASS**"),
        "{md}"
    );
    assert!(md.contains("| | original | rewrite | saved |\n|---|---:|---:|---:|\n"));
    assert!(md.contains("| layers | 3 | 3 | 0 |"), "{md}");
    assert!(md.contains("| smoke `/bin/sh -c cat /hello.txt` | exit 0 | exit 0 | same result |"));
    assert!(md.contains("| warm rebuild (edit `hello.txt`) |"), "{md}");
    assert!(md.contains("2 of 3 steps re-run"), "{md}");
    assert!(md.contains("| runtime config | | | identical |"));
    assert!(md.contains("Applied: `add-to-copy`."));
    drop(run);

    let summary = tempfile::NamedTempFile::new().unwrap();
    fs::write(summary.path(), "earlier step\n").unwrap();
    let run = case.verify_with(
        "docker",
        &["--output-format", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.path())],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("verdict: PASS"));
    assert!(
        run.stdout
            .contains("::notice file=Dockerfile,title=dfrewrite verify::the rewrite verified"),
        "{}",
        run.stdout
    );
    let written = fs::read_to_string(summary.path()).unwrap();
    assert!(
        written.starts_with("earlier step\n### dfrewrite verify `Dockerfile`: **PASS**"),
        "{written}"
    );
}

/// Waits up to about 30 s for `done`; BuildKit and runc stop a step's processes on their own
/// schedule after the client goes.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..300 {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// The names of containers verify's smoke commands run in, still present.
fn smoke_containers() -> String {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "name=dfrewrite-verify-",
            "--format",
            "{{.Names}}",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Starts `dfrewrite verify --engine docker ARGS… Dockerfile`, waits until `sleep SECONDS` runs,
/// sends SIGINT and returns the exit code and stderr.
fn interrupt_when_sleeping(case: &Case, args: &[&str], seconds: &str) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(["verify", "--engine", "docker"])
        .args(args)
        .arg("Dockerfile")
        .current_dir(case.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    while !running(&["sleep", seconds]) {
        assert!(child.try_wait().unwrap().is_none(), "verify ended early");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    (status.code(), reader.join().unwrap())
}

/// The context holds exactly what the test put there: the temporary rewrite is gone.
fn assert_context_untouched(case: &Case) {
    assert_eq!(
        images::names(case.dir.path()),
        ["Dockerfile", "bin", "hello.txt"]
    );
}

#[test]
fn ctrl_c_stops_a_docker_build_and_removes_the_temporary_dockerfile() {
    if !engines_ready() {
        return;
    }
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A sleep no other test runs, so the test can see when this build's RUN step is running.
    let seconds = (1700 + std::process::id() % 1000).to_string();
    let case = Case::new(
        &format!("FROM scratch\nCOPY bin/ /bin/\nADD hello.txt /x\nRUN sleep {seconds}\n"),
        &[],
    );
    let (code, stderr) = interrupt_when_sleeping(&case, &[], &seconds);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted; temporary files removed"),
        "{stderr}"
    );
    assert!(
        eventually(|| !running(&["sleep", &seconds])),
        "the build's RUN step was stopped"
    );
    assert_context_untouched(&case);
}

#[test]
fn ctrl_c_during_the_smoke_command_removes_its_container() {
    if !engines_ready() {
        return;
    }
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seconds = (2700 + std::process::id() % 1000).to_string();
    let case = Case::new(ADD_CASE, &[]);
    let smoke = format!("sleep {seconds}");
    let (code, stderr) = interrupt_when_sleeping(&case, &["--smoke", &smoke], &seconds);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        eventually(|| smoke_containers().is_empty()),
        "left behind: {}",
        smoke_containers()
    );
    assert!(!running(&["sleep", &seconds]));
    assert_context_untouched(&case);
    // The images are kept for the next run's layer cache, as on buildah; this test's go.
    for side in ["original", "rewrite"] {
        let _ = Command::new("docker")
            .args(["rmi", "-f"])
            .arg(tag_of(&case, side))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The tag verify gives one side of the case's Dockerfile, as `engine::tag_for` computes it.
fn tag_of(case: &Case, side: &str) -> String {
    let path = case.dir.path().join("Dockerfile");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("localhost/dfrewrite-verify:{hash:016x}-{side}")
}
