//! The writer (SPEC §3.4, issue "Safe to re-run"): tenantgen owns the files that start with
//! its header and nothing else; it never rewrites an unchanged file, never touches or removes
//! a file it does not own, never writes through a symlink, refuses to empty a tree by
//! accident, and a lock keeps two runs apart. Each test renders into a temporary repository.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use crate::determinism::{without_client, without_clients};
use crate::support::repo_with_catalog;
use crate::support::sample;
use crate::support::{root, run, stderr};

/// A directory tree as sorted (relative path, bytes): files as themselves, directories as
/// `path/` with no bytes, symlinks as `path@` with their target (never followed).
pub(crate) type Tree = Vec<(String, Vec<u8>)>;

pub(crate) fn snapshot(dir: &Path) -> Tree {
    fn walk(base: &Path, dir: &Path, out: &mut Tree) {
        for entry in fs::read_dir(dir).expect("list dir").flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            let ft = entry.file_type().expect("file type");
            if ft.is_symlink() {
                let target = fs::read_link(&path).expect("read link");
                out.push((
                    format!("{rel}@"),
                    target.to_string_lossy().into_owned().into_bytes(),
                ));
            } else if ft.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(base, &path, out);
            } else {
                out.push((rel, fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// What differs between two snapshots: `+ path` (only in `after`), `- path` (only in
/// `before`), `~ path` (other bytes).
pub(crate) fn tree_diff(before: &Tree, after: &Tree) -> Vec<String> {
    let b: std::collections::BTreeMap<_, _> = before.iter().map(|(p, x)| (p, x)).collect();
    let a: std::collections::BTreeMap<_, _> = after.iter().map(|(p, x)| (p, x)).collect();
    let mut out = Vec::new();
    for (p, x) in &b {
        match a.get(p) {
            None => out.push(format!("- {p}")),
            Some(y) if y != x => out.push(format!("~ {p}")),
            Some(_) => {}
        }
    }
    out.extend(
        a.keys()
            .filter(|p| !b.contains_key(*p))
            .map(|p| format!("+ {p}")),
    );
    out.sort_by(|x, y| x[2..].cmp(&y[2..]));
    out
}

/// Fails, listing what changed, unless `dir` still holds exactly `before`.
#[track_caller]
fn assert_unchanged(dir: &Path, before: &Tree, what: &str) {
    let diff = tree_diff(before, &snapshot(dir));
    assert!(
        diff.is_empty(),
        "{what}: {dir:?} changed:\n{}",
        diff.join("\n")
    );
}

fn set_catalog(repo: &Path, text: &str) {
    fs::write(repo.join("clients/clients.yaml"), text).expect("catalog");
}

/// The sample with acme-corp's dev version bumped: a catalog change that rewrites files.
fn sample_bumped() -> String {
    let text = sample();
    assert!(text.contains(r#"dev: "1.3.0""#));
    text.replacen(r#"dev: "1.3.0""#, r#"dev: "1.3.1""#, 1)
}

fn render(repo: &Path, args: &[&str]) -> Output {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    run(repo, &all)
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    crate::support::assert_exit(out, code, "render");
}

/// The sample catalog's `clusters/` tree, rendered once per test process (a full render
/// syncs every file, which costs seconds on a slow disk).
pub(crate) fn sample_tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let repo = repo_with_catalog(&sample());
        let out = render(repo.path(), &[]);
        assert_exit(&out, 0);
        snapshot(&repo.path().join("clusters"))
    })
}

/// Writes `tree` (as taken by [`snapshot`]) under `dir`.
fn materialize(tree: &Tree, dir: &Path) {
    fs::create_dir_all(dir).expect("create dir");
    for (rel, bytes) in tree {
        if let Some(d) = rel.strip_suffix('/') {
            fs::create_dir_all(dir.join(d)).expect("create dir");
        } else {
            fs::write(dir.join(rel), bytes).expect("write file");
        }
    }
}

/// A repository with the sample catalog and its rendered tree, which `render --check` finds
/// up to date.
fn rendered_sample() -> tempfile::TempDir {
    let repo = repo_with_catalog(&sample());
    materialize(sample_tree(), &repo.path().join("clusters"));
    let out = render(repo.path(), &["--check"]);
    assert_exit(&out, 0);
    repo
}

/// Every file and directory under `dir` (symlinks not followed).
fn all_paths(dir: &Path) -> Vec<std::path::PathBuf> {
    snapshot(dir)
        .into_iter()
        .map(|(p, _)| dir.join(p.trim_end_matches('/')))
        .collect()
}

const OLD: Duration = Duration::from_secs(1_000_000_000);

fn age(path: &Path) {
    let f = File::open(path).expect("open");
    f.set_modified(SystemTime::UNIX_EPOCH + OLD)
        .expect("set mtime");
}

/// (inode, mtime in ns) of `path`.
fn stamp(path: &Path) -> (u64, i128) {
    let m = fs::symlink_metadata(path).expect("metadata");
    (
        m.ino(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    )
}

const CLIENTS: [&str; 6] = [
    "acme-corp",
    "bigcorp",
    "bloom-florists",
    "globex",
    "initech",
    "northwind-traders",
];
const ZONES: [&str; 3] = ["dev", "staging", "production"];

#[test]
fn second_render_rewrites_nothing() {
    let repo = repo_with_catalog(&sample());
    let clusters = repo.path().join("clusters");
    let first = render(repo.path(), &[]);
    assert_exit(&first, 0);
    assert!(
        !stderr(&first).contains(" 0 created"),
        "the first render creates files: {}",
        stderr(&first)
    );
    for zone in ZONES {
        for client in ["acme-corp", "bigcorp"] {
            assert!(
                clusters
                    .join(format!("{zone}/tenants/{client}/kustomization.yaml"))
                    .is_file()
            );
        }
    }

    // Age everything so a rewrite (or a rename over it) would show.
    let mut paths = all_paths(&clusters);
    assert!(paths.len() > 50, "{} paths", paths.len());
    paths.push(clusters.clone());
    for p in &paths {
        age(p);
    }
    let before: Vec<_> = paths.iter().map(|p| (p.clone(), stamp(p))).collect();
    let tree = snapshot(&clusters);

    let second = render(repo.path(), &[]);
    assert_exit(&second, 0);
    assert!(
        stderr(&second).contains("0 created, 0 updated, 0 removed"),
        "{}",
        stderr(&second)
    );
    assert_unchanged(&clusters, &tree, "the tree is unchanged");
    for (p, s) in &before {
        assert_eq!(stamp(p), *s, "{p:?} kept its inode and mtime");
    }
}

#[test]
fn files_tenantgen_does_not_own_are_never_touched() {
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    let notes = clusters.join("dev/notes.md");
    let extra = clusters.join("dev/tenants/acme-corp/extra.yaml");
    let notes_text = "# Notes\nThe dev cluster is rebuilt on Mondays.\n";
    let extra_text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n";
    fs::write(&notes, notes_text).expect("notes");
    fs::write(&extra, extra_text).expect("extra");
    age(&notes);
    age(&extra);
    let (notes_stamp, extra_stamp) = (stamp(&notes), stamp(&extra));
    let check = |when: &str| {
        assert_eq!(
            fs::read_to_string(&notes).ok().as_deref(),
            Some(notes_text),
            "{when}"
        );
        assert_eq!(
            fs::read_to_string(&extra).ok().as_deref(),
            Some(extra_text),
            "{when}"
        );
        assert_eq!(stamp(&notes), notes_stamp, "{when}: notes.md untouched");
        assert_eq!(stamp(&extra), extra_stamp, "{when}: extra.yaml untouched");
    };

    let out = render(repo.path(), &[]);
    assert_exit(&out, 0);
    check("re-render");

    // A change that rewrites acme-corp's own files in dev.
    set_catalog(repo.path(), &sample_bumped());
    let out = render(repo.path(), &[]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains(", 1 updated,"), "{}", stderr(&out));
    check("render with a changed client");
    let kust = fs::read_to_string(clusters.join("dev/tenants/acme-corp/kustomization.yaml"))
        .expect("kustomization");
    assert!(
        !kust.contains("extra.yaml"),
        "a foreign file is not listed:\n{kust}"
    );

    // Its client removed: the owned files go, the foreign ones stay.
    set_catalog(repo.path(), &without_client(&sample(), "acme-corp"));
    let out = render(repo.path(), &[]);
    assert_exit(&out, 0);
    check("render with the client removed");
    assert!(!clusters.join("dev/tenants/acme-corp/service.yaml").exists());
    assert!(!clusters.join("dev/tenants/acme-corp.yaml").exists());
    let left: Vec<_> = snapshot(&clusters.join("dev/tenants/acme-corp"))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(left, ["extra.yaml"], "only the foreign file is left");
}

#[test]
fn removing_a_client_removes_its_files_and_kustomization_entry() {
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    for zone in ZONES {
        assert!(
            clusters
                .join(format!("{zone}/tenants/globex.yaml"))
                .is_file()
        );
        assert!(clusters.join(format!("{zone}/tenants/globex")).is_dir());
    }
    set_catalog(repo.path(), &without_client(&sample(), "globex"));
    let out = render(repo.path(), &[]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains(" 0 created,"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(" 0 removed"), "{}", stderr(&out));
    for zone in ZONES {
        let tenants = clusters.join(format!("{zone}/tenants"));
        assert!(!tenants.join("globex.yaml").exists(), "{zone}");
        assert!(
            !tenants.join("globex").exists(),
            "{zone}: the emptied directory is removed"
        );
        let kust = fs::read_to_string(tenants.join("kustomization.yaml")).expect("kustomization");
        assert!(!kust.contains("globex"), "{zone}:\n{kust}");
        assert!(
            kust.contains("bigcorp.yaml"),
            "{zone}: others stay:\n{kust}"
        );
        assert!(tenants.join("bigcorp/deployment.yaml").is_file());
    }
    let gone: Vec<_> = snapshot(&clusters)
        .into_iter()
        .filter(|(p, b)| p.contains("globex") || String::from_utf8_lossy(b).contains("ded-globex"))
        .map(|(p, _)| p)
        .collect();
    assert!(gone.is_empty(), "nothing of globex is left: {gone:?}");
}

#[test]
fn hand_written_file_at_a_generated_path_fails_and_changes_nothing() {
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    let service = clusters.join("dev/tenants/acme-corp/service.yaml");
    fs::write(
        &service,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: mine\n",
    )
    .expect("hand-written");
    let before = snapshot(&clusters);

    let out = render(repo.path(), &[]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("clusters/dev/tenants/acme-corp/service.yaml"),
        "{}",
        stderr(&out)
    );
    assert_unchanged(&clusters, &before, "nothing changed");

    // Even when the catalog would also change, add and remove other files.
    set_catalog(repo.path(), &without_client(&sample_bumped(), "globex"));
    let out = render(repo.path(), &[]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("clusters/dev/tenants/acme-corp/service.yaml"),
        "{}",
        stderr(&out)
    );
    assert_unchanged(&clusters, &before, "nothing changed");
}

#[test]
fn symlink_in_the_tree_is_refused_and_nothing_is_written_through_it() {
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    let elsewhere = repo.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("elsewhere");
    fs::rename(clusters.join("dev/tenants"), elsewhere.join("tenants")).expect("move");
    std::os::unix::fs::symlink("../../elsewhere/tenants", clusters.join("dev/tenants"))
        .expect("symlink");
    // A crash leftover behind the link must not be cleaned through it either.
    fs::write(
        elsewhere.join("tenants/acme-corp/.service.yaml.4242.tenantgen-tmp"),
        "# Generated by tenantgen\n",
    )
    .expect("leftover");
    // A catalog change that would rewrite, add and remove files behind the link.
    set_catalog(repo.path(), &without_client(&sample_bumped(), "globex"));
    let target_before = snapshot(&elsewhere);
    let tree_before = snapshot(&clusters);

    let out = render(repo.path(), &[]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_unchanged(&elsewhere, &target_before, "the target is unchanged");
    assert_unchanged(&clusters, &tree_before, "the tree is unchanged");
}

#[test]
fn symlinked_zone_directory_is_refused_without_deleting_through_it() {
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    let elsewhere = repo.path().join("elsewhere-dev");
    fs::rename(clusters.join("dev"), &elsewhere).expect("move");
    std::os::unix::fs::symlink("../elsewhere-dev", clusters.join("dev")).expect("symlink");
    fs::write(
        elsewhere.join("tenants/acme-corp/.service.yaml.4242.tenantgen-tmp"),
        "# Generated by tenantgen\n",
    )
    .expect("file behind the link");
    let target_before = snapshot(&elsewhere);

    let out = render(repo.path(), &[]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_unchanged(
        &elsewhere,
        &target_before,
        "nothing behind the symlink is written or deleted",
    );
}

#[test]
fn symlinked_output_directory_is_refused_however_it_is_spelled() {
    let repo = rendered_sample();
    let real = repo.path().join("real");
    fs::rename(repo.path().join("clusters"), &real).expect("move");
    std::os::unix::fs::symlink("real", repo.path().join("clusters")).expect("symlink");
    fs::write(
        real.join("dev/tenants/acme-corp/.service.yaml.4242.tenantgen-tmp"),
        "# Generated by tenantgen\n",
    )
    .expect("file behind the link");
    set_catalog(repo.path(), &sample_bumped());
    let before = snapshot(&real);

    for spelling in ["clusters", "clusters/", "./clusters/."] {
        let out = render(repo.path(), &["-o", spelling]);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("symlink"),
            "{spelling}: {}",
            stderr(&out)
        );
        assert_unchanged(
            &real,
            &before,
            &format!("-o {spelling}: nothing written through"),
        );
    }
}

#[test]
fn empty_catalog_over_clients_is_refused_unless_allow_empty() {
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    set_catalog(repo.path(), &without_clients(&sample()));
    let before = snapshot(&clusters);

    let out = render(repo.path(), &[]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
    assert_unchanged(&clusters, &before, "nothing removed");

    let out = render(repo.path(), &["--allow-empty"]);
    assert_exit(&out, 0);
    let after = snapshot(&clusters);
    for client in CLIENTS {
        let left: Vec<_> = after
            .iter()
            .filter(|(p, _)| p.contains(&format!("tenants/{client}")))
            .map(|(p, _)| p)
            .collect();
        assert!(left.is_empty(), "{client} is gone: {left:?}");
    }
    for zone in ZONES {
        // The zone itself is still rendered.
        assert!(
            clusters
                .join(format!("{zone}/kustomization.yaml"))
                .is_file()
        );
    }
}

#[test]
fn check_reports_stale_missing_and_extra_files_and_writes_nothing() {
    // Nothing rendered yet: stale, and the check does not create the tree.
    let empty = repo_with_catalog(&sample());
    let out = render(empty.path(), &["--check"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("missing: clusters/dev/"),
        "{}",
        stderr(&out)
    );
    assert!(
        !empty.path().join("clusters").exists(),
        "--check created the tree"
    );

    // A freshly rendered tree is up to date.
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    let out = render(repo.path(), &["--check"]);
    assert_exit(&out, 0);

    let stale = "clusters/dev/tenants/acme-corp/deployment.yaml";
    let missing = "clusters/staging/tenants/bigcorp/service.yaml";
    let extra = "clusters/production/tenants/globex/service-copy.yaml";
    let mut text = fs::read_to_string(repo.path().join(stale)).expect("generated");
    text.push_str("# hand edit\n");
    fs::write(repo.path().join(stale), text).expect("edit");
    fs::remove_file(repo.path().join(missing)).expect("delete");
    fs::copy(
        repo.path()
            .join("clusters/production/tenants/globex/service.yaml"),
        repo.path().join(extra),
    )
    .expect("copy");
    let before = snapshot(&clusters);

    let out = render(repo.path(), &["--check"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains(&format!("stale: {stale}\n")), "{err}");
    assert!(err.contains(&format!("missing: {missing}\n")), "{err}");
    assert!(err.contains(&format!("extra: {extra}\n")), "{err}");
    let listed = err
        .lines()
        .filter(|l| {
            l.starts_with("stale: ") || l.starts_with("missing: ") || l.starts_with("extra: ")
        })
        .count();
    assert_eq!(listed, 3, "exactly the three changed files:\n{err}");
    assert_unchanged(&clusters, &before, "--check wrote nothing");
}

#[test]
fn invalid_catalog_writes_nothing() {
    let fixture = root().join("tests/fixtures/invalid/duplicate_client_names.yaml");
    let text = fs::read_to_string(fixture).expect("fixture");
    let repo = repo_with_catalog(&text);
    let out = render(repo.path(), &[]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("acme-corp"), "{}", stderr(&out));
    assert!(
        !repo.path().join("clusters").exists(),
        "the output directory is not created"
    );

    // Over an existing tree: untouched.
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    let before = snapshot(&clusters);
    set_catalog(repo.path(), &text);
    let out = render(repo.path(), &[]);
    assert_exit(&out, 1);
    assert_unchanged(&clusters, &before, "unchanged");
}

#[test]
fn a_held_lock_makes_render_fail_fast_and_write_nothing() {
    let repo = rendered_sample();
    let clusters = repo.path().join("clusters");
    set_catalog(repo.path(), &sample_bumped());
    let before = snapshot(&clusters);

    // Another process holds the lock, as another run would. Not this process: every child
    // the parallel tests fork shares this process's descriptors until it execs, so a lock
    // taken here could outlive its drop for a moment and fail the second render below.
    let mut holder = std::process::Command::new("flock")
        .arg("--close")
        .arg(&clusters)
        .args(["sh", "-c", "echo locked; read _"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("`flock` (util-linux) runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("flock reports");
    assert_eq!(line, "locked\n", "the other process holds the lock");
    // The holder keeps the lock until this test releases it below, so a render that waited
    // for the lock would never return: returning at all is failing without waiting. The
    // deadline only turns such a hang into a failure; it is no speed requirement.
    let mut child = crate::support::tenantgen(repo.path())
        .arg("render")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tenantgen");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("poll").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("render waited for the held lock instead of failing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("tenantgen runs");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("lock"), "{}", stderr(&out));
    assert_unchanged(&clusters, &before, "nothing written while locked");

    // Its end releases the lock: closing stdin ends `read`, then flock exits.
    drop(holder.stdin.take());
    holder.wait().expect("flock exits");
    let out = render(repo.path(), &[]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains(", 1 updated,"), "{}", stderr(&out));
}

#[test]
fn leftover_temporary_of_a_crashed_run_is_removed_and_never_listed() {
    let repo = rendered_sample();
    let dir = repo.path().join("clusters/dev/tenants/acme-corp");
    let tmp = dir.join(".service.yaml.12345.tenantgen-tmp");
    let generated = fs::read(dir.join("service.yaml")).expect("service");
    fs::write(&tmp, &generated[..generated.len() / 2]).expect("leftover");

    let out = render(repo.path(), &[]);
    assert_exit(&out, 0);
    assert!(!tmp.exists(), "the leftover is removed");
    let kust = fs::read_to_string(dir.join("kustomization.yaml")).expect("kustomization");
    assert!(!kust.contains("tenantgen-tmp"), "{kust}");
    assert!(kust.contains("- service.yaml"), "{kust}");
    let leftovers: Vec<_> = snapshot(&repo.path().join("clusters"))
        .into_iter()
        .filter(|(p, _)| p.contains("tenantgen-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn zone_flag_renders_and_prunes_only_that_zone() {
    let repo = repo_with_catalog(&sample());
    let clusters = repo.path().join("clusters");
    let out = render(repo.path(), &["--zone", "dev"]);
    assert_exit(&out, 0);
    assert!(
        clusters
            .join("dev/tenants/acme-corp/deployment.yaml")
            .is_file()
    );
    let zones: Vec<_> = fs::read_dir(&clusters)
        .expect("clusters")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(zones, ["dev"], "only dev is rendered");

    materialize(sample_tree(), &clusters);
    let staging = snapshot(&clusters.join("staging"));
    let production = snapshot(&clusters.join("production"));

    set_catalog(repo.path(), &without_client(&sample(), "acme-corp"));
    let out = render(repo.path(), &["--zone", "dev"]);
    assert_exit(&out, 0);
    assert!(!clusters.join("dev/tenants/acme-corp").exists());
    assert!(!clusters.join("dev/tenants/acme-corp.yaml").exists());
    assert_unchanged(&clusters.join("staging"), &staging, "staging untouched");
    assert_unchanged(
        &clusters.join("production"),
        &production,
        "production untouched",
    );
    assert!(clusters.join("staging/tenants/acme-corp.yaml").is_file());
}

#[test]
fn gotk_sync_written_by_flux_bootstrap_is_left_alone() {
    let repo = rendered_sample();
    let flux = repo.path().join("clusters/dev/flux-system");
    let sync = flux.join("gotk-sync.yaml");
    let components = flux.join("gotk-components.yaml");
    let bootstrap = "# This manifest was generated by flux. DO NOT EDIT.\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: ssh://git@git.example.com/platform/ge-ops\n";
    fs::write(&sync, bootstrap).expect("bootstrap sync");
    fs::write(&components, "# flux components\n").expect("components");
    age(&sync);
    let sync_stamp = stamp(&sync);

    let out = render(repo.path(), &[]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("left alone: clusters/dev/flux-system/gotk-sync.yaml"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&sync).ok().as_deref(), Some(bootstrap));
    assert_eq!(stamp(&sync), sync_stamp, "gotk-sync.yaml untouched");
    assert_eq!(
        fs::read_to_string(&components).ok().as_deref(),
        Some("# flux components\n")
    );
    // The other zones' gotk-sync.yaml are still tenantgen's.
    let staging = fs::read_to_string(
        repo.path()
            .join("clusters/staging/flux-system/gotk-sync.yaml"),
    )
    .expect("staging sync");
    assert!(staging.starts_with("# Generated by tenantgen"));
}
