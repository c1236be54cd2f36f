//! Fixture folders drive these tests: adding a case is adding a file.
//! `tests/fixtures/invalid/<rule>.yaml` must fail with the snapshotted diagnostics;
//! `tests/fixtures/valid/*.yaml` must pass.

use crate::support::{root, run, stderr, stdout};

#[test]
fn invalid_fixtures_report_their_problem() {
    let dir = root().join("tests/fixtures/invalid");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 30,
        "at least 30 invalid fixtures, found {}",
        names.len()
    );
    for name in names {
        let rel = format!("tests/fixtures/invalid/{name}");
        let out = run(&root(), &["validate", &rel]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{rel} must be rejected with exit 1\n{}",
            stderr(&out)
        );
        assert!(
            stdout(&out).is_empty(),
            "{rel}: nothing on stdout for an invalid catalog"
        );
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{rel}:")),
            "{rel}: every problem names the file\n{err}"
        );
        assert!(
            err.contains("hint:"),
            "{rel}: every problem has a hint\n{err}"
        );
        insta::with_settings!({snapshot_suffix => name.trim_end_matches(".yaml"), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("invalid", err);
        });
    }
}

#[test]
fn valid_fixtures_pass() {
    let dir = root().join("tests/fixtures/valid");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let rel = format!("tests/fixtures/valid/{name}");
        let out = run(&root(), &["validate", &rel]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{rel} must validate\n{}",
            stderr(&out)
        );
        assert!(
            stdout(&out).starts_with(&format!("{rel}: valid, ")),
            "{rel}: one-line summary\n{}",
            stdout(&out)
        );
    }
}

#[test]
fn sample_catalog_validates_with_clients_per_zone() {
    let out = run(&root(), &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out), @"clients/clients.yaml: valid, 6 clients (dev 6, staging 6, production 5)\n");
}

#[test]
fn every_problem_is_reported_at_once() {
    let out = run(&root(), &["validate", "tests/fixtures/many_problems.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn schema_file_is_current() {
    let out = run(&root(), &["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed =
        std::fs::read_to_string(root().join("schema/clients.schema.json")).unwrap_or_default();
    assert!(
        committed == stdout(&out),
        "schema/clients.schema.json is stale; regenerate it with:\n    cargo run -- schema > schema/clients.schema.json"
    );
}
