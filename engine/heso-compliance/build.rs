//! Records build facts that `heso-compliance version --json` reports.

fn main() {
    // The target triple is only known to build scripts; pass it on to the crate.
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=HESO_TARGET={target}");
    // Set by `nox -s build`; empty for builds from an sdist or a plain `cargo build`.
    println!("cargo:rerun-if-env-changed=HESO_GIT_COMMIT");
    let commit = std::env::var("HESO_GIT_COMMIT").unwrap_or_default();
    println!("cargo:rustc-env=HESO_GIT_COMMIT={commit}");
}
