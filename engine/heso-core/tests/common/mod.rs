//! Helpers shared by the vector tests.
//!
//! The vectors live outside the repository, in `shared/vectors/` beside it (see its `SOURCES.md`
//! for where each set comes from). A checkout without them skips the vector tests rather than
//! failing them; CI has them.
// Each test crate compiles this module and uses only part of it; reading files and the
// environment is fine here, because heso-core's purity fence is for the library, not its tests.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::path::PathBuf;

/// The vectors directory: `$HESO_TEST_VECTORS` when set, else `shared/vectors` next to the
/// repository when it exists, else `None` (the caller skips).
pub fn vectors_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HESO_TEST_VECTORS") {
        return Some(PathBuf::from(dir));
    }
    let beside_repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    beside_repo.is_dir().then_some(beside_repo)
}

/// Says on stderr that the tests of `what` are skipped because the vectors are absent.
pub fn skip(what: &str) {
    eprintln!(
        "skipping {what}: test vectors not found (set HESO_TEST_VECTORS, or put shared/vectors \
         beside the repository)"
    );
}
