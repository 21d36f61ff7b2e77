//! The start command of a Node split: what CMD/ENTRYPOINT (and the npm scripts they run)
//! execute must be in the runtime without dev dependencies.

use super::{DEPTH, Facts, Package};
use crate::semantic::{ExecSpec, StageModel};

/// The start command (ENTRYPOINT, else CMD) runs only what the runtime has.
pub(super) fn start_ok(stage: &StageModel<'_>, facts: &Facts<'_>) -> bool {
    let rt = &stage.runtime;
    let mut words: Vec<String> = Vec::new();
    for spec in [&rt.entrypoint, &rt.cmd].into_iter().flatten() {
        match spec {
            ExecSpec::Exec(argv) => words.extend(argv.iter().cloned()),
            ExecSpec::Shell(text) => {
                if words.is_empty() {
                    return facts
                        .root()
                        .is_some_and(|root| start_line_ok(root, text, facts, 0));
                }
                return false;
            }
        }
        // an ENTRYPOINT's own argv is the program; CMD only adds arguments then
        if rt.entrypoint.is_some() {
            break;
        }
    }
    let Some(root) = facts.root() else {
        return false;
    };
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    !refs.is_empty() && start_words_ok(root, &refs, facts, 0)
}

fn start_line_ok(pkg: &Package, text: &str, facts: &Facts<'_>, depth: usize) -> bool {
    if text.contains(['`', '(', ')']) || text.contains("$(") {
        return false;
    }
    text.split("&&")
        .flat_map(|p| p.split("||"))
        .flat_map(|p| p.split([';', '|']))
        .all(|part| {
            let words: Vec<&str> = part
                .split_whitespace()
                .skip_while(|w| w.contains('=') || *w == "cross-env")
                .collect();
            !words.is_empty() && start_words_ok(pkg, &words, facts, depth)
        })
}

fn start_words_ok(pkg: &Package, words: &[&str], facts: &Facts<'_>, depth: usize) -> bool {
    if depth > DEPTH {
        return false;
    }
    let program = words[0].rsplit('/').next().unwrap_or(words[0]);
    let args = &words[1..];
    let script = |name: &str| -> bool {
        match pkg.scripts.get(name) {
            Some(text) => [format!("pre{name}"), format!("post{name}")]
                .iter()
                .filter_map(|s| pkg.scripts.get(s))
                .chain(std::iter::once(text))
                .all(|t| start_line_ok(pkg, t, facts, depth + 1)),
            // npm's default start: `node server.js`
            None => name == "start" && facts.files.iter().any(|f| f == "server.js"),
        }
    };
    match (program, args) {
        ("node", rest) => {
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                let module = match *a {
                    "-r" | "--require" | "--loader" | "--import" | "--experimental-loader" => {
                        it.next().copied()
                    }
                    w => [
                        "--require=",
                        "--loader=",
                        "--import=",
                        "--experimental-loader=",
                    ]
                    .iter()
                    .find_map(|p| w.strip_prefix(p)),
                };
                if let Some(m) = module
                    && !m.starts_with('.')
                    && !m.starts_with('/')
                    && facts.is_dev_only(&module_package(m))
                {
                    return false;
                }
                // a script inside a dev dependency (`node node_modules/nodemon/bin/nodemon.js`)
                if let Some((_, inner)) = a.split_once("node_modules/")
                    && facts.is_dev_only(&module_package(inner))
                {
                    return false;
                }
            }
            true
        }
        // a shell or a wrapper runs another command: check that one
        ("sh" | "bash", ["-c", text, ..]) => start_line_ok(pkg, text, facts, depth + 1),
        ("sh" | "bash", _) => false,
        ("env" | "exec", rest) => {
            let rest: Vec<&str> = rest
                .iter()
                .copied()
                .skip_while(|w| w.contains('=') || w.starts_with('-'))
                .collect();
            !rest.is_empty() && start_words_ok(pkg, &rest, facts, depth + 1)
        }
        ("npm" | "yarn", ["start", ..]) => script("start"),
        ("npm", ["run" | "run-script", name, ..]) | ("yarn", ["run", name, ..]) => script(name),
        ("yarn", [name, ..]) if pkg.scripts.contains_key(*name) => script(name),
        ("npx", rest) => rest
            .iter()
            .find(|a| !a.starts_with('-'))
            .is_some_and(|p| facts.runtime_has(p)),
        (p, _) => facts.runtime_has(p),
    }
}

/// The package a module specifier loads: `ts-node/register` → `ts-node`, `@a/b/c` → `@a/b`.
fn module_package(spec: &str) -> String {
    let take = if spec.starts_with('@') { 2 } else { 1 };
    spec.split('/').take(take).collect::<Vec<_>>().join("/")
}
