//! The shell inside shell-form RUN: parses the joined text with tree-sitter-bash and flattens
//! the tree into commands and top-level and-or chains, every piece with its byte range.
//!
//! The input is the *joined* text (continuations and comment lines already removed, heredoc
//! bodies appended as `BuildKit` does); every range points into that text. A tree with an
//! `ERROR` or `MISSING` node is [`Opaque`]: passes skip such a RUN rather than guess.
//!
//! tree-sitter-bash 0.25.1 attaches some pieces to the wrong node; the walker undoes that:
//! - words after a redirect target (`cmd >/dev/null -y pkg`) are children of the
//!   `file_redirect`; they are arguments of the command;
//! - a redirect after the last command of a list or pipeline (`a && b >f`, `a | b >f`)
//!   wraps the whole list; it belongs to that last command;
//! - whatever follows a heredoc start on its line (`cat <<EOF && chmod …`, `cat <<EOF | tail`)
//!   is a child of the `heredoc_redirect`;
//! - in `a | b | c && d`, the `&& d` is parsed inside the pipeline; it belongs to the and-or list.

pub mod query;
mod run;

pub use run::{RunScript, Skip, posix_shells, run_script, run_script_using};

use std::cell::RefCell;

use tree_sitter::{Node, Parser};

use crate::text::TextRange;

/// Why a RUN body is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opaque {
    /// The tree has an ERROR or MISSING node; `offset` is where the first one starts.
    Syntax { offset: u32 },
    /// Nesting deeper than the walker follows (guards the stack, not a shell limit).
    TooDeep,
}

/// A parsed RUN body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// Every simple command in source order, including those nested in control flow,
    /// subshells, substitutions and heredoc redirects.
    pub commands: Vec<Command>,
    /// The top-level and-or lists in source order.
    pub chains: Vec<Chain>,
    /// Function definitions (`f() { … }`, `function f { … }`) in source order.
    pub functions: Vec<Function>,
    /// Every `&` that puts a list in the background, at any depth.
    pub(crate) backgrounds: Vec<TextRange>,
}

/// A word as written, with its value when that is known without running anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub range: TextRange,
    /// The source text of the word, quotes included.
    pub text: String,
    /// The value after quote removal; `None` when the word contains a parameter expansion,
    /// command or process substitution, arithmetic, `$'…'`/`$"…"`, a leading tilde or a
    /// brace expansion (`{a,b}`, `{1..3}`). Glob characters are kept literally.
    pub value: Option<String>,
}

/// Where a command sits; a pass that does not understand a context skips the command.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts that passes read by name"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandContext {
    /// Inside `$(…)`, backticks or `<(…)`/`>(…)`.
    pub in_substitution: bool,
    /// Inside `( … )`.
    pub in_subshell: bool,
    /// Inside `{ …; }`.
    pub in_brace_group: bool,
    /// Inside if/elif/else, for, while/until, case or a function body (conditions included).
    pub in_control_flow: bool,
    /// One of two or more commands of a pipeline.
    pub in_pipeline: bool,
    /// Under `!` (in `! a | b` the whole pipeline, as the shell reads it).
    pub negated: bool,
}

impl CommandContext {
    /// Whether `&&`/`||` here belong to a top-level chain.
    fn is_top_level(self) -> bool {
        !(self.in_substitution
            || self.in_subshell
            || self.in_brace_group
            || self.in_control_flow
            || self.in_pipeline)
    }
}

/// A simple command (or `export …`, `unset …`, `[ … ]`, `[[ … ]]`, or bare assignments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// From the first assignment, redirect or name to the end of the last argument or
    /// redirect. A heredoc redirect counts up to its delimiter word, not its body.
    pub range: TextRange,
    /// `None` for bare assignments and redirect-only commands.
    pub name: Option<Word>,
    /// argv[1..] in order, redirects excluded.
    pub args: Vec<Word>,
    /// `VAR=value` prefixes.
    pub assignments: Vec<Word>,
    /// Each redirect, from its descriptor to its target (`2>&1`, `>/dev/null`, `<<'EOF'`).
    pub redirects: Vec<TextRange>,
    pub context: CommandContext,
    /// Index into [`Script::chains`] of the top-level chain that contains the command.
    pub chain: usize,
}

/// `&&` or `||`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AndOr {
    And,
    Or,
}

/// What ends a top-level chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// `;`
    Semicolon,
    /// `&`
    Background,
    /// A newline; its range is the `\n` byte.
    Newline,
}

/// One top-level and-or list: pipelines joined by `&&` / `||`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The whole list, heredoc bodies started on its line included.
    pub range: TextRange,
    /// The `&&`/`||` between its elements, in order.
    pub operators: Vec<(AndOr, TextRange)>,
    /// What ends it; `None` at the end of the text.
    pub separator: Option<(Separator, TextRange)>,
}

/// A function definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: Word,
    pub range: TextRange,
    pub context: CommandContext,
}

/// Nesting beyond this is refused; real RUN bodies stay far below it. And-or lists are
/// walked iteratively, so long `&&` chains do not count against it.
const MAX_DEPTH: u32 = 200;

thread_local! {
    // Parser construction allocates; reusing one per thread keeps parsing on the hot path cheap.
    static PARSER: RefCell<Parser> = RefCell::new(new_parser());
}

fn new_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .expect("tree-sitter-bash is ABI-compatible with the pinned tree-sitter");
    parser
}

/// Parses the joined text of a shell-form RUN.
///
/// # Errors
///
/// [`Opaque`] when the tree has an `ERROR` or `MISSING` node, or nests deeper than the walker
/// follows.
pub fn parse(text: &str) -> Result<Script, Opaque> {
    let tree = PARSER.with(|parser| parser.borrow_mut().parse(text, None));
    // `parse` only returns `None` when cancelled or without a language; neither happens here.
    let Some(tree) = tree else {
        return Err(Opaque::Syntax { offset: 0 });
    };
    let root = tree.root_node();
    if root.has_error() {
        return Err(Opaque::Syntax {
            offset: first_error(root),
        });
    }
    let mut walker = Walker {
        src: text,
        script: Script::default(),
        pending: Vec::new(),
    };
    walker.program(root)?;
    Ok(walker.script)
}

/// Start of the first ERROR or MISSING node, following `has_error` down from the root.
fn first_error(root: Node<'_>) -> u32 {
    let mut node = root;
    'down: loop {
        if node.is_error() || node.is_missing() {
            return to_u32(node.start_byte());
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.has_error() || child.is_missing() {
                node = child;
                continue 'down;
            }
        }
        return to_u32(node.start_byte());
    }
}

fn to_u32(n: usize) -> u32 {
    crate::text::to_u32(n)
}

fn range_of(node: Node<'_>) -> TextRange {
    TextRange::from_usize(node.start_byte(), node.end_byte())
}

fn is_redirect(kind: &str) -> bool {
    matches!(
        kind,
        "file_redirect" | "heredoc_redirect" | "herestring_redirect"
    )
}

fn is_command_like(kind: &str) -> bool {
    matches!(
        kind,
        "command"
            | "declaration_command"
            | "unset_command"
            | "test_command"
            | "variable_assignment"
            | "variable_assignments"
    )
}

/// Parents in which an anonymous `&` terminates a list (elsewhere it is arithmetic).
fn is_list_parent(kind: &str) -> bool {
    matches!(
        kind,
        "program"
            | "subshell"
            | "compound_statement"
            | "do_group"
            | "if_statement"
            | "elif_clause"
            | "else_clause"
            | "case_item"
            | "while_statement"
            | "command_substitution"
            | "process_substitution"
    )
}

#[derive(Clone, Copy)]
struct Ctx {
    flags: CommandContext,
    depth: u32,
}

impl Ctx {
    fn with(self, set: impl FnOnce(&mut CommandContext)) -> Self {
        let mut next = self;
        set(&mut next.flags);
        next
    }
}

struct Walker<'t> {
    src: &'t str,
    script: Script,
    /// Redirects the tree hung on a list or pipeline, waiting for the command (by node id)
    /// they belong to, with the context their heredoc continuations run in.
    pending: Vec<(usize, Vec<Node<'t>>, Ctx)>,
}

impl<'t> Walker<'t> {
    fn program(&mut self, root: Node<'t>) -> Result<(), Opaque> {
        let top = Ctx {
            flags: CommandContext::default(),
            depth: 0,
        };
        let children: Vec<Node<'t>> = {
            let mut cursor = root.walk();
            root.children(&mut cursor)
                .filter(|n| n.kind() != "comment")
                .collect()
        };
        let mut i = 0;
        while i < children.len() {
            let node = children[i];
            i += 1;
            if !node.is_named() {
                continue;
            }
            let chain = self.script.chains.len();
            self.script.chains.push(Chain {
                range: range_of(node),
                operators: Vec::new(),
                separator: None,
            });
            self.node(node, top)?;
            let separator = match children.get(i) {
                Some(next) if !next.is_named() => {
                    i += 1;
                    match next.kind() {
                        ";" => Some((Separator::Semicolon, range_of(*next))),
                        "&" => {
                            self.script.backgrounds.push(range_of(*next));
                            Some((Separator::Background, range_of(*next)))
                        }
                        _ => None,
                    }
                }
                next => {
                    let end = next.map_or(self.src.len(), Node::start_byte);
                    self.newline_in(node.end_byte(), end)
                        .map(|at| (Separator::Newline, TextRange::from_usize(at, at + 1)))
                }
            };
            let entry = &mut self.script.chains[chain];
            entry.separator = separator;
            entry.operators.sort_by_key(|(_, r)| r.start);
        }
        Ok(())
    }

    /// The first newline in `start..end` that is not escaped (a comment may precede it).
    fn newline_in(&self, start: usize, end: usize) -> Option<usize> {
        let bytes = self.src.as_bytes();
        (start..end).find(|&i| bytes[i] == b'\n' && (i == 0 || bytes[i - 1] != b'\\'))
    }

    fn node(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let ctx = Ctx {
            depth: ctx.depth + 1,
            ..ctx
        };
        if ctx.depth > MAX_DEPTH {
            return Err(Opaque::TooDeep);
        }
        match node.kind() {
            kind if is_command_like(kind) => self.command(node, &[], ctx, ctx),
            "redirected_statement" => self.redirected(node, ctx),
            "list" => self.list(node, ctx, ctx),
            "pipeline" => self.pipeline(node, ctx),
            "heredoc_redirect" => self.heredoc(node, ctx),
            "negated_command" => self.children(node, ctx.with(|f| f.negated = true)),
            "subshell" => self.children(node, ctx.with(|f| f.in_subshell = true)),
            "compound_statement" if first_kind_is(node, "((") => self.children(node, ctx),
            "compound_statement" => self.children(node, ctx.with(|f| f.in_brace_group = true)),
            "command_substitution" | "process_substitution" => {
                self.children(node, ctx.with(|f| f.in_substitution = true))
            }
            "if_statement"
            | "elif_clause"
            | "else_clause"
            | "for_statement"
            | "c_style_for_statement"
            | "while_statement"
            | "case_statement"
            | "case_item"
            | "do_group" => self.children(node, ctx.with(|f| f.in_control_flow = true)),
            "function_definition" => {
                if let Some(name) = node.child_by_field_name("name") {
                    self.script.functions.push(Function {
                        name: self.word(name),
                        range: range_of(node),
                        context: ctx.flags,
                    });
                }
                self.children(node, ctx.with(|f| f.in_control_flow = true))
            }
            "comment" => Ok(()),
            _ => self.children(node, ctx),
        }
    }

    /// Walks all children; records `&` where it ends a list.
    fn children(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.is_named() {
                self.node(child, ctx)?;
            } else if child.kind() == "&" && is_list_parent(node.kind()) {
                self.script.backgrounds.push(range_of(child));
            }
        }
        Ok(())
    }

    fn operator(&mut self, token: Node<'t>, ctx: Ctx) {
        let op = match token.kind() {
            "&&" => AndOr::And,
            "||" => AndOr::Or,
            _ => return,
        };
        if ctx.flags.is_top_level()
            && let Some(chain) = self.script.chains.last_mut()
        {
            chain.operators.push((op, range_of(token)));
        }
    }

    /// An and-or list, flattened without recursion (tree-sitter nests lists to the left).
    /// The first element runs in `first`, the operators and the rest in `rest`: they differ
    /// when the list was parsed inside a pipeline whose last element is that first element.
    fn list(&mut self, node: Node<'t>, first: Ctx, rest: Ctx) -> Result<(), Opaque> {
        let mut stack = vec![node];
        let mut seen_element = false;
        while let Some(item) = stack.pop() {
            if item.kind() == "list" {
                let mut cursor = item.walk();
                let kids: Vec<Node<'t>> = item.children(&mut cursor).collect();
                stack.extend(kids.into_iter().rev());
            } else if !item.is_named() {
                self.operator(item, rest);
            } else if item.kind() != "comment" {
                let ctx = if seen_element { rest } else { first };
                seen_element = true;
                self.node(item, ctx)?;
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let negated = first_named_kind_is(node, "negated_command");
        let element = ctx.with(|f| {
            f.in_pipeline = true;
            f.negated |= negated;
        });
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            match child.kind() {
                // `a | b | c && d` comes out as `a | (b | c && d)`.
                "list" => self.list(child, element, ctx)?,
                "comment" => {}
                _ if child.is_named() => self.node(child, element)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Tokens that follow a heredoc start on its line: `&& cmd`, `| cmd`, more redirects.
    fn heredoc(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            match child.kind() {
                "&&" | "||" => self.operator(child, ctx),
                "pipeline" => self.pipeline(child, ctx)?,
                _ if child.is_named() => self.node(child, ctx)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn redirected(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let mut redirects = Vec::new();
        let mut body = None;
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if is_redirect(child.kind()) {
                redirects.push(child);
            } else if child.kind() != "comment" && body.is_none() {
                body = Some(child);
            }
        }
        let Some(body) = body else {
            // Redirects with nothing to attach to still may hold substitutions.
            return redirects.into_iter().try_for_each(|r| self.node(r, ctx));
        };
        if is_command_like(body.kind()) {
            return self.command(body, &redirects, ctx, ctx);
        }
        if let Some(target) = last_command(body) {
            self.pending.push((target.id(), redirects, ctx));
            return self.node(body, ctx);
        }
        self.node(body, ctx)?;
        redirects.into_iter().try_for_each(|r| self.node(r, ctx))
    }

    /// Builds one [`Command`], then walks its parts for nested commands. `outer` holds
    /// redirects the tree put on an enclosing node; `andor` is the context in which
    /// heredoc continuations (`<<EOF && next`) run.
    fn command(
        &mut self,
        node: Node<'t>,
        outer: &[Node<'t>],
        ctx: Ctx,
        andor: Ctx,
    ) -> Result<(), Opaque> {
        let mut redirect_nodes: Vec<(Node<'t>, Ctx)> = Vec::new();
        let mut name = None;
        let mut args = Vec::new();
        let mut assignments = Vec::new();
        let mut parts = Vec::new();
        {
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                parts.push(child);
            }
        }
        match node.kind() {
            "variable_assignment" => assignments.push(self.word(node)),
            "variable_assignments" => {
                for part in parts.iter().filter(|p| p.kind() == "variable_assignment") {
                    assignments.push(self.word(*part));
                }
            }
            "test_command" => {
                // `[`/`[[` is the name; operands and operators are flattened into argv.
                for (index, part) in parts.iter().enumerate() {
                    if index == 0 {
                        name = Some(self.word(*part));
                    } else {
                        self.test_words(*part, &mut args);
                    }
                }
            }
            _ => {
                for part in &parts {
                    let kind = part.kind();
                    if is_redirect(kind) {
                        redirect_nodes.push((*part, andor));
                    } else if kind == "variable_assignment" && name.is_none() {
                        assignments.push(self.word(*part));
                    } else if kind == "command_name"
                        || (name.is_none() && !part.is_named() && args.is_empty())
                    {
                        // `command_name`, or the keyword of `export`/`unset`/`local`/….
                        name = Some(self.word(*part));
                    } else if part.is_named() && kind != "comment" {
                        args.push(self.word(*part));
                    }
                }
            }
        }
        redirect_nodes.extend(outer.iter().map(|r| (*r, andor)));
        if let Some(at) = self.pending.iter().position(|(id, ..)| *id == node.id()) {
            let (_, nodes, pending_ctx) = self.pending.swap_remove(at);
            redirect_nodes.extend(nodes.into_iter().map(|r| (r, pending_ctx)));
        }

        let mut redirects = Vec::new();
        let mut piped = false;
        for (redirect, _) in &redirect_nodes {
            self.redirect(*redirect, &mut redirects, &mut args, &mut piped);
        }
        args.sort_by_key(|w| w.range.start);
        let start = range_of(node).start;
        let end = args
            .iter()
            .map(|w| w.range.end)
            .chain(redirects.iter().map(|r| r.end))
            .chain(assignments.iter().map(|w| w.range.end))
            .chain(name.iter().map(|w| w.range.end))
            .max()
            .unwrap_or(start);
        let start = redirects.iter().map(|r| r.start).fold(start, u32::min);
        let mut context = ctx.flags;
        context.in_pipeline |= piped;
        let chain = self.script.chains.len().saturating_sub(1);
        self.script.commands.push(Command {
            range: TextRange::new(start, end),
            name,
            args,
            assignments,
            redirects,
            context,
            chain,
        });

        for part in parts
            .iter()
            .filter(|p| p.is_named() && !is_redirect(p.kind()))
        {
            // An assignment part is a word here, not a bare-assignment command.
            if part.kind() == "variable_assignment" {
                self.children(*part, ctx)?;
            } else {
                self.node(*part, ctx)?;
            }
        }
        for (redirect, redirect_ctx) in redirect_nodes {
            self.node(redirect, redirect_ctx)?;
        }
        Ok(())
    }

    /// Records one redirect's range; words the tree hung on it after its target are
    /// arguments. `piped` is set when a heredoc line continues with `| cmd`.
    fn redirect(
        &self,
        node: Node<'t>,
        ranges: &mut Vec<TextRange>,
        args: &mut Vec<Word>,
        piped: &mut bool,
    ) {
        let start = node.start_byte();
        let mut end = node.end_byte();
        let mut cursor = node.walk();
        if node.kind() == "heredoc_redirect" {
            let mut nested = Vec::new();
            for child in node.children(&mut cursor) {
                match child.kind() {
                    "heredoc_start" => end = child.end_byte(),
                    "pipeline" => *piped = true,
                    kind if is_redirect(kind) => nested.push(child),
                    _ => {}
                }
            }
            ranges.push(TextRange::from_usize(start, end));
            for child in nested {
                self.redirect(child, ranges, args, piped);
            }
            return;
        }
        let mut target_seen = false;
        for child in node.named_children(&mut cursor) {
            if child.kind() == "file_descriptor" || child.kind() == "comment" {
                continue;
            }
            if target_seen {
                args.push(self.word(child));
            } else {
                target_seen = true;
                end = child.end_byte();
            }
        }
        ranges.push(TextRange::from_usize(start, end));
    }

    /// Flattens a test expression into argv words (`[ -f x ]` → `-f`, `x`, `]`).
    fn test_words(&self, node: Node<'t>, out: &mut Vec<Word>) {
        match node.kind() {
            "unary_expression"
            | "binary_expression"
            | "parenthesized_expression"
            | "ternary_expression"
            | "postfix_expression" => {
                let mut cursor = node.walk();
                for child in node.children(&mut cursor) {
                    self.test_words(child, out);
                }
            }
            "comment" => {}
            _ => out.push(self.word(node)),
        }
    }

    fn word(&self, node: Node<'t>) -> Word {
        let range = range_of(node);
        Word {
            range,
            text: range.slice(self.src).to_owned(),
            value: literal(node, self.src),
        }
    }
}

fn first_kind_is(node: Node<'_>, kind: &str) -> bool {
    node.child(0).is_some_and(|n| n.kind() == kind)
}

fn first_named_kind_is(node: Node<'_>, kind: &str) -> bool {
    node.named_child(0).is_some_and(|n| n.kind() == kind)
}

/// The command a redirect after `body` belongs to: the last command of a list or pipeline.
/// `None` when the body ends in a compound command, which owns the redirect itself.
fn last_command(body: Node<'_>) -> Option<Node<'_>> {
    let mut node = body;
    loop {
        match node.kind() {
            kind if is_command_like(kind) => return Some(node),
            "list" | "pipeline" | "negated_command" => {
                let mut cursor = node.walk();
                let last = node
                    .named_children(&mut cursor)
                    .filter(|n| n.kind() != "comment")
                    .last()?;
                node = last;
            }
            _ => return None,
        }
    }
}

/// A word's value after quote removal, built alongside its "shape": the unquoted characters,
/// with quoted or escaped ones replaced by NUL, so tilde and brace expansion can be detected.
#[derive(Default)]
struct Literal {
    value: String,
    shape: String,
}

impl Literal {
    fn unquoted(&mut self, text: &str) {
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('\n') | None => {}
                    Some(escaped) => {
                        self.value.push(escaped);
                        self.shape.push('\0');
                    }
                }
            } else {
                self.value.push(c);
                self.shape.push(c);
            }
        }
    }

    fn quoted(&mut self, text: &str) {
        self.value.push_str(text);
        self.shape.push('\0');
    }
}

fn literal(node: Node<'_>, src: &str) -> Option<String> {
    let mut lit = Literal::default();
    if !build_literal(node, src, &mut lit) {
        return None;
    }
    let expands = lit.shape.starts_with('~') || brace_expands(&lit.shape);
    (!expands).then_some(lit.value)
}

fn build_literal(node: Node<'_>, src: &str, out: &mut Literal) -> bool {
    let text = &src[node.byte_range()];
    if !node.is_named() {
        out.unquoted(text);
        return true;
    }
    match node.kind() {
        "word" | "extglob_pattern" | "variable_name" | "test_operator" | "heredoc_start" => {
            out.unquoted(text);
            true
        }
        "number" if node.named_child_count() == 0 => {
            out.unquoted(text);
            true
        }
        "raw_string" => {
            out.quoted(text.get(1..text.len().saturating_sub(1)).unwrap_or(""));
            true
        }
        "string" => {
            let mut cursor = node.walk();
            if node
                .named_children(&mut cursor)
                .any(|c| c.kind() != "string_content")
            {
                return false;
            }
            let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
            out.quoted(&unescape_double_quoted(inner));
            true
        }
        "concatenation" | "command_name" => {
            let mut cursor = node.walk();
            node.children(&mut cursor)
                .all(|c| build_literal(c, src, out))
        }
        "variable_assignment" => {
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                if node.child_by_field_name("value") == Some(child) {
                    // Tilde expansion also applies right after `=` in an assignment.
                    let mut value = Literal::default();
                    if !build_literal(child, src, &mut value)
                        || value.shape.starts_with('~')
                        || value.shape.contains(":~")
                    {
                        return false;
                    }
                    out.value.push_str(&value.value);
                    out.shape.push_str(&value.shape);
                } else if !build_literal(child, src, out) {
                    return false;
                }
            }
            true
        }
        _ => false,
    }
}

/// Inside double quotes a backslash only escapes `$`, `` ` ``, `"`, `\` and newline.
fn unescape_double_quoted(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('\n') => {
                    chars.next();
                }
                Some(&next @ ('$' | '`' | '"' | '\\')) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether bash would brace-expand the unquoted characters (`{a,b}`, `{1..3}`; not `{}`).
fn brace_expands(shape: &str) -> bool {
    let mut rest = shape;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find('}') {
            let inner = &rest[..close];
            if !inner.contains('{') && (inner.contains(',') || inner.contains("..")) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &str) -> Script {
        let script = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        for command in &script.commands {
            let words = command
                .name
                .iter()
                .chain(&command.args)
                .chain(&command.assignments);
            for word in words {
                assert_eq!(word.range.slice(text), word.text, "{text:?}");
            }
            assert!(command.range.end as usize <= text.len());
        }
        script
    }

    fn names(script: &Script) -> Vec<&str> {
        script
            .commands
            .iter()
            .map(|c| c.name.as_ref().map_or("", |n| n.text.as_str()))
            .collect()
    }

    fn args(command: &Command) -> Vec<&str> {
        command.args.iter().map(|w| w.text.as_str()).collect()
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
        assert_eq!(make.name.as_ref().unwrap().text, "make");
        assert_eq!(make.assignments[0].text, "FOO=1");
        assert!(make.args.is_empty());
        assert_eq!(make.range, TextRange::new(0, 10));
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
        assert_eq!(s.backgrounds, [TextRange::new(8, 9)]);

        let s = script("a # note\nb\n");
        assert_eq!(names(&s), ["a", "b"]);
        let (sep, at) = s.chains[0].separator.unwrap();
        assert_eq!((sep, at), (Separator::Newline, TextRange::new(8, 9)));
        assert_eq!(s.chains[1].separator.unwrap().1, TextRange::new(10, 11));

        let s = script("(a &); echo $((1 & 2))");
        assert_eq!(s.backgrounds.len(), 1);
    }

    #[test]
    fn subshell_brace_and_function() {
        let s = script("(cd /x && make); { a; }; f() { cd /; }");
        assert!(s.commands[0].context.in_subshell && s.commands[1].context.in_subshell);
        assert_eq!(s.chains[0].operators.len(), 0);
        assert!(s.commands[2].context.in_brace_group);
        assert!(s.commands[3].context.in_control_flow);
        assert_eq!(s.functions.len(), 1);
        assert_eq!(s.functions[0].name.text, "f");
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
}
