//! The tree-sitter walker: flattens the tree of a RUN body into [`Script`]'s commands and
//! chains.
//!
//! tree-sitter-bash 0.25.1 attaches some pieces to the wrong node; the walker undoes that:
//! - words after a redirect target (`cmd >/dev/null -y pkg`) are children of the
//!   `file_redirect`; they are arguments of the command;
//! - a redirect after the last command of a list or pipeline (`a && b >f`, `a | b >f`)
//!   wraps the whole list; it belongs to that last command;
//! - whatever follows a heredoc start on its line (`cat <<EOF && chmod …`, `cat <<EOF | tail`)
//!   is a child of the `heredoc_redirect`;
//! - in `a | b | c && d`, the `&& d` is parsed inside the pipeline; it belongs to the and-or list.

use std::cell::RefCell;

use tree_sitter::{Node, Parser};

use super::literal::literal;
use super::model::{
    AndOr, Chain, Command, CommandContext, Function, Opaque, Script, Separator, Word,
};
use crate::text::JoinedRange;

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
    Ok(shrunk(walker.script))
}

/// The script without the spare capacity its growing vectors left: it is kept (cached and
/// copied into models) for every RUN of a file.
fn shrunk(mut script: Script) -> Script {
    script.commands.shrink_to_fit();
    for command in &mut script.commands {
        command.args.shrink_to_fit();
        command.assignments.shrink_to_fit();
        command.redirects.shrink_to_fit();
    }
    script.chains.shrink_to_fit();
    for chain in &mut script.chains {
        chain.operators.shrink_to_fit();
    }
    script.functions.shrink_to_fit();
    script.backgrounds.shrink_to_fit();
    script
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

fn range_of(node: Node<'_>) -> JoinedRange {
    JoinedRange::from_usize(node.start_byte(), node.end_byte())
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
                        .map(|at| (Separator::Newline, JoinedRange::from_usize(at, at + 1)))
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
            range: JoinedRange::new(start, end),
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
        ranges: &mut Vec<JoinedRange>,
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
            ranges.push(JoinedRange::from_usize(start, end));
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
        ranges.push(JoinedRange::from_usize(start, end));
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
