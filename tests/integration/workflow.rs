//! The pull-request workflow: `scripts/pr-comment.py` against a local fake of the GitHub API
//! (`tests/github/fake_github.py`, on 127.0.0.1 only), and the shape of
//! `.github/workflows/tenantgen-diff.yaml`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{root, run, stderr, stdout};

const MARKER: &str = "<!-- tenantgen-diff -->";
const BOT: &str = "github-actions[bot]";
const REPO: &str = "acme/platform";
const PR: &str = "7";
const MAX_BODY: usize = 65_536;

/// A running fake GitHub; killed when dropped, so a failing test leaves no server behind.
struct FakeGitHub {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl FakeGitHub {
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port_file = dir.path().join("port");
        let child = python()
            .arg(root().join("tests/github/fake_github.py"))
            .arg("--port-file")
            .arg(&port_file)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 is needed by this test ({e})"));
        // The guard exists before the wait, so a server that never comes up is still killed.
        let mut fake = FakeGitHub {
            child,
            port: 0,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse()
            {
                fake.port = port;
                return fake;
            }
            if let Some(status) = fake.child.try_wait().expect("try_wait") {
                panic!("the fake GitHub exited before serving: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the fake GitHub wrote no port file within 5 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One request over a plain socket: the fake answers HTTP/1.0 and closes the connection.
    fn http(&self, method: &str, path: &str, body: &str) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the fake");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("receive");
        let (head, payload) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.0 200"), "{method} {path}: {head}");
        serde_json::from_str(payload).expect("JSON from the fake")
    }

    fn seed(&self, comments: Value) {
        self.http("POST", "/_seed", &comments.to_string());
    }

    fn comments(&self) -> Vec<Value> {
        let state = self.http("GET", "/_state", "");
        state["comments"].as_array().expect("comments").clone()
    }

    fn comment(&self, id: u64) -> Value {
        self.comments()
            .into_iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("comment {id} exists"))
    }

    /// The API requests the fake received, as "METHOD path".
    fn requests(&self) -> Vec<String> {
        let state = self.http("GET", "/_state", "");
        state["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|r| format!("{} {}", str_of(&r["method"]), str_of(&r["path"])))
            .collect()
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// python3 with only PATH: no proxy variables may redirect requests meant for 127.0.0.1.
fn python() -> Command {
    let mut cmd = Command::new("python3");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Runs `scripts/pr-comment.py` for PR 7 of acme/platform; `env` overrides (None removes).
fn pr_comment(fake: &FakeGitHub, body: &str, env: &[(&str, Option<&str>)]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let body_file = dir.path().join("diff.md");
    std::fs::write(&body_file, body).expect("write body");
    let mut cmd = python();
    cmd.arg(root().join("scripts/pr-comment.py"))
        .arg("--body-file")
        .arg(&body_file)
        .env("GITHUB_TOKEN", "test")
        .env("GITHUB_API_URL", fake.api_url())
        .env("GITHUB_REPOSITORY", REPO)
        .env("PR_NUMBER", PR)
        .env("PR_COMMENT_RETRY_DELAY", "0");
    for (name, value) in env {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    cmd.output().expect("pr-comment.py runs")
}

/// A comment on PR 7, as `POST /_seed` takes it.
fn seeded(id: u64, user: &str, body: &str) -> Value {
    json!({"id": id, "user": user, "body": body, "issue": 7, "repo": REPO})
}

fn list_path(query: &str) -> String {
    format!("GET /repos/{REPO}/issues/{PR}/comments?{query}")
}

fn create_path() -> String {
    format!("POST /repos/{REPO}/issues/{PR}/comments")
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn creates_a_comment_when_none_exists() {
    let fake = FakeGitHub::start(&[]);
    let out = pr_comment(&fake, "### tenantgen: +1 added\n", &[]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out).trim(),
        "created comment https://github.example/acme/platform/pull/7#issuecomment-1"
    );

    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0]["user"]["login"], BOT);
    assert_eq!(comments[0]["issue"], 7);
    assert_eq!(
        str_of(&comments[0]["body"]),
        format!("{MARKER}\n### tenantgen: +1 added\n")
    );
    assert_eq!(fake.requests(), [list_path("per_page=100"), create_path()]);
}

#[test]
fn updates_the_marked_bot_comment_in_place_on_the_third_page() {
    let fake = FakeGitHub::start(&["--page-size", "2"]);
    fake.seed(json!([
        seeded(1, "alice", "Looks good."),
        seeded(2, BOT, "Another workflow's comment, without the marker."),
        seeded(3, "bob", &format!("Quoting the bot:\n> {MARKER}\n> old")),
        seeded(4, "carol", "Why is staging changing?"),
        seeded(5, "renovate[bot]", "Dependency dashboard"),
        seeded(6, BOT, &format!("{MARKER}\nold report\n")),
        seeded(7, BOT, &format!("{MARKER}\na later duplicate\n")),
    ]));
    let before = fake.comments();

    let out = pr_comment(&fake, "new report\n", &[]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out).trim(),
        "updated comment https://github.example/acme/platform/pull/7#issuecomment-6"
    );

    let after = fake.comments();
    assert_eq!(after.len(), before.len(), "no comment is added");
    for (old, new) in before.iter().zip(&after) {
        if new["id"] == 6 {
            assert_eq!(str_of(&new["body"]), format!("{MARKER}\nnew report\n"));
        } else {
            assert_eq!(old, new, "only the oldest marked bot comment changes");
        }
    }
    let requests = fake.requests();
    assert!(
        requests.contains(&list_path("per_page=2&page=3")),
        "the third page is read: {requests:?}"
    );
    assert_eq!(
        requests.last().map(String::as_str),
        Some(format!("PATCH /repos/{REPO}/issues/comments/6").as_str())
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("POST")),
        "{requests:?}"
    );
}

#[test]
fn leaves_another_users_marked_comment_alone() {
    let fake = FakeGitHub::start(&[]);
    let quoted = format!("{MARKER}\nI pasted the report here\n");
    fake.seed(json!([seeded(1, "mallory", &quoted)]));

    let out = pr_comment(&fake, &format!("{MARKER}\nthe real report\n"), &[]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("created comment "),
        "{}",
        stdout(&out)
    );

    let comments = fake.comments();
    assert_eq!(comments.len(), 2);
    assert_eq!(str_of(&fake.comment(1)["body"]), quoted);
    assert_eq!(fake.comment(2)["user"]["login"], BOT);
    assert_eq!(
        str_of(&fake.comment(2)["body"]),
        format!("{MARKER}\nthe real report\n")
    );
}

#[test]
fn an_identical_body_sends_no_patch() {
    let fake = FakeGitHub::start(&[]);
    let body = format!("{MARKER}\nsame report\n");
    fake.seed(json!([seeded(1, BOT, &body)]));

    let out = pr_comment(&fake, &body, &[]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("unchanged comment "),
        "{}",
        stdout(&out)
    );
    assert_eq!(fake.requests(), [list_path("per_page=100")]);
}

#[test]
fn retries_once_after_a_server_error_on_post() {
    let fake = FakeGitHub::start(&["--fail-first-post", "500"]);
    let out = pr_comment(&fake, "report\n", &[]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("created comment "));
    assert!(stderr(&out).contains("HTTP 500"), "{}", stderr(&out));

    assert_eq!(fake.comments().len(), 1);
    assert_eq!(
        fake.requests(),
        [list_path("per_page=100"), create_path(), create_path()]
    );
}

#[test]
fn a_forbidden_write_exits_1_naming_the_status() {
    let fake = FakeGitHub::start(&[]);
    // The fake's read-only token answers writes as GitHub does for a fork's pull request.
    let out = pr_comment(&fake, "report\n", &[("GITHUB_TOKEN", Some("read-only"))]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("HTTP 403"), "{err}");
    assert!(
        err.contains("Resource not accessible by integration"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    assert!(fake.comments().is_empty());
    assert_eq!(
        fake.requests(),
        [list_path("per_page=100"), create_path()],
        "a 4xx is not retried"
    );
}

#[test]
fn a_missing_token_exits_2_before_any_request() {
    let fake = FakeGitHub::start(&[]);
    let out = pr_comment(&fake, "report\n", &[("GITHUB_TOKEN", None)]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("GITHUB_TOKEN is not set"),
        "{}",
        stderr(&out)
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn an_oversized_body_is_posted_truncated_at_a_line_boundary() {
    let fake = FakeGitHub::start(&[]);
    // A fence left open by the cut must be closed, or the note would render as code; the
    // middle dots make characters and bytes differ (GitHub's limit is in characters).
    let mut report = String::from("### tenantgen: ~3000 changed\n\n````diff\n");
    for i in 0..3000 {
        report.push_str(&format!("+ line {i:05} ·········· of a long diff\n"));
    }
    report.push_str("````\n");
    assert!(report.chars().count() > MAX_BODY + 30_000);

    let out = pr_comment(&fake, &report, &[]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("posting the first"),
        "{}",
        stderr(&out)
    );

    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    let body = str_of(&comments[0]["body"]);
    assert!(
        body.chars().count() <= MAX_BODY,
        "{} characters",
        body.chars().count()
    );
    assert!(
        body.chars().count() > MAX_BODY - 200,
        "the cut keeps what fits"
    );
    let rest = body
        .strip_prefix(&format!("{MARKER}\n"))
        .expect("marker first");
    let (kept, note) = rest
        .split_once("\n_The report was truncated")
        .expect("a truncation note");
    assert!(note.contains("job summary"), "{note}");
    let kept = kept
        .strip_suffix("````\n")
        .expect("the open fence is closed");
    assert!(kept.ends_with('\n'), "cut at a line boundary");
    assert!(
        report.starts_with(kept),
        "the kept part is the report's start"
    );
}

/// Walks `.github/workflows/tenantgen-diff.yaml` as GitHub would read it.
#[test]
fn the_workflow_diffs_comments_and_gates() {
    let path = root().join(".github/workflows/tenantgen-diff.yaml");
    let text = std::fs::read_to_string(&path).expect("the workflow exists");
    let wf: Value = serde_saphyr::from_str(&text).expect("the workflow is YAML");

    let trigger = &wf["on"]["pull_request"];
    for kind in ["opened", "synchronize", "reopened"] {
        assert!(
            trigger["types"]
                .as_array()
                .expect("types")
                .contains(&json!(kind)),
            "{kind}"
        );
    }
    let paths = trigger["paths"].as_array().expect("paths");
    for p in [
        "clients/**",
        "clusters/**",
        "schema/**",
        "src/**",
        "Cargo.lock",
    ] {
        assert!(paths.contains(&json!(p)), "path filter {p}");
    }
    assert_eq!(wf["permissions"]["pull-requests"], "write");
    assert_eq!(wf["permissions"]["contents"], "read");
    assert_eq!(wf["concurrency"]["cancel-in-progress"], true);
    assert!(str_of(&wf["concurrency"]["group"]).contains("github.event.pull_request.number"));

    let steps = wf["jobs"]["diff"]["steps"].as_array().expect("steps");
    let step = |what: &str, pred: &dyn Fn(&Value) -> bool| -> Value {
        steps
            .iter()
            .find(|s| pred(s))
            .unwrap_or_else(|| panic!("a step that {what}"))
            .clone()
    };
    let run = |s: &Value| str_of(&s["run"]).to_owned();

    let checkout = step("checks out", &|s| {
        str_of(&s["uses"]).starts_with("actions/checkout@")
    });
    assert_eq!(checkout["with"]["fetch-depth"], 0);

    let diff = step("runs tenantgen diff", &|s| {
        run(s).contains("tenantgen diff")
    });
    let script = run(&diff);
    for flag in [
        "--detailed-exitcode",
        "--format markdown",
        "--fail-on block",
        "--base HEAD^1",
        "set +e",
        "$GITHUB_OUTPUT",
        "$GITHUB_STEP_SUMMARY",
    ] {
        assert!(script.contains(flag), "the diff step has {flag}");
    }

    let comment = step("posts the comment", &|s| {
        run(s).contains("scripts/pr-comment.py")
    });
    assert!(run(&comment).contains("--body-file diff.md"));
    assert_eq!(
        comment["env"]["GITHUB_TOKEN"],
        "${{ secrets.GITHUB_TOKEN }}"
    );
    assert_eq!(
        comment["env"]["PR_NUMBER"],
        "${{ github.event.pull_request.number }}"
    );
    assert!(
        str_of(&comment["if"]).contains("head.repo.full_name == github.repository"),
        "forks are skipped"
    );

    // The gate's script is run for real, once per exit code.
    let gate = step("gates on the exit code", &|s| s["env"]["CODE"].is_string());
    assert_eq!(gate["env"]["CODE"], "${{ steps.diff.outputs.exit-code }}");
    for (code, passes, says) in [
        ("0", true, ""),
        ("2", true, ""),
        ("1", false, "(error)"),
        ("3", false, "risk flags"),
        ("4", false, "tenantgen render"),
    ] {
        let out = Command::new("bash")
            .args(["-e", "-c", &run(&gate)])
            .env("CODE", code)
            .output()
            .expect("bash runs");
        assert_eq!(out.status.success(), passes, "exit code {code}");
        if !passes {
            let text = stdout(&out);
            assert!(text.starts_with("::error"), "exit code {code}: {text}");
            assert!(text.contains(says), "exit code {code}: {text}");
        }
    }
}

/// The workflow's diff step, run as the runner would in a merge checkout: `dir` is the
/// repository, the binary is the one under test. Returns (exit code written to
/// GITHUB_OUTPUT, diff.md, the job summary).
fn run_diff_step(dir: &std::path::Path) -> (String, String, String) {
    run_diff_step_with(dir, &[])
}

/// `run_diff_step` with the step's `env` values GitHub would fill in (expressions evaluated).
fn run_diff_step_with(dir: &std::path::Path, env: &[(&str, &str)]) -> (String, String, String) {
    let text = std::fs::read_to_string(root().join(".github/workflows/tenantgen-diff.yaml"))
        .expect("workflow");
    let wf: Value = serde_saphyr::from_str(&text).expect("the workflow parses");
    let steps = wf["jobs"]["diff"]["steps"].as_array().expect("steps");
    let step = steps
        .iter()
        .find(|s| str_of(&s["run"]).contains("tenantgen diff"))
        .expect("the diff step");
    let script = str_of(&step["run"]).replace(
        "./target/release/tenantgen",
        env!("CARGO_BIN_EXE_tenantgen"),
    );
    let (output, summary) = (dir.join("gh-output"), dir.join("gh-summary"));
    // The runner gives every step fresh files; the step appends to them.
    for f in [&output, &summary] {
        let _ = std::fs::remove_file(f);
    }
    let out = Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(dir)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "the diff step itself never fails: {}",
        stderr(&out)
    );
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    let code = read(&output)
        .trim()
        .strip_prefix("exit-code=")
        .unwrap_or_default()
        .to_owned();
    (code, read(&dir.join("diff.md")), read(&summary))
}

/// On GitHub's merge checkout (first parent: the base as merged), the step reports the pull
/// request's own change, exit code 2, in the comment body and the job summary; when the diff
/// cannot run, the body says it failed instead of showing a stale report.
#[test]
fn the_diff_step_reports_the_pull_request_on_a_merge_checkout() {
    let repo = crate::diff::Repo::new();
    repo.edit("        dev: \"5.9.0\"\n", "        dev: \"5.9.1\"\n");
    repo.render();
    repo.commit("bump bigcorp in dev");
    // What actions/checkout gives a pull_request run: the merge into the base, detached.
    repo.git(&["checkout", "-q", "--detach", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge pr into main", "pr"]);

    let (code, body, summary) = run_diff_step(repo.path());
    assert_eq!(code, "2", "{body}");
    assert!(body.contains("bigcorp"), "{body}");
    assert!(body.contains("5.9.1"), "{body}");
    assert_eq!(summary, body, "the job summary carries the report");

    // A checkout with no first parent: the diff errors, and the comment says so.
    repo.git(&["checkout", "-q", "--orphan", "lonely"]);
    repo.commit("no parent");
    let (code, body, _) = run_diff_step(repo.path());
    assert_eq!(code, "1", "{body}");
    assert!(body.starts_with(MARKER), "{body}");
    assert!(body.contains("tenantgen diff failed"), "{body}");
}

/// Removing a client blocks the pull request until it carries the label
/// `tenantgen/approve-removal`: the workflow reruns when labels change, reads the label into
/// `--approve removal`, and the comment posted says the removal was approved.
#[test]
fn the_approval_label_lets_an_intended_client_removal_pass() {
    let text = std::fs::read_to_string(root().join(".github/workflows/tenantgen-diff.yaml"))
        .expect("workflow");
    let wf: Value = serde_saphyr::from_str(&text).expect("the workflow parses");
    let types = wf["on"]["pull_request"]["types"].as_array().expect("types");
    for kind in ["labeled", "unlabeled"] {
        assert!(
            types.contains(&json!(kind)),
            "a label change reruns: {kind}"
        );
    }
    let steps = wf["jobs"]["diff"]["steps"].as_array().expect("steps");
    let step = steps
        .iter()
        .find(|s| str_of(&s["run"]).contains("tenantgen diff"))
        .expect("the diff step");
    assert_eq!(
        step["env"]["APPROVE_REMOVAL"],
        "${{ contains(github.event.pull_request.labels.*.name, 'tenantgen/approve-removal') }}"
    );

    let repo = crate::diff::Repo::new();
    let catalog = std::fs::read_to_string(repo.path().join("clients/clients.yaml")).expect("read");
    let start = catalog.find("    # Dedicated, large").expect("bigcorp");
    let end = catalog.find("    # Dedicated, xlarge").expect("globex");
    std::fs::write(
        repo.path().join("clients/clients.yaml"),
        format!("{}{}", &catalog[..start], &catalog[end..]),
    )
    .expect("write");
    repo.render();
    repo.commit("retire bigcorp");
    repo.git(&["checkout", "-q", "--detach", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge pr into main", "pr"]);

    // Without the label (GitHub renders the expression as `false`): blocked.
    let (code, body, _) = run_diff_step_with(repo.path(), &[("APPROVE_REMOVAL", "false")]);
    assert_eq!(code, "3", "{body}");
    assert!(body.contains("| ⛔ | block | dev | bigcorp"), "{body}");
    assert!(!body.contains("Approved as deliberate"), "{body}");
    assert!(
        body.contains("If that is intended, approve it: the label `tenantgen/approve-removal`"),
        "the comment says how to approve: {body}"
    );

    // With it: changes only, and the comment says why the removal passes.
    let (code, body, _) = run_diff_step_with(repo.path(), &[("APPROVE_REMOVAL", "true")]);
    assert_eq!(code, "2", "{body}");
    let fake = FakeGitHub::start(&[]);
    let out = pr_comment(&fake, &body, &[]);
    assert_exit(&out, 0);
    let posted = str_of(&fake.comments()[0]["body"]).to_owned();
    assert!(
        posted.contains(
            "> Approved as deliberate: removal (`--approve removal`); those flags are info."
        ),
        "{posted}"
    );
    assert!(!posted.contains("If that is intended"), "{posted}");
    for zone in ["dev", "staging", "production"] {
        assert!(
            posted.contains(&format!("| ℹ️ | info | {zone} | bigcorp")),
            "{zone}: {posted}"
        );
    }

    // The gate's message for exit 3 names the label.
    let gate = steps
        .iter()
        .find(|s| s["env"]["CODE"].is_string())
        .expect("the gate");
    let out = Command::new("bash")
        .args(["-e", "-c", str_of(&gate["run"])])
        .env("CODE", "3")
        .output()
        .expect("bash runs");
    assert!(
        stdout(&out).contains("add the label tenantgen/approve-removal"),
        "{}",
        stdout(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// The workflow `tenantgen init` writes for a catalog-only repository (no tenantgen source).

const VERSION: &str = env!("CARGO_PKG_VERSION");
const CATALOG_WORKFLOW: &str = ".github/workflows/tenantgen-diff.yaml";
const CATALOG_PR_COMMENT: &str = ".github/tenantgen/pr-comment.py";
const README_SECTION: &str = "## Use it in your repository";

fn parse_workflow(path: &std::path::Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} parses: {e}", path.display()))
}

fn steps_of(wf: &Value) -> Vec<Value> {
    wf["jobs"]["diff"]["steps"]
        .as_array()
        .expect("steps")
        .clone()
}

/// A directory holding only `tenantgen`, the binary under test: what the install gives.
fn bin_dir(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir bin");
    let link = dir.join("tenantgen");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tenantgen"), &link).expect("symlink");
    }
    dir.to_path_buf()
}

/// PATH without any directory holding another `tenantgen`, so only the one put there runs.
fn path_without_tenantgen() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path)
        .filter(|d| !d.join("tenantgen").exists())
        .collect();
    std::env::join_paths(dirs).expect("PATH")
}

fn path_with(first: &[std::path::PathBuf]) -> std::ffi::OsString {
    let mut dirs: Vec<std::path::PathBuf> = first.to_vec();
    dirs.extend(std::env::split_paths(&path_without_tenantgen()));
    std::env::join_paths(dirs).expect("PATH")
}

/// A fresh catalog-only repository made by following the README's "Use it in your
/// repository" block: every line but the network install, with the built binary on PATH.
/// Returns the scratch directory and the repository's path in it.
fn repository_from_the_readme() -> (tempfile::TempDir, std::path::PathBuf) {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = readme
        .split_once(&format!("\n{README_SECTION}\n"))
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .unwrap_or_else(|| panic!("the README has a section `{README_SECTION}`"));
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(block, _)| block)
        .expect("the section starts with a sh block");
    let install = format!("cargo install tenantgen --version {VERSION} --locked");
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(install.as_str()),
        "the README installs the version the workflow pins"
    );
    let script = lines[1..].join("\n");

    let top = tempfile::tempdir().expect("tempdir");
    let home = top.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir home");
    let bin = bin_dir(&top.path().join("cargo-bin"));
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .current_dir(top.path())
        .env_clear()
        .env("PATH", path_with(&[bin]))
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ops")
        .env("GIT_AUTHOR_EMAIL", "ops@example.com")
        .env("GIT_COMMITTER_NAME", "Ops")
        .env("GIT_COMMITTER_EMAIL", "ops@example.com")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "the README's block runs as written:\n{script}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let repo = top.path().join("ops");
    assert!(
        repo.join(CATALOG_WORKFLOW).is_file(),
        "the block leaves the repository in ./ops"
    );
    (top, repo)
}

/// What one step did when the job ran.
struct StepRun {
    name: String,
    ran: bool,
    ok: bool,
    stdout: String,
    stderr: String,
}

struct JobRun {
    steps: Vec<StepRun>,
    outputs: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    summary: String,
}

impl JobRun {
    fn passed(&self) -> bool {
        self.steps.iter().all(|s| !s.ran || s.ok)
    }

    fn step(&self, name: &str) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.name.contains(name))
            .unwrap_or_else(|| panic!("a step named like `{name}`"))
    }

    fn log(&self) -> String {
        self.steps
            .iter()
            .map(|s| {
                format!(
                    "== {} (ran {}, ok {})\n{}{}",
                    s.name, s.ran, s.ok, s.stdout, s.stderr
                )
            })
            .collect()
    }
}

/// Runs the `diff` job of the workflow at `repo` as GitHub runs it for a pull_request event
/// of a branch of the same repository, after actions/checkout made the merge commit and
/// actions/cache restored `~/.tenantgen` (in `home`; a hit, so the install steps are skipped).
/// Each `run:` step is a bash script (`bash --noprofile --norc -eo pipefail`, the runner's
/// shell) with the workflow's `env`, the step's `env` (expressions evaluated here) and the
/// runner's variables; GITHUB_OUTPUT, GITHUB_PATH and GITHUB_STEP_SUMMARY are fresh files per
/// step, read back as GitHub does. An expression or condition this runner does not know fails
/// the test, so a new one in the workflow is noticed here.
fn run_job(
    repo: &std::path::Path,
    home: &std::path::Path,
    fake: &FakeGitHub,
    labels: &[&str],
) -> JobRun {
    let wf = parse_workflow(&repo.join(CATALOG_WORKFLOW));
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut env_all: Vec<(String, String)> = Vec::new();
    for scope in [&wf["env"], &wf["jobs"]["diff"]["env"]] {
        if let Some(map) = scope.as_object() {
            for (k, v) in map {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                assert!(!v.contains("${{"), "workflow env {k} is a literal");
                env_all.push((k.clone(), v));
            }
        }
    }
    let mut job = JobRun {
        steps: Vec::new(),
        outputs: Default::default(),
        summary: String::new(),
    };
    let mut extra_path: Vec<std::path::PathBuf> = Vec::new();
    let mut failed = false;
    for (i, step) in steps_of(&wf).iter().enumerate() {
        let name = step["name"]
            .as_str()
            .or_else(|| step["uses"].as_str())
            .unwrap_or_default()
            .to_owned();
        let cond = step["if"].as_str().map(str::trim);
        let wanted = match cond {
            None => !failed,
            // actions/cache restored the install: a hit.
            Some("steps.cache.outputs.cache-hit != 'true'") => false,
            Some(c) if c.contains("head.repo.full_name == github.repository") => !failed,
            Some("${{ !cancelled() && steps.diff.outcome == 'success' }}") => job
                .steps
                .iter()
                .any(|s| s.name.starts_with("Diff") && s.ran && s.ok),
            Some(other) => panic!("step `{name}`: unknown condition `{other}`"),
        };
        let Some(script) = step["run"].as_str() else {
            // `uses:` steps: the test did their work (checkout, cache restore).
            job.steps.push(StepRun {
                name,
                ran: false,
                ok: true,
                stdout: String::new(),
                stderr: String::new(),
            });
            continue;
        };
        if !wanted {
            job.steps.push(StepRun {
                name,
                ran: false,
                ok: true,
                stdout: String::new(),
                stderr: String::new(),
            });
            continue;
        }
        let mut env = env_all.clone();
        if let Some(map) = step["env"].as_object() {
            for (k, v) in map {
                let v = str_of(v);
                let value = match v {
                    "${{ contains(github.event.pull_request.labels.*.name, 'tenantgen/approve-removal') }}" => {
                        labels.contains(&"tenantgen/approve-removal").to_string()
                    }
                    "${{ secrets.GITHUB_TOKEN }}" => "test".to_owned(),
                    "${{ github.event.pull_request.number }}" => PR.to_owned(),
                    "${{ steps.diff.outputs.exit-code }}" => job
                        .outputs
                        .get("diff")
                        .and_then(|o| o.get("exit-code"))
                        .cloned()
                        .unwrap_or_default(),
                    v if v.contains("${{") => panic!("step `{name}`: unknown expression `{v}`"),
                    v => v.to_owned(),
                };
                env.push((k.clone(), value));
            }
        }
        let file = |what: &str| scratch.path().join(format!("{i}-{what}"));
        let (output, path_file, summary, env_file, script_file) = (
            file("output"),
            file("path"),
            file("summary"),
            file("env"),
            file("script.sh"),
        );
        for f in [&output, &path_file, &summary, &env_file] {
            std::fs::write(f, "").expect("runner file");
        }
        std::fs::write(&script_file, script).expect("script");
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_file)
            .current_dir(repo)
            .env_clear()
            .env("PATH", path_with(&extra_path))
            .env("HOME", home)
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("RUNNER_OS", "Linux")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_API_URL", fake.api_url())
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_PATH", &path_file)
            .env("GITHUB_ENV", &env_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("PR_COMMENT_RETRY_DELAY", "0")
            .envs(env)
            .output()
            .expect("bash runs");
        let read = |p: &std::path::Path| std::fs::read_to_string(p).expect("runner file");
        if let Some(id) = step["id"].as_str() {
            let outputs = job.outputs.entry(id.to_owned()).or_default();
            for line in read(&output).lines() {
                let (k, v) = line.split_once('=').expect("name=value outputs");
                outputs.insert(k.to_owned(), v.to_owned());
            }
        }
        // GITHUB_PATH entries go first on PATH for the steps after this one.
        for line in read(&path_file).lines().rev() {
            extra_path.insert(0, std::path::PathBuf::from(line));
        }
        assert!(read(&env_file).is_empty(), "no step uses GITHUB_ENV");
        job.summary.push_str(&read(&summary));
        failed |= !out.status.success();
        job.steps.push(StepRun {
            name,
            ran: true,
            ok: out.status.success(),
            stdout: stdout(&out),
            stderr: stderr(&out),
        });
    }
    job
}

/// The README's "Use it in your repository", end to end in a catalog-only repository made by
/// `tenantgen init`: a pull request is opened, pushed to twice and labelled, and after each
/// push every `run:` step of the workflow init wrote runs as GitHub would run it. The comment
/// is posted once and updated in place; the gate passes on changes, blocks a client's removal
/// until the approval label is there, and fails on a stale tree.
#[test]
fn the_readme_repository_gets_its_pull_requests_diffed_commented_and_gated() {
    let (top, repo) = repository_from_the_readme();
    for absent in ["src", "Cargo.toml", "Cargo.lock", "scripts"] {
        assert!(!repo.join(absent).exists(), "no tenantgen source: {absent}");
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .current_dir(&repo)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    let catalog_path = repo.join("clients/clients.yaml");
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&catalog_path).expect("catalog");
        assert!(text.contains(from), "the edit finds `{from}`");
        std::fs::write(&catalog_path, text.replacen(from, to, 1)).expect("write");
    };
    let render = || {
        let out = run(&repo, &["render"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    // A push: commit on `pr`, then the merge commit actions/checkout gives a pull_request run.
    let push = |message: &str| {
        git(&["add", "-A"]);
        git(&["commit", "-qm", message]);
        git(&["checkout", "-q", "--detach", "main"]);
        git(&[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #7",
            "pr",
        ]);
    };
    // What actions/cache restores: the install the workflow made on its first run.
    let home = top.path().join("runner-home");
    bin_dir(&home.join(".tenantgen/bin"));
    let fake = FakeGitHub::start(&[]);

    // 1. A new client and a version bump, rendered: changes to review, the job passes.
    git(&["checkout", "-q", "-b", "pr"]);
    edit("        dev: \"1.0.0\"", "        dev: \"1.1.0\"");
    let mut text = std::fs::read_to_string(&catalog_path).expect("catalog");
    text.push_str(
        "    - name: acme\n      hosting: shared\n      size: small\n      \
         image: registry.example.com/acme/web\n      versions:\n        dev: \"2.0.0\"\n",
    );
    std::fs::write(&catalog_path, text).expect("write");
    render();
    push("Add acme, bump example in dev");
    let job = run_job(&repo, &home, &fake, &[]);
    assert!(job.passed(), "{}", job.log());
    assert!(
        job.step("Check the installed")
            .stdout
            .starts_with(&format!("tenantgen {VERSION}")),
        "{}",
        job.log()
    );
    assert!(
        !job.step("Install tenantgen").ran,
        "the cache hit skips the build"
    );
    assert_eq!(job.outputs["diff"]["exit-code"], "2", "{}", job.log());
    let comments = fake.comments();
    assert_eq!(comments.len(), 1, "{}", job.log());
    let body = str_of(&comments[0]["body"]).to_owned();
    assert!(body.starts_with(MARKER), "{body}");
    for says in ["acme", "example", "1.0.0", "1.1.0", "2.0.0"] {
        assert!(body.contains(says), "the comment names {says}: {body}");
    }
    assert!(
        job.summary.contains("acme"),
        "the job summary carries the report"
    );
    assert!(
        job.step("Fail on")
            .stdout
            .contains("the rendered tree changes")
    );

    // 2. The next push retires `example`: blocked until the approval label is on.
    git(&["checkout", "-q", "pr"]);
    let text = std::fs::read_to_string(&catalog_path).expect("catalog");
    let start = text
        .find("    # A shared, small client")
        .expect("example's entry");
    let end = text.find("    - name: acme").expect("acme's entry");
    std::fs::write(&catalog_path, format!("{}{}", &text[..start], &text[end..])).expect("write");
    render();
    push("Retire example");
    let job = run_job(&repo, &home, &fake, &[]);
    assert!(!job.passed(), "{}", job.log());
    assert_eq!(job.outputs["diff"]["exit-code"], "3", "{}", job.log());
    assert!(job.step("Post or update").ran && job.step("Post or update").ok);
    let gate = job.step("Fail on");
    assert!(gate.ran && !gate.ok, "{}", job.log());
    assert!(
        gate.stdout
            .contains("add the label tenantgen/approve-removal"),
        "{}",
        gate.stdout
    );
    let comments = fake.comments();
    assert_eq!(comments.len(), 1, "updated in place, not added");
    let body = str_of(&comments[0]["body"]).to_owned();
    assert!(body.contains("| ⛔ | block | dev | [example]("), "{body}");

    // The label `tenantgen/approve-removal` is added: the rerun passes and says why.
    let job = run_job(&repo, &home, &fake, &["tenantgen/approve-removal"]);
    assert!(job.passed(), "{}", job.log());
    assert_eq!(job.outputs["diff"]["exit-code"], "2", "{}", job.log());
    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    let body = str_of(&comments[0]["body"]).to_owned();
    assert!(body.contains("Approved as deliberate"), "{body}");

    // 3. A catalog change pushed without rendering: the committed tree is stale, the job fails.
    git(&["checkout", "-q", "pr"]);
    edit("        dev: \"2.0.0\"", "        dev: \"2.0.1\"");
    push("Bump acme, forgot to render");
    let job = run_job(&repo, &home, &fake, &["tenantgen/approve-removal"]);
    assert_eq!(job.outputs["diff"]["exit-code"], "4", "{}", job.log());
    assert!(!job.passed());
    assert!(
        job.step("Fail on")
            .stdout
            .contains("::error title=Stale committed tree::"),
        "{}",
        job.log()
    );
    assert_eq!(fake.comments().len(), 1);
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "one comment created, then only updated");
}

/// The catalog workflow's diff, comment and gate steps are the tool repository's, word for
/// word but for where tenantgen and the comment script are: the two can never drift apart.
#[test]
fn the_catalog_workflow_runs_the_same_diff_comment_and_gate_as_the_tool_workflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["init", "ops"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let catalog = parse_workflow(&dir.path().join("ops").join(CATALOG_WORKFLOW));
    let tool = parse_workflow(&root().join(".github/workflows/tenantgen-diff.yaml"));

    for key in ["permissions", "concurrency", "defaults"] {
        assert_eq!(catalog[key], tool[key], "{key}");
    }
    assert_eq!(
        catalog["on"]["pull_request"]["types"],
        tool["on"]["pull_request"]["types"]
    );
    let paths = catalog["on"]["pull_request"]["paths"]
        .as_array()
        .expect("paths");
    for p in [
        "clients/**",
        "clusters/**",
        "schema/**",
        CATALOG_WORKFLOW,
        ".github/tenantgen/**",
    ] {
        assert!(paths.contains(&json!(p)), "path filter {p}");
    }

    type Pick = fn(&Value) -> bool;
    let picks: [(&str, Pick); 3] = [
        ("the diff", |s| s["id"] == "diff"),
        ("the comment", |s| {
            str_of(&s["run"]).contains("pr-comment.py")
        }),
        ("the gate", |s| s["env"]["CODE"].is_string()),
    ];
    for (what, pick) in picks {
        let find = |wf: &Value| {
            let found: Vec<Value> = steps_of(wf).into_iter().filter(&pick).collect();
            assert_eq!(found.len(), 1, "one step is {what}");
            found[0].clone()
        };
        let mut expected = find(&tool);
        let run = str_of(&expected["run"])
            .replace("./target/release/tenantgen", "tenantgen")
            .replace("scripts/pr-comment.py", CATALOG_PR_COMMENT);
        expected["run"] = json!(run);
        assert_eq!(find(&catalog), expected, "{what} step");
    }
    let text =
        std::fs::read_to_string(dir.path().join("ops").join(CATALOG_WORKFLOW)).expect("workflow");
    assert!(text.contains("'tenantgen/approve-removal'"), "{text}");
    assert!(!text.contains("cargo build"), "nothing builds from source");
}

/// One env var holds the version: the cache key, the install and the check read it, and the
/// check refuses an install that is not the pinned version.
#[test]
fn the_catalog_workflow_installs_caches_and_checks_the_pinned_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["init", "ops"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.path().join("ops").join(CATALOG_WORKFLOW);
    let text = std::fs::read_to_string(&path).expect("workflow");
    let wf = parse_workflow(&path);
    assert_eq!(
        wf["env"]["TENANTGEN_VERSION"], VERSION,
        "pinned to init's version"
    );
    assert_eq!(
        text.matches(VERSION).count(),
        1,
        "the version is written in one place"
    );

    let steps = steps_of(&wf);
    let cache = steps
        .iter()
        .find(|s| str_of(&s["uses"]).starts_with("actions/cache@"))
        .expect("a cache step");
    assert_eq!(cache["with"]["path"], "~/.tenantgen");
    assert!(
        str_of(&cache["with"]["key"]).contains("${{ env.TENANTGEN_VERSION }}"),
        "the key holds the pin"
    );
    let id = str_of(&cache["id"]);
    let install = steps
        .iter()
        .find(|s| str_of(&s["run"]).contains("cargo install"))
        .expect("an install step");
    assert_eq!(
        str_of(&install["run"]).trim(),
        "cargo install tenantgen --version \"$TENANTGEN_VERSION\" --locked --root \"$HOME/.tenantgen\""
    );
    assert_eq!(
        str_of(&install["if"]),
        format!("steps.{id}.outputs.cache-hit != 'true'"),
        "built only on a cache miss"
    );
    let order = |pred: &dyn Fn(&Value) -> bool| steps.iter().position(pred).expect("step");
    let check_at = order(&|s| str_of(&s["run"]).contains("/tenantgen\" --version"));
    assert!(order(&|s| str_of(&s["run"]).contains("cargo install")) < check_at);
    assert!(
        check_at < order(&|s| s["id"] == "diff"),
        "checked before the diff"
    );

    let check = str_of(&steps[check_at]["run"]).to_owned();
    let home = dir.path().join("home");
    bin_dir(&home.join(".tenantgen/bin"));
    let run_check = |pin: &str| {
        let gh_path = dir.path().join("gh-path");
        std::fs::write(&gh_path, "").expect("write");
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &check])
            .env_clear()
            .env("PATH", path_without_tenantgen())
            .env("HOME", &home)
            .env("GITHUB_PATH", &gh_path)
            .env("TENANTGEN_VERSION", pin)
            .output()
            .expect("bash runs");
        (out, std::fs::read_to_string(&gh_path).expect("read"))
    };
    let (out, gh_path) = run_check(VERSION);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        gh_path.trim(),
        home.join(".tenantgen/bin").display().to_string(),
        "the install goes on PATH"
    );
    let prefix = VERSION.rsplit_once('.').map(|(p, _)| p).unwrap_or("0");
    for wrong in ["9.9.9", prefix] {
        let (out, _) = run_check(wrong);
        assert!(!out.status.success(), "pin {wrong} is refused");
        let text = stdout(&out);
        assert!(
            text.starts_with("::error title=Wrong tenantgen version::"),
            "{text}"
        );
        assert!(
            text.contains(&format!("pins tenantgen {wrong}")) && text.contains(VERSION),
            "{text}"
        );
    }
}
