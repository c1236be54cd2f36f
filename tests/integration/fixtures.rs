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
    insta::assert_snapshot!(stdout(&out), @"clients/clients.yaml: valid, 8 clients (dev 8, staging 8, production 7)\n");
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

#[test]
fn yaml_1_1_lookalikes_stay_the_text_the_user_wrote() {
    let checked =
        tenantgen::check::check_file(&root().join("tests/fixtures/valid/yaml11_lookalikes.yaml"))
            .expect("valid");
    let m = &checked.model;
    let acme = m
        .clients
        .iter()
        .find(|c| c.name == "acme-corp")
        .expect("acme-corp");
    let want = [
        ("ENABLED", "on"),
        ("MODE", "NO"),
        ("UMASK", "0755"),
        ("RATIO", "1.10"),
    ];
    for (k, v) in want {
        assert_eq!(
            acme.config.get(k).map(String::as_str),
            Some(v),
            "config {k}"
        );
    }
    assert_eq!(
        acme.deployments["dev"].version, "1.10",
        "an unquoted 1.10 is not the number 1.1"
    );
    let no = m
        .clients
        .iter()
        .find(|c| c.name == "no")
        .expect("a client named `no` is a name, not false");
    assert_eq!(
        no.deployments["dev"].image,
        "registry.example.com/no/web:2.0"
    );
    assert_eq!(no.config.get("RETRIES").map(String::as_str), Some("010"));
    assert_eq!(no.config.get("DEBUG").map(String::as_str), Some("off"));
    // ... and kubectl reads them back as the same strings from the rendered ConfigMap.
    let repo =
        crate::support::rendered_repo(&root().join("tests/fixtures/valid/yaml11_lookalikes.yaml"));
    let text = std::fs::read_to_string(
        repo.path()
            .join("clusters/dev/tenants/acme-corp/configmap.yaml"),
    )
    .expect("configmap");
    for line in [
        "ENABLED: \"on\"",
        "MODE: \"NO\"",
        "UMASK: \"0755\"",
        "RATIO: \"1.10\"",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[test]
fn a_catalog_without_zones_gets_dev_staging_production() {
    let checked = tenantgen::check::check_file(&root().join("tests/fixtures/valid/minimal.yaml"))
        .expect("valid");
    let zones: Vec<_> = checked
        .model
        .zones
        .iter()
        .map(|z| (z.name.as_str(), z.production))
        .collect();
    assert_eq!(
        zones,
        vec![("dev", false), ("staging", false), ("production", true)]
    );
    let out = run(&root(), &["validate", "tests/fixtures/valid/minimal.yaml"]);
    assert!(
        stdout(&out).contains("(dev 2, staging 0, production 0)"),
        "{}",
        stdout(&out)
    );
}
