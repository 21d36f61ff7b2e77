use super::*;
use crate::text::JoinedRange;

fn script(text: &str) -> Script {
    let script = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
    for command in &script.commands {
        let words = command
            .name
            .iter()
            .chain(&command.args)
            .chain(&command.assignments);
        for word in words {
            assert_eq!(word.range.slice(text), &*word.text, "{text:?}");
        }
        assert!(command.range.end as usize <= text.len());
    }
    script
}

fn names(script: &Script) -> Vec<&str> {
    script
        .commands
        .iter()
        .map(|c| c.name.as_ref().map_or("", |n| &*n.text))
        .collect()
}

fn args(command: &Command) -> Vec<&str> {
    command.args.iter().map(|w| &*w.text).collect()
}

#[test]
fn apt_chain_with_set() {
    let text = "set -ex; apt-get update && apt-get install -y --no-install-recommends curl \
                && rm -rf /var/lib/apt/lists/*";
    let s = script(text);
    assert_eq!(names(&s), ["set", "apt-get", "apt-get", "rm"]);
    assert_eq!(s.chains.len(), 2);
    let (sep, at) = s.chains[0].separator.unwrap();
    assert_eq!((sep, at.slice(text)), (Separator::Semicolon, ";"));
    let ops = &s.chains[1].operators;
    assert_eq!(ops.len(), 2);
    assert!(
        ops.iter()
            .all(|(op, r)| *op == AndOr::And && r.slice(text) == "&&")
    );
    assert_eq!(s.chains[1].separator, None);
    let install = &s.commands[2];
    assert_eq!(install.chain, 1);
    assert_eq!(
        args(install),
        ["install", "-y", "--no-install-recommends", "curl"]
    );
    assert_eq!(
        install.range.slice(text),
        "apt-get install -y --no-install-recommends curl"
    );
    assert_eq!(
        s.commands[3].args[1].value.as_deref(),
        Some("/var/lib/apt/lists/*")
    );
}

#[test]
fn assignments_prefix_and_bare() {
    let s = script("A=1 B=2");
    assert_eq!(s.commands.len(), 1);
    assert!(s.commands[0].name.is_none());
    assert_eq!(s.commands[0].assignments.len(), 2);
    assert_eq!(s.commands[0].assignments[1].value.as_deref(), Some("B=2"));

    let s = script("FOO=1 make");
    let make = &s.commands[0];
    assert_eq!(make.name.as_ref().unwrap().text, "make".into());
    assert_eq!(make.assignments[0].text, "FOO=1".into());
    assert!(make.args.is_empty());
    assert_eq!(make.range, JoinedRange::new(0, 10));
}

#[test]
fn export_is_a_command() {
    let text = "export A=1 B=\"$x\"";
    let s = script(text);
    let export = &s.commands[0];
    assert_eq!(
        export.name.as_ref().unwrap().value.as_deref(),
        Some("export")
    );
    assert_eq!(args(export), ["A=1", "B=\"$x\""]);
    assert_eq!(export.args[0].value.as_deref(), Some("A=1"));
    assert_eq!(export.args[1].value, None);
}

#[test]
fn if_body_is_control_flow() {
    let s = script("if [ -f x ]; then apt-get install y; fi");
    assert_eq!(names(&s), ["[", "apt-get"]);
    assert_eq!(args(&s.commands[0]), ["-f", "x", "]"]);
    assert!(s.commands.iter().all(|c| c.context.in_control_flow));
    assert_eq!(s.chains.len(), 1);
}

#[test]
fn heredoc_continuation_is_found() {
    let text = "cat > /f <<'EOF' && chmod 644 /f\nbody\nEOF";
    let s = script(text);
    assert_eq!(names(&s), ["cat", "chmod"]);
    let cat = &s.commands[0];
    assert_eq!(cat.range.slice(text), "cat > /f <<'EOF'");
    let redirects: Vec<&str> = cat.redirects.iter().map(|r| r.slice(text)).collect();
    assert_eq!(redirects, ["> /f", "<<'EOF'"]);
    assert!(cat.args.is_empty());
    let chmod = &s.commands[1];
    assert_eq!(args(chmod), ["644", "/f"]);
    assert_eq!(chmod.args[0].value.as_deref(), Some("644"));
    assert_eq!((cat.chain, chmod.chain), (0, 0));
    assert_eq!(s.chains[0].operators.len(), 1);
    assert_eq!(s.chains[0].operators[0].1.slice(text), "&&");
}

#[test]
fn heredoc_after_list_and_pipe() {
    let s = script("a && cat <<EOF && b\nq\nEOF\nnext");
    assert_eq!(names(&s), ["a", "cat", "b", "next"]);
    assert_eq!(s.chains.len(), 2);
    assert_eq!(s.chains[0].operators.len(), 2);
    assert_eq!(s.commands[1].redirects.len(), 1);
    assert_eq!(s.chains[0].separator.unwrap().0, Separator::Newline);

    let s = script("cat <<EOF | tail && x\nb\nEOF");
    assert_eq!(names(&s), ["cat", "tail", "x"]);
    let piped: Vec<bool> = s.commands.iter().map(|c| c.context.in_pipeline).collect();
    assert_eq!(piped, [true, true, false]);
    assert_eq!(s.chains[0].operators.len(), 1);
}

#[test]
fn substitution_is_marked() {
    let s = script("x=$(apt-get install foo)");
    assert_eq!(names(&s), ["", "apt-get"]);
    assert!(!s.commands[0].context.in_substitution);
    assert_eq!(s.commands[0].assignments[0].value, None);
    assert!(s.commands[1].context.in_substitution);
    assert_eq!(s.commands[1].chain, 0);

    let s = script("echo `uname -r` <(ls)");
    assert_eq!(names(&s), ["echo", "uname", "ls"]);
    assert!(s.commands[1].context.in_substitution && s.commands[2].context.in_substitution);
}

#[test]
fn pipeline() {
    let s = script("curl -fsSL url | tar -xz");
    assert_eq!(names(&s), ["curl", "tar"]);
    assert!(s.commands.iter().all(|c| c.context.in_pipeline));
    assert!(s.chains[0].operators.is_empty());
}

#[test]
fn pipeline_precedence_quirk() {
    // Parsed as `a | (b | c && d | e)`; the shell reads `(a | b | c) && (d | e)`.
    let text = "a | b | c && d | e; f";
    let s = script(text);
    assert_eq!(names(&s), ["a", "b", "c", "d", "e", "f"]);
    assert!(s.commands[..5].iter().all(|c| c.context.in_pipeline));
    assert!(!s.commands[5].context.in_pipeline);
    assert_eq!(s.chains[0].operators.len(), 1);
    assert_eq!(s.chains[0].operators[0].1.slice(text), "&&");

    let s = script("a | b | c || d");
    assert!(!s.commands[3].context.in_pipeline);
    assert_eq!(s.chains[0].operators[0].0, AndOr::Or);
}

#[test]
fn words_after_redirect_are_arguments() {
    let text = "apt-get install >/dev/null -y curl 2>&1";
    let s = script(text);
    let c = &s.commands[0];
    assert_eq!(args(c), ["install", "-y", "curl"]);
    let redirects: Vec<&str> = c.redirects.iter().map(|r| r.slice(text)).collect();
    assert_eq!(redirects, [">/dev/null", "2>&1"]);
    assert_eq!(c.range.slice(text), text);
}

#[test]
fn trailing_redirect_goes_to_last_command() {
    let text = "curl x | tar -xz > /dev/null -C /opt";
    let s = script(text);
    assert_eq!(args(&s.commands[1]), ["-xz", "-C", "/opt"]);
    assert_eq!(s.commands[1].redirects[0].slice(text), "> /dev/null");
    assert!(s.commands[0].redirects.is_empty());

    let s = script("a && b > f");
    assert_eq!(s.commands[1].redirects.len(), 1);
    assert_eq!(s.chains[0].operators.len(), 1);
}

#[test]
fn background_and_separators() {
    let text = "echo hi &";
    let s = script(text);
    assert_eq!(s.chains[0].separator.unwrap().0, Separator::Background);
    assert_eq!(*s.backgrounds(), [JoinedRange::new(8, 9)]);

    let s = script("a # note\nb\n");
    assert_eq!(names(&s), ["a", "b"]);
    let (sep, at) = s.chains[0].separator.unwrap();
    assert_eq!((sep, at), (Separator::Newline, JoinedRange::new(8, 9)));
    assert_eq!(s.chains[1].separator.unwrap().1, JoinedRange::new(10, 11));

    let s = script("(a &); echo $((1 & 2))");
    assert_eq!(s.backgrounds().len(), 1);
}

#[test]
fn subshell_brace_and_function() {
    let s = script("(cd /x && make); { a; }; f() { cd /; }");
    assert!(s.commands[0].context.in_subshell && s.commands[1].context.in_subshell);
    assert_eq!(s.chains[0].operators.len(), 0);
    assert!(s.commands[2].context.in_brace_group);
    assert!(s.commands[3].context.in_control_flow);
    assert_eq!(s.functions().len(), 1);
    assert_eq!(s.functions()[0].name.text, "f".into());
}

#[test]
fn negation_covers_the_pipeline() {
    let s = script("! a | b && c");
    let negated: Vec<bool> = s.commands.iter().map(|c| c.context.negated).collect();
    assert_eq!(negated, [true, true, false]);
}

#[test]
fn word_values() {
    let text = r#"x a\ b "c\"d$" 'e' $'f' ~/g h=~ {a,b} {} "a"b'c' --f="$x" *.txt"#;
    let s = script(text);
    let values: Vec<Option<&str>> = s.commands[0]
        .args
        .iter()
        .map(|w| w.value.as_deref())
        .collect();
    assert_eq!(
        values,
        [
            Some("a b"),
            Some("c\"d$"),
            Some("e"),
            None,
            None,
            Some("h=~"),
            None,
            Some("{}"),
            Some("abc"),
            None,
            Some("*.txt"),
        ]
    );
}

#[test]
fn broken_text_is_opaque() {
    assert!(matches!(parse("if then fi ("), Err(Opaque::Syntax { .. })));
    assert!(matches!(
        parse("echo \"unterminated"),
        Err(Opaque::Syntax { .. })
    ));
    // Valid shell, but tree-sitter-bash inserts a MISSING command name.
    assert!(matches!(parse("A=1 >f"), Err(Opaque::Syntax { offset: 6 })));
}

#[test]
fn empty_and_comment_only() {
    assert_eq!(parse("").unwrap(), Script::default());
    assert!(parse("# only a comment").unwrap().commands.is_empty());
}

#[test]
fn long_chains_do_not_hit_the_depth_guard() {
    let text = vec!["true"; 5000].join(" && ");
    let s = parse(&text).unwrap();
    assert_eq!(s.commands.len(), 5000);
    assert_eq!(s.chains[0].operators.len(), 4999);
    let nested = format!("{}x{}", "(".repeat(500), ")".repeat(500));
    assert_eq!(parse(&nested), Err(Opaque::TooDeep));
}

#[test]
fn deep_nesting_is_refused_before_the_stack_runs_out() {
    // Test threads have 2 MiB of stack; every depth up to past the guard must return.
    let shapes: [(&str, &str); 5] = [
        ("echo \"$(", ")\""),
        ("if a; then ", "; fi"),
        ("{ ", "; }"),
        ("a | (", ")"),
        ("x=$(a && ", ")"),
    ];
    for (open, close) in shapes {
        for depth in [10, 60, 120, 250] {
            let text = format!("{}b{}", open.repeat(depth), close.repeat(depth));
            match parse(&text) {
                Ok(s) => assert!(!s.commands.is_empty()),
                Err(e) => {
                    assert_eq!(e, Opaque::TooDeep, "{open:?} x{depth}");
                    assert!(depth > 10, "{open:?} x{depth} is realistic nesting");
                }
            }
        }
    }
}
