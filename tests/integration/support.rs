//! Helpers shared by the integration tests: run the real binary hermetically.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `tenantgen` binary with a cleared environment, run from `dir`.
pub fn tenantgen(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenantgen"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("NO_COLOR", "1");
    cmd
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    tenantgen(dir).args(args).output().expect("tenantgen runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The sample catalog's text.
pub fn sample() -> String {
    std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample catalog")
}

/// A scratch repository holding `text` as `clients/clients.yaml`, not rendered.
pub fn repo_with_catalog(text: &str) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(repo.path().join("clients")).expect("clients/");
    std::fs::write(repo.path().join("clients/clients.yaml"), text).expect("catalog");
    repo
}

#[track_caller]
pub fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit code; stderr:\n{}",
        stderr(out)
    );
}

/// A scratch repository holding `catalog` as `clients/clients.yaml`, rendered into `clusters/`.
pub fn rendered_repo(catalog: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("clients")).expect("mkdir");
    std::fs::copy(catalog, dir.path().join("clients/clients.yaml")).expect("copy catalog");
    let out = run(dir.path(), &["render"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "render {}: {}",
        catalog.display(),
        stderr(&out)
    );
    dir
}

/// The catalogs whose trees the tests check with real consumers.
pub fn catalogs() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("sample", root().join("clients/clients.yaml")),
        (
            "k3s_host_network",
            root().join("tests/fixtures/valid/k3s_host_network.yaml"),
        ),
        (
            "all_options",
            root().join("tests/fixtures/valid/all_options.yaml"),
        ),
        (
            "workloads",
            root().join("tests/fixtures/valid/workloads.yaml"),
        ),
    ]
}

/// Runs an external tool the suite depends on; a missing tool fails the test loudly.
pub fn tool(name: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(name)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`{name}` is needed by this test ({e}); run the suite with `scripts/test`, which installs it"))
}

/// Every file under `dir` with its bytes, sorted by relative path.
pub fn tree_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .expect("under base")
                    .display()
                    .to_string();
                out.push((rel, std::fs::read(&path).expect("readable")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Parses a multi-document YAML stream (as kubectl prints it) into JSON values.
pub fn parse_stream(text: &str) -> Vec<serde_json::Value> {
    text.split("\n---\n")
        .map(|doc| doc.trim_start_matches("---\n"))
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| {
            let src = tenantgen::source::Source::from_text("kubectl-output", doc);
            tenantgen::yaml::parse(&src)
                .unwrap_or_else(|e| panic!("kubectl output parses: {e:?}\n{doc}"))
                .value
        })
        .collect()
}
