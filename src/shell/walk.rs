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

use tree_sitter::{Node, Parser, TreeCursor};

use super::kinds::{Kind, kind};
use super::literal::literal;
use super::model::{
    AndOr, ChainParts, Command, CommandContext, Function, Opaque, Script, ScriptParts, Separator,
    Word,
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

/// One tree cursor and a pool of child lists, reused for every node of a tree: `Node::walk`
/// allocates a cursor each time, and the walker lists the children of almost every node.
pub(super) struct Kids<'t> {
    cursor: TreeCursor<'t>,
    pool: Vec<Vec<Node<'t>>>,
}

impl<'t> Kids<'t> {
    pub(super) fn new(root: Node<'t>) -> Self {
        Self {
            cursor: root.walk(),
            pool: Vec::new(),
        }
    }

    /// The children of `node`, named and anonymous, in order; hand the list back with
    /// [`Self::give_back`].
    pub(super) fn of(&mut self, node: Node<'t>) -> Vec<Node<'t>> {
        let mut out = self.pool.pop().unwrap_or_default();
        self.cursor.reset(node);
        if self.cursor.goto_first_child() {
            loop {
                out.push(self.cursor.node());
                if !self.cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        out
    }

    pub(super) fn give_back(&mut self, mut list: Vec<Node<'t>>) {
        list.clear();
        self.pool.push(list);
    }
}

/// Parses the joined text of a shell-form RUN.
///
/// # Errors
///
/// [`Opaque`] when the tree has an `ERROR` or `MISSING` node, or nests deeper than the walker
/// follows.
pub fn parse(text: &str) -> Result<Script, Opaque> {
    if let Some(script) = super::simple::parse(text) {
        debug_assert_eq!(Ok(&script), parse_tree(text).as_ref(), "{text}");
        return Ok(script);
    }
    parse_tree(text)
}

/// [`parse`] with tree-sitter, whatever the body.
pub(super) fn parse_tree(text: &str) -> Result<Script, Opaque> {
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
        script: ScriptParts::default(),
        pending: Vec::new(),
        kids: Kids::new(root),
        args: Vec::new(),
    };
    walker.program(root)?;
    Ok(walker.script.finish())
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

fn is_redirect(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::FileRedirect | Kind::HeredocRedirect | Kind::HerestringRedirect
    )
}

fn is_command_like(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Command
            | Kind::DeclarationCommand
            | Kind::UnsetCommand
            | Kind::TestCommand
            | Kind::VariableAssignment
            | Kind::VariableAssignments
    )
}

/// Parents in which an anonymous `&` terminates a list (elsewhere it is arithmetic).
fn is_list_parent(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Program
            | Kind::Subshell
            | Kind::CompoundStatement
            | Kind::DoGroup
            | Kind::IfStatement
            | Kind::ElifClause
            | Kind::ElseClause
            | Kind::CaseItem
            | Kind::WhileStatement
            | Kind::CommandSubstitution
            | Kind::ProcessSubstitution
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
    script: ScriptParts,
    /// Redirects the tree hung on a list or pipeline, waiting for the command (by node id)
    /// they belong to, with the context their heredoc continuations run in.
    pending: Vec<(usize, Vec<Node<'t>>, Ctx)>,
    kids: Kids<'t>,
    /// The arguments of the command being built (see [`Self::command_of`]).
    args: Vec<Word>,
}

impl<'t> Walker<'t> {
    fn program(&mut self, root: Node<'t>) -> Result<(), Opaque> {
        let top = Ctx {
            flags: CommandContext::default(),
            depth: 0,
        };
        let mut children = self.kids.of(root);
        children.retain(|n| kind(*n) != Kind::Comment);
        let mut i = 0;
        while i < children.len() {
            let node = children[i];
            i += 1;
            if !node.is_named() {
                continue;
            }
            let chain = self.script.chains.len();
            self.script.chains.push(ChainParts {
                range: range_of(node),
                operators: Vec::new(),
                separator: None,
            });
            self.node(node, top)?;
            let separator = match children.get(i) {
                Some(next) if !next.is_named() => {
                    i += 1;
                    match kind(*next) {
                        Kind::Semicolon => Some((Separator::Semicolon, range_of(*next))),
                        Kind::Ampersand => {
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
        self.kids.give_back(children);
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
        match kind(node) {
            kind if is_command_like(kind) => self.command(node, &[], ctx, ctx),
            Kind::RedirectedStatement => self.redirected(node, ctx),
            Kind::List => self.list(node, ctx, ctx),
            Kind::Pipeline => self.pipeline(node, ctx),
            Kind::HeredocRedirect => self.heredoc(node, ctx),
            Kind::NegatedCommand => self.children(node, ctx.with(|f| f.negated = true)),
            Kind::Subshell => self.children(node, ctx.with(|f| f.in_subshell = true)),
            Kind::CompoundStatement if first_kind_is(node, Kind::DoubleParen) => {
                self.children(node, ctx)
            }
            Kind::CompoundStatement => self.children(node, ctx.with(|f| f.in_brace_group = true)),
            Kind::CommandSubstitution | Kind::ProcessSubstitution => {
                self.children(node, ctx.with(|f| f.in_substitution = true))
            }
            Kind::IfStatement
            | Kind::ElifClause
            | Kind::ElseClause
            | Kind::ForStatement
            | Kind::CStyleForStatement
            | Kind::WhileStatement
            | Kind::CaseStatement
            | Kind::CaseItem
            | Kind::DoGroup => self.children(node, ctx.with(|f| f.in_control_flow = true)),
            Kind::FunctionDefinition => {
                if let Some(name) = node.child_by_field_name("name") {
                    let name = self.word(name);
                    self.script.functions.push(Function {
                        name,
                        range: range_of(node),
                        context: ctx.flags,
                    });
                }
                self.children(node, ctx.with(|f| f.in_control_flow = true))
            }
            Kind::Comment => Ok(()),
            _ => self.children(node, ctx),
        }
    }

    /// Walks all children; records `&` where it ends a list.
    fn children(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let list_parent = is_list_parent(kind(node));
        self.each_child(node, |walk, child| {
            if child.is_named() {
                return walk.node(child, ctx);
            }
            if list_parent && kind(child) == Kind::Ampersand {
                walk.script.backgrounds.push(range_of(child));
            }
            Ok(())
        })
    }

    fn operator(&mut self, token: Node<'t>, ctx: Ctx) {
        let op = match kind(token) {
            Kind::AndAnd => AndOr::And,
            Kind::OrOr => AndOr::Or,
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
            let item_kind = kind(item);
            if item_kind == Kind::List {
                let kids = self.kids.of(item);
                stack.extend(kids.iter().rev());
                self.kids.give_back(kids);
            } else if !item.is_named() {
                self.operator(item, rest);
            } else if item_kind != Kind::Comment {
                let ctx = if seen_element { rest } else { first };
                seen_element = true;
                self.node(item, ctx)?;
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let negated = first_named_kind_is(node, Kind::NegatedCommand);
        let element = ctx.with(|f| {
            f.in_pipeline = true;
            f.negated |= negated;
        });
        self.each_child(node, |walk, child| match kind(child) {
            // `a | b | c && d` comes out as `a | (b | c && d)`.
            Kind::List => walk.list(child, element, ctx),
            Kind::Comment => Ok(()),
            _ if child.is_named() => walk.node(child, element),
            _ => Ok(()),
        })
    }

    /// Tokens that follow a heredoc start on its line: `&& cmd`, `| cmd`, more redirects.
    fn heredoc(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        self.each_child(node, |walk, child| match kind(child) {
            Kind::AndAnd | Kind::OrOr => {
                walk.operator(child, ctx);
                Ok(())
            }
            Kind::Pipeline => walk.pipeline(child, ctx),
            _ if child.is_named() => walk.node(child, ctx),
            _ => Ok(()),
        })
    }

    /// Calls `f` on each child of `node` (named and anonymous) in order, stopping at the
    /// first error; the child list goes back to the pool either way.
    fn each_child(
        &mut self,
        node: Node<'t>,
        mut f: impl FnMut(&mut Self, Node<'t>) -> Result<(), Opaque>,
    ) -> Result<(), Opaque> {
        let children = self.kids.of(node);
        let result = children.iter().try_for_each(|&child| f(self, child));
        self.kids.give_back(children);
        result
    }

    fn redirected(&mut self, node: Node<'t>, ctx: Ctx) -> Result<(), Opaque> {
        let mut redirects = Vec::new();
        let mut body = None;
        let children = self.kids.of(node);
        for &child in children.iter().filter(|c| c.is_named()) {
            let child_kind = kind(child);
            if is_redirect(child_kind) {
                redirects.push(child);
            } else if child_kind != Kind::Comment && body.is_none() {
                body = Some(child);
            }
        }
        self.kids.give_back(children);
        let Some(body) = body else {
            // Redirects with nothing to attach to still may hold substitutions.
            return redirects.into_iter().try_for_each(|r| self.node(r, ctx));
        };
        if is_command_like(kind(body)) {
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
        let parts = self.kids.of(node);
        let result = self.command_of(node, &parts, outer, ctx, andor);
        self.kids.give_back(parts);
        result
    }

    fn command_of(
        &mut self,
        node: Node<'t>,
        parts: &[Node<'t>],
        outer: &[Node<'t>],
        ctx: Ctx,
        andor: Ctx,
    ) -> Result<(), Opaque> {
        let mut redirect_nodes: Vec<(Node<'t>, Ctx)> = Vec::new();
        let mut name = None;
        // Filled in a buffer kept across commands, then moved out at its exact length.
        let mut args = std::mem::take(&mut self.args);
        let mut assignments = Vec::new();
        match kind(node) {
            Kind::VariableAssignment => assignments.push(self.word(node)),
            Kind::VariableAssignments => {
                for part in parts {
                    if kind(*part) == Kind::VariableAssignment {
                        assignments.push(self.word(*part));
                    }
                }
            }
            Kind::TestCommand => {
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
                for part in parts {
                    let part_kind = kind(*part);
                    if is_redirect(part_kind) {
                        redirect_nodes.push((*part, andor));
                    } else if part_kind == Kind::VariableAssignment && name.is_none() {
                        assignments.push(self.word(*part));
                    } else if part_kind == Kind::CommandName
                        || (name.is_none() && !part.is_named() && args.is_empty())
                    {
                        // `command_name`, or the keyword of `export`/`unset`/`local`/….
                        name = Some(self.word(*part));
                    } else if part.is_named() && part_kind != Kind::Comment {
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
        let mut exact_args = Vec::with_capacity(args.len());
        exact_args.append(&mut args);
        self.args = args;
        let args = exact_args;
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
            args: args.into(),
            assignments: assignments.into(),
            redirects: redirects.into(),
            context,
            chain,
        });

        for part in parts {
            if !part.is_named() {
                continue;
            }
            match kind(*part) {
                redirect if is_redirect(redirect) => {}
                // An assignment part is a word here, not a bare-assignment command.
                Kind::VariableAssignment => self.children(*part, ctx)?,
                _ => self.node(*part, ctx)?,
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
        &mut self,
        node: Node<'t>,
        ranges: &mut Vec<JoinedRange>,
        args: &mut Vec<Word>,
        piped: &mut bool,
    ) {
        let start = node.start_byte();
        let mut end = node.end_byte();
        let children = self.kids.of(node);
        if kind(node) == Kind::HeredocRedirect {
            let mut nested = Vec::new();
            for &child in &children {
                match kind(child) {
                    Kind::HeredocStart => end = child.end_byte(),
                    Kind::Pipeline => *piped = true,
                    child_kind if is_redirect(child_kind) => nested.push(child),
                    _ => {}
                }
            }
            self.kids.give_back(children);
            ranges.push(JoinedRange::from_usize(start, end));
            for child in nested {
                self.redirect(child, ranges, args, piped);
            }
            return;
        }
        let mut target_seen = false;
        for &child in children.iter().filter(|c| c.is_named()) {
            if matches!(kind(child), Kind::FileDescriptor | Kind::Comment) {
                continue;
            }
            if target_seen {
                args.push(self.word(child));
            } else {
                target_seen = true;
                end = child.end_byte();
            }
        }
        self.kids.give_back(children);
        ranges.push(JoinedRange::from_usize(start, end));
    }

    /// Flattens a test expression into argv words (`[ -f x ]` → `-f`, `x`, `]`).
    fn test_words(&mut self, node: Node<'t>, out: &mut Vec<Word>) {
        match kind(node) {
            Kind::UnaryExpression
            | Kind::BinaryExpression
            | Kind::ParenthesizedExpression
            | Kind::TernaryExpression
            | Kind::PostfixExpression => {
                let children = self.kids.of(node);
                for &child in &children {
                    self.test_words(child, out);
                }
                self.kids.give_back(children);
            }
            Kind::Comment => {}
            _ => out.push(self.word(node)),
        }
    }

    fn word(&mut self, node: Node<'t>) -> Word {
        let range = range_of(node);
        Word {
            range,
            text: range.slice(self.src).into(),
            value: literal(node, self.src, &mut self.kids).map(String::into_boxed_str),
        }
    }
}

fn first_kind_is(node: Node<'_>, wanted: Kind) -> bool {
    node.child(0).is_some_and(|n| kind(n) == wanted)
}

fn first_named_kind_is(node: Node<'_>, wanted: Kind) -> bool {
    node.named_child(0).is_some_and(|n| kind(n) == wanted)
}

/// The command a redirect after `body` belongs to: the last command of a list or pipeline.
/// `None` when the body ends in a compound command, which owns the redirect itself.
fn last_command(body: Node<'_>) -> Option<Node<'_>> {
    let mut node = body;
    loop {
        match kind(node) {
            node_kind if is_command_like(node_kind) => return Some(node),
            Kind::List | Kind::Pipeline | Kind::NegatedCommand => {
                let mut cursor = node.walk();
                let last = node
                    .named_children(&mut cursor)
                    .filter(|n| kind(*n) != Kind::Comment)
                    .last()?;
                node = last;
            }
            _ => return None,
        }
    }
}
