use super::{FixAvailability, PassContext};
use crate::context::ContextEntry;
use crate::syntax::{Instruction, Keyword};
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// Replaces `ADD` with `COPY` when every source is a local file or directory that `ADD`
    /// would copy as it is.
    ///
    /// ## Why
    /// `ADD` also downloads URLs, clones git repositories and unpacks local tar archives.
    /// For a plain file that magic is only a trap: a later change of the file into a tar
    /// silently changes what lands in the image. `COPY` says what it does.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM alpine:3.19
    /// ADD app.py /app/
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM alpine:3.19
    /// COPY app.py /app/
    /// ```
    ///
    /// ## Fix safety
    /// `ADD` unpacks a local source that *is* a tar archive (by content, not by name), so
    /// the fix is **safe** only when the build context can be read and every source is a
    /// directory or a file whose first bytes are not a tar header or a compressed stream.
    /// When the context cannot be read (stdin without `--stdin-filename`, a source that is not
    /// in the directory taken as context) and no source name has an archive extension, the
    /// fix is **unsafe**. Otherwise (URLs, git sources, variables, wildcards, heredocs, flags
    /// `COPY` lacks, archive names or contents, ONBUILD triggers) there is no fix.
    pub(crate) static ADD_TO_COPY = {
        name: "add-to-copy",
        summary: "Replaces `ADD` with `COPY` when every source is a local file or directory `ADD` would copy as it is",
        fix: FixAvailability::Sometimes,
        may: [],
        run: run,
    };
}

/// Flags that mean the same on `COPY` as on `ADD`.
const SHARED_FLAGS: &[&str] = &["chown", "chmod", "link"];

/// Names that suggest a (possibly compressed) tar archive.
const ARCHIVE_SUFFIXES: &[&str] = &[
    ".tar", ".tgz", ".taz", ".tbz", ".tbz2", ".tb2", ".txz", ".tlz", ".tzst", ".gz", ".bz2", ".xz",
    ".zst", ".lz", ".lzma", ".lz4", ".z",
];

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    ctx.file
        .instructions()
        .filter(|i| i.kind == Keyword::Add)
        .filter_map(|i| fix_for(ctx, i))
        .collect()
}

fn fix_for(ctx: &PassContext<'_>, ins: &Instruction) -> Option<Fix> {
    if !ins.heredocs().is_empty() {
        return None;
    }
    let shared = |f: &&crate::syntax::Flag| SHARED_FLAGS.contains(&ctx.file.slice(f.name));
    if !ins.flags().iter().all(|f| shared(&f)) {
        return None;
    }
    let paths = ins.paths(&ctx.file.source);
    let (_dest, sources) = paths.split_last()?;
    if sources.is_empty() || !sources.iter().all(|s| is_plain_local(s)) {
        return None;
    }
    let proof = classify(ctx, sources)?;
    let applicability = if matches!(proof, Proof::Proven) {
        Applicability::Safe
    } else {
        Applicability::Unsafe
    };
    let message = match proof {
        Proof::Proven => "use COPY: the sources are local and not archives".to_owned(),
        Proof::NoContext => "use COPY: the sources look local, but the build context could not \
                             be read to prove none is a tar archive that ADD would unpack"
            .to_owned(),
        Proof::Absent(source) => format!(
            "use COPY: the sources look local, but `{source}` is not in the build context, so \
             nothing proves it is not a tar archive that ADD would unpack"
        ),
        Proof::Unreadable(source) => format!(
            "use COPY: the sources look local, but `{source}` could not be read to prove it is \
             not a tar archive that ADD would unpack"
        ),
    };
    let keyword = ctx.file.slice(ins.keyword());
    let replacement = match_case(keyword, "COPY");
    ctx.fix(
        ADD_TO_COPY.name,
        applicability,
        message,
        vec![Edit::replace(ins.keyword(), replacement)],
    )
}

/// What the context proved about the sources, when none can be an archive.
enum Proof<'a> {
    /// Every source is a directory or a file that is not an archive: safe.
    Proven,
    /// No context was given: unsafe.
    NoContext,
    /// This source is not in the context (the first such): unsafe.
    Absent(&'a str),
    /// This source exists but could not be read: unsafe.
    Unreadable(&'a str),
}

/// [`Proof::Proven`] when the context proves every source is not an archive; another proof
/// (unsafe) when it cannot and the names do not look like archives; `None` when an archive
/// is possible.
fn classify<'a>(ctx: &PassContext<'_>, sources: &[&'a str]) -> Option<Proof<'a>> {
    let mut proof = if ctx.settings.context.is_some() {
        Proof::Proven
    } else {
        Proof::NoContext
    };
    for &source in sources {
        let entry = match (&ctx.settings.context, crate::context::context_path(source)) {
            (Some(context), Some(path)) => context.probe(&path),
            (Some(_), None) => return None,
            (None, _) => ContextEntry::Missing,
        };
        match entry {
            ContextEntry::Directory => {}
            ContextEntry::File { head } if !maybe_archive(&head) => {}
            ContextEntry::File { .. } => return None,
            ContextEntry::Missing | ContextEntry::Unreadable if has_archive_name(source) => {
                return None;
            }
            ContextEntry::Missing => {
                if matches!(proof, Proof::Proven) {
                    proof = Proof::Absent(source);
                }
            }
            ContextEntry::Unreadable => {
                if matches!(proof, Proof::Proven) {
                    proof = Proof::Unreadable(source);
                }
            }
        }
    }
    Some(proof)
}

/// A source `COPY` would treat the same: a plain path inside the context, not a URL or a
/// git reference, without a wildcard.
fn is_plain_local(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    !(source.contains("://")
        || lower.starts_with("git@")
        || lower.starts_with("github.com/")
        || std::path::Path::new(&lower)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("git"))
        || lower.contains(".git#")
        || crate::context::has_wildcard(source))
        && crate::context::context_path(source).is_some()
}

fn has_archive_name(source: &str) -> bool {
    let lower = source.trim_end_matches('/').to_ascii_lowercase();
    ARCHIVE_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// Whether `head` could start something `ADD` unpacks: a compressed stream (gzip, bzip2,
/// xz, zstd) or a tar header with a valid checksum. A file shorter than one tar block
/// cannot be a tar.
fn maybe_archive(head: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        &[0x1f, 0x8b],
        b"BZh",
        &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
        &[0x28, 0xb5, 0x2f, 0xfd],
    ];
    if MAGICS.iter().any(|m| head.starts_with(m)) {
        return true;
    }
    let Some(block) = head.get(..512) else {
        return false;
    };
    tar_checksum_ok(block)
}

fn tar_checksum_ok(block: &[u8]) -> bool {
    let field = &block[148..156];
    let digits: String = field
        .iter()
        .map(|&b| b as char)
        .filter(|c| !matches!(c, ' ' | '\0'))
        .collect();
    let Ok(expected) = i64::from_str_radix(&digits, 8) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b.cast_signed());
    }
    expected == unsigned || expected == signed
}

/// `replacement` spelled in the case style of `original` (`add` → `copy`, `Add` → `Copy`).
fn match_case(original: &str, replacement: &str) -> String {
    if original.chars().all(|c| c.is_ascii_lowercase()) {
        replacement.to_ascii_lowercase()
    } else if original.chars().all(|c| c.is_ascii_uppercase()) {
        replacement.to_owned()
    } else {
        let lower = replacement.to_ascii_lowercase();
        let mut chars = lower.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuildContext, Settings};
    use std::sync::Arc;

    struct Fake(Vec<(&'static str, ContextEntry)>);

    impl BuildContext for Fake {
        fn probe(&self, path: &str) -> ContextEntry {
            self.0
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(ContextEntry::Missing, |(_, e)| e.clone())
        }
    }

    fn tar_block() -> Vec<u8> {
        let mut block = vec![0u8; 512];
        block[..5].copy_from_slice(b"a.txt");
        block[257..262].copy_from_slice(b"ustar");
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum::<u32>() + 8 * u32::from(b' ');
        let field = format!("{sum:06o}\0 ");
        block[148..156].copy_from_slice(field.as_bytes());
        block
    }

    fn rewrite(
        src: &str,
        entries: Option<Vec<(&'static str, ContextEntry)>>,
        unsafe_: bool,
    ) -> String {
        let settings = Settings {
            threshold: if unsafe_ {
                Applicability::Unsafe
            } else {
                Applicability::Safe
            },
            context: entries.map(|e| Arc::new(Fake(e)) as Arc<dyn BuildContext>),
            ..Settings::default()
        };
        crate::rewrite(src, &settings)
            .unwrap()
            .output
            .unwrap_or_else(|| src.to_owned())
    }

    fn file(head: &[u8]) -> ContextEntry {
        ContextEntry::File {
            head: head.to_vec(),
        }
    }

    #[test]
    fn safe_with_context_plain_file_and_dir() {
        let ctx = vec![
            ("app.py", file(b"print(1)\n")),
            ("src", ContextEntry::Directory),
        ];
        let src =
            "FROM a\nADD app.py /app/\nadd --chown=1:1 ./src/ /src\nAdd [\"app.py\", \"/x\"]\n";
        assert_eq!(
            rewrite(src, Some(ctx), false),
            "FROM a\nCOPY app.py /app/\ncopy --chown=1:1 ./src/ /src\nCopy [\"app.py\", \"/x\"]\n"
        );
    }

    #[test]
    fn archives_by_content_are_left_alone() {
        let ctx = vec![
            ("data.bin", file(&tar_block())),
            ("x.dat", file(&[0x1f, 0x8b, 8, 0])),
        ];
        let src = "FROM a\nADD data.bin /d/\nADD x.dat /d/\n";
        assert_eq!(rewrite(src, Some(ctx.clone()), true), src);
        assert!(maybe_archive(&tar_block()));
        assert!(!maybe_archive(&[0u8; 512]));
    }

    #[test]
    fn without_context_only_unsafe_and_never_for_archive_names() {
        let src = "FROM a\nADD app.py /app/\n";
        assert_eq!(rewrite(src, None, false), src);
        assert_eq!(rewrite(src, None, true), "FROM a\nCOPY app.py /app/\n");
        let archive = "FROM a\nADD rootfs.tar.gz /\n";
        assert_eq!(rewrite(archive, None, true), archive);
    }

    #[test]
    fn the_message_names_what_could_not_be_proven() {
        let message = |src: &str, ctx: Option<Vec<(&'static str, ContextEntry)>>| {
            let settings = Settings {
                context: ctx.map(|e| Arc::new(Fake(e)) as Arc<dyn BuildContext>),
                ..Settings::default()
            };
            let result = crate::rewrite(src, &settings).unwrap();
            let fix = result
                .advice
                .iter()
                .find(|f| f.pass == "add-to-copy")
                .unwrap();
            fix.message.clone()
        };
        let src = "FROM a\nADD app.py assets /app/\n";
        let present = vec![("app.py", file(b"x"))];
        assert!(message(src, None).contains("the build context could not be read"));
        assert!(message(src, Some(present)).contains("`assets` is not in the build context"));
        let unreadable = vec![("app.py", file(b"x")), ("assets", ContextEntry::Unreadable)];
        assert!(message(src, Some(unreadable)).contains("`assets` could not be read"));
    }

    #[test]
    fn remote_and_dynamic_sources_are_left_alone() {
        for src in [
            "FROM a\nADD https://example.com/x /x\n",
            "FROM a\nADD git@github.com:a/b.git /b\n",
            "FROM a\nADD $SRC /x\n",
            "FROM a\nADD *.py /x/\n",
            "FROM a\nADD --checksum=sha256:00 app.py /x\n",
            "FROM a\nADD <<EOF /x\nhi\nEOF\n",
            "FROM a\nADD ../up /x\n",
            "FROM a\nONBUILD ADD app.py /x\n",
            "FROM a\nADD app.py\n",
        ] {
            assert_eq!(
                rewrite(src, Some(vec![("app.py", file(b"x"))]), true),
                src,
                "{src}"
            );
        }
    }
}
