//! Whether a build-context path reaches the builder, for passes that must know what an
//! install can read: the `.dockerignore` matching of [`super::ignore_patterns`], plus an
//! "unknown" state for an ignore file that cannot be read.

use super::ignore_patterns::IgnoreFile;

/// Whether a context path is sent to the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
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
    pub(crate) fn status(&self, path: &str) -> Status {
        match &self.0 {
            None => Status::Unsure,
            Some(file) if file.excludes(path) => Status::Excluded,
            Some(_) => Status::Included,
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
        assert_eq!(r.status("node_modules"), Status::Excluded);
        assert_eq!(r.status("node_modules/x/package.json"), Status::Excluded);
        assert_eq!(r.status("web/node_modules"), Status::Included);
        assert_eq!(r.status("dist/a.js"), Status::Excluded);
        assert_eq!(r.status("npm-debug.log"), Status::Excluded);
        assert_eq!(r.status("sub/npm-debug.log"), Status::Included);
        assert_eq!(r.status("a/b/secret.txt"), Status::Excluded);
        assert_eq!(r.status("secret.txt"), Status::Excluded);
        assert_eq!(r.status("docs/keep.md"), Status::Included);
        assert_eq!(r.status("docs/other.md"), Status::Excluded);
        assert_eq!(r.status("package.json"), Status::Included);
        let all = IgnoreRules::parse("*\n!package.json\n");
        assert_eq!(all.status("package.json"), Status::Included);
        assert_eq!(all.status("package-lock.json"), Status::Excluded);
        // character classes are read as BuildKit reads them
        let class = IgnoreRules::parse("[a-z].txt\n");
        assert_eq!(class.status("x.txt"), Status::Excluded);
        assert_eq!(class.status("X.txt"), Status::Included);
        assert_eq!(IgnoreRules::unknown().status("x"), Status::Unsure);
    }
}
