use super::{FixAvailability, PassContext};
use crate::syntax::{Instruction, Keyword};
use crate::text::{Applicability, Edit, Fix};

/// The label the OCI image spec names for the people responsible for an image.
const AUTHORS: &str = "org.opencontainers.image.authors";

super::declare_pass! {
    /// ## What it does
    /// Replaces the deprecated `MAINTAINER x` with
    /// `LABEL org.opencontainers.image.authors="x"`, the label the OCI image spec defines
    /// for the same fact (BuildKit's own check, `MaintainerDeprecated`, asks for it).
    ///
    /// ## Why
    /// `MAINTAINER` has been deprecated since Docker 1.13; it fills the image's `Author`
    /// field, which registries, scanners and `docker inspect --format '{{.Config.Labels}}'`
    /// do not show. The label is what they read.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:3.20
    /// MAINTAINER Jane Doe <jane@example.com>
    /// CMD ["sh"]
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM alpine:3.20
    /// LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"
    /// CMD ["sh"]
    /// ```
    ///
    /// ## Fix safety
    /// **Safe**: the container runs the same; only the image's metadata changes (the
    /// `Author` field is left empty and the label carries the value instead). The value is
    /// kept byte for byte: `MAINTAINER` takes its text literally (quotes included) while
    /// `LABEL` expands variables and reads quotes, so inside the double quotes every `"`,
    /// `$` and escape character is escaped, and `$HOME` stays the five characters it
    /// was. No fix (advice only) when the instruction spans lines (a comment or continuation
    /// would be lost), when the file already sets the authors label (which value wins would
    /// change), or when a file with another escape character has it in the value.
    pub(crate) static MAINTAINER_TO_LABEL = {
        name: "maintainer-to-label",
        summary: "Replaces the deprecated MAINTAINER with the OCI authors LABEL",
        fix: FixAvailability::Sometimes,
        may: [changes_metadata],
        run: run,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let file = ctx.file;
    // an authors label the file sets itself: converting could reorder which one wins
    let labelled = file
        .instructions()
        .filter(|i| i.kind == Keyword::Label)
        .any(|i| i.value.chunks(2).any(|p| unquote(&p[0]) == AUTHORS));
    file.instructions()
        .filter(|i| i.kind == Keyword::Maintainer)
        .filter_map(|ins| {
            let value = ins.value.first().filter(|v| !v.is_empty())?;
            let held = if labelled {
                Some("the file already sets the authors label; merge the two by hand")
            } else if ins.start_line != ins.end_line {
                Some("the instruction spans lines; write the label by hand")
            } else if file.escape != '\\' && value.contains(file.escape) {
                // how BuildKit reads a doubled backtick inside quotes is not pinned down here
                Some("the value holds the escape character; write the label by hand")
            } else {
                None
            };
            if let Some(reason) = held {
                return ctx.fix(
                    MAINTAINER_TO_LABEL.name,
                    Applicability::DisplayOnly,
                    format!("MAINTAINER is deprecated: use LABEL {AUTHORS}, held back: {reason}"),
                    vec![Edit::insert(ins.keyword.start, "")],
                );
            }
            let label = label_for(file.slice(ins.keyword), value, file.escape);
            ctx.fix(
                MAINTAINER_TO_LABEL.name,
                Applicability::Safe,
                format!(
                    "MAINTAINER is deprecated: LABEL {AUTHORS} carries the same value (the image's Author field becomes a label)"
                ),
                vec![Edit::replace(content_range(ins), label)],
            )
        })
        .collect()
}

/// From the keyword to the end of the instruction's text, before its line break.
fn content_range(ins: &Instruction) -> crate::text::TextRange {
    crate::text::TextRange::new(ins.keyword.start, ins.content_end())
}

/// `LABEL org.opencontainers.image.authors="value"`, in the case the keyword was written
/// in, with `value` escaped so that `LABEL`'s quote and variable processing gives it back
/// byte for byte.
fn label_for(keyword: &str, value: &str, escape: char) -> String {
    let label = if keyword.chars().any(|c| c.is_ascii_uppercase()) {
        "LABEL"
    } else {
        "label"
    };
    let mut quoted = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        // inside double quotes BuildKit's lexer reads an escape before exactly these
        if c == '"' || c == '$' || c == escape {
            quoted.push(escape);
        }
        quoted.push(c);
    }
    format!("{label} {AUTHORS}=\"{quoted}\"")
}

/// A label key as written, without surrounding quotes.
fn unquote(key: &str) -> &str {
    key.trim_matches(|c| c == '"' || c == '\'')
}

#[cfg(test)]
mod tests {
    use super::label_for;

    #[test]
    fn quotes_dollars_and_escapes_are_escaped() {
        assert_eq!(
            label_for("MAINTAINER", r#"a "b" $c \d"#, '\\'),
            r#"LABEL org.opencontainers.image.authors="a \"b\" \$c \\d""#
        );
        assert_eq!(
            label_for("maintainer", r"a\b $d", '`'),
            r#"label org.opencontainers.image.authors="a\b `$d""#
        );
    }

    #[test]
    fn buildkit_word_processing_gives_the_value_back() {
        use crate::semantic::{Var, expand};
        for (value, escape) in [
            (r#"Jane "JD" Doe <jd@x.org> $HOME ${X:-y} \n \"#, '\\'),
            (r"a\b $d ${e}", '`'),
        ] {
            let label = label_for("MAINTAINER", value, escape);
            let quoted = label.split_once('=').unwrap().1;
            let back = expand(quoted, escape, &|_| Var::Value("EXPANDED".to_owned()));
            assert_eq!(back.as_deref(), Some(value), "{label}");
        }
    }
}
