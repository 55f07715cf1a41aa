//! Reading receipts to verify from files, directories and standard input.
//!
//! A file holds one JSON object, a JSON array of receipts, or JSON Lines; the content decides,
//! not the extension. Directories are walked recursively in sorted path order for `*.json` and
//! `*.jsonl`; files there that hold no receipts are skipped and counted. A file named
//! explicitly that holds something else is passed on as is, so it is reported `Malformed`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use heso_core::receipt::report::InputReceipt;

/// The receipts read from all inputs, in order, and the number of skipped directory entries.
#[derive(Debug, Default)]
pub struct ReadInputs {
    /// Every receipt, in input order.
    pub receipts: Vec<InputReceipt>,
    /// Files found in directories that held no receipts.
    pub skipped_files: usize,
}

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The path does not exist.
    #[error("no such file: `{0}`")]
    Missing(String),
    /// Reading failed.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Reads every input: `-` is standard input, anything else a file or directory path.
pub fn read_inputs(inputs: &[PathBuf]) -> Result<ReadInputs, InputError> {
    let mut read = ReadInputs::default();
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| InputError::Io {
                    path: "-".to_owned(),
                    source,
                })?;
            read.receipts.extend(split_receipts("-", &bytes));
        } else if input.is_dir() {
            read_directory(input, &mut read)?;
        } else if input.exists() {
            let bytes = read_file(input)?;
            read.receipts
                .extend(split_receipts(&input.display().to_string(), &bytes));
        } else {
            return Err(InputError::Missing(input.display().to_string()));
        }
    }
    Ok(read)
}

fn read_file(path: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|source| InputError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn read_directory(dir: &Path, read: &mut ReadInputs) -> Result<(), InputError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    for file in files {
        let bytes = read_file(&file)?;
        let receipts = split_receipts(&file.display().to_string(), &bytes);
        if receipts.iter().all(|r| !looks_like_receipt(&r.bytes)) {
            read.skipped_files += 1;
        } else {
            read.receipts.extend(receipts);
        }
    }
    Ok(())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let io_error = |source| InputError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "json" || e == "jsonl")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Whether bytes are a JSON object with an `alg` and a `content` member (a cheap test used only
/// to decide whether a file found in a directory is a receipt file at all).
fn looks_like_receipt(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("alg").is_some() && v.get("content").is_some())
}

/// Splits a file's bytes into receipts: a JSON array into its elements, a single JSON value into
/// itself, and anything else line by line (blank lines ignored).
pub fn split_receipts(source: &str, bytes: &[u8]) -> Vec<InputReceipt> {
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() {
        return Vec::new();
    }
    if trimmed.starts_with(b"[") {
        // Strict parsing keeps duplicate members from being silently merged away; an array that
        // does not parse strictly is passed on whole and reported `Malformed`.
        if let Ok(serde_json::Value::Array(items)) = heso_core::json::parse_strict(trimmed) {
            return items
                .iter()
                .enumerate()
                .map(|(index, item)| InputReceipt {
                    source: format!("{source}[{index}]"),
                    bytes: serde_json::to_vec(item).unwrap_or_default(),
                })
                .collect();
        }
    }
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.trim_ascii().is_empty())
        .collect();
    if lines.len() <= 1 {
        return vec![InputReceipt {
            source: source.to_owned(),
            bytes: trimmed.to_vec(),
        }];
    }
    if serde_json::from_slice::<serde_json::Value>(trimmed).is_ok() {
        // One JSON document spread over several lines (pretty-printed).
        return vec![InputReceipt {
            source: source.to_owned(),
            bytes: trimmed.to_vec(),
        }];
    }
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| InputReceipt {
            source: format!("{source}:{}", index + 1),
            bytes: line.strip_suffix(b"\r").unwrap_or(line).to_vec(),
        })
        .collect()
}
