use std::fmt::Write as _;

use super::*;
use crate::syntax::parse;

fn model(text: &str) -> (Dockerfile, usize) {
    let file = parse(text).unwrap();
    let n = Model::new(&file).len();
    (file, n)
}

#[test]
fn base_through_global_args_and_stages() {
    let (file, _) = model(
        "ARG GO_VERSION=1.19\nARG REG\nFROM golang:${GO_VERSION} AS build\nFROM build\nFROM ${REG}/x\nFROM scratch\nFROM docker.io/library/python:3.11-slim@sha256:ab\n",
    );
    let m = Model::new(&file);
    assert_eq!(
        m.global_args,
        vec![
            ("GO_VERSION".into(), Some("1.19".into())),
            ("REG".into(), None)
        ]
    );
    let Base::Image(go) = &m.stage(0).unwrap().base else {
        panic!("{:?}", m.stage(0).unwrap().base)
    };
    assert_eq!(
        (go.repository.as_str(), go.tag.as_deref()),
        ("golang", Some("1.19"))
    );
    assert_eq!(m.stage(1).unwrap().base, Base::Stage(0));
    // an ARG without default is given at build time, if at all: not resolved
    assert_eq!(
        m.stage(2).unwrap().base,
        Base::Unresolved("${REG}/x".into())
    );
    assert_eq!(m.stage(3).unwrap().base, Base::Scratch);
    let Base::Image(py) = &m.stage(4).unwrap().base else {
        panic!()
    };
    assert_eq!(py.repository, "python");
    assert_eq!(py.tag.as_deref(), Some("3.11-slim"));
    assert_eq!(py.digest.as_deref(), Some("sha256:ab"));
    assert_eq!(
        m.root_image(1).map(|r| r.repository.as_str()),
        Some("golang")
    );
    assert!(m.is_used_later(0));
    assert!(!m.is_used_later(1));
    assert_eq!(
        ImageRef::parse("localhost:5000/team/app").repository,
        "localhost:5000/team/app"
    );
}

#[test]
fn scope_workdir_user_shell_per_step() {
    let (file, _) = model(
        "ARG V=2\nFROM golang:1.22\nARG V\nENV APP=/srv/$V GOPATH_X=$GOPATH\nWORKDIR $APP\nWORKDIR sub\nUSER ${V}:0\nSHELL [\"/bin/bash\", \"-c\"]\nRUN true\n",
    );
    let m = Model::new(&file);
    let s = &m.stage(0).unwrap();
    assert_eq!(s.scope.env["APP"].as_deref(), Some("/srv/2"));
    // GOPATH comes from the image: unknown, not empty
    assert_eq!(s.scope.env["GOPATH_X"], None);
    let run = s.steps.last().unwrap();
    assert_eq!(run.workdir(), Some("/srv/2/sub"));
    assert_eq!(run.user(), Some("2:0"));
    assert_eq!(run.shell(), ["/bin/bash", "-c"]);
    // the first step runs in the image's WORKDIR, from the image data
    assert_eq!(s.steps[0].workdir(), Some("/go"));
    assert_eq!(s.runtime.workdir.as_deref(), Some("/srv/2/sub"));
    assert_eq!(s.runtime.user.as_deref(), Some("2:0"));
}

#[test]
fn copies_and_runs() {
    let (file, _) = model(
        "FROM debian:bookworm AS b\nWORKDIR /src\nCOPY --chown=app go.mod go.sum ./\nADD [\"a b\", \"/opt/\"]\nRUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev $EXTRA\nRUN cd cmd/x && CGO_ENABLED=0 go build -o /out/x . && cd /tmp && make install\nRUN [\"go\", \"install\", \"./cmd/y\"]\nFROM scratch\nCOPY --from=b /out/x /x\n",
    );
    let m = Model::new(&file);
    let steps = &m.stage(0).unwrap().steps;
    let Effect::Copy(c) = &steps[1].effect else {
        panic!()
    };
    assert_eq!(c.sources, vec!["go.mod", "go.sum"]);
    assert_eq!(c.dest.as_deref(), Some("/src/"));
    assert!(c.dest_is_dir);
    assert_eq!(c.flags, vec!["--chown=app"]);
    let Effect::Copy(add) = &steps[2].effect else {
        panic!()
    };
    assert!(add.add);
    assert_eq!(add.sources, vec!["a b"]);
    let Effect::Run(apt) = &steps[3].effect else {
        panic!()
    };
    assert_eq!(apt.installs.len(), 1);
    assert_eq!(apt.installs[0].manager, "apt-get");
    assert_eq!(apt.installs[0].packages, vec!["gcc", "libpq-dev"]);
    assert!(!apt.installs[0].complete);
    let Effect::Run(go) = &steps[4].effect else {
        panic!()
    };
    let cmds = go.commands.as_ref().unwrap();
    assert_eq!(cmds[1].cwd.as_deref(), Some("/src/cmd/x"));
    assert_eq!(cmds[3].cwd.as_deref(), Some("/tmp"));
    assert_eq!(go.builds.len(), 2);
    assert_eq!(go.builds[0].kind, BuildKind::GoBuild);
    assert_eq!(go.builds[0].output.as_deref(), Some("/out/x"));
    assert_eq!(go.builds[0].env, vec![("CGO_ENABLED".into(), "0".into())]);
    assert_eq!(go.builds[1].kind, BuildKind::Make);
    assert_eq!(go.builds[1].targets, vec!["install"]);
    let Effect::Run(exec) = &steps[5].effect else {
        panic!()
    };
    assert_eq!(exec.builds[0].kind, BuildKind::GoInstall);
    assert_eq!(exec.builds[0].targets, vec!["./cmd/y"]);
    let Effect::Copy(from) = &m.stage(1).unwrap().steps[0].effect else {
        panic!()
    };
    assert_eq!(from.from, Some(CopySource::Stage(0)));
}

#[test]
fn node_and_python_builds() {
    let (file, _) = model(
        "FROM node:18\nRUN npm ci && npm run build\nRUN yarn build\nFROM python:3.11\nRUN python -m pip install --no-cache-dir -r requirements.txt\nRUN pip install .\n",
    );
    let m = Model::new(&file);
    let kinds = |s: &StageModel<'_>| -> Vec<BuildKind> {
        s.steps
            .iter()
            .filter_map(|st| match &st.effect {
                Effect::Run(r) => Some(r.builds.iter().map(|b| b.kind)),
                _ => None,
            })
            .flatten()
            .collect()
    };
    assert_eq!(
        kinds(m.stage(0).unwrap()),
        vec![BuildKind::NodeScript, BuildKind::NodeScript]
    );
    assert_eq!(
        kinds(m.stage(1).unwrap()),
        vec![BuildKind::PipInstall, BuildKind::PipInstall]
    );
}

#[test]
fn runtime_config_follows_buildkit() {
    let (file, _) = model(
        "FROM node:18 AS base\nENV A=1 B=2\nCMD [\"node\"]\nLABEL x=1\nFROM base\nENV A=3\nENTRYPOINT [\"tini\"]\nEXPOSE 80 80/tcp 80\nVOLUME /data\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/\nSTOPSIGNAL SIGTERM\nONBUILD RUN make\nFROM base\nCMD echo hi\nENTRYPOINT [\"x\"]\n",
    );
    let m = Model::new(&file);
    let r = &m.stage(1).unwrap().runtime;
    assert_eq!(
        r.env,
        vec![("A".into(), "3".into()), ("B".into(), "2".into())]
    );
    // an ENTRYPOINT drops the CMD inherited from the parent
    assert_eq!(r.cmd, None);
    assert_eq!(r.entrypoint, Some(ExecSpec::Exec(vec!["tini".into()])));
    assert_eq!(r.expose, vec!["80", "80/tcp"]);
    assert_eq!(r.volumes, vec!["/data"]);
    let hc = r.healthcheck.as_ref().unwrap();
    assert_eq!(
        hc.test,
        Some(ExecSpec::Shell("curl -f http://localhost/".into()))
    );
    assert_eq!(hc.flags, vec!["--interval=5s".to_owned()]);
    assert_eq!(r.stopsignal.as_deref(), Some("SIGTERM"));
    assert_eq!(r.onbuild, vec!["RUN make"]);
    assert_eq!(r.labels, vec![("x".into(), "1".into())]);
    // a CMD set in the same stage survives the ENTRYPOINT after it
    let r2 = &m.stage(2).unwrap().runtime;
    assert_eq!(r2.cmd, Some(ExecSpec::Shell("echo hi".into())));
}

#[test]
fn joins_paths() {
    assert_eq!(join(Some("/a/b"), "../c/./d").as_deref(), Some("/a/c/d"));
    assert_eq!(join(None, "x"), None);
    assert_eq!(join(None, "/x/").as_deref(), Some("/x"));
}

#[test]
fn a_long_chain_of_stages_builds_its_last_stage_without_recursing_per_stage() {
    // each stage is built on the previous one: the last one's model needs all of them
    let text: String = std::iter::once("FROM alpine AS s0\nENV A=0\n".to_owned())
        .chain((1..20_000).map(|i| format!("FROM s{} AS s{i}\nWORKDIR /w{i}\n", i - 1)))
        .collect();
    let file = parse(&text).unwrap();
    let m = Model::new(&file);
    let last = m.last().unwrap();
    assert_eq!(last.base, Base::Stage(19_998));
    assert_eq!(last.workdir.as_deref(), Some("/w19999"));
    assert_eq!(last.scope.env.get("A"), Some(&Some("0".to_owned())));
}

#[test]
fn a_base_names_the_latest_earlier_stage_of_that_name_in_any_case() {
    let (file, _) = model(
        "FROM alpine:3 AS Base\nFROM BASE AS b\nFROM alpine:3 AS base\nFROM base\nFROM b\nFROM later\nFROM alpine AS later\n",
    );
    let m = Model::new(&file);
    let bases: Vec<Base> = (0..m.len()).map(|i| m.base(i).unwrap().clone()).collect();
    assert_eq!(bases[1], Base::Stage(0));
    assert_eq!(bases[3], Base::Stage(2));
    assert_eq!(bases[4], Base::Stage(1));
    // a stage named later is not what an earlier FROM means
    let Base::Image(later) = &bases[5] else {
        panic!("{:?}", bases[5])
    };
    assert_eq!(later.repository, "later");
    // the stages that write the same reference share its parse
    assert!(matches!(bases[0], Base::Image(_)));
    assert!(std::ptr::eq(m.base(0).unwrap(), m.base(2).unwrap()));
    assert_eq!(m.stage(0).unwrap().name.as_deref(), Some("base"));
    assert!(m.has_stage_named("LATER") && !m.has_stage_named("build"));
    assert_eq!(m.stage_named("B").map(|s| s.index), Some(1));
}

#[test]
fn the_shell_of_each_run_is_known_past_the_first_64_instructions() {
    let mut text = String::from("FROM debian:12\n");
    for i in 0..70 {
        writeln!(text, "ENV A{i}=1").unwrap();
    }
    text.push_str("RUN echo sh\nSHELL [\"pwsh\", \"-c\"]\nRUN echo pwsh\n");
    let (file, _) = model(&text);
    let m = Model::new(&file);
    let steps = &m.stage(0).unwrap().steps;
    let commands = |k: usize| match &steps[k].effect {
        Effect::Run(r) => r.commands.is_some(),
        other => panic!("{other:?}"),
    };
    assert!(commands(70));
    assert!(!commands(72));
}
