//! Turns each `transforms/*.toml` table into JSON at build time, so that a run reads its
//! tables with serde_json (a few microseconds a table) instead of parsing TOML on every
//! start (about a millisecond for all of them). The TOML files stay the source of truth:
//! `src/transforms.rs` embeds what this writes, and its test checks that every table still
//! reads the same from the TOML source.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=transforms");
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut names: Vec<String> = std::fs::read_dir("transforms")
        .expect("transforms/ beside Cargo.toml")
        .map(|entry| entry.expect("a readable transforms/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut index = String::from(
        "/// Every table by name: its JSON, and its TOML source for error messages.\n\
         pub(crate) const TABLES: &[(&str, &str, &str)] = &[\n",
    );
    for name in &names {
        let text = std::fs::read_to_string(Path::new("transforms").join(format!("{name}.toml")))
            .unwrap_or_else(|e| panic!("transforms/{name}.toml: {e}"));
        // A syntax error stops the build with the file's name; a table that parses but does
        // not fit its Rust type is reported by the table's own `load` test.
        let value: toml::Value =
            toml::from_str(&text).unwrap_or_else(|e| panic!("transforms/{name}.toml: {e}"));
        let json = serde_json::to_string(&value).expect("TOML values are JSON values");
        std::fs::write(Path::new(&out).join(format!("{name}.json")), json)
            .expect("OUT_DIR is writable");
        let _ = writeln!(
            index,
            "    ({name:?}, include_str!(concat!(env!(\"OUT_DIR\"), \"/{name}.json\")), \
             include_str!({:?})),",
            format!("{root}/transforms/{name}.toml")
        );
    }
    index.push_str("];\n");
    std::fs::write(Path::new(&out).join("transforms.rs"), index).expect("OUT_DIR is writable");
}
