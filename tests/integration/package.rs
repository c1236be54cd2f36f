//! Immutable deploy packages (SPEC §6): reproducible bytes, production digests, no secret
//! values, `verify` naming every problem, and deploy.sh against a fake kubectl.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{root, stderr, stdout, tenantgen, tree_files};

const EPOCH: &str = "1767225600"; // 2026-01-01T00:00:00Z

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("clients")).expect("mkdir");
    std::fs::copy(
        root().join("clients/clients.yaml"),
        dir.path().join("clients/clients.yaml"),
    )
    .expect("copy");
    dir
}

fn package(dir: &Path, args: &[&str]) -> std::process::Output {
    tenantgen(dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .arg("package")
        .args(args)
        .output()
        .expect("run")
}

fn packaged(dir: &Path, client: &str, zone: &str) -> PathBuf {
    let out = package(dir, &[client, "--zone", zone, "-o", "pkgs"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    dir.join(stdout(&out).lines().next().expect("path"))
}

#[test]
fn packaging_twice_gives_identical_bytes_and_a_reproducible_archive() {
    let (a, b) = (repo(), repo());
    let out_a = package(
        a.path(),
        &["bigcorp", "--zone", "production", "-o", "pkgs", "--archive"],
    );
    // Another day, another zone of the world, another umask: the same bytes.
    let out_b = tenantgen(b.path())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("TZ", "Pacific/Chatham")
        .args([
            "package",
            "bigcorp",
            "--zone",
            "production",
            "-o",
            "pkgs",
            "--archive",
        ])
        .output()
        .expect("run");
    assert_eq!(out_a.status.code(), Some(0), "{}", stderr(&out_a));
    assert_eq!(out_b.status.code(), Some(0), "{}", stderr(&out_b));
    assert_eq!(
        tree_files(&a.path().join("pkgs")),
        tree_files(&b.path().join("pkgs"))
    );
    let pkg = a.path().join("pkgs/bigcorp-5.8.0");
    let names: Vec<String> = tree_files(&pkg).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        [
            "MANIFEST.json",
            "checksum.sha256",
            "deploy.sh",
            "images.txt",
            "manifests/all.yaml",
            "secrets.ref"
        ]
    );
    let check = Command::new("sha256sum")
        .args(["-c", "checksum.sha256"])
        .current_dir(&pkg)
        .output()
        .expect("sha256sum");
    assert!(
        check.status.success(),
        "checksum.sha256 is in `sha256sum -c` format: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("MANIFEST.json")).expect("read"))
            .expect("json");
    assert_eq!(manifest["created"], "2026-01-01T00:00:00Z");
    assert_eq!(manifest["namespace"], "ded-bigcorp");
    assert_eq!(manifest["zone"], "production");
    let archive = std::fs::read(a.path().join("pkgs/bigcorp-5.8.0.tar.gz")).expect("archive");
    let digest: String = sha2::Sha256::digest(&archive)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    let sums = std::fs::read_to_string(pkg.join("checksum.sha256")).expect("sums");
    insta::assert_snapshot!(
        "bigcorp_production_package",
        format!("archive sha256: {digest}\n{sums}")
    );
    let listing = Command::new("tar")
        .args(["-tvzf", "bigcorp-5.8.0.tar.gz", "--numeric-owner"])
        .current_dir(a.path().join("pkgs"))
        .output()
        .expect("tar");
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing
            .lines()
            .all(|l| l.contains(" 0/0 ") && l.contains("2026-01-01")),
        "fixed owner and mtime:\n{listing}"
    );
    assert!(
        listing.contains("-rwxr-xr-x") && listing.contains("bigcorp-5.8.0/deploy.sh"),
        "{listing}"
    );
}

use sha2::Digest as _;

#[test]
fn created_comes_from_the_last_commit_never_the_clock() {
    let dir = repo();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_DATE", "2025-06-01T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2025-06-01T12:00:00Z")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    // Without git history and without SOURCE_DATE_EPOCH there is no time to use.
    let out = tenantgen(dir.path())
        .env_remove("SOURCE_DATE_EPOCH")
        .args(["package", "acme-corp", "--zone", "dev"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("SOURCE_DATE_EPOCH"),
        "{}",
        stderr(&out)
    );
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "catalog"]);
    let out = tenantgen(dir.path())
        .env_remove("SOURCE_DATE_EPOCH")
        .args(["package", "acme-corp", "--zone", "dev"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(dir.path().join("acme-corp-1.3.0/MANIFEST.json"))
        .expect("manifest");
    assert!(
        manifest.contains("\"created\": \"2025-06-01T12:00:00Z\""),
        "{manifest}"
    );
}

#[test]
fn production_packages_refuse_images_without_digest() {
    let dir = repo();
    let out = package(
        dir.path(),
        &["acme-corp", "--zone", "production", "--version", "1.3.0"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has no digest"), "{}", stderr(&out));
    assert!(
        std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .all(|e| e.file_name() == "clients"),
        "nothing written"
    );
    // Other zones may run tags; verify then says the image is not pinned, as a warning.
    let pkg = packaged(dir.path(), "acme-corp", "dev");
    let out = tenantgen(dir.path())
        .args(["verify", &pkg.display().to_string()])
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("warning: `registry.example.com/acme/web:1.3.0` is not pinned by digest"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn packages_hold_secret_references_never_values() {
    let dir = repo();
    let pkg = packaged(dir.path(), "northwind-traders", "production");
    let all = std::fs::read_to_string(pkg.join("manifests/all.yaml")).expect("all");
    assert!(all.contains("kind: ExternalSecret") && !all.contains("kind: Secret\n"));
    let refs = std::fs::read_to_string(pkg.join("secrets.ref")).expect("refs");
    assert!(
        refs.contains("db\tsecret/data/northwind-traders/db\t/var/run/secrets/db"),
        "{refs}"
    );
    let out = tenantgen(dir.path())
        .args(["verify", &pkg.display().to_string()])
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Rewrites a package file and, with `fix_sums`, its checksum line, as a careful attacker would.
fn tamper(pkg: &Path, rel: &str, content: &str, fix_sums: bool) {
    let before = std::fs::read_to_string(pkg.join(rel)).unwrap_or_default();
    assert_ne!(before, content, "the tampering must change {rel}");
    std::fs::write(pkg.join(rel), content).expect("write");
    if fix_sums {
        let sums = std::fs::read_to_string(pkg.join("checksum.sha256")).expect("sums");
        let hex: String = sha2::Sha256::digest(content.as_bytes())
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        let fixed: String = sums
            .lines()
            .map(|l| {
                if l.ends_with(&format!("  {rel}")) {
                    format!("{hex}  {rel}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(pkg.join("checksum.sha256"), fixed).expect("write");
    }
}

fn verify_err(dir: &Path, pkg: &Path) -> String {
    let out = tenantgen(dir)
        .args(["verify", &pkg.display().to_string()])
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1), "must fail: {}", stderr(&out));
    stderr(&out)
}

#[test]
fn verify_names_every_kind_of_tampering() {
    let dir = repo();
    let fresh = || {
        let d = tempfile::tempdir_in(dir.path()).expect("tempdir");
        let out = package(
            dir.path(),
            &[
                "bigcorp",
                "--zone",
                "production",
                "-o",
                &d.path().display().to_string(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        (d.path().join("bigcorp-5.8.0"), d)
    };
    let (pkg, _keep) = fresh();
    let all = std::fs::read_to_string(pkg.join("manifests/all.yaml")).expect("all");
    tamper(
        &pkg,
        "manifests/all.yaml",
        &all.replace("maxReplicas: 8", "maxReplicas: 80"),
        false,
    );
    assert!(verify_err(dir.path(), &pkg).contains("manifests/all.yaml: modified"));

    let (pkg, _keep) = fresh();
    std::fs::remove_file(pkg.join("images.txt")).expect("rm");
    assert!(verify_err(dir.path(), &pkg).contains("images.txt: missing"));

    let (pkg, _keep) = fresh();
    std::fs::write(pkg.join("notes.txt"), "hello").expect("write");
    assert!(verify_err(dir.path(), &pkg).contains("notes.txt: unexpected"));

    let (pkg, _keep) = fresh();
    let manifest = std::fs::read_to_string(pkg.join("MANIFEST.json")).expect("manifest");
    tamper(
        &pkg,
        "MANIFEST.json",
        &manifest.replace("ded-bigcorp", "ded-other"),
        false,
    );
    assert!(verify_err(dir.path(), &pkg).contains("MANIFEST.json: modified"));

    // Even with its checksum line recomputed, an edited MANIFEST does not match the package.
    let (pkg, _keep) = fresh();
    tamper(
        &pkg,
        "MANIFEST.json",
        &manifest.replace("ded-bigcorp", "ded-other"),
        true,
    );
    assert!(
        verify_err(dir.path(), &pkg)
            .contains("namespace `ded-other` is not the manifests' namespace")
    );
    let (pkg, _keep) = fresh();
    tamper(
        &pkg,
        "MANIFEST.json",
        &manifest.replace("\"version\": \"5.8.0@", "\"version\": \"5.9.0@"),
        true,
    );
    assert!(verify_err(dir.path(), &pkg).contains("bigcorp-5.9.0"));

    // A secret value smuggled in, checksums and all.
    let (pkg, _keep) = fresh();
    let smuggled = format!(
        "{all}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ded-bigcorp\ndata:\n  password: aHVudGVyMg==\n"
    );
    tamper(&pkg, "manifests/all.yaml", &smuggled, true);
    let err = verify_err(dir.path(), &pkg);
    assert!(err.contains("holds a secret value"), "{err}");
    assert!(err.contains("content_digest"), "{err}");
}

/// Symlinks in a package, each named: a listed file replaced by a link to an identical copy
/// outside (its checksum still matches), and a linked directory.
#[test]
fn verify_refuses_symlinks_in_a_package_naming_each() {
    let dir = repo();
    let pkg = packaged(dir.path(), "bigcorp", "production");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    for rel in ["images.txt", "deploy.sh"] {
        std::fs::rename(pkg.join(rel), outside.join(rel)).expect("move out");
        std::os::unix::fs::symlink(outside.join(rel), pkg.join(rel)).expect("symlink");
    }
    std::os::unix::fs::symlink(&outside, pkg.join("extra")).expect("symlink dir");
    let err = verify_err(dir.path(), &pkg);
    for rel in ["images.txt", "deploy.sh", "extra"] {
        assert!(
            err.contains(&format!("{rel}: is a symlink")),
            "{rel} is named: {err}"
        );
    }
}

/// A FIFO (or socket) in a package is an error naming it, at once: verify never opens it.
#[test]
fn verify_refuses_a_fifo_in_a_package_at_once() {
    let dir = repo();
    for rel in ["notes.txt", "images.txt", "checksum.sha256"] {
        let pkg = packaged(dir.path(), "globex", "staging");
        let _ = std::fs::remove_file(pkg.join(rel));
        let made = Command::new("mkfifo")
            .arg(pkg.join(rel))
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let mut cmd = tenantgen(dir.path());
        cmd.args(["verify", &pkg.display().to_string()]);
        let out = crate::scope::run_with_deadline(cmd, "verify");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{rel}: is a FIFO")),
            "{}",
            stderr(&out)
        );
        // `package` over it does not hang either: the package differs.
        let mut cmd = tenantgen(dir.path());
        cmd.env("SOURCE_DATE_EPOCH", EPOCH)
            .args(["package", "globex", "--zone", "staging", "-o", "pkgs"]);
        let out = crate::scope::run_with_deadline(cmd, "package");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        std::fs::remove_dir_all(&pkg).expect("clean");
    }
    let pkg = packaged(dir.path(), "globex", "staging");
    let _sock = std::os::unix::net::UnixListener::bind(pkg.join("s")).expect("socket");
    assert!(verify_err(dir.path(), &pkg).contains("s: is a socket"));
}

#[test]
fn packages_are_immutable() {
    let dir = repo();
    let first = packaged(dir.path(), "globex", "staging");
    let again = package(dir.path(), &["globex", "--zone", "staging", "-o", "pkgs"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "identical content is fine: {}",
        stderr(&again)
    );
    let catalog = dir.path().join("clients/clients.yaml");
    let text = std::fs::read_to_string(&catalog).expect("read").replacen(
        "cpuPercent: 65",
        "cpuPercent: 60",
        1,
    );
    std::fs::write(&catalog, text).expect("write");
    let before = tree_files(&first);
    let out = package(dir.path(), &["globex", "--zone", "staging", "-o", "pkgs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("packages are immutable"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree_files(&first), before);
}

/// A fake kubectl that records its arguments and fails `rollout status` on demand.
fn fake_kubectl(dir: &Path) -> PathBuf {
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let script = "#!/bin/sh\necho \"$*\" >> \"$KUBECTL_LOG\"\ncase \"$*\" in\n  *\"rollout status\"*) [ \"${FAIL_ROLLOUT:-0}\" = 1 ] && exit 1 ;;\nesac\nexit 0\n";
    let path = bin.join("kubectl");
    std::fs::write(&path, script).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

fn deploy(pkg: &Path, bin: &Path, log: &Path, fail: bool) -> std::process::Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg(pkg.join("deploy.sh"))
        .env("PATH", path)
        .env("KUBECTL_LOG", log)
        .env("FAIL_ROLLOUT", if fail { "1" } else { "0" })
        .env("ROLLOUT_TIMEOUT", "5s")
        .output()
        .expect("deploy.sh")
}

#[test]
fn deploy_script_applies_waits_and_rolls_back() {
    let dir = repo();
    let pkg = packaged(dir.path(), "bigcorp", "production");
    let bin = fake_kubectl(dir.path());
    let script = std::fs::read_to_string(pkg.join("deploy.sh")).expect("script");
    assert!(script.contains("set -euo pipefail"), "strict shell");

    let log = dir.path().join("ok.log");
    let out = deploy(&pkg, &bin, &log, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        calls,
        "apply --server-side --field-manager=tenantgen --force-conflicts -f manifests/all.yaml\n-n ded-bigcorp rollout status deployment/web --timeout=5s\n"
    );

    let log = dir.path().join("fail.log");
    let out = deploy(&pkg, &bin, &log, true);
    assert!(!out.status.success(), "a failed rollout fails the deploy");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rolling back"),
        "it says so"
    );
    let calls = std::fs::read_to_string(&log).expect("log");
    assert!(
        calls.ends_with("-n ded-bigcorp rollout undo deployment/web\n"),
        "{calls}"
    );

    let log = dir.path().join("tampered.log");
    std::fs::write(pkg.join("images.txt"), "registry.example.com/evil/web:1\n").expect("write");
    let out = deploy(&pkg, &bin, &log, false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksums do not verify"));
    assert!(
        !log.exists(),
        "kubectl is never called for a modified package"
    );
}

#[test]
fn a_client_with_several_workloads_is_packaged_whole_and_deployed_workload_by_workload() {
    let dir = repo();
    let pkg = packaged(dir.path(), "honeydue", "production");
    let all = std::fs::read_to_string(pkg.join("manifests/all.yaml")).expect("manifests");
    for object in [
        "kind: Deployment\nmetadata:\n  annotations:",
        "kind: CronJob",
        "name: admin\n",
        "name: api\n",
        "name: worker\n",
        "name: report\n",
    ] {
        assert!(all.contains(object), "the package holds `{object}`");
    }
    let images = std::fs::read_to_string(pkg.join("images.txt")).expect("images");
    assert_eq!(
        images,
        "# run by the workloads admin, api, report, worker\nregistry.example.com/honeydue/app:1.9.2@sha256:0f4d2a0c1b6e9d8f7a5c3b1e2d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d1f\n"
    );

    let bin = fake_kubectl(dir.path());
    let log = dir.path().join("ok.log");
    let out = deploy(&pkg, &bin, &log, false);
    assert!(out.status.success(), "{}", stderr(&out));
    // Every Deployment is waited for; a CronJob has no rollout to wait for.
    let calls = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        calls,
        "apply --server-side --field-manager=tenantgen --force-conflicts -f manifests/all.yaml\n\
         -n ded-honeydue rollout status deployment/admin --timeout=5s\n\
         -n ded-honeydue rollout status deployment/api --timeout=5s\n\
         -n ded-honeydue rollout status deployment/worker --timeout=5s\n"
    );
    let log = dir.path().join("fail.log");
    let out = deploy(&pkg, &bin, &log, true);
    assert!(!out.status.success());
    let calls = std::fs::read_to_string(&log).expect("log");
    assert!(
        calls.ends_with("-n ded-honeydue rollout undo deployment/admin\n"),
        "the first failed rollout is undone and the deploy stops: {calls}"
    );
}
