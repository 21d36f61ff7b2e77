//! The value of a shell word after quote removal, when it is known without running anything.

use tree_sitter::Node;

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

pub(super) fn literal(node: Node<'_>, src: &str) -> Option<String> {
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
