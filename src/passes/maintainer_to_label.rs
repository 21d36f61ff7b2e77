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
    /// `LABEL` expands variables and reads quotes. So a value with a `"`, a `$` or the
    /// escape character goes in single quotes, which BuildKit reads literally (`$HOME` stays
    /// the five characters it was); one that also holds a `'` goes in double quotes with
    /// `"`, `$` and `\` escaped. No fix (advice only) when the instruction spans lines (a
    /// comment or continuation would be lost), when the file already sets the authors label
    /// (which value wins would change), when that last form would need `# escape=`, or when
    /// the label's line would be longer than 120 characters and the file's longest line.
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
        .any(|i| {
            i.value(&file.source)
                .chunks(2)
                .any(|p| unquote(p[0]) == AUTHORS)
        });
    file.instructions()
        .filter(|i| i.kind == Keyword::Maintainer)
        .filter_map(|ins| {
            let value = ins.value(&file.source).first().copied().filter(|v| !v.is_empty())?;
            let held = if labelled {
                Some("the file already sets the authors label; merge the two by hand")
            } else if ins.start_line != ins.end_line() {
                Some("the instruction spans lines; write the label by hand")
            } else {
                None
            };
            let label = label_for(file.slice(ins.keyword()), value, file.escape);
            let held = held.or(label
                .is_none()
                .then_some("the value needs quoting this file's escape character cannot give"));
            // the label is longer than MAINTAINER's line; a LABEL value cannot be broken
            let line_start = file.source[..ins.keyword().start as usize]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let indent = file.source[line_start..ins.keyword().start as usize].chars().count();
            let held = held.or(label
                .as_ref()
                .is_some_and(|l| indent + l.chars().count() > super::layout::limit(file))
                .then_some("the label line would be longer than the file's longest line"));
            if let Some(reason) = held {
                return ctx.fix(
                    MAINTAINER_TO_LABEL.name,
                    Applicability::DisplayOnly,
                    format!("MAINTAINER is deprecated: use LABEL {AUTHORS}, held back: {reason}"),
                    vec![Edit::insert(ins.keyword().start, "")],
                );
            }
            ctx.fix(
                MAINTAINER_TO_LABEL.name,
                Applicability::Safe,
                format!(
                    "MAINTAINER is deprecated: LABEL {AUTHORS} carries the same value (the image's Author field becomes a label)"
                ),
                vec![Edit::replace(content_range(ins), label?)],
            )
        })
        .collect()
}

/// From the keyword to the end of the instruction's text, before its line break.
fn content_range(ins: &Instruction) -> crate::text::TextRange {
    crate::text::TextRange::new(ins.keyword().start, ins.content_end())
}

/// `LABEL org.opencontainers.image.authors="value"`, in the case the keyword was written
/// in, quoted so that `LABEL`'s quote and variable processing gives `value` back byte for
/// byte: in double quotes when nothing in it is special, else in single quotes (where
/// BuildKit reads every character literally), else in double quotes with `"`, `$` and the
/// escape character escaped; `None` when that last form would need an escape character
/// other than the backslash.
fn label_for(keyword: &str, value: &str, escape: char) -> Option<String> {
    let label = if keyword.chars().any(|c| c.is_ascii_uppercase()) {
        "LABEL"
    } else {
        "label"
    };
    let special = |c: char| c == '"' || c == '$' || c == escape;
    let quoted = if !value.contains(special) {
        format!("\"{value}\"")
    } else if !value.contains('\'') {
        format!("'{value}'")
    } else if escape == '\\' {
        let mut q = String::from('"');
        for c in value.chars() {
            // inside double quotes BuildKit's lexer reads an escape before exactly these
            if special(c) {
                q.push(escape);
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        return None;
    };
    Some(format!("{label} {AUTHORS}={quoted}"))
}

/// A label key as written, without surrounding quotes.
fn unquote(key: &str) -> &str {
    key.trim_matches(|c| c == '"' || c == '\'')
}

#[cfg(test)]
mod tests {
    use super::label_for;

    #[test]
    fn quoting_follows_the_value() {
        let label = |v, e| label_for("MAINTAINER", v, e);
        assert_eq!(
            label("Jane <j@x.org>", '\\').unwrap(),
            r#"LABEL org.opencontainers.image.authors="Jane <j@x.org>""#
        );
        assert_eq!(
            label(r#"a "b" $c \d"#, '\\').unwrap(),
            r#"LABEL org.opencontainers.image.authors='a "b" $c \d'"#
        );
        assert_eq!(
            label(r#"O'Brien "$x""#, '\\').unwrap(),
            r#"LABEL org.opencontainers.image.authors="O'Brien \"\$x\"""#
        );
        assert_eq!(label(r#"O'Brien "$x""#, '`'), None);
        assert_eq!(
            label_for("maintainer", r"a\b", '`').unwrap(),
            r#"label org.opencontainers.image.authors="a\b""#
        );
    }

    #[test]
    fn buildkit_word_processing_gives_the_value_back() {
        use crate::semantic::{Var, expand};
        for (value, escape) in [
            (r#"Jane "JD" Doe <jd@x.org> $HOME ${X:-y} \n \"#, '\\'),
            (r#"O'Brien "JD" $HOME \"#, '\\'),
            (r"a\b $d ${e} `x`", '`'),
            ("plain name", '`'),
        ] {
            let label = label_for("MAINTAINER", value, escape).unwrap();
            let quoted = label.split_once('=').unwrap().1;
            let back = expand(quoted, escape, &|_| Var::Value("EXPANDED".to_owned()));
            assert_eq!(back.as_deref(), Some(value), "{label}");
        }
    }
}
