//! Whether a build-context path reaches the builder, for passes that must know what an
//! install can read: the `.dockerignore` matching of [`super::ignore_patterns`], plus an
//! "unknown" state for an ignore file that cannot be read.

use super::ignore_patterns::IgnoreFile;

/// Whether a context path is sent to the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inclusion {
    Included,
    Excluded,
    Unsure,
}

/// The patterns of one `.dockerignore`, or nothing known about them.
#[derive(Debug)]
pub(crate) struct IgnoreRules(Option<IgnoreFile>);

impl Default for IgnoreRules {
    /// No `.dockerignore`: everything is sent.
    fn default() -> Self {
        Self(Some(IgnoreFile::default()))
    }
}

impl IgnoreRules {
    /// Reads the text of a `.dockerignore`.
    pub(crate) fn parse(text: &str) -> Self {
        Self(Some(IgnoreFile::parse(text)))
    }

    /// Rules about which nothing is known (an unreadable `.dockerignore`).
    pub(crate) fn unknown() -> Self {
        Self(None)
    }

    /// Whether `path` (cleaned, relative to the context root) reaches the builder.
    pub(crate) fn status(&self, path: &str) -> Inclusion {
        match &self.0 {
            None => Inclusion::Unsure,
            Some(file) if file.excludes(path) => Inclusion::Excluded,
            Some(_) => Inclusion::Included,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_rules() {
        let r = IgnoreRules::parse(
            "# comment\nnode_modules\n/dist/\n*.log\n**/secret.txt\ndocs\n!docs/keep.md\n",
        );
        assert_eq!(r.status("node_modules"), Inclusion::Excluded);
        assert_eq!(r.status("node_modules/x/package.json"), Inclusion::Excluded);
        assert_eq!(r.status("web/node_modules"), Inclusion::Included);
        assert_eq!(r.status("dist/a.js"), Inclusion::Excluded);
        assert_eq!(r.status("npm-debug.log"), Inclusion::Excluded);
        assert_eq!(r.status("sub/npm-debug.log"), Inclusion::Included);
        assert_eq!(r.status("a/b/secret.txt"), Inclusion::Excluded);
        assert_eq!(r.status("secret.txt"), Inclusion::Excluded);
        assert_eq!(r.status("docs/keep.md"), Inclusion::Included);
        assert_eq!(r.status("docs/other.md"), Inclusion::Excluded);
        assert_eq!(r.status("package.json"), Inclusion::Included);
        let all = IgnoreRules::parse("*\n!package.json\n");
        assert_eq!(all.status("package.json"), Inclusion::Included);
        assert_eq!(all.status("package-lock.json"), Inclusion::Excluded);
        // character classes are read as BuildKit reads them
        let class = IgnoreRules::parse("[a-z].txt\n");
        assert_eq!(class.status("x.txt"), Inclusion::Excluded);
        assert_eq!(class.status("X.txt"), Inclusion::Included);
        assert_eq!(IgnoreRules::unknown().status("x"), Inclusion::Unsure);
    }
}
