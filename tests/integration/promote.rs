//! Promotion (SPEC §7): one version moves one zone along the path, edited in place with every
//! other byte, comment and the formatting unchanged; everything else is refused clearly.

use std::path::Path;

use crate::support::{root, run, stderr, stdout};

fn repo(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("clients")).expect("mkdir");
    std::fs::write(dir.path().join("clients/clients.yaml"), text).expect("write");
    dir
}

fn sample() -> String {
    std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample")
}

fn catalog(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("clients/clients.yaml")).expect("read")
}

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn promoting_replaces_exactly_the_version_bytes() {
    let text = sample();
    let dir = repo(&text);
    let out = run(dir.path(), &["promote", "acme-corp", "--to", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = text.replacen(
        "        staging: \"1.2.3\"\n",
        "        staging: \"1.3.0\"\n",
        1,
    );
    assert_ne!(expected, text);
    assert_eq!(
        catalog(dir.path()),
        expected,
        "only the version changes, byte for byte"
    );
    assert!(
        stdout(&out).contains("acme-corp in staging: 1.2.3 -> 1.3.0 (from dev)"),
        "{}",
        stdout(&out)
    );
    // The edited file is still a valid catalog that renders.
    assert_eq!(run(dir.path(), &["validate"]).status.code(), Some(0));
}

#[test]
fn promoting_into_a_missing_zone_adds_one_entry_after_the_previous_zone() {
    // Block mapping with a comment on the previous zone's line.
    let text = sample().replacen(
        "        staging: \"0.1.0\"\n",
        &format!("        staging: \"0.1.0@{DIGEST}\"   # pinned for release\n"),
        1,
    );
    let dir = repo(&text);
    let out = run(dir.path(), &["promote", "initech", "--to", "production"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = text.replacen(
        &format!("        staging: \"0.1.0@{DIGEST}\"   # pinned for release\n"),
        &format!("        staging: \"0.1.0@{DIGEST}\"   # pinned for release\n        production: \"0.1.0@{DIGEST}\"\n"),
        1,
    );
    assert_eq!(catalog(dir.path()), expected);

    // Flow mapping.
    let text = sample().replacen(
        "      versions:\n        dev: \"0.2.0\"\n        staging: \"0.1.0\"\n",
        &format!("      versions: {{dev: \"0.2.0\", staging: 0.1.0@{DIGEST}}}  # flow style\n"),
        1,
    );
    let dir = repo(&text);
    let out = run(dir.path(), &["promote", "initech", "--to", "production"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = text.replacen(
        &format!("staging: 0.1.0@{DIGEST}}}"),
        &format!("staging: 0.1.0@{DIGEST}, production: \"0.1.0@{DIGEST}\"}}"),
        1,
    );
    assert_eq!(catalog(dir.path()), expected);
}

#[test]
fn plain_and_single_quoted_versions_keep_their_style() {
    let text = sample()
        .replacen(
            "        staging: \"5.8.0\"\n",
            "        staging: '5.8.0'\n",
            1,
        )
        .replacen("        dev: \"5.9.0\"\n", "        dev: 5.9.1\n", 1);
    let dir = repo(&text);
    let out = run(dir.path(), &["promote", "bigcorp", "--to", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        catalog(dir.path()),
        text.replacen(
            "        staging: '5.8.0'\n",
            "        staging: '5.9.1'\n",
            1
        )
    );
}

#[test]
fn refusals_leave_the_file_untouched() {
    let text = sample();
    let only_dev = text.replacen(
        "        dev: \"0.2.0\"\n        staging: \"0.1.0\"\n",
        "        dev: \"0.2.0\"\n",
        1,
    );
    let cases: [(&str, &[&str], i32, &str); 6] = [
        (
            &text,
            &["promote", "acme-corp", "--to", "dev"],
            1,
            "first zone of the promotion path",
        ),
        (
            &only_dev,
            &["promote", "initech", "--to", "production"],
            1,
            "has no version in `staging`, the zone before `production`; promotions never skip a zone",
        ),
        (
            &text,
            &["promote", "initech", "--to", "production"],
            1,
            "production versions must be pinned by digest",
        ),
        (
            &text,
            &["promote", "nobody", "--to", "staging"],
            1,
            "client `nobody` is not in the catalog",
        ),
        (
            &text,
            &["promote", "acme-corp", "--to", "qa"],
            1,
            "zone `qa` is not in the catalog",
        ),
        (
            &text.replacen("        dev: \"1.3.0\"", "        dev: \"1.2.3\"", 1),
            &["promote", "acme-corp", "--to", "staging"],
            0,
            "already runs `1.2.3` in `staging`; nothing to promote",
        ),
    ];
    for (text, args, code, message) in cases {
        let dir = repo(text);
        let out = run(dir.path(), args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is unchanged"),
            "{args:?} says the file is unchanged: {}",
            stderr(&out)
        );
        assert_eq!(
            catalog(dir.path()),
            *text,
            "{args:?} left the file untouched"
        );
    }
    // An invalid catalog is refused before anything is planned.
    let dir = repo(&text.replacen("size: small", "size: huge", 1));
    let out = run(dir.path(), &["promote", "acme-corp", "--to", "staging"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn dry_run_shows_the_change_and_writes_nothing() {
    let text = sample();
    let dir = repo(&text);
    let out = run(
        dir.path(),
        &["promote", "bigcorp", "--to", "staging", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("clients/clients.yaml:115: bigcorp in staging: 5.8.0 -> 5.9.0 (from dev)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(catalog(dir.path()), text);
}
