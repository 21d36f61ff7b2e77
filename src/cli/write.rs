//! Writing into the user's tree without ever losing their work.
//!
//! A rewrite replaces the file by renaming a synced temp file over it, so a crash leaves the
//! original or the rewrite, never a mix. Before the rename the file must still hold what was
//! read: an editor's save or a `git checkout` in between is kept and nothing is written. Temp
//! files are named `.NAME.dfrewrite-XXXXXX.tmp` and held under an exclusive lock while in use;
//! Ctrl-C and SIGTERM remove them (see `signals`), and after a SIGKILL or a power loss the next
//! `--apply` in that directory removes the ones whose lock nobody holds any more.
//!
//! A rename would break hard links and give the file to whoever ran the tool, so a file with
//! more than one link, or owned by someone the caller cannot give the rewrite to, is written
//! in place instead (truncate + write + sync, after the same freshness check). That write is
//! atomic against Ctrl-C and SIGTERM, which wait for it, but not against SIGKILL or power loss.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::fsio::Failure;
use super::signals;

/// What a temp file's name holds between the target's name and the random part.
const TAG: &str = ".dfrewrite-";
const SUFFIX: &str = ".tmp";

/// Why the file was not replaced.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The file no longer holds what was read.
    Changed,
    /// The file has no write permission for the caller (or none at all, which root honours
    /// too, as editors do).
    ReadOnly,
    Failure(Failure),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        Self::Failure(Failure::Io(e))
    }
}

/// Replaces the contents of `path` (which held `original` when read) with `contents`. A
/// symlink is resolved first, so the link stays a link and its target changes; the mode,
/// owner and group are kept.
pub(crate) fn replace(path: &Path, original: &[u8], contents: &[u8]) -> Result<(), WriteError> {
    let target = fs::canonicalize(path)?;
    let meta = fs::metadata(&target)?;
    if !meta.is_file() {
        return Err(WriteError::Failure(Failure::NotRegular));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    if read_only(&meta) {
        return Err(WriteError::ReadOnly);
    }
    let mut file = match OpenOptions::new().read(true).write(true).open(&target) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(WriteError::ReadOnly);
        }
        Err(e) => return Err(e.into()),
    };
    if links(&meta) > 1 {
        return in_place(&mut file, original, contents);
    }
    let name = target.file_name().map_or_else(
        || "Dockerfile".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut tmp = match InFlight::create(dir, &name) {
        Ok(tmp) => tmp,
        // The file is writable but its directory is not: only an in-place write can work.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return in_place(&mut file, original, contents);
        }
        Err(e) => return Err(e.into()),
    };
    if !same_owner(tmp.file(), &meta) && !keep_owner(tmp.file(), &meta) {
        drop(tmp);
        return in_place(&mut file, original, contents);
    }
    pause("temp-created");
    tmp.file().write_all(contents)?;
    // Created 0600; without this a 0644 or 0755 file would change mode. After the chown,
    // which clears set-id bits.
    tmp.file().set_permissions(meta.permissions())?;
    tmp.file().sync_all()?;
    pause("temp-written");
    let mut critical = signals::critical();
    if !unchanged(&mut file, &target, original)? {
        return Err(WriteError::Changed);
    }
    tmp.persist(&target, &mut critical)?;
    drop(critical);
    // The rename is durable once the directory is; a failure here loses nothing.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Creates `path` with `contents` atomically (a synced temp file in the same directory,
/// linked into place), mode 0644, and never replaces anything already there: a file, a
/// directory or a dangling symlink at `path` makes it fail with `AlreadyExists`.
pub(crate) fn create_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if fs::symlink_metadata(path).is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    remove_stale(dir);
    let name = path
        .file_name()
        .map_or_else(|| "new".to_owned(), |n| n.to_string_lossy().into_owned());
    let mut tmp = InFlight::create(dir, &name)?;
    tmp.file().write_all(contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    tmp.file().sync_all()?;
    let mut critical = signals::critical();
    tmp.persist_noclobber(path, &mut critical)
}

/// A temp file beside the target, registered with the signal handler and locked so that
/// another run can tell it from a stale one.
struct InFlight {
    tmp: Option<tempfile::NamedTempFile>,
}

impl InFlight {
    fn create(dir: &Path, name: &str) -> io::Result<Self> {
        let mut critical = signals::critical();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}{TAG}"))
            .suffix(SUFFIX)
            .rand_bytes(6)
            .tempfile_in(dir)?;
        tmp.as_file().lock()?;
        critical.register(tmp.path());
        Ok(Self { tmp: Some(tmp) })
    }

    fn file(&mut self) -> &mut File {
        self.tmp
            .as_mut()
            .expect("present until persisted or dropped")
            .as_file_mut()
    }

    fn persist(&mut self, target: &Path, critical: &mut signals::Critical) -> io::Result<()> {
        let tmp = self.tmp.take().expect("persisted once");
        match tmp.persist(target) {
            Ok(_) => {
                critical.clear();
                Ok(())
            }
            Err(e) => {
                // Put it back so that drop removes it.
                self.tmp = Some(e.file);
                Err(e.error)
            }
        }
    }

    fn persist_noclobber(
        &mut self,
        target: &Path,
        critical: &mut signals::Critical,
    ) -> io::Result<()> {
        let tmp = self.tmp.take().expect("persisted once");
        match tmp.persist_noclobber(target) {
            Ok(_) => {
                critical.clear();
                Ok(())
            }
            Err(e) => {
                self.tmp = Some(e.file);
                Err(e.error)
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let mut critical = signals::critical();
            // Removed before it is unregistered, so a signal never misses it.
            drop(tmp);
            critical.clear();
        }
    }
}

/// Writes `contents` over `file`, which must still hold `original`; Ctrl-C and SIGTERM wait
/// until it is done.
fn in_place(file: &mut File, original: &[u8], contents: &[u8]) -> Result<(), WriteError> {
    let critical = signals::critical();
    if !holds(file, original)? {
        return Err(WriteError::Changed);
    }
    file.seek(SeekFrom::Start(0))?;
    let half = contents.len() / 2;
    file.write_all(&contents[..half])?;
    pause("in-place");
    file.write_all(&contents[half..])?;
    file.set_len(contents.len() as u64)?;
    file.sync_all()?;
    drop(critical);
    Ok(())
}

/// Whether `target` is still the file opened as `file` and holds `original`.
fn unchanged(file: &mut File, target: &Path, original: &[u8]) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let now = fs::metadata(target)?;
        let opened = file.metadata()?;
        if (now.dev(), now.ino()) != (opened.dev(), opened.ino()) {
            return Ok(false);
        }
    }
    #[cfg(not(unix))]
    let _ = target;
    holds(file, original)
}

/// Whether `file` holds exactly `original`, read from its start.
fn holds(file: &mut File, original: &[u8]) -> io::Result<bool> {
    if file.metadata()?.len() != original.len() as u64 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(0))?;
    let mut now = Vec::with_capacity(original.len());
    file.take(original.len() as u64 + 1).read_to_end(&mut now)?;
    Ok(now == original)
}

/// [`remove_stale`] in the directory of the file `path` names (through a symlink).
pub(crate) fn remove_stale_beside(path: &Path) {
    if let Some(dir) = fs::canonicalize(path)
        .ok()
        .as_deref()
        .and_then(Path::parent)
    {
        remove_stale(dir);
    }
}

/// Removes temp files a killed run left in `dir`: ours by name, and unlocked, so their
/// writer is gone. Best effort: whatever cannot be removed stays.
pub(crate) fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_temp_name(name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path: PathBuf = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// `.NAME.dfrewrite-XXXXXX.tmp`, the names [`InFlight`] gives.
fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some(stem) = rest.strip_suffix(SUFFIX) else {
        return false;
    };
    stem.rfind(TAG).is_some_and(|at| {
        let random = &stem[at + TAG.len()..];
        at > 0 && random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// No write permission at all (which root would bypass), so the user meant it to stay.
fn read_only(meta: &fs::Metadata) -> bool {
    meta.permissions().readonly()
}

#[cfg(unix)]
fn links(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(not(unix))]
fn links(_meta: &fs::Metadata) -> u64 {
    1
}

#[cfg(unix)]
fn same_owner(file: &File, meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata()
        .is_ok_and(|m| (m.uid(), m.gid()) == (meta.uid(), meta.gid()))
}

#[cfg(not(unix))]
fn same_owner(_file: &File, _meta: &fs::Metadata) -> bool {
    true
}

/// Gives the temp file the original's owner and group; only root (or a member of the group,
/// for the group alone) may.
#[cfg(unix)]
fn keep_owner(file: &File, meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_ok()
        && same_owner(file, meta)
}

#[cfg(not(unix))]
fn keep_owner(_file: &File, _meta: &fs::Metadata) -> bool {
    true
}

/// Test-only fault injection: with `DFREWRITE_TEST_PAUSE=STAGE:MARKER`, reaching `STAGE`
/// creates the file `MARKER` and waits (at most a minute) until something removes it. The CLI
/// tests use it to send signals and edit files at exact moments.
fn pause(stage: &str) {
    let Some(spec) = std::env::var_os("DFREWRITE_TEST_PAUSE") else {
        return;
    };
    let spec = spec.to_string_lossy();
    let Some((wanted, marker)) = spec.split_once(':') else {
        return;
    };
    if wanted != stage || fs::write(marker, stage).is_err() {
        return;
    }
    for _ in 0..6000 {
        if fs::symlink_metadata(marker).is_err() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(".Dockerfile.dfrewrite-a1B2c3.tmp"));
        assert!(is_temp_name(".a.dfrewrite-b.dfrewrite-a1B2c3.tmp"));
        assert!(!is_temp_name(".dfrewrite-a1B2c3.tmp"));
        assert!(!is_temp_name("Dockerfile.dfrewrite-a1B2c3.tmp"));
        assert!(!is_temp_name(".Dockerfile.dfrewrite-a1B2c.tmp"));
        assert!(!is_temp_name(".Dockerfile.dfrewrite-a1B2c3.tmp~"));
        assert!(!is_temp_name(".Dockerfile.tmp"));
    }

    #[test]
    fn stale_temps_go_and_locked_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".Dockerfile.dfrewrite-abc123.tmp");
        let busy = dir.path().join(".Dockerfile.dfrewrite-xyz789.tmp");
        let other = dir.path().join(".Dockerfile.tmpAbC123");
        for path in [&stale, &busy, &other] {
            fs::write(path, b"x").unwrap();
        }
        let held = File::open(&busy).unwrap();
        held.lock().unwrap();
        remove_stale(dir.path());
        assert!(!stale.exists());
        assert!(busy.exists());
        assert!(other.exists(), "not our name: left alone");
    }

    #[cfg(unix)]
    #[test]
    fn replace_keeps_mode_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let link = dir.path().join("link");
        fs::write(&real, b"old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("real", &link).unwrap();

        replace(&link, b"old", b"new\r\n").unwrap();

        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new\r\n");
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "{mode:o}");
        // No temp files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn replace_writes_nothing_when_the_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Dockerfile");
        fs::write(&path, b"edited by someone else").unwrap();
        assert!(matches!(
            replace(&path, b"what was read", b"rewrite"),
            Err(WriteError::Changed)
        ));
        assert_eq!(fs::read(&path).unwrap(), b"edited by someone else");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn create_new_never_replaces_anything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".dockerignore");
        create_new(&path, b"a\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"a\n");
        let err = create_new(&path, b"b\n").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"a\n");
        #[cfg(unix)]
        {
            let link = dir.path().join("dangling");
            std::os::unix::fs::symlink("gone", &link).unwrap();
            assert!(create_new(&link, b"x").is_err());
            assert!(!dir.path().join("gone").exists());
        }
        // no temp files left behind
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), if cfg!(unix) { 2 } else { 1 });
    }

    #[test]
    fn replace_refuses_directories() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            replace(dir.path(), b"", b"x"),
            Err(WriteError::Failure(Failure::NotRegular))
        ));
    }
}
