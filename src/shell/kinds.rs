//! Node kinds by symbol id: `Node::kind` turns the C name into a `&str` (a `strlen` and a
//! UTF-8 check) on every call, and the walker asks it several times per node. The grammar's
//! names are read once into a table indexed by `Node::kind_id`; a node's [`Kind`] is then one
//! array load. The table matches by name only, exactly as comparing `kind()` strings did.

use std::sync::OnceLock;

use tree_sitter::Node;

/// The node kinds the shell layer tells apart; every other kind is [`Kind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Other,
    Comment,
    Semicolon,
    Ampersand,
    AndAnd,
    OrOr,
    DoubleParen,
    FileRedirect,
    HeredocRedirect,
    HerestringRedirect,
    HeredocStart,
    FileDescriptor,
    Command,
    DeclarationCommand,
    UnsetCommand,
    TestCommand,
    VariableAssignment,
    VariableAssignments,
    CommandName,
    Program,
    Subshell,
    CompoundStatement,
    DoGroup,
    IfStatement,
    ElifClause,
    ElseClause,
    CaseStatement,
    CaseItem,
    WhileStatement,
    ForStatement,
    CStyleForStatement,
    FunctionDefinition,
    CommandSubstitution,
    ProcessSubstitution,
    RedirectedStatement,
    List,
    Pipeline,
    NegatedCommand,
    UnaryExpression,
    BinaryExpression,
    ParenthesizedExpression,
    TernaryExpression,
    PostfixExpression,
    Word,
    ExtglobPattern,
    VariableName,
    TestOperator,
    Number,
    RawString,
    String,
    StringContent,
    Concatenation,
}

impl Kind {
    fn of_name(name: &str) -> Self {
        match name {
            "comment" => Self::Comment,
            ";" => Self::Semicolon,
            "&" => Self::Ampersand,
            "&&" => Self::AndAnd,
            "||" => Self::OrOr,
            "((" => Self::DoubleParen,
            "file_redirect" => Self::FileRedirect,
            "heredoc_redirect" => Self::HeredocRedirect,
            "herestring_redirect" => Self::HerestringRedirect,
            "heredoc_start" => Self::HeredocStart,
            "file_descriptor" => Self::FileDescriptor,
            "command" => Self::Command,
            "declaration_command" => Self::DeclarationCommand,
            "unset_command" => Self::UnsetCommand,
            "test_command" => Self::TestCommand,
            "variable_assignment" => Self::VariableAssignment,
            "variable_assignments" => Self::VariableAssignments,
            "command_name" => Self::CommandName,
            "program" => Self::Program,
            "subshell" => Self::Subshell,
            "compound_statement" => Self::CompoundStatement,
            "do_group" => Self::DoGroup,
            "if_statement" => Self::IfStatement,
            "elif_clause" => Self::ElifClause,
            "else_clause" => Self::ElseClause,
            "case_statement" => Self::CaseStatement,
            "case_item" => Self::CaseItem,
            "while_statement" => Self::WhileStatement,
            "for_statement" => Self::ForStatement,
            "c_style_for_statement" => Self::CStyleForStatement,
            "function_definition" => Self::FunctionDefinition,
            "command_substitution" => Self::CommandSubstitution,
            "process_substitution" => Self::ProcessSubstitution,
            "redirected_statement" => Self::RedirectedStatement,
            "list" => Self::List,
            "pipeline" => Self::Pipeline,
            "negated_command" => Self::NegatedCommand,
            "unary_expression" => Self::UnaryExpression,
            "binary_expression" => Self::BinaryExpression,
            "parenthesized_expression" => Self::ParenthesizedExpression,
            "ternary_expression" => Self::TernaryExpression,
            "postfix_expression" => Self::PostfixExpression,
            "word" => Self::Word,
            "extglob_pattern" => Self::ExtglobPattern,
            "variable_name" => Self::VariableName,
            "test_operator" => Self::TestOperator,
            "number" => Self::Number,
            "raw_string" => Self::RawString,
            "string" => Self::String,
            "string_content" => Self::StringContent,
            "concatenation" => Self::Concatenation,
            _ => Self::Other,
        }
    }
}

/// The kind of every symbol id of tree-sitter-bash, built on first use.
fn table() -> &'static [Kind] {
    static TABLE: OnceLock<Vec<Kind>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_bash::LANGUAGE.into();
        (0..language.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .map_or(Kind::Other, Kind::of_name)
            })
            .collect()
    })
}

/// The kind of `node` (ERROR and other ids outside the table are [`Kind::Other`]).
pub(super) fn kind(node: Node<'_>) -> Kind {
    table()
        .get(usize::from(node.kind_id()))
        .copied()
        .unwrap_or(Kind::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind the table names is one the grammar has: a renamed node in a new
    /// tree-sitter-bash would otherwise silently become `Other`.
    #[test]
    fn every_kind_is_in_the_grammar() {
        let found = table();
        let language: tree_sitter::Language = tree_sitter_bash::LANGUAGE.into();
        let mut names = Vec::new();
        for id in 0..u16::try_from(language.node_kind_count()).unwrap() {
            if let Some(name) = language.node_kind_for_id(id) {
                names.push(name);
            }
        }
        for name in [
            "comment",
            ";",
            "&",
            "&&",
            "||",
            "((",
            "file_redirect",
            "heredoc_redirect",
            "herestring_redirect",
            "heredoc_start",
            "file_descriptor",
            "command",
            "declaration_command",
            "unset_command",
            "test_command",
            "variable_assignment",
            "variable_assignments",
            "command_name",
            "program",
            "subshell",
            "compound_statement",
            "do_group",
            "if_statement",
            "elif_clause",
            "else_clause",
            "case_statement",
            "case_item",
            "while_statement",
            "for_statement",
            "c_style_for_statement",
            "function_definition",
            "command_substitution",
            "process_substitution",
            "redirected_statement",
            "list",
            "pipeline",
            "negated_command",
            "unary_expression",
            "binary_expression",
            "parenthesized_expression",
            "ternary_expression",
            "postfix_expression",
            "word",
            "extglob_pattern",
            "variable_name",
            "test_operator",
            "number",
            "raw_string",
            "string",
            "string_content",
            "concatenation",
        ] {
            assert!(
                names.contains(&name),
                "{name} is not a tree-sitter-bash kind"
            );
            let wanted = Kind::of_name(name);
            assert!(wanted != Kind::Other && found.contains(&wanted), "{name}");
        }
    }

    /// The table agrees with `Node::kind` on every node of a body that uses most of them.
    #[test]
    fn agrees_with_kind_names() {
        let text = "set -e; for f in *; do [ -f \"$f\" ] && echo \"x\" 'y' >/dev/null 2>&1; done\n\
                    if [[ -n $A ]]; then (cd /tmp || exit 1) & fi\n\
                    f() { local x=1; unset y; }; ! a | b && c=$(d) e <(g) <<<s; ((i++))\n\
                    case $x in a) :;; esac; while true; do break; done\n\
                    cat <<EOF > f && chmod +x f\nbody\nEOF\n";
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_bash::LANGUAGE.into())
            .unwrap();
        let tree = parser.parse(text, None).unwrap();
        let mut stack = vec![tree.root_node()];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            assert_eq!(kind(node), Kind::of_name(node.kind()), "{}", node.kind());
            seen += 1;
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        assert!(seen > 100);
    }
}
