//! Keeping the data directory out of git: deciding what, if anything, to add to `.gitignore`.

/// The comment line written above the entry.
pub const GITIGNORE_COMMENT: &str = "# heso local data (signing key, audit store) - never commit";

/// What to do with `.gitignore` so that it ignores an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitignoreChange {
    /// A line already ignores the entry; leave the file alone.
    AlreadyIgnored,
    /// The file does not exist; create it with these bytes.
    Create(String),
    /// Append these bytes to the existing file.
    Append(String),
}

/// Decides how to make `.gitignore` (its current bytes, or `None` when missing) ignore `entry`,
/// a project-relative directory path ending in `/` such as `.heso/`.
///
/// A line counts as present when, after trailing whitespace is removed, it equals the entry with
/// or without a leading `/` and with or without the trailing `/`.
pub fn plan_gitignore(existing: Option<&[u8]>, entry: &str) -> GitignoreChange {
    let block = format!("{GITIGNORE_COMMENT}\n{entry}\n");
    let Some(existing) = existing else {
        return GitignoreChange::Create(block);
    };
    let bare = entry.trim_start_matches('/').trim_end_matches('/');
    let text = String::from_utf8_lossy(existing);
    let present = text.lines().any(|line| {
        let line = line.trim_end();
        let line = line.strip_prefix('/').unwrap_or(line);
        line.strip_suffix('/').unwrap_or(line) == bare
    });
    if present {
        GitignoreChange::AlreadyIgnored
    } else if existing.is_empty() || existing.ends_with(b"\n") {
        GitignoreChange::Append(block)
    } else {
        GitignoreChange::Append(format!("\n{block}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "# heso local data (signing key, audit store) - never commit\n.heso/\n";

    #[test]
    fn missing_file_is_created() {
        assert_eq!(
            plan_gitignore(None, ".heso/"),
            GitignoreChange::Create(BLOCK.into())
        );
    }

    #[test]
    fn file_without_trailing_newline_gets_one_first() {
        assert_eq!(
            plan_gitignore(Some(b"target"), ".heso/"),
            GitignoreChange::Append(format!("\n{BLOCK}"))
        );
        assert_eq!(
            plan_gitignore(Some(b"target\n"), ".heso/"),
            GitignoreChange::Append(BLOCK.into())
        );
        assert_eq!(
            plan_gitignore(Some(b""), ".heso/"),
            GitignoreChange::Append(BLOCK.into())
        );
    }

    #[test]
    fn every_equivalent_spelling_counts_as_present() {
        for line in [
            ".heso/",
            "/.heso/",
            ".heso",
            "/.heso",
            ".heso/   ",
            "/.heso\t",
        ] {
            let file = format!("dist/\n{line}\n");
            assert_eq!(
                plan_gitignore(Some(file.as_bytes()), ".heso/"),
                GitignoreChange::AlreadyIgnored,
                "{line:?}"
            );
        }
    }

    #[test]
    fn similar_lines_do_not_count() {
        for line in ["# .heso/", ".heso/*", "x/.heso/", "  .heso/", "!.heso/"] {
            let file = format!("{line}\n");
            assert!(
                matches!(
                    plan_gitignore(Some(file.as_bytes()), ".heso/"),
                    GitignoreChange::Append(_)
                ),
                "{line:?}"
            );
        }
    }

    #[test]
    fn nested_data_dir_entries() {
        assert_eq!(
            plan_gitignore(Some(b"var/heso-data\n"), "var/heso-data/"),
            GitignoreChange::AlreadyIgnored
        );
    }
}
