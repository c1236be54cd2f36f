//! Puts the commit into `tenantgen --version` when the build runs inside a git checkout, so a
//! report or a bug can be traced to the exact source; outside git only the version is shown.

use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let full = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => version.to_owned(),
    };
    println!("cargo:rustc-env=TENANTGEN_VERSION={full}");
    // A new commit changes HEAD or the branch it points to. Only paths that exist are named:
    // cargo reruns the script on every build for a missing one.
    let git = |arg: &str| {
        Command::new("git")
            .args(["rev-parse", "--path-format=absolute", arg])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| std::path::PathBuf::from(s.trim()))
    };
    let dirs = [
        git("--git-dir").map(|d| d.join("HEAD")),
        git("--git-common-dir").map(|d| d.join("refs/heads")),
        git("--git-common-dir").map(|d| d.join("packed-refs")),
    ];
    for path in dirs.into_iter().flatten().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
