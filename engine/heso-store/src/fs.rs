//! File-system primitives with the guarantees heso needs: private modes set explicitly (never
//! left to the umask), atomic no-clobber creation, and durable directory entries.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Mode of the data directory on POSIX systems.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of every file inside the data directory on POSIX systems.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of project files meant to be committed (`heso.toml`, `.gitignore`).
pub const SHARED_FILE_MODE: u32 = 0o644;

/// What happened to a file or directory that should exist afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// It was created now.
    Created,
    /// It existed already and was left untouched.
    Existed,
}

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| io::Error::other(format!("no randomness from the OS: {e}")))?;
    Ok(buf)
}

/// Creates a directory with mode 0700, or checks that an existing one is private and repairs its
/// mode when it is not. Returns what happened and, when a mode was repaired or could not be,
/// a warning for the user.
pub fn ensure_private_dir(path: &Path) -> io::Result<(Presence, Option<String>)> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    match builder.create(path) {
        Ok(()) => {
            // The umask may have removed bits from the requested mode; set it exactly.
            set_mode(path, PRIVATE_DIR_MODE)?;
            Ok((Presence::Created, None))
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {
            Ok((Presence::Existed, repair_mode(path, PRIVATE_DIR_MODE)))
        }
        Err(error) => Err(error),
    }
}

/// Resets a group- or world-accessible path to `mode`. Returns a warning to show once: that it was
/// repaired, or that it could not be (not the owner).
pub fn repair_mode(path: &Path, mode: u32) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let current = fs::metadata(path).ok()?.permissions().mode() & 0o777;
        let shared_bits = current & 0o077;
        if shared_bits == 0 {
            return None;
        }
        Some(match set_mode(path, mode) {
            Ok(()) => format!(
                "{} was accessible to other users (mode {current:o}); reset it to {mode:o}",
                path.display()
            ),
            Err(error) => format!(
                "{} is accessible to other users (mode {current:o}) and cannot be fixed: {error}",
                path.display()
            ),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        None
    }
}

/// What checking a private path's mode found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeRepair {
    /// Not accessible to other users; nothing to say.
    Private,
    /// It was accessible and has been reset; the warning says so.
    Repaired(String),
    /// It is accessible and could not be reset (not the owner); the warning says so.
    Unfixable(String),
}

/// Turns the warning of [`repair_mode`] into a [`ModeRepair`] by looking at the mode afterwards,
/// so the decision does not depend on the warning's wording.
pub fn classify_repair(path: &Path, warning: Option<String>) -> ModeRepair {
    match warning {
        None => ModeRepair::Private,
        Some(warning) if still_shared(path) => ModeRepair::Unfixable(warning),
        Some(warning) => ModeRepair::Repaired(warning),
    }
}

fn still_shared(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // A path that can no longer be inspected is treated as exposed: fail closed.
        std::fs::metadata(path).map_or(true, |meta| meta.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Resets a group- or world-accessible path to `mode` and says what came of it.
pub fn secure_mode(path: &Path, mode: u32) -> ModeRepair {
    classify_repair(path, repair_mode(path, mode))
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Creates `dir/name` holding `bytes`, atomically and without ever replacing an existing file:
/// the bytes go to a temporary file first, which is flushed to disk and then linked to the final
/// name. Readers therefore see either no file or the complete one, and when another process
/// creates the name first, its file wins and `Existed` is returned.
pub fn create_file_atomically(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    mode: u32,
) -> io::Result<Presence> {
    let target = dir.join(name);
    if target.symlink_metadata().is_ok() {
        return Ok(Presence::Existed);
    }
    let temp = TempFile::create(dir, mode)?;
    temp.write_all_synced(bytes)?;
    let outcome = match fs::hard_link(&temp.path, &target) {
        Ok(()) => Ok(Presence::Created),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(Presence::Existed),
        Err(error) => Err(error),
    };
    drop(temp);
    if outcome.as_ref().is_ok_and(|p| *p == Presence::Created) {
        sync_dir(dir)?;
    }
    outcome
}

/// Appends bytes to an existing file in one write and flushes it to disk.
pub fn append_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().append(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes a directory's entries to disk, so a new name survives a crash. A no-op where
/// directories cannot be opened as files (Windows).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A `.tmp-` file in the target directory, removed when dropped.
struct TempFile {
    path: PathBuf,
    file: File,
}

impl TempFile {
    fn create(dir: &Path, mode: u32) -> io::Result<Self> {
        let suffix: [u8; 8] = random_bytes()?;
        let path = dir.join(format!(".tmp-{}", heso_core::hex::encode(&suffix)));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let file = options.open(&path)?;
        set_mode(&path, mode)?;
        Ok(Self { path, file })
    }

    fn write_all_synced(&self, bytes: &[u8]) -> io::Result<()> {
        (&self.file).write_all(bytes)?;
        self.file.sync_all()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Best effort: the temp file is either linked under its final name already or garbage.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn atomic_create_never_clobbers_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            create_file_atomically(dir.path(), "a", b"one", PRIVATE_FILE_MODE).unwrap(),
            Presence::Created
        );
        assert_eq!(
            create_file_atomically(dir.path(), "a", b"two", PRIVATE_FILE_MODE).unwrap(),
            Presence::Existed
        );
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"one");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a")]);
        #[cfg(unix)]
        assert_eq!(mode_of(&dir.path().join("a")), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn private_dir_is_created_0700_and_repaired() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join(".heso");
        assert_eq!(
            ensure_private_dir(&data).unwrap(),
            (Presence::Created, None)
        );
        assert_eq!(mode_of(&data), 0o700);
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
        let (presence, warning) = ensure_private_dir(&data).unwrap();
        assert_eq!(presence, Presence::Existed);
        assert!(warning.unwrap().contains("reset it to 700"));
        assert_eq!(mode_of(&data), 0o700);
    }
}
