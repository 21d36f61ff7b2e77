//! [`Vars`]: the variables of a scope by name.

/// Variables by name, in name order, with their values (`None` when unknown). A sorted list
/// rather than a tree: a stage sets a few, and the model keeps two per stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(Vec<(String, Option<String>)>);

impl Vars {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// The value of `name`, when it is set.
    pub fn get(&self, name: &str) -> Option<&Option<String>> {
        self.find(name).ok().map(|at| &self.0[at].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name`, replacing its value when it is already set.
    pub fn insert(&mut self, name: String, value: Option<String>) {
        match self.find(&name) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (name, value)),
        }
    }

    /// The variables in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Option<String>)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// Drops the spare capacity of the inserts: the model keeps two lists per stage.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Vars {
    type Output = Option<String>;

    fn index(&self, name: &str) -> &Option<String> {
        self.get(name).expect("no variable of that name")
    }
}

impl<'a> IntoIterator for &'a Vars {
    type Item = (&'a String, &'a Option<String>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Option<String>)>,
        fn(&'a (String, Option<String>)) -> (&'a String, &'a Option<String>),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

#[cfg(test)]
mod tests {
    use super::Vars;

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut vars = Vars::default();
        vars.insert("b".into(), Some("1".into()));
        vars.insert("a".into(), None);
        vars.insert("b".into(), Some("2".into()));
        assert_eq!(vars.len(), 2);
        assert_eq!(vars["b"].as_deref(), Some("2"));
        assert_eq!(vars.get("a"), Some(&None));
        assert!(!vars.contains_key("c") && vars.get("c").is_none());
        let names: Vec<&String> = vars.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
