//! The `transforms/` tables, read at build time: `build.rs` turns every TOML file into
//! `static` nodes (see [`tree`]), and a run deserialises a table straight from them: no
//! parsing at start-up (reading the tables as JSON was about 8 % of a 200-line run). The
//! TOML files stay the source of truth: an error still names the TOML file and its line,
//! and a test checks that every table reads the same from its TOML source.

mod tree;

use serde::Deserialize;

use tree::Node;

include!(concat!(env!("OUT_DIR"), "/transforms.rs"));

/// The table `transforms/NAME.toml` read into `T`; an error names the TOML file. `T` may
/// borrow its strings (`&'static str`): they stay in the binary, with nothing allocated.
pub(crate) fn table<T: Deserialize<'static>>(name: &str) -> Result<T, String> {
    let Some(&(_, root, source)) = TABLES.iter().find(|(n, _, _)| *n == name) else {
        return Err(format!("transforms/{name}.toml: no such table"));
    };
    T::deserialize(tree::At::new(root)).map_err(|tree_error| {
        // The TOML parser says where in the file the value that does not fit is.
        match toml::from_str::<T>(source) {
            Err(e) => format!("transforms/{name}.toml: {e}"),
            Ok(_) => format!("transforms/{name}.toml: {tree_error}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_reads_as_its_toml_source() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let built: Vec<&str> = TABLES.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(built, on_disk);
        for &(name, root, source) in TABLES {
            let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
            assert_eq!(source, text, "{name}: the embedded source is the file");
            // read straight from the TOML, without the build script's conversion
            let from_toml: serde_json::Value = toml::from_str(&text).unwrap();
            let from_nodes = serde_json::Value::deserialize(tree::At::new(root)).unwrap();
            assert_eq!(from_nodes, from_toml, "{name}");
        }
    }

    #[test]
    fn errors_name_the_toml_file_and_line() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wrong {
            #[allow(dead_code)]
            nothing: u8,
        }
        let e = table::<Wrong>("hadolint").unwrap_err();
        assert!(e.starts_with("transforms/hadolint.toml: "), "{e}");
        assert!(e.contains("line"), "{e}");
        assert!(
            table::<Wrong>("no-such")
                .unwrap_err()
                .contains("no such table")
        );
    }
}
