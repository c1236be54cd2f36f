//! What users read when they get a name or a path wrong (every error ends with a `hint:`), and
//! the progress line of long renders, which only a person at a terminal ever sees.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::repo_with_catalog as repo;
use crate::support::sample;
use crate::support::{root, run, stderr, stdout, tenantgen};

/// Exit 1, nothing on stdout, `needle` and a hint on stderr.
fn fails_saying(out: &Output, needle: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(stdout(out).is_empty(), "nothing on stdout: {}", stdout(out));
    assert!(err.contains(needle), "stderr says {needle:?}:\n{err}");
    assert!(err.contains("\n  hint: "), "the error has a hint:\n{err}");
    err
}

#[test]
fn a_missing_catalog_is_called_missing_by_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &["validate", "nope.yaml"][..],
        &["render", "nope.yaml"],
        &["explain", "acme-corp", "--catalog", "nope.yaml"],
        &[
            "promote",
            "acme-corp",
            "--to",
            "staging",
            "--catalog",
            "nope.yaml",
        ],
    ] {
        let err = fails_saying(
            &run(dir.path(), args),
            "error: `nope.yaml`: the catalog file does not exist",
        );
        assert!(err.contains("--catalog FILE"), "{args:?}: {err}");
        assert!(err.contains("tenantgen init"), "{args:?}: {err}");
        for noise in ["failed to query", "os error", "not a valid catalog"] {
            assert!(!err.contains(noise), "{args:?} says {noise:?}: {err}");
        }
    }
    assert!(
        !dir.path().join("clusters").exists(),
        "render wrote nothing"
    );
}

#[test]
fn a_missing_catalog_names_the_one_that_is_there() {
    let dir = repo(&sample());
    // The other extension.
    let err = fails_saying(
        &run(dir.path(), &["validate", "clients/clients.yml"]),
        "does not exist",
    );
    assert!(
        err.contains("hint: did you mean `clients/clients.yaml`?"),
        "{err}"
    );
    // Run from inside the repository rather than at its top.
    let err = fails_saying(
        &run(&dir.path().join("clients"), &["validate"]),
        "does not exist",
    );
    assert!(
        err.contains("hint: did you mean `../clients/clients.yaml`?"),
        "{err}"
    );
}

#[test]
fn a_directory_given_as_the_catalog_is_called_a_directory() {
    let empty = tempfile::tempdir().expect("tempdir");
    let d = empty.path().display().to_string();
    let err = fails_saying(
        &run(&root(), &["validate", &d]),
        &format!("error: `{d}`: a directory, not a catalog file"),
    );
    assert!(
        err.contains(&format!(
            "hint: pass the catalog file, e.g. `{d}/clients/clients.yaml`"
        )),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");

    let full = repo(&sample());
    let d = full.path().display().to_string();
    for args in [
        &["validate", d.as_str()][..],
        &["render", d.as_str()],
        &[
            "promote",
            "acme-corp",
            "--to",
            "staging",
            "--catalog",
            d.as_str(),
        ],
        &["explain", "acme-corp", "--catalog", d.as_str()],
    ] {
        let err = fails_saying(&run(&root(), args), "a directory, not a catalog file");
        assert!(
            err.contains(&format!("`{d}/clients/clients.yaml` is there")),
            "{args:?}: {err}"
        );
    }
    // A catalog named `clients.yaml` directly inside is found too.
    let err = fails_saying(
        &run(&root(), &["validate", &format!("{d}/clients")]),
        "a directory",
    );
    assert!(
        err.contains(&format!("`{d}/clients/clients.yaml` is there")),
        "{err}"
    );
}

#[test]
fn promote_of_a_misspelt_client_names_the_closest_and_a_few_others() {
    let text = sample();
    let dir = repo(&text);
    let err = fails_saying(
        &run(dir.path(), &["promote", "acme-crop", "--to", "staging"]),
        "client `acme-crop` is not in the catalog",
    );
    assert!(
        err.contains("hint: did you mean `acme-corp`? other clients: `bloom-florists`, "),
        "{err}"
    );
    assert!(!err.contains("zones"), "says nothing about zones: {err}");
    // A misspelt client is reported as such even when promoting into the first zone.
    let err = fails_saying(
        &run(dir.path(), &["promote", "initeck", "--to", "dev"]),
        "client `initeck` is not in the catalog",
    );
    assert!(err.contains("did you mean `initech`?"), "{err}");
    // Nothing alike: the clients are listed.
    let err = fails_saying(
        &run(dir.path(), &["promote", "zzz", "--to", "staging"]),
        "client `zzz` is not in the catalog",
    );
    assert!(
        err.contains("hint: no client is named like that; clients: `acme-corp`, "),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("clients/clients.yaml")).expect("read"),
        text,
        "the catalog is unchanged"
    );
}

#[test]
fn promote_of_a_misspelt_zone_lists_the_zones_in_path_order() {
    let dir = repo(&sample());
    let err = fails_saying(
        &run(dir.path(), &["promote", "acme-corp", "--to", "stagign"]),
        "zone `stagign` is not in the catalog",
    );
    assert!(
        err.contains(
            "hint: did you mean `staging`? the zones, in promotion order: `dev` -> `staging` -> `production`"
        ),
        "{err}"
    );
    let err = fails_saying(
        &run(dir.path(), &["promote", "acme-corp", "--to", "qa"]),
        "zone `qa` is not in the catalog",
    );
    assert!(
        err.contains("hint: the zones, in promotion order: `dev` -> `staging` -> `production`"),
        "{err}"
    );
}

#[test]
fn explain_of_a_misspelt_client_or_zone_suggests_the_right_one() {
    let dir = repo(&sample());
    let err = fails_saying(
        &run(dir.path(), &["explain", "bigcrop"]),
        "client `bigcrop` is not in `clients/clients.yaml`",
    );
    assert!(err.contains("hint: did you mean `bigcorp`?"), "{err}");
    // An abbreviation counts as a misspelling.
    let err = fails_saying(
        &run(dir.path(), &["explain", "bigcorp", "--zone", "prod"]),
        "zone `prod` is not in `clients/clients.yaml`",
    );
    assert!(
        err.contains(
            "hint: did you mean `production`? the zones, in promotion order: `dev` -> `staging` -> `production`"
        ),
        "{err}"
    );
}

#[test]
fn an_invalid_catalog_stops_explain_and_promote_with_a_hint() {
    let dir = repo(&sample().replacen("size: small", "size: huge", 1));
    for args in [
        &["explain", "acme-corp"][..],
        &["promote", "acme-corp", "--to", "staging"],
    ] {
        fails_saying(&run(dir.path(), args), "is not a valid catalog: 1 error");
    }
}

/// The sample's MQTT broker keeps its message store on a single-node volume: asking for two
/// replicas of it is refused at the field written, naming the client, the workload and the
/// volume, and either way out the hint offers makes the catalog valid again.
#[test]
fn a_single_node_volume_refuses_more_replicas_where_they_are_written() {
    let command = "command: [mosquitto, -c, /mosquitto/config/mosquitto.conf]\n";
    let broken = sample().replacen(command, &format!("{command}          replicas: 2\n"), 1);
    assert_ne!(broken, sample(), "the sample still has the broker");
    let err = fails_saying(
        &run(repo(&broken).path(), &["validate"]),
        "[single-node-volume-replicas]",
    );
    assert!(
        err.contains("spec.clients[sensorhub].workloads.broker.replicas: workload `broker` of client `sensorhub` mounts single-node volume `data`"),
        "{err}"
    );
    assert!(
        err.contains("set it to 1 or remove it, or give `data` `access: shared`"),
        "{err}"
    );
    assert!(err.contains("is not a valid catalog: 1 error"), "{err}");
    for fixed in [
        broken.replacen(
            &format!("{command}          replicas: 2\n"),
            &format!("{command}          replicas: 1\n"),
            1,
        ),
        broken.replacen(
            "access: single-node, mounts: {broker:",
            "access: shared, mounts: {broker:",
            1,
        ),
    ] {
        assert_ne!(fixed, broken);
        let out = run(repo(&fixed).path(), &["validate"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}

// Progress. The one-second delay is set to 0 (`TENANTGEN_PROGRESS_AFTER_MS`), so that a small
// catalog would show the line wherever it is allowed.

fn big_repo() -> tempfile::TempDir {
    repo(&tenantgen::synthetic::catalog(300))
}

#[test]
fn piped_stderr_never_holds_the_progress_line() {
    let dir = big_repo();
    for args in [&["render"][..], &["render", "--check"]] {
        let out = tenantgen(dir.path())
            .args(args)
            .env("TENANTGEN_PROGRESS_AFTER_MS", "0")
            .output()
            .expect("tenantgen runs");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            !err.contains('\r') && !err.contains("rendering ") && !err.contains("checking "),
            "{args:?}: no progress in a pipe:\n{err}"
        );
    }
}

/// Runs `tenantgen render` in `dir` with stderr on a pseudo-terminal, through util-linux
/// `script`; what the terminal showed, or None (with the reason printed) without `script`.
fn render_on_a_terminal(dir: &Path, env: &[(&str, &str)]) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_tenantgen");
    let probe = Command::new("script").arg("--version").output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: util-linux `script` is not installed, so no terminal can be faked");
        return None;
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("'{bin}' render"), "/dev/null"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("TENANTGEN_PROGRESS_AFTER_MS", "0")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("script runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    Some(stdout(&out))
}

#[test]
fn a_terminal_sees_the_progress_line_erased_before_the_summary() {
    let dir = big_repo();
    let Some(screen) = render_on_a_terminal(dir.path(), &[]) else {
        return;
    };
    assert!(
        screen.contains("\rrendering dev: 1/300 clients"),
        "the line counts clients: {screen:?}"
    );
    assert!(screen.contains("/300 clients"), "{screen:?}");
    let summary = screen
        .find("rendered `clients/clients.yaml`")
        .expect("summary");
    let before = &screen[..summary];
    assert!(
        before.ends_with('\r') && before.trim_end_matches('\r').ends_with(' '),
        "the line is blanked and the cursor back at the start before the summary: {:?}",
        &before[before.len().saturating_sub(80)..]
    );
    assert!(
        !screen[summary..].contains("rendering "),
        "no progress after the summary: {screen:?}"
    );
}

#[test]
fn ci_and_dumb_terminals_never_see_the_progress_line() {
    let dir = big_repo();
    for env in [[("CI", "true")], [("TERM", "dumb")]] {
        let Some(screen) = render_on_a_terminal(dir.path(), &env) else {
            return;
        };
        assert!(
            screen.contains("rendered `clients/clients.yaml`"),
            "{screen:?}"
        );
        assert!(!screen.contains("rendering "), "{env:?}: {screen:?}");
        std::fs::remove_dir_all(dir.path().join("clusters")).expect("clean");
    }
}
