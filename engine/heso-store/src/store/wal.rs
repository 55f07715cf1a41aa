//! Reading the WAL file's frame structure (SQLite's documented WAL format), for the audit: a
//! truncated or torn WAL silently loses committed transactions, which SQLite itself never reports.
//!
//! Header (32 bytes, big-endian): magic, version, page size, checkpoint sequence, salt-1, salt-2,
//! checksum-1, checksum-2. Each frame: a 24-byte header (page number, database size after commit
//! or 0, salt-1, salt-2, checksum-1, checksum-2) and one page. Checksums are cumulative.
//!
//! A bad or partial frame at the end is what a writer killed mid-transaction leaves (storage.md
//! §8, "torn WAL write"): SQLite ignores it and nothing committed is lost. It is told apart from
//! a WAL that lost committed frames by the wal-index (`-shm`), whose header records how many
//! frames were committed (`mxFrame`) for the WAL's current salts: when the surviving committed
//! prefix reaches `mxFrame`, the bad tail held only the unfinished transaction. Without a
//! matching wal-index the damage cannot be excused and is reported.

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

/// Reads the WAL file at `path`, judging a damaged tail with the wal-index at `shm_path`.
pub(crate) fn inspect(path: &Path, shm_path: &Path) -> std::io::Result<WalState> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(WalState::Absent),
        Err(error) => return Err(error),
    };
    // The wal-index is advisory: unreadable or absent, it simply excuses nothing.
    let shm = std::fs::read(shm_path).unwrap_or_default();
    Ok(judge(&bytes, committed_frames_recorded(&bytes, &shm)))
}

/// The committed frame count (`mxFrame`) the wal-index records for this WAL generation, when
/// its header is initialised, its two copies agree and its salts are the WAL header's.
fn committed_frames_recorded(wal: &[u8], shm: &[u8]) -> Option<usize> {
    const COPY: usize = 48;
    let first = shm.get(..COPY)?;
    if shm.get(COPY..2 * COPY)? != first || first.get(12) != Some(&1) {
        return None;
    }
    // The salts are copied byte for byte from the WAL header (offset 16).
    if first.get(32..40)? != wal.get(16..24)? {
        return None;
    }
    let raw = <[u8; 4]>::try_from(first.get(16..20)?).ok()?;
    // The wal-index is in the writer's native byte order.
    usize::try_from(u32::from_ne_bytes(raw)).ok()
}

/// [`inspect_bytes`], with a damaged tail excused when the committed prefix reaches what the
/// wal-index recorded, and lost committed frames reported even when the file ends cleanly.
fn judge(bytes: &[u8], recorded: Option<usize>) -> WalState {
    if bytes.is_empty() {
        return WalState::Absent;
    }
    let scan = scan(bytes);
    match (scan, recorded) {
        (Scan::Header(detail) | Scan::Frames { tail: Some(detail), .. }, None)
        | (Scan::Header(detail), Some(_)) => WalState::Damaged(detail),
        (Scan::Frames { committed, .. }, Some(recorded)) if committed < recorded => {
            WalState::Damaged(format!(
                "the WAL holds {committed} committed frames but the wal-index recorded {recorded}: committed transactions were lost"
            ))
        }
        (
            Scan::Frames {
                frames, committed, ..
            },
            _,
        ) => WalState::Sound {
            frames,
            uncommitted: frames - committed,
        },
    }
}

/// What a frame-by-frame read of the WAL found.
enum Scan {
    /// The header itself is unusable.
    Header(String),
    /// Valid frames, those up to the last commit frame among them, and what is wrong after
    /// them (a bad checksum or a partial frame), if anything.
    Frames {
        frames: usize,
        committed: usize,
        tail: Option<String>,
    },
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

/// Reads WAL bytes without a wal-index: any damage is reported.
#[cfg(test)]
pub(crate) fn inspect_bytes(bytes: &[u8]) -> WalState {
    judge(bytes, None)
}

fn scan(bytes: &[u8]) -> Scan {
    if bytes.is_empty() {
        return Scan::Frames {
            frames: 0,
            committed: 0,
            tail: None,
        };
    }
    if bytes.len() < HEADER {
        return Scan::Header(format!(
            "the WAL file is {} bytes, shorter than its 32-byte header: it was truncated",
            bytes.len()
        ));
    }
    let magic = word(bytes, 0);
    if magic != MAGIC_LITTLE && magic != MAGIC_BIG {
        return Scan::Header("the WAL file has no WAL header".to_owned());
    }
    let big_endian = magic == MAGIC_BIG;
    let page_size = word(bytes, 8) as usize;
    let salts = (word(bytes, 16), word(bytes, 20));
    let header = bytes.get(..24).unwrap_or_default();
    let mut sums = checksum(header, big_endian, (0, 0));
    if sums != (word(bytes, 24), word(bytes, 28)) {
        return Scan::Header("the WAL header checksum does not match".to_owned());
    }
    if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
        return Scan::Header(format!("the WAL header names page size {page_size}"));
    }
    let frame_size = FRAME_HEADER + page_size;
    let body = bytes.len() - HEADER;
    let whole = body / frame_size;
    let mut frames = 0;
    let mut committed = 0;
    for index in 0..whole {
        let at = HEADER + index * frame_size;
        let Some(frame) = bytes.get(at..at + frame_size) else {
            break;
        };
        if (word(frame, 8), word(frame, 12)) != salts {
            // A frame of an earlier generation: the WAL was reset and is being reused.
            return Scan::Frames {
                frames,
                committed,
                tail: None,
            };
        }
        let partial = checksum(frame.get(..8).unwrap_or_default(), big_endian, sums);
        let next = checksum(
            frame.get(FRAME_HEADER..).unwrap_or_default(),
            big_endian,
            partial,
        );
        if next != (word(frame, 16), word(frame, 20)) {
            let tail = format!(
                "WAL frame {} of the current generation has a bad checksum: a torn write; the transactions it carried are lost",
                index + 1
            );
            return Scan::Frames {
                frames,
                committed,
                tail: Some(tail),
            };
        }
        sums = next;
        frames = index + 1;
        if word(frame, 4) != 0 {
            committed = frames;
        }
    }
    let rest = body % frame_size;
    let tail = (rest != 0).then(|| format!(
        "the WAL file ends {rest} bytes into a frame (after {whole} whole frames): it was truncated or torn, and the transaction being written there is lost"
    ));
    Scan::Frames {
        frames,
        committed,
        tail,
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
