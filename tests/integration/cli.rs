//! The command line's contract: help for every verb, exit codes, streams.

use crate::support::{root, run, stderr, stdout};

#[test]
fn help_describes_every_command() {
    let out = run(&root(), &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for verb in [
        "validate", "render", "schema", "diff", "krm", "package", "verify", "promote", "explain",
        "plugin",
    ] {
        assert!(help.contains(verb), "--help lists `{verb}`");
        let sub = run(&root(), &[verb, "--help"]);
        assert_eq!(sub.status.code(), Some(0), "`{verb} --help` works");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&root(), &["validate", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&root(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn missing_catalog_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("clients/clients.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn catalog_flag_and_positional_are_the_same() {
    let a = run(&root(), &["validate", "tests/fixtures/valid/minimal.yaml"]);
    let b = run(
        &root(),
        &["validate", "--catalog", "tests/fixtures/valid/minimal.yaml"],
    );
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(stdout(&a), stdout(&b));
}

/// `render --zone` with a zone the catalog lacks is an error naming the zones, before the
/// output directory is even created.
#[test]
fn render_of_an_unknown_zone_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("clients")).expect("clients/");
    std::fs::copy(
        root().join("clients/clients.yaml"),
        dir.path().join("clients/clients.yaml"),
    )
    .expect("sample");
    let out = run(dir.path(), &["render", "--zone", "qa"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("zone `qa` is not in the catalog")
            && stderr(&out).contains("dev, staging, production"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("clusters").exists(), "nothing is written");
}
