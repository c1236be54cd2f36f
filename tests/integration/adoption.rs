//! A stranger adopting tenantgen: `init` makes a repository that validates and renders at once
//! and never overwrites a file; completions and the man page come from the real flags; the
//! version names the commit it was built from.

use crate::support::{root, run, stderr, stdout};

#[test]
fn init_makes_a_repository_that_validates_and_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("Ops Repo");
    let out = run(
        dir.path(),
        &["init", "Ops Repo", "--domain", "sites.example.net"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let catalog = std::fs::read_to_string(repo.join("clients/clients.yaml")).expect("catalog");
    assert!(
        catalog.starts_with("# yaml-language-server: $schema=../schema/clients.schema.json\n"),
        "the modeline points at the schema init wrote"
    );
    assert!(catalog.contains("name: ops-repo"), "{catalog}");
    assert!(catalog.contains("domain: sites.example.net"), "{catalog}");
    let schema = std::fs::read_to_string(repo.join("schema/clients.schema.json")).expect("schema");
    assert_eq!(schema, stdout(&run(dir.path(), &["schema"])));
    // The pull-request workflow for a repository without tenantgen's source, and the script
    // it runs: this repository's script, byte for byte.
    let workflow =
        std::fs::read_to_string(repo.join(".github/workflows/tenantgen-diff.yaml")).expect("wf");
    assert!(
        workflow.contains(&format!(
            "TENANTGEN_VERSION: \"{}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "pinned to the running version: {workflow}"
    );
    assert_eq!(
        std::fs::read(repo.join(".github/tenantgen/pr-comment.py")).expect("script"),
        std::fs::read(root().join("scripts/pr-comment.py")).expect("scripts/pr-comment.py"),
    );
    for args in [&["validate"][..], &["render"], &["render", "--check"]] {
        let out = run(&repo, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    assert!(
        repo.join("clusters/dev/tenants/example/deployment.yaml")
            .is_file()
    );
}

#[test]
fn init_never_overwrites_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("schema")).expect("mkdir");
    std::fs::write(dir.path().join("schema/clients.schema.json"), "mine").expect("write");
    let out = run(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exist"), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("schema/clients.schema.json")).expect("read"),
        "mine"
    );
    assert!(
        !dir.path().join("clients").exists(),
        "nothing is written when any file is taken"
    );
}

#[test]
fn init_never_overwrites_an_existing_workflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workflow = dir.path().join(".github/workflows/tenantgen-diff.yaml");
    std::fs::create_dir_all(workflow.parent().expect("parent")).expect("mkdir");
    std::fs::write(&workflow, "name: mine\n").expect("write");
    let out = run(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("tenantgen-diff.yaml` already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&workflow).expect("read"),
        "name: mine\n"
    );
    assert!(!dir.path().join("clients").exists());
    assert!(!dir.path().join(".github/tenantgen").exists());
}

#[test]
fn init_refuses_a_domain_that_would_not_validate_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["init", "new", "--domain", "not a domain"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    assert!(!dir.path().join("new").exists());
}

#[test]
fn completions_and_man_page_come_from_the_real_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shell in ["bash", "zsh", "fish"] {
        let out = run(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        for verb in ["validate", "render", "promote", "init", "completions"] {
            assert!(text.contains(verb), "{shell} completions offer `{verb}`");
        }
    }
    let out = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    let man = stdout(&run(dir.path(), &["man"]));
    assert!(
        man.starts_with(".ie") || man.contains(".TH tenantgen 1"),
        "{man}"
    );
    assert!(man.contains("render"), "the man page lists the commands");
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["--version"]);
    let text = stdout(&out);
    assert!(text.starts_with("tenantgen 0."), "{text}");
    // The suite runs in a git checkout (CI clones one), so the commit must be there.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git");
    if head.status.success() {
        let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
        assert!(
            text.contains(&format!("(commit {head})")),
            "{text} vs {head}"
        );
    }
}
