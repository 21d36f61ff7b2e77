//! Shell state a body leaves behind for whatever runs after it in the same shell, beyond what
//! [`Script::changes_env`](super::Script::changes_env) and friends report: the variable of a
//! `for`/`select` loop (still set after `done`), and `shift`. Merging two RUNs is only safe
//! when the first leaves nothing the second could see.

use tree_sitter::{Node, Parser};

use super::Script;

/// Builtins whose effect outlives them in the current shell and that the env, cwd and option
/// queries do not already report.
const STATE_BUILTINS: &[&str] = &["shift", "hash", "enable", "disown", "wait", "bind"];

/// The first thing in `text` (a body whose parse is `script`) that leaves state behind for
/// later commands of the same shell: a loop variable or a state builtin. `None` when there is
/// nothing such; `Some` too when the text cannot be parsed again.
pub fn leaves_state(text: &str, script: &Script) -> Option<&'static str> {
    let builtin = script.commands.iter().any(|c| {
        let x = c.context;
        !(x.in_subshell || x.in_substitution || x.in_pipeline)
            && c.program().is_some_and(|p| STATE_BUILTINS.contains(&p))
    });
    if builtin {
        return Some("a builtin that changes the shell's state");
    }
    if !may_loop(text) {
        return None;
    }
    let mut parser = Parser::new();
    if parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .is_err()
    {
        return Some("the body cannot be read again");
    }
    let Some(tree) = parser.parse(text, None) else {
        return Some("the body cannot be read again");
    };
    loop_in_current_shell(tree.root_node(), 0).then_some("a loop variable stays set after the loop")
}

/// Whether `text` holds `for` or `select` as a word of its own: a loop's keyword, which
/// most bodies lack, so that they are not parsed a second time.
fn may_loop(text: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    ["for", "select"].iter().any(|keyword| {
        text.match_indices(keyword).any(|(at, _)| {
            !word(text[..at].chars().next_back())
                && !word(text[at + keyword.len()..].chars().next())
        })
    })
}

/// Whether a `for`/`select`/`for ((…))` loop may run in the current shell (not in a subshell
/// or a substitution).
fn loop_in_current_shell(node: Node<'_>, depth: u32) -> bool {
    if depth > 200 {
        return true;
    }
    match node.kind() {
        "for_statement" | "c_style_for_statement" => return true,
        // a pipeline is not a stop: tree-sitter-bash parses `a | b && for …` as one
        "subshell" | "command_substitution" | "process_substitution" => return false,
        _ => {}
    }
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .any(|child| loop_in_current_shell(child, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaks(text: &str) -> bool {
        let script = super::super::parse(text).unwrap();
        leaves_state(text, &script).is_some()
    }

    #[test]
    fn loops_and_builtins() {
        for text in [
            "for PKG in curl git; do echo $PKG; done",
            "select x in a b; do break; done",
            "for ((i = 0; i < 3; i++)); do :; done",
            "if true; then for f in *; do :; done; fi",
            "shift",
            "set -- a b && shift",
            "echo x;for y in a; do :; done",
            "true&&select y in a; do break; done",
        ] {
            assert!(leaks(text), "{text}");
        }
        for text in [
            "(for x in a; do :; done)",
            "echo $(for x in a; do echo $x; done)",
            "apt-get install -y curl",
            "while true; do break; done",
            "pip install --force-reinstall platform_for",
        ] {
            assert!(!leaks(text), "{text}");
        }
    }
}
