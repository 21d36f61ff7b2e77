//! Python code that loads shared libraries by name at run time (`ctypes.CDLL("libfoo.so.1")`,
//! `ctypes.util.find_library`, cffi's `ffi.dlopen`): nothing links them, so the build stage's
//! `ldd` walk cannot find them, and the slim runtime may lack a library the full image had.

use super::PassContext;

/// At most this many files are listed from the context.
const CONTEXT_LIMIT: usize = 4000;

/// Words in a Python file that mean a library may be loaded by name.
const LOADERS: &[&str] = &["ctypes", "dlopen("];

/// Directories of installed packages or tools, not the app's sources.
const SKIP: &[&str] = &["node_modules", ".venv", "venv", "__pycache__", ".tox"];

/// The first `.py` file of the build context that loads libraries by name, with the word
/// found; `Err(())` when the context is there but cannot be read whole (too many files, a
/// file too large or not text), `Ok(None)` when there is no context or no such file.
pub(super) fn loads_by_name(ctx: &PassContext<'_>) -> Result<Option<(String, String)>, ()> {
    let Some(context) = ctx.settings.context.as_ref() else {
        return Ok(None);
    };
    let files = super::context_files_except(ctx, CONTEXT_LIMIT, SKIP).ok_or(())?;
    for f in files.iter().filter(|f| {
        std::path::Path::new(f)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("py"))
    }) {
        let text = context
            .read(f)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(())?;
        if let Some(word) = LOADERS.iter().find(|w| text.contains(*w)) {
            return Ok(Some((f.clone(), (*word).to_owned())));
        }
    }
    Ok(None)
}
