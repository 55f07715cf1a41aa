//! Reading the WAL file's frame structure (SQLite's documented WAL format), for the audit: a
//! truncated or torn WAL silently loses committed transactions, which SQLite itself never reports.
//!
//! Header (32 bytes, big-endian): magic, version, page size, checkpoint sequence, salt-1, salt-2,
//! checksum-1, checksum-2. Each frame: a 24-byte header (page number, database size after commit
//! or 0, salt-1, salt-2, checksum-1, checksum-2) and one page. Checksums are cumulative.

use std::path::Path;

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;
const MAGIC_LITTLE: u32 = 0x377f_0682;
const MAGIC_BIG: u32 = 0x377f_0683;

/// What the WAL file shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalState {
    /// No WAL file, or an empty one.
    Absent,
    /// Whole frames only; `uncommitted` frames of an unfinished transaction follow the last
    /// commit (a writer that crashed or is committing right now).
    Sound {
        /// Valid frames of the current generation.
        frames: usize,
        /// Frames after the last commit frame.
        uncommitted: usize,
    },
    /// Damage: committed transactions may have been lost.
    Damaged(String),
}

/// Reads the WAL file at `path`.
pub(crate) fn inspect(path: &Path) -> std::io::Result<WalState> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(WalState::Absent),
        Err(error) => return Err(error),
    };
    Ok(inspect_bytes(&bytes))
}

fn word(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

/// SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from `(s0, s1)`.
fn checksum(data: &[u8], big_endian: bool, (mut s0, mut s1): (u32, u32)) -> (u32, u32) {
    for pair in data.chunks_exact(8) {
        let read = |at: usize| {
            let bytes = pair
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .unwrap_or_default();
            if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        s0 = s0.wrapping_add(read(0)).wrapping_add(s1);
        s1 = s1.wrapping_add(read(4)).wrapping_add(s0);
    }
    (s0, s1)
}

pub(crate) fn inspect_bytes(bytes: &[u8]) -> WalState {
    if bytes.is_empty() {
        return WalState::Absent;
    }
    if bytes.len() < HEADER {
        return WalState::Damaged(format!(
            "the WAL file is {} bytes, shorter than its 32-byte header: it was truncated",
            bytes.len()
        ));
    }
    let magic = word(bytes, 0);
    if magic != MAGIC_LITTLE && magic != MAGIC_BIG {
        return WalState::Damaged("the WAL file has no WAL header".to_owned());
    }
    let big_endian = magic == MAGIC_BIG;
    let page_size = word(bytes, 8) as usize;
    let salts = (word(bytes, 16), word(bytes, 20));
    let header = bytes.get(..24).unwrap_or_default();
    let mut sums = checksum(header, big_endian, (0, 0));
    if sums != (word(bytes, 24), word(bytes, 28)) {
        return WalState::Damaged("the WAL header checksum does not match".to_owned());
    }
    if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
        return WalState::Damaged(format!("the WAL header names page size {page_size}"));
    }
    let frame_size = FRAME_HEADER + page_size;
    let body = bytes.len() - HEADER;
    let whole = body / frame_size;
    let mut frames = 0;
    let mut last_commit = 0;
    for index in 0..whole {
        let at = HEADER + index * frame_size;
        let Some(frame) = bytes.get(at..at + frame_size) else {
            break;
        };
        if (word(frame, 8), word(frame, 12)) != salts {
            // A frame of an earlier generation: the WAL was reset and is being reused.
            break;
        }
        let partial = checksum(frame.get(..8).unwrap_or_default(), big_endian, sums);
        let next = checksum(
            frame.get(FRAME_HEADER..).unwrap_or_default(),
            big_endian,
            partial,
        );
        if next != (word(frame, 16), word(frame, 20)) {
            return WalState::Damaged(format!(
                "WAL frame {} of the current generation has a bad checksum: a torn write; the transactions it carried are lost",
                index + 1
            ));
        }
        sums = next;
        frames = index + 1;
        if word(frame, 4) != 0 {
            last_commit = frames;
        }
    }
    let tail = body % frame_size;
    if tail != 0 {
        return WalState::Damaged(format!(
            "the WAL file ends {tail} bytes into a frame (after {whole} whole frames): it was truncated or torn, and the transaction being written there is lost"
        ));
    }
    WalState::Sound {
        frames,
        uncommitted: frames - last_commit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_foreign_files_are_damage() {
        assert_eq!(inspect_bytes(b""), WalState::Absent);
        assert!(matches!(inspect_bytes(&[0; 10]), WalState::Damaged(_)));
        assert!(matches!(inspect_bytes(&[0; 64]), WalState::Damaged(_)));
    }
}
