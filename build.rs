//! Turns the `transforms/*.toml` tables into Rust `static` data at build time: one array of
//! fixed-size nodes and one string holding every string, which `src/transforms.rs` walks
//! with serde. A run parses nothing (and the nodes hold offsets, not pointers, so the
//! loader has nothing to relocate); it only allocates what the tables' Rust types own. The TOML files stay the
//! source of truth: a syntax error stops the build naming the file and line, and a table
//! that parses but does not fit its Rust type is reported (file and line) by the table's
//! own `load` test.
//!
//! The package-manager families are also written as Rust statics of their own types
//! (`build/managers.rs`): the passes read them in place, with nothing deserialised at start.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "build/managers.rs"]
mod managers;

fn main() {
    println!("cargo::rerun-if-changed=transforms");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/managers.rs");
    // A position-dependent binary: the loader then has none of the ~18,000 relocations of
    // a PIE to apply (a third of the instructions of `--version`), at the price of a fixed
    // load address for the binary's own code (libraries and the stack stay randomised).
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo::rustc-link-arg-bins=-no-pie");
        link_glibc_statically();
        order_hot_functions();
    }
    purge_at_once();
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut names: Vec<String> = std::fs::read_dir("transforms")
        .expect("transforms/ beside Cargo.toml")
        .map(|entry| entry.expect("a readable transforms/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut flat = Flat::default();
    let mut index = String::from(
        "/// Every table by name: its root node, and its TOML source for error messages.\n\
         #[allow(clippy::unreadable_literal)]\n\
         pub(crate) static TABLES: &[(&str, u32, &str)] = &[\n",
    );
    for name in &names {
        let text = std::fs::read_to_string(Path::new("transforms").join(format!("{name}.toml")))
            .unwrap_or_else(|e| panic!("transforms/{name}.toml: {e}"));
        let value: toml::Value =
            toml::from_str(&text).unwrap_or_else(|e| panic!("transforms/{name}.toml: {e}"));
        if name == "wrappers" {
            std::fs::write(
                Path::new(&out).join("wrapper_names.rs"),
                wrapper_names(&value),
            )
            .expect("OUT_DIR is writable");
        }
        let node = flat.node(&value, name);
        let at = flat.nodes.len();
        flat.nodes.push(node);
        let _ = writeln!(
            index,
            "    ({name:?}, {at}, include_str!({:?})),",
            format!("{root}/transforms/{name}.toml")
        );
    }
    index.push_str("];\n");
    let _ = writeln!(
        index,
        "/// Every node of every table; a table's children are consecutive.\n\
         #[allow(clippy::unreadable_literal)]\n\
         pub(crate) static NODES: [Node; {}] = [",
        flat.nodes.len()
    );
    for node in &flat.nodes {
        let _ = writeln!(index, "    {node},");
    }
    index.push_str("];\n");
    let _ = writeln!(
        index,
        "/// Every string of every table (keys and values), each once.\n\
         pub(crate) static STRINGS: &str = {:?};",
        flat.strings
    );
    std::fs::write(Path::new(&out).join("transforms.rs"), index).expect("OUT_DIR is writable");
    let families: Vec<(&str, toml::Value)> = managers::FAMILIES
        .iter()
        .map(|&name| {
            let text =
                std::fs::read_to_string(Path::new("transforms").join(format!("{name}.toml")))
                    .unwrap_or_else(|e| panic!("transforms/{name}.toml: {e}"));
            let value =
                toml::from_str(&text).unwrap_or_else(|e| panic!("transforms/{name}.toml: {e}"));
            (name, value)
        })
        .collect();
    let rust = managers::rust(&families).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(Path::new(&out).join("managers.rs"), rust).expect("OUT_DIR is writable");
}

/// Every program name of `transforms/wrappers.toml` (its wrappers and shells), sorted: a
/// command whose program is none of them is resolved without loading the table.
fn wrapper_names(value: &toml::Value) -> String {
    let mut names: Vec<&str> = ["wrapper", "shell"]
        .iter()
        .filter_map(|kind| value.get(kind)?.as_array())
        .flatten()
        .filter_map(|entry| entry.get("names")?.as_array())
        .flatten()
        .filter_map(toml::Value::as_str)
        .collect();
    names.sort_unstable();
    names.dedup();
    format!(
        "/// The program names of `transforms/wrappers.toml`, sorted (written by build.rs).\n\
         pub(crate) static NAMES: &[&str] = &{names:?};\n"
    )
}

/// The nodes and strings written so far.
#[derive(Default)]
struct Flat {
    /// Each node as the Rust expression that builds it.
    nodes: Vec<String>,
    strings: String,
    /// Where each string already in `strings` starts.
    placed: HashMap<String, usize>,
}

impl Flat {
    /// The node for `value`, its children (if any) placed as one consecutive run.
    fn node(&mut self, value: &toml::Value, name: &str) -> String {
        match value {
            toml::Value::String(s) => {
                let (start, len) = self.string(s);
                format!("Node::string({start}, {len})")
            }
            toml::Value::Integer(i) => format!("Node::integer({i})"),
            toml::Value::Boolean(b) => format!("Node::boolean({b})"),
            toml::Value::Array(items) => {
                let start = self.reserve(items.len());
                for (k, item) in items.iter().enumerate() {
                    self.nodes[start + k] = self.node(item, name);
                }
                format!("Node::array({start}, {})", items.len())
            }
            toml::Value::Table(table) => {
                let start = self.reserve(2 * table.len());
                for (k, (key, item)) in table.iter().enumerate() {
                    let (at, len) = self.string(key);
                    self.nodes[start + 2 * k] = format!("Node::string({at}, {len})");
                    self.nodes[start + 2 * k + 1] = self.node(item, name);
                }
                format!("Node::table({start}, {})", table.len())
            }
            // no table has one; src/transforms/tree.rs would need a kind of node for it
            toml::Value::Float(_) | toml::Value::Datetime(_) => {
                panic!("transforms/{name}.toml: a float or date, which no table reads: {value:?}")
            }
        }
    }

    fn reserve(&mut self, count: usize) -> usize {
        let start = self.nodes.len();
        self.nodes.resize(start + count, String::new());
        start
    }

    fn string(&mut self, s: &str) -> (usize, usize) {
        let start = *self.placed.entry(s.to_owned()).or_insert_with(|| {
            let start = self.strings.len();
            self.strings.push_str(s);
            start
        });
        (start, s.len())
    }
}

/// Has the linker place the functions a one-file run executes (`build/hot-functions.txt`,
/// written by `bench/hot-functions.sh`) side by side at the start of the release binary's
/// code. The kernel maps code one 64 KiB window per page fault, and the ~1,300 functions
/// `--check` of one corpus file executes lay in 76 windows of the 7.6 MB of code; placed by
/// the list (~1,500 names) they lie in 29, and that run's faults fall from 255 to 202
/// (README, after the static link; Cargo.toml on why the crate is one codegen unit).
/// Only the linker rustc uses by default on x86-64 Linux (its own lld) is given the list:
/// another linker may not know `--symbol-ordering-file`, so a configured linker
/// (`RUSTC_LINKER`) or linker flags in RUSTFLAGS leave the order as it was. A name the
/// binary no longer has (the list is older than the code) is skipped without a warning;
/// the list only places fewer functions.
fn order_hot_functions() {
    println!("cargo::rerun-if-changed=build/hot-functions.txt");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || std::env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "fuse-ld", "link-self-contained"]
            .iter()
            .any(|flag| flags.contains(flag))
    {
        return;
    }
    let list = Path::new(&var("CARGO_MANIFEST_DIR")).join("build/hot-functions.txt");
    if list.is_file() {
        println!(
            "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Compiles `build/purge.c` (mimalloc's purge delay 0, see there) and links its object into
/// the binary only: as a member of a static library the linker would drop it, since nothing
/// refers to its constructor. Figures in the README ("allocator").
fn purge_at_once() {
    println!("cargo::rerun-if-changed=build/purge.c");
    let include = std::env::var("DEP_MIMALLOC_INCLUDE_DIR")
        .expect("libmimalloc-sys (a direct dependency) exports its include directory");
    let objects = cc::Build::new()
        .file("build/purge.c")
        .include(include)
        .warnings(true)
        .compile_intermediates();
    for object in objects {
        println!("cargo::rustc-link-arg-bins={}", object.display());
    }
}

/// Links the binary (not the library or tests) with the static glibc when this machine has
/// it: a process then starts without the dynamic loader opening, mapping and relocating
/// libc, libm and libgcc_s (measured in the README). rustc links statically only with
/// `-C target-feature=+crt-static`, which cargo also applies to proc-macros unless
/// `--target` is given (they then fail to build), so it cannot be set for a plain
/// `cargo build`. Instead the binary's link gets `-static`, and the libraries rustc names
/// for a dynamic link (`-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc`) are found first in a
/// directory of linker scripts that name the static archives. Anything missing (another
/// libc, a cross build, no static archives installed: Debian's libc6-dev has them, Fedora
/// needs glibc-static) keeps the dynamic link; so does DFREWRITE_DYNAMIC=1.
fn link_glibc_statically() {
    println!("cargo::rerun-if-env-changed=DFREWRITE_DYNAMIC");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
        || var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
        || std::env::var_os("DFREWRITE_DYNAMIC").is_some_and(|v| v == "1")
    {
        return;
    }
    // Where the C compiler (rustc's linker driver) finds an archive, quoted for a linker
    // script; it echoes the bare name when it has none.
    let archive = |name: &str| -> Option<String> {
        let out = Command::new("cc")
            .arg(format!("-print-file-name={name}"))
            .output()
            .ok()?;
        let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        if !path.is_absolute() {
            return None;
        }
        let path = std::fs::canonicalize(path).ok()?;
        let text = path.to_str().filter(|t| !t.contains('"'))?;
        Some(format!("\"{text}\""))
    };
    let scripts = [
        // the unwinder, and the compiler's helpers libc.a may call
        ("gcc_s", vec!["libgcc_eh.a"]),
        ("c", vec!["libc.a", "libgcc.a", "libgcc_eh.a"]),
        ("m", vec!["libm.a"]),
        ("pthread", vec!["libpthread.a"]),
        ("dl", vec!["libdl.a"]),
        ("rt", vec!["librt.a"]),
        ("util", vec!["libutil.a"]),
    ];
    let dir = PathBuf::from(var("OUT_DIR")).join("static-glibc");
    let mut written = Vec::new();
    for (lib, archives) in scripts {
        let Some(paths) = archives
            .iter()
            .map(|a| archive(a))
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        written.push((
            format!("lib{lib}.so"),
            format!("GROUP({})\n", paths.join(" ")),
        ));
    }
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");
    for (name, text) in written {
        std::fs::write(dir.join(name), text).expect("OUT_DIR is writable");
    }
    println!("cargo::rustc-link-arg-bins=-static");
    // Searched before the system's directories (whatever the position: -L applies to every -l).
    println!("cargo::rustc-link-arg-bins=-L{}", dir.display());
}
