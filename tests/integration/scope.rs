//! The writer's scope (SPEC §3.4, issue 12): render only ever touches `<output>/<zone>/` for
//! the catalog's own zones, refuses an output directory where that could reach what is not
//! its own, never opens a FIFO or socket it finds (each is an error naming it, at once), and
//! writes Flux paths that depend on where the tree sits, never on the working directory or
//! on how `-o` is spelled.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::assert_exit;
use crate::support::repo_with_catalog;
use crate::support::sample;
use crate::support::{stderr, tenantgen};
use crate::writer::{Tree, sample_tree, snapshot, tree_diff};

/// The sample with its zones renamed (dev, staging, production -> qa, uat, live): a catalog
/// that shares no zone with the sample.
fn sample_with_other_zones() -> String {
    let mut text = sample();
    for (from, to) in [("dev", "qa"), ("staging", "uat"), ("production", "live")] {
        text = text
            .replace(&format!("- name: {from} "), &format!("- name: {to} "))
            .replace(&format!("- name: {from}\n"), &format!("- name: {to}\n"))
            .replace(&format!("        {from}: "), &format!("        {to}: "))
            .replace(&format!("        {from}:\n"), &format!("        {to}:\n"));
    }
    assert!(!text.contains("name: dev") && text.contains("name: live\n"));
    text
}

/// Runs `cmd` with a deadline: a run that blocks (on a FIFO) is killed and the test fails
/// instead of hanging the suite.
#[track_caller]
pub(crate) fn run_with_deadline(mut cmd: Command, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tenantgen");
    let started = Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after 60 s; it blocks instead of failing at once");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn render(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = tenantgen(dir);
    cmd.arg("render").args(args);
    run_with_deadline(cmd, &format!("render {args:?}"))
}

/// Fails unless every file `before` held is still there with the same bytes (new files
/// may appear).
#[track_caller]
fn assert_nothing_lost(before: &Tree, after: &Tree, what: &str) {
    let lost: Vec<String> = tree_diff(before, after)
        .into_iter()
        .filter(|d| !d.starts_with("+ "))
        .collect();
    assert!(
        lost.is_empty(),
        "{what}: lost or changed:\n{}",
        lost.join("\n")
    );
}

fn mkfifo(path: &Path) {
    let out = Command::new("mkfifo")
        .arg(path)
        .output()
        .expect("mkfifo runs");
    assert!(out.status.success(), "mkfifo {}", path.display());
}

#[test]
fn rendering_into_a_sibling_repository_never_loses_a_byte_of_it() {
    let parent = tempfile::tempdir().expect("tempdir");
    let a = parent.path().join("a");
    let b = parent.path().join("b");
    for (repo, text) in [(&a, sample_with_other_zones()), (&b, sample())] {
        fs::create_dir_all(repo.join("clients")).expect("clients/");
        fs::write(repo.join("clients/clients.yaml"), text).expect("catalog");
        assert_exit(
            &render(repo, &[]),
            0,
            "each repository renders its own tree",
        );
    }
    let before_a = snapshot(&a);
    let before_b = snapshot(&b);

    // Each renders into the other's tree: only its own zones are written there.
    assert_exit(&render(&a, &["-o", "../b/clusters"]), 0, "a into b");
    assert_exit(&render(&b, &["-o", "../a/clusters"]), 0, "b into a");
    assert_nothing_lost(&before_a, &snapshot(&a), "a");
    assert_nothing_lost(&before_b, &snapshot(&b), "b");
    assert!(b.join("clusters/live/kustomization.yaml").is_file());
    assert!(a.join("clusters/production/kustomization.yaml").is_file());

    // Their common parent is an ancestor of each catalog: refused, nothing written.
    let before = snapshot(parent.path());
    for repo in [&a, &b] {
        let out = render(repo, &["-o", ".."]);
        assert_exit(&out, 1, "-o ..");
        assert!(stderr(&out).contains("`..`"), "{}", stderr(&out));
    }
    assert_eq!(
        tree_diff(&before, &snapshot(parent.path())),
        Vec::<String>::new()
    );
}

#[test]
fn output_at_the_root_a_home_or_above_the_catalog_is_refused_and_nothing_is_written() {
    let repo = repo_with_catalog(&sample());
    let home = tempfile::tempdir().expect("home");
    let home_path = home.path().display().to_string();
    let before = snapshot(repo.path());
    let before_home = snapshot(home.path());
    for (args, names) in [
        (vec!["-o", "."], "`.`"),
        (vec!["-o", "clients"], "`clients`"),
        (vec!["-o", "clients/.."], "`clients/..`"),
        // Only checked, never rendered, here: a regression must not write into `/dev`.
        // The unit test `the_filesystem_root_is_refused_however_it_is_spelled` covers render.
        (vec!["--check", "-o", "/"], "`/`"),
        (vec!["--check", "-o", "/."], "`/`"),
        (vec!["-o", &home_path], &format!("`{home_path}`")),
    ] {
        let mut cmd = tenantgen(repo.path());
        cmd.env("HOME", home.path()).arg("render").args(&args);
        let out = run_with_deadline(cmd, &format!("render {args:?}"));
        let err = stderr(&out);
        assert_exit(&out, 1, &format!("{args:?}"));
        assert!(err.contains(names), "{args:?} names the path: {err}");
        assert!(err.contains("refusing to render into"), "{args:?}: {err}");
        assert!(err.contains("hint:"), "{args:?}: {err}");
    }
    assert_eq!(
        tree_diff(&before, &snapshot(repo.path())),
        Vec::<String>::new()
    );
    assert_eq!(
        tree_diff(&before_home, &snapshot(home.path())),
        Vec::<String>::new()
    );
    assert!(!Path::new("/dev/tenants").exists() && !Path::new("/dev/kustomization.yaml").exists());
}

#[test]
fn owned_files_outside_the_catalogs_zones_are_out_of_reach() {
    // A zone the catalog no longer has, and owned-looking files beside the zones: untouched.
    let repo = repo_with_catalog(&sample());
    let clusters = repo.path().join("clusters");
    assert_exit(&render(repo.path(), &[]), 0, "first render");
    fs::create_dir_all(clusters.join("old-zone/tenants")).expect("old zone");
    fs::write(
        clusters.join("old-zone/tenants/x.yaml"),
        "# Generated by tenantgen\nkind: X\n",
    )
    .expect("owned file of an old zone");
    fs::write(clusters.join("README.yaml"), "# Generated by tenantgen\n").expect("owned file");
    let before = snapshot(&clusters);
    let out = render(repo.path(), &[]);
    assert_exit(&out, 0, "render");
    assert!(stderr(&out).contains(" 0 removed"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left alone: clusters/old-zone/ (not a zone of the catalog"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        tree_diff(&before, &snapshot(&clusters)),
        Vec::<String>::new()
    );
    assert_exit(
        &render(repo.path(), &["--check"]),
        0,
        "nothing out of scope is extra",
    );
}

#[test]
fn a_fifo_or_socket_in_the_tree_is_an_error_naming_it_never_a_hang() {
    let repo = repo_with_catalog(&sample());
    let clusters = repo.path().join("clusters");
    assert_exit(&render(repo.path(), &[]), 0, "first render");
    // At a generated path, and beside generated files.
    let generated = "clusters/dev/tenants/acme-corp/service.yaml";
    let beside = "clusters/staging/tenants/bigcorp/notes.yaml";
    for (rel, what) in [(generated, "generated path"), (beside, "other path")] {
        let path = repo.path().join(rel);
        let _ = fs::remove_file(&path);
        mkfifo(&path);
        for args in [&[][..], &["--check"][..]] {
            let out = render(repo.path(), args);
            assert_exit(&out, 1, &format!("FIFO at a {what}, render {args:?}"));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("`{rel}` is a FIFO")),
                "{what} {args:?}: {err}"
            );
            assert!(err.contains("hint:"), "{err}");
        }
        assert!(
            fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()),
            "the FIFO is left where it was"
        );
        fs::remove_file(&path).expect("remove FIFO");
    }
    let sock = clusters.join("dev/tenants/acme-corp/service.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("socket");
    let out = render(repo.path(), &["--check"]);
    assert_exit(&out, 1, "socket");
    assert!(stderr(&out).contains("is a socket"), "{}", stderr(&out));
    drop(_listener);
    fs::remove_file(&sock).expect("remove socket");

    // A device (the null device's numbers); creating one needs root, as CI runs.
    let made = Command::new("mknod")
        .arg(&sock)
        .args(["c", "1", "3"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !made {
        eprintln!("SKIPPED the device case: mknod is refused here");
        return;
    }
    for args in [&[][..], &["--check"][..]] {
        let out = render(repo.path(), args);
        assert_exit(&out, 1, "device");
        assert!(stderr(&out).contains("is a device"), "{}", stderr(&out));
    }
}

#[test]
fn a_fifo_in_the_committed_tree_makes_diff_fail_at_once() {
    let repo = crate::diff::Repo::new();
    let rel = "clusters/dev/tenants/acme-corp/service.yaml";
    fs::remove_file(repo.path().join(rel)).expect("remove");
    mkfifo(&repo.path().join(rel));
    for extra in [&[][..], &["--compare", "generator"][..]] {
        let mut cmd = tenantgen(repo.path());
        cmd.args(["diff", "--base", "main"]).args(extra);
        let out = run_with_deadline(cmd, "diff");
        assert_exit(&out, 1, &format!("diff {extra:?}"));
        assert!(
            stderr(&out).contains("service.yaml` is a FIFO"),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
}

/// The tree's Flux paths for `zone` (the paths of `infrastructure.yaml` and `tenants.yaml`).
fn flux_paths(tree: &Tree) -> Vec<String> {
    tree.iter()
        .filter(|(p, _)| p.ends_with("dev/tenants.yaml") || p.ends_with("dev/infrastructure.yaml"))
        .flat_map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .lines()
                .filter(|l| l.trim_start().starts_with("path: "))
                .map(|l| l.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn flux_paths_do_not_depend_on_the_working_directory_or_the_spelling_of_o() {
    // Without git, the output directory's parent is what Flux syncs: today's bytes.
    let plain = repo_with_catalog(&sample());
    assert_exit(&render(plain.path(), &[]), 0, "render");
    assert_eq!(
        tree_diff(sample_tree(), &snapshot(&plain.path().join("clusters"))),
        Vec::<String>::new()
    );
    assert!(
        flux_paths(sample_tree()).contains(&"path: ./clusters/dev/tenants".to_owned()),
        "{:?}",
        flux_paths(sample_tree())
    );

    // In a git repository (a `.git` entry is enough), every spelling gives the same bytes.
    let repo = repo_with_catalog(&sample());
    fs::create_dir(repo.path().join(".git")).expect(".git");
    let abs = repo.path().join("clusters").display().to_string();
    assert_exit(&render(repo.path(), &["-o", "clusters"]), 0, "render");
    assert_eq!(
        tree_diff(sample_tree(), &snapshot(&repo.path().join("clusters"))),
        Vec::<String>::new(),
        "the default case keeps its bytes"
    );
    for spelling in ["clusters", "./clusters/", abs.as_str()] {
        let out = render(repo.path(), &["--check", "-o", spelling]);
        assert_exit(&out, 0, &format!("-o {spelling} gives the same bytes"));
    }
    let out = render(
        &repo.path().join("clients"),
        &["--check", "clients.yaml", "-o", "../clusters"],
    );
    assert_exit(
        &out,
        0,
        "from a subdirectory, -o ../clusters gives the same bytes",
    );

    // A tree deeper in the repository: paths from the repository's top level.
    assert_exit(
        &render(repo.path(), &["-o", "deploy/clusters2"]),
        0,
        "deeper",
    );
    let deeper = snapshot(&repo.path().join("deploy/clusters2"));
    assert!(
        flux_paths(&deeper).contains(&"path: ./deploy/clusters2/dev/tenants".to_owned()),
        "{:?}",
        flux_paths(&deeper)
    );
    let out = render(
        &repo.path().join("clients"),
        &[
            "--check",
            "clients.yaml",
            "-o",
            &format!("{}/deploy/clusters2", repo.path().display()),
        ],
    );
    assert_exit(&out, 0, "absolute -o from elsewhere gives the same bytes");

    // Outside any repository, `-o ../x` syncs from x's parent: never `./../x`.
    let parent = tempfile::tempdir().expect("tempdir");
    let work = parent.path().join("w");
    fs::create_dir_all(work.join("clients")).expect("clients/");
    fs::write(work.join("clients/clients.yaml"), sample()).expect("catalog");
    assert_exit(&render(&work, &["-o", "../x"]), 0, "render beside");
    let paths = flux_paths(&snapshot(&parent.path().join("x")));
    assert!(
        paths.contains(&"path: ./x/dev/tenants".to_owned()),
        "{paths:?}"
    );
}
