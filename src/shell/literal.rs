//! The value of a shell word after quote removal, when it is known without running anything.

use tree_sitter::Node;

use super::kinds::{Kind, kind};
use super::walk::Kids;

/// A word's value after quote removal, built alongside its "shape": the unquoted characters,
/// with quoted or escaped ones replaced by NUL, so tilde and brace expansion can be detected.
#[derive(Default)]
struct Literal {
    value: String,
    shape: String,
}

impl Literal {
    fn unquoted(&mut self, text: &str) {
        // Most words hold no backslash: copy them whole rather than char by char.
        if !text.contains('\\') {
            self.value.push_str(text);
            self.shape.push_str(text);
            return;
        }
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

pub(super) fn literal<'t>(node: Node<'t>, src: &str, kids: &mut Kids<'t>) -> Option<String> {
    // Quote removal never lengthens a word: one allocation each, of the word's length.
    let len = node.end_byte() - node.start_byte();
    let mut lit = Literal {
        value: String::with_capacity(len),
        shape: String::with_capacity(len),
    };
    if !build_literal(node, src, &mut lit, kids) {
        return None;
    }
    let expands = lit.shape.starts_with('~') || brace_expands(&lit.shape);
    (!expands).then_some(lit.value)
}

fn build_literal<'t>(node: Node<'t>, src: &str, out: &mut Literal, kids: &mut Kids<'t>) -> bool {
    let text = &src[node.byte_range()];
    if !node.is_named() {
        out.unquoted(text);
        return true;
    }
    match kind(node) {
        Kind::Word
        | Kind::ExtglobPattern
        | Kind::VariableName
        | Kind::TestOperator
        | Kind::HeredocStart => {
            out.unquoted(text);
            true
        }
        Kind::Number if node.named_child_count() == 0 => {
            out.unquoted(text);
            true
        }
        Kind::RawString => {
            out.quoted(text.get(1..text.len().saturating_sub(1)).unwrap_or(""));
            true
        }
        Kind::String => {
            let children = kids.of(node);
            let expands = children
                .iter()
                .any(|c| c.is_named() && kind(*c) != Kind::StringContent);
            kids.give_back(children);
            if expands {
                return false;
            }
            let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
            out.quoted(&unescape_double_quoted(inner));
            true
        }
        Kind::Concatenation | Kind::CommandName => {
            let children = kids.of(node);
            let known = children.iter().all(|c| build_literal(*c, src, out, kids));
            kids.give_back(children);
            known
        }
        Kind::VariableAssignment => {
            let value_node = node.child_by_field_name("value");
            let children = kids.of(node);
            let known = children.iter().all(|&child| {
                if value_node == Some(child) {
                    // Tilde expansion also applies right after `=` in an assignment.
                    let mut value = Literal::default();
                    if !build_literal(child, src, &mut value, kids)
                        || value.shape.starts_with('~')
                        || value.shape.contains(":~")
                    {
                        return false;
                    }
                    out.value.push_str(&value.value);
                    out.shape.push_str(&value.shape);
                    true
                } else {
                    build_literal(child, src, out, kids)
                }
            });
            kids.give_back(children);
            known
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
