//! `heso-compliance version`.

use serde_json::{json, Value};

use crate::cli::VersionArgs;
use crate::output::{envelope, print_json, print_stdout};

const TARGET: &str = env!("HESO_TARGET");
const GIT_COMMIT: &str = env!("HESO_GIT_COMMIT");

pub(crate) fn run(args: &VersionArgs) -> u8 {
    let features: Vec<&str> = if cfg!(target_feature = "crt-static") {
        vec!["crt-static"]
    } else {
        vec![]
    };
    let commit = (!GIT_COMMIT.is_empty()).then_some(GIT_COMMIT);
    if args.json {
        let result = json!({
            "version": heso_core::VERSION,
            "target": TARGET,
            "git_commit": commit,
            "features": features,
        });
        print_json(&envelope("version", 0, result, &[], Value::Null));
    } else {
        let mut facts = vec![TARGET.to_owned()];
        facts.extend(features.iter().map(|f| (*f).to_owned()));
        if let Some(commit) = commit {
            facts.push(format!("commit {}", commit.get(..12).unwrap_or(commit)));
        }
        print_stdout(&format!(
            "heso-compliance {} ({})\n",
            heso_core::VERSION,
            facts.join(", ")
        ));
    }
    0
}
