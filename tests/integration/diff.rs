//! `tenantgen diff` on real git repositories: both sides come from git objects, changes are
//! attributed per zone and client, risks are flagged, exit codes follow SPEC §4.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{root, stderr, stdout, tenantgen};

/// A repository with the sample catalog and its rendered tree committed on `main`, and a
/// `pr` branch checked out.
pub(crate) struct Repo(tempfile::TempDir);

impl Repo {
    pub(crate) fn new() -> Self {
        Self::with(&std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample"))
    }

    fn with(catalog: &str) -> Self {
        let repo = Repo(tempfile::tempdir().expect("tempdir"));
        repo.git(&["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(repo.path().join("clients")).expect("mkdir");
        repo.write(catalog);
        repo.render();
        repo.commit("base");
        repo.git(&["checkout", "-q", "-b", "pr"]);
        repo
    }

    /// A repository whose catalog is committed on `main` without any rendered tree.
    fn catalog_only() -> Self {
        let repo = Repo(tempfile::tempdir().expect("tempdir"));
        repo.git(&["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(repo.path().join("clients")).expect("mkdir");
        repo.write(&std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample"));
        repo.commit("catalog only");
        repo
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn catalog(&self) -> String {
        std::fs::read_to_string(self.path().join("clients/clients.yaml")).expect("read")
    }

    /// The line a client starts on in the catalog, as links name it (the sample grows).
    fn line_of(&self, client: &str) -> usize {
        let entry = format!("    - name: {client}");
        self.catalog()
            .lines()
            .position(|l| l == entry)
            .expect("the client is in the catalog")
            + 1
    }

    /// The files `diff --base main` (with `extra` arguments) reports stale, from its JSON.
    fn stale(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["--base", "main", "--format", "json"];
        args.extend(extra);
        let out = self.diff(&args);
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        json["stale"]
            .as_array()
            .expect("stale")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn write(&self, text: &str) {
        std::fs::write(self.path().join("clients/clients.yaml"), text).expect("write");
    }

    pub(crate) fn edit(&self, from: &str, to: &str) {
        let text = self.catalog();
        assert!(text.contains(from), "the edit finds `{from}`");
        self.write(&text.replacen(from, to, 1));
    }

    pub(crate) fn render(&self) {
        let out = tenantgen(self.path())
            .arg("render")
            .output()
            .expect("render");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }

    pub(crate) fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", message]);
    }

    fn diff(&self, args: &[&str]) -> Output {
        tenantgen(self.path())
            .arg("diff")
            .args(args)
            .output()
            .expect("diff")
    }
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

#[test]
fn exit_codes_follow_terraform_and_the_spec() {
    let repo = Repo::new();
    let out = repo.diff(&["--detailed-exitcode"]);
    assert_eq!(code(&out), Some(0), "no changes: {}", stderr(&out));
    assert!(stdout(&out).starts_with("+0 added · ~0 changed · −0 removed"));

    repo.edit(
        "      config: {LOG_LEVEL: info}\n",
        "      config: {LOG_LEVEL: debug}\n",
    );
    repo.render();
    assert_eq!(
        code(&repo.diff(&["--detailed-exitcode"])),
        Some(2),
        "changes"
    );
    assert_eq!(
        code(&repo.diff(&[])),
        Some(0),
        "without --detailed-exitcode changes are not an error"
    );

    repo.edit(
        "      config: {LOG_LEVEL: debug}\n",
        "      config: {LOG_LEVEL: trace}\n",
    );
    let out = repo.diff(&["--detailed-exitcode"]);
    assert_eq!(
        code(&out),
        Some(4),
        "catalog changed but the tree was not re-rendered: {}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("the committed tree is stale"));
    assert!(stdout(&out).contains("clusters/dev/tenants/acme-corp/configmap.yaml"));
    repo.render();

    // A caution flag fails only with --fail-on caution.
    repo.edit(
        "        - cidr: 10.30.0.0/24             # dedicated Redis\n",
        "        - cidr: 10.30.0.0/16             # dedicated Redis\n",
    );
    repo.render();
    assert_eq!(code(&repo.diff(&["--detailed-exitcode"])), Some(2));
    let out = repo.diff(&["--detailed-exitcode", "--fail-on", "caution"]);
    assert_eq!(code(&out), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains("[caution] dev: NetworkPolicy/ded-bigcorp/allow-egress: allows traffic it did not allow before (network-policy-widened)"), "{}", stdout(&out));
}

/// The committed tree at a revision is compared by git blob ids: stale when the catalog was
/// committed without re-rendering (a changed file, a missing one, an extra one), current when
/// it was; a hand-written file render leaves alone is never stale.
#[test]
fn a_stale_tree_is_found_at_a_revision_too() {
    let repo = Repo::new();
    let stale_at = |rev: &str| repo.stale(&["--head", rev]);
    assert_eq!(stale_at("main"), Vec::<String>::new());

    // A config change and a removed client, committed without rendering.
    repo.edit(
        "      config: {LOG_LEVEL: info}\n",
        "      config: {LOG_LEVEL: debug}\n",
    );
    repo.commit("catalog only");
    let stale = stale_at("pr");
    assert!(
        stale.contains(&"clusters/dev/tenants/acme-corp/configmap.yaml".to_owned()),
        "{stale:?}"
    );
    assert!(
        stale.iter().all(|p| p.contains("/tenants/acme-corp/")),
        "only acme-corp's files: {stale:?}"
    );

    // Rendered and committed: current. A hand-written gotk-sync.yaml (flux bootstrap) where
    // tenantgen would write one is left alone by render, so it is not stale either.
    repo.render();
    let sync = repo.path().join("clusters/dev/flux-system/gotk-sync.yaml");
    std::fs::create_dir_all(sync.parent().expect("parent")).expect("mkdir");
    std::fs::write(&sync, "# written by flux bootstrap\n").expect("write");
    repo.commit("rendered");
    assert_eq!(stale_at("pr"), Vec::<String>::new());

    // A file deleted from the committed tree is missing; an owned file no rendering makes is extra.
    std::fs::remove_file(
        repo.path()
            .join("clusters/staging/tenants/acme-corp/service.yaml"),
    )
    .expect("rm");
    std::fs::write(
        repo.path()
            .join("clusters/staging/tenants/acme-corp/leftover.yaml"),
        format!("{}\n", tenantgen::tree::header()),
    )
    .expect("write");
    repo.commit("hand edits");
    assert_eq!(
        stale_at("pr"),
        vec![
            "clusters/staging/tenants/acme-corp/leftover.yaml".to_owned(),
            "clusters/staging/tenants/acme-corp/service.yaml".to_owned(),
        ]
    );
}

/// In the working tree, git's index vouches for the files nobody touched; what it cannot
/// vouch for (edited, staged, untracked, deleted) is read: each is found stale, and a
/// hand-written file render leaves alone is not.
#[test]
fn a_stale_working_tree_is_found_in_edited_staged_untracked_and_deleted_files() {
    let repo = Repo::new();
    let stale = || repo.stale(&[]);
    assert_eq!(stale(), Vec::<String>::new());
    let path = |rel: &str| repo.path().join("clusters").join(rel);
    let append = |rel: &str| {
        let mut text = std::fs::read_to_string(path(rel)).expect("read");
        text.push_str("# edited by hand\n");
        std::fs::write(path(rel), text).expect("write");
    };
    append("dev/tenants/acme-corp/configmap.yaml");
    append("staging/tenants/acme-corp/configmap.yaml");
    repo.git(&["add", "clusters/staging/tenants/acme-corp/configmap.yaml"]);
    std::fs::remove_file(path("production/tenants/acme-corp/service.yaml")).expect("rm");
    std::fs::write(
        path("dev/tenants/acme-corp/leftover.yaml"),
        format!("{}\n", tenantgen::tree::header()),
    )
    .expect("write");
    std::fs::write(path("dev/tenants/acme-corp/notes.yaml"), "# mine\n").expect("write");
    assert_eq!(
        stale(),
        [
            "clusters/dev/tenants/acme-corp/configmap.yaml",
            "clusters/dev/tenants/acme-corp/leftover.yaml",
            "clusters/production/tenants/acme-corp/service.yaml",
            "clusters/staging/tenants/acme-corp/configmap.yaml",
        ]
    );
    repo.render();
    assert_eq!(
        stale(),
        Vec::<String>::new(),
        "render makes it current again"
    );
}

#[test]
fn a_render_error_on_either_side_is_an_error_never_a_difference() {
    let repo = Repo::new();
    repo.edit("size: small", "size: huge");
    let out = repo.diff(&["--detailed-exitcode"]);
    assert_eq!(code(&out), Some(1));
    assert!(
        stderr(&out).contains("the head catalog does not validate"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    let broken = std::fs::read_to_string(root().join("clients/clients.yaml"))
        .expect("sample")
        .replacen("size: small", "size: huge", 1);
    let repo =
        Repo::with(&std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample"));
    repo.write(&broken);
    repo.commit("broken");
    repo.write(&std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample"));
    let out = repo.diff(&["--base", "HEAD", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(1));
    assert!(
        stderr(&out).contains("the base catalog does not validate"),
        "{}",
        stderr(&out)
    );

    let out = repo.diff(&["--base", "no-such-branch"]);
    assert_eq!(code(&out), Some(1));
    assert!(stderr(&out).contains("`no-such-branch` is not a revision"));
}

#[test]
fn both_sides_come_from_git_objects_without_a_checkout() {
    let repo = Repo::new();
    repo.edit("        dev: \"5.9.0\"\n", "        dev: \"5.9.1\"\n");
    repo.render();
    repo.commit("bump bigcorp in dev");
    let head_before = repo.git(&["rev-parse", "HEAD"]);
    let status_before = repo.git(&["status", "--porcelain"]);
    // Working tree edits do not matter with --head.
    repo.edit(
        "      config: {LOG_LEVEL: info}\n",
        "      config: {LOG_LEVEL: debug}\n",
    );
    let out = repo.diff(&["--base", "main", "--head", "pr", "--format", "json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let changes = json["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["key"]["kind"], "Deployment");
    assert_eq!(changes[0]["client"], "bigcorp");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head_before);
    assert_eq!(
        repo.git(&["worktree", "list"]).lines().count(),
        1,
        "no second worktree"
    );
    assert_ne!(
        repo.git(&["status", "--porcelain"]),
        status_before,
        "the working tree edit is still there"
    );
    // The default base is the merge-base with main.
    let out = repo.diff(&["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    // The dev bump, plus the config change: ConfigMap and the Deployment's config hash in
    // each of the three zones.
    let changes = json["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 7, "{changes:?}");
    assert_eq!(
        changes
            .iter()
            .filter(|c| c["key"]["kind"] == "ConfigMap")
            .count(),
        3
    );
}

/// Removing a client is one block flag per zone saying what Flux prune deletes, not one per
/// object; `--approve removal` makes exactly those flags info, says so, and CI passes.
#[test]
fn removing_a_client_is_a_flagged_deliberate_act() {
    let repo = Repo::new();
    let text = repo.catalog();
    let start = text.find("    # Dedicated, large").expect("bigcorp block");
    let end = text.find("    # Dedicated, xlarge").expect("globex block");
    repo.write(&format!("{}{}", &text[..start], &text[end..]));
    repo.render();
    let out = repo.diff(&["--detailed-exitcode"]);
    assert_eq!(code(&out), Some(3), "{}", stdout(&out));
    let text = stdout(&out);
    let risks: Vec<&str> = text.lines().filter(|l| l.starts_with("  [")).collect();
    assert_eq!(risks.len(), 3, "one flag per zone:\n{text}");
    for (line, zone) in risks.iter().zip(["dev", "staging", "production"]) {
        assert_eq!(
            *line,
            format!(
                "  [block] {zone}: `bigcorp` leaves {zone}: Flux prune deletes namespace `ded-bigcorp` \
                 and everything in it (17 objects: 1 × ConfigMap, 1 × Deployment, 1 × ExternalSecret, \
                 1 × HorizontalPodAutoscaler, 1 × Ingress, 1 × Kustomization, 1 × LimitRange, \
                 2 × Middleware, 4 × NetworkPolicy, 1 × PodDisruptionBudget, 1 × ResourceQuota, \
                 1 × Service, 1 × ServiceAccount) (client-removed)"
            )
        );
    }

    let out = repo.diff(&["--detailed-exitcode", "--approve", "removal"]);
    assert_eq!(
        code(&out),
        Some(2),
        "approved: changes only\n{}",
        stdout(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains(
            "approved as deliberate: removal (`--approve removal`); those flags are info"
        ),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("  [info] ")
                && l.ends_with("; approved as deliberate (`--approve removal`) (client-removed)"))
            .count(),
        3,
        "{text}"
    );
    let md = stdout(&repo.diff(&["--format", "markdown", "--approve", "removal"]));
    assert!(
        md.contains(
            "> Approved as deliberate: removal (`--approve removal`); those flags are info."
        ),
        "{md}"
    );
    // Approval covers removals only: a widened policy still counts at --fail-on caution.
    repo.edit(
        "        - cidr: 10.20.0.0/16             # managed PostgreSQL network\n",
        "        - cidr: 10.0.0.0/8               # managed PostgreSQL network\n",
    );
    repo.render();
    let out = repo.diff(&[
        "--detailed-exitcode",
        "--approve",
        "removal",
        "--fail-on",
        "caution",
    ]);
    assert_eq!(code(&out), Some(3), "{}", stdout(&out));
}

#[test]
fn promotions_that_skip_a_zone_or_move_several_zones_are_flagged() {
    let repo = Repo::new();
    // globex: production jumps to dev's 7.2.0, never seen in staging.
    repo.edit(
        "        production: \"7.1.4@sha256:66465eeb3aa14e407d3884868f098fba21c5ba7e6bfbf8ba0282c233d3b5dcba\"",
        "        production: \"7.2.0@sha256:66465eeb3aa14e407d3884868f098fba21c5ba7e6bfbf8ba0282c233d3b5dcba\"",
    );
    // acme-corp: staging and production move at once.
    repo.edit(
        "        staging: \"1.2.3\"\n",
        "        staging: \"1.3.0\"\n",
    );
    repo.edit(
        "        production: \"1.2.3@sha256:c9a8d078691abc63b08c0a274063ebae56e733dfcf156996a3e640bc7594ac46\"",
        "        production: \"1.3.0@sha256:c9a8d078691abc63b08c0a274063ebae56e733dfcf156996a3e640bc7594ac46\"",
    );
    repo.render();
    let text = stdout(&repo.diff(&[]));
    assert!(text.contains("[block] production: `globex` gets `7.2.0` in production, which never ran in staging (promotion-skips-zone)"), "{text}");
    assert!(text.contains("[caution] all: `acme-corp` changes version in staging, production at once; promote one zone at a time (version-changed-in-several-zones)"), "{text}");
    assert!(
        !text.contains("`acme-corp` gets"),
        "1.3.0 ran in staging's head before production: not a skip\n{text}"
    );
    // A proper promotion is not flagged.
    let repo = Repo::new();
    let out = tenantgen(repo.path())
        .args(["promote", "acme-corp", "--to", "staging"])
        .output()
        .expect("promote");
    assert_eq!(code(&out), Some(0));
    repo.render();
    let out = repo.diff(&["--detailed-exitcode", "--fail-on", "caution"]);
    assert_eq!(code(&out), Some(2), "{}", stdout(&out));
}

#[test]
fn markdown_groups_identical_changes_links_clients_and_escapes() {
    let repo = Repo::new();
    repo.edit(
        "      config: {LOG_LEVEL: info}\n",
        "      config: {LOG_LEVEL: \"<b>|```@team```</b>\"}\n",
    );
    repo.render();
    let out = tenantgen(repo.path())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "ge/ops")
        .env("GITHUB_SHA", "abc123")
        .args(["diff", "--format", "markdown"])
        .output()
        .expect("diff");
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.starts_with("<!-- tenantgen-diff -->\n"));
    assert!(
        md.contains(
            "### tenantgen: +0 added · ~6 changed · −0 removed across 3 zones and 1 client"
        ),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "[acme-corp](https://github.com/ge/ops/blob/abc123/clients/clients.yaml#L{})",
            repo.line_of("acme-corp")
        )),
        "{md}"
    );
    // The same ConfigMap change in three zones is shown once.
    assert_eq!(
        md.matches("ConfigMap/sh-acme-corp/web-config in dev, staging, production")
            .count(),
        1,
        "{md}"
    );
    assert!(!md.contains("ConfigMap/sh-acme-corp/web-config in dev</summary>"));
    // Diffs live in fences longer than any backtick run in them.
    assert!(md.contains("````diff\n"), "{md}");
    assert!(
        md.contains("+  LOG_LEVEL: \"<b>|```@team```</b>\""),
        "values in diffs are shown as they are, inside the fence"
    );
    // A replaced template.
    let tpl = repo.path().join("t.md.j2");
    std::fs::write(
        &tpl,
        "{{ marker }}\nCustom: {{ headline }} / {{ flags | length }} risks\n",
    )
    .expect("write");
    let out = repo.diff(&[
        "--format",
        "markdown",
        "--template",
        &tpl.display().to_string(),
    ]);
    assert_eq!(
        stdout(&out),
        "<!-- tenantgen-diff -->\nCustom: +0 added · ~6 changed · −0 removed across 3 zones and 1 client / 0 risks"
    );
    std::fs::write(&tpl, "{{ no_such_variable }}").expect("write");
    let out = repo.diff(&[
        "--format",
        "markdown",
        "--template",
        &tpl.display().to_string(),
    ]);
    assert_eq!(code(&out), Some(1), "a template error is an error");
}

#[test]
fn generator_comparison_isolates_what_upgrading_tenantgen_changes() {
    let repo = Repo::new();
    // Simulate a tree written by another tenantgen version: one field differs.
    let path = repo
        .path()
        .join("clusters/dev/tenants/acme-corp/deployment.yaml");
    let text = std::fs::read_to_string(&path)
        .expect("read")
        .replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 10");
    std::fs::write(&path, text).expect("write");
    let out = repo.diff(&["--compare", "generator", "--format", "json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["schemaVersion"], 1);
    let changes = json["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        changes[0]["diff"]
            .as_str()
            .unwrap_or("")
            .contains("-  revisionHistoryLimit: 10\n+  revisionHistoryLimit: 5"),
        "{}",
        changes[0]["diff"]
    );
}

#[test]
fn markdown_for_a_thousand_client_change_fits_one_comment() {
    use tenantgen::{check::check_source, diff, report, source::Source, synthetic};
    let base_text = synthetic::catalog(1000);
    // Every client moves in dev, and the last ten clients are removed (blocking risks).
    let mut head_text = base_text.replace("        dev: \"1.", "        dev: \"2.");
    let cut = head_text
        .find("    - name: client-00990\n")
        .expect("client 990");
    head_text.truncate(cut);
    let base = check_source(Source::from_text("base.yaml", base_text)).expect("base");
    let head = check_source(Source::from_text("head.yaml", head_text)).expect("head");
    let r = diff::compare_catalogs(&base, &head);
    assert_eq!(
        (r.counts.changed, r.counts.added),
        (990, 0),
        "one Deployment per remaining client"
    );
    assert!(
        r.counts.removed > 300,
        "ten clients' objects in three zones: {:?}",
        r.counts
    );
    let md = report::markdown(
        &r,
        &report::Links::default(),
        report::DEFAULT_TEMPLATE,
        report::COMMENT_LIMIT,
    )
    .expect("markdown");
    assert!(md.len() <= report::COMMENT_LIMIT, "{} characters", md.len());
    assert!(md.starts_with(report::MARKER));
    // Risks are never truncated: every removal is there, one row per client and zone.
    for i in 990..1000 {
        for zone in ["dev", "staging", "production"] {
            let row = format!(
                "| ⛔ | block | {zone} | client-{i:05} | \\`client-{i:05}\\` leaves {zone}: Flux prune deletes namespace"
            );
            assert!(
                md.lines().any(|l| l.starts_with(&row)),
                "flag for client-{i:05} in {zone} missing"
            );
        }
    }
    assert!(
        md.contains("#### Zone dev") && md.contains("#### Zone production"),
        "tables are always there"
    );
    assert!(
        md.contains("more object diffs are left out to fit one comment"),
        "it says what it left out"
    );
    // The JSON carries everything.
    let json: serde_json::Value = serde_json::from_str(&report::json(&r)).expect("json");
    assert_eq!(
        json["changes"].as_array().map(Vec::len),
        Some(r.counts.total())
    );
}

/// Thousands of flags across hundreds of clients: the markdown keeps every flag (grouped, with
/// counts that add up to the total and every flagged client named) and every zone's table
/// (grouped, with totals that are the zone's), in one comment.
#[test]
fn markdown_keeps_every_flag_and_every_table_for_thousands_of_flags() {
    use tenantgen::{check::check_source, diff, report, source::Source, synthetic};
    let base_text = synthetic::catalog(1000);
    // Staging and production of every client move at once to a version no earlier zone ran
    // (three flags a client), egress widens (a caution a zone), the last 300 clients go.
    let mut head_text = base_text
        .replace(".0@sha256:", ".1@sha256:")
        .replace("        staging: \"1.", "        staging: \"0.")
        .replace(
            "          ports: [5432]\n",
            "          ports: [5432, 6379]\n",
        );
    let cut = head_text
        .find("    - name: client-00700\n")
        .expect("client 700");
    head_text.truncate(cut);
    let base = check_source(Source::from_text("base.yaml", base_text)).expect("base");
    let head = check_source(Source::from_text("head.yaml", head_text)).expect("head");
    let r = diff::compare_catalogs(&base, &head);
    let flagged: std::collections::BTreeSet<&str> =
        r.flags.iter().filter_map(|f| f.client.as_deref()).collect();
    assert!(r.flags.len() > 2000, "{} flags", r.flags.len());
    assert_eq!(flagged.len(), 1000, "every client is flagged");

    let md = report::markdown(
        &r,
        &report::Links::default(),
        report::DEFAULT_TEMPLATE,
        report::COMMENT_LIMIT,
    )
    .expect("markdown");
    assert!(md.len() <= report::COMMENT_LIMIT, "{} characters", md.len());
    assert!(!md.contains("The report is cut here"), "nothing is cut");
    let panel = &md
        [md.find("#### Risks").expect("risk panel")..md.find("#### Releases").expect("releases")];
    assert!(
        panel.starts_with(&format!("#### Risks ({})", r.flags.len())),
        "{panel}"
    );
    // One row per rule, each saying how many flags it stands for: they add up.
    let mut per_rule: std::collections::BTreeMap<(diff::Severity, &str), usize> =
        Default::default();
    for f in &r.flags {
        *per_rule.entry((f.severity, f.rule)).or_default() += 1;
    }
    let rows: Vec<&str> = panel
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| |"))
        .collect();
    assert_eq!(rows.len(), per_rule.len(), "{panel}");
    let mut counted = 0;
    for ((severity, rule), n) in &per_rule {
        let title = report::escape_md(diff::rule_title(rule));
        let sev = format!("{severity:?}").to_lowercase();
        let row = rows
            .iter()
            .find(|l| {
                l.contains(&format!(" {sev} |")) && l.contains(&format!("| {title}: {n} flag"))
            })
            .unwrap_or_else(|| panic!("no row for {sev} {rule} with {n} flags in\n{panel}"));
        counted += n;
        for client in r
            .flags
            .iter()
            .filter(|f| f.rule == *rule && f.severity == *severity)
            .filter_map(|f| f.client.as_deref())
        {
            assert!(
                row.contains(&report::escape_md(client)),
                "{client} not named in the {rule} row"
            );
        }
    }
    assert_eq!(counted, r.flags.len());
    // The Releases table is grouped per zone and kind, and its rows add up to every change.
    let releases = &md[md.find("#### Releases").expect("releases")..];
    assert!(
        releases.starts_with(&format!("#### Releases ({})", r.releases.len())),
        "{releases}"
    );
    let release_total: usize = releases
        .lines()
        .skip(4)
        .take_while(|l| l.starts_with("| "))
        .map(|l| {
            l[2..]
                .split(' ')
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("a count of clients: {l}"))
        })
        .sum();
    assert_eq!(release_total, r.releases.len());
    // Every zone has its table; grouped rows and totals add up to the zone's counts.
    for (zone, clients) in &r.zones {
        let start = md
            .find(&format!("#### Zone {zone}\n"))
            .unwrap_or_else(|| panic!("no table for {zone}"));
        let table: Vec<&str> = md[start..]
            .lines()
            .skip(4)
            .take_while(|l| l.starts_with('|'))
            .collect();
        let numbers = |l: &str| -> Vec<usize> {
            l.rsplit('|')
                .skip(1)
                .take(3)
                .map(|c| c.trim().parse().expect("a count"))
                .collect()
        };
        let (total, rows) = table.split_last().expect("rows");
        assert!(total.starts_with("| **total** |"), "{total}");
        let expected: Vec<usize> = {
            let sum = |f: fn(&diff::Counts) -> usize| clients.values().map(f).sum::<usize>();
            vec![sum(|c| c.removed), sum(|c| c.changed), sum(|c| c.added)]
        };
        assert_eq!(numbers(total), expected, "{zone} total");
        let mut summed = vec![0; 3];
        for row in rows {
            for (s, n) in summed.iter_mut().zip(numbers(row)) {
                *s += n;
            }
        }
        assert_eq!(summed, expected, "{zone} rows add up");
        assert!(rows.len() <= 50, "{zone}: {} rows", rows.len());
    }
}

fn markdown_on_github(repo: &Repo, args: &[&str]) -> String {
    let out = tenantgen(repo.path())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "ge/ops")
        .args(["diff", "--format", "markdown"])
        .args(args)
        .output()
        .expect("diff");
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    stdout(&out)
}

/// A removed client's row links to its line in the base commit's catalog: the head file has
/// another client on that line, or none.
#[test]
fn a_removed_clients_link_points_at_its_line_in_the_base_commit() {
    let repo = Repo::new();
    let text = repo.catalog();
    let line = text
        .lines()
        .position(|l| l.starts_with("    - name: bigcorp"))
        .expect("bigcorp")
        + 1;
    let start = text.find("    # Dedicated, large").expect("bigcorp block");
    let end = text.find("    # Dedicated, xlarge").expect("globex block");
    repo.write(&format!("{}{}", &text[..start], &text[end..]));
    repo.render();
    repo.commit("retire bigcorp");
    let (base, head) = (
        repo.git(&["rev-parse", "main"]).trim().to_owned(),
        repo.git(&["rev-parse", "pr"]).trim().to_owned(),
    );
    let md = markdown_on_github(&repo, &["--base", "main", "--head", "pr"]);
    let link =
        format!("[bigcorp](https://github.com/ge/ops/blob/{base}/clients/clients.yaml#L{line})");
    assert!(md.contains(&link), "{link} in\n{md}");
    assert!(
        !md.contains(&format!("blob/{head}/clients/clients.yaml#L{line})")),
        "{md}"
    );
}

/// `--head HEAD` (or a branch) links to the commit it names, so the link still shows the
/// reviewed lines after more pushes.
#[test]
fn links_name_the_head_commit_not_the_ref() {
    let repo = Repo::new();
    repo.edit(
        "      config: {LOG_LEVEL: info}\n",
        "      config: {LOG_LEVEL: debug}\n",
    );
    repo.render();
    repo.commit("debug logs");
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let md = markdown_on_github(&repo, &["--base", "main", "--head", "HEAD"]);
    assert!(
        md.contains(&format!(
            "[acme-corp](https://github.com/ge/ops/blob/{head}/clients/clients.yaml#L{})",
            repo.line_of("acme-corp")
        )),
        "{md}"
    );
    assert!(!md.contains("blob/HEAD/"), "{md}");
}

/// A catalog committed without any rendered tree is stale (exit 4), as `render --check` says,
/// in the working tree and at a revision.
#[test]
fn a_catalog_without_any_committed_tree_is_stale() {
    let repo = Repo::catalog_only();
    let check = tenantgen(repo.path())
        .args(["render", "--check"])
        .output()
        .expect("render --check");
    assert_eq!(code(&check), Some(1), "{}", stderr(&check));
    for args in [
        &["--detailed-exitcode"][..],
        &["--detailed-exitcode", "--head", "HEAD"],
    ] {
        let out = repo.diff(args);
        assert_eq!(code(&out), Some(4), "{args:?}: {}", stdout(&out));
        let text = stdout(&out);
        assert!(text.contains("the committed tree is stale"), "{text}");
        assert!(
            text.contains("clusters/dev/tenants/acme-corp/deployment.yaml"),
            "the missing files are named: {text}"
        );
    }
}

/// Zones come in promotion order (the catalog's, not the alphabet's), each client's changes
/// stay together instead of interleaving by kind, and the text says what was compared, by
/// name and commit.
#[test]
fn zones_follow_promotion_order_and_each_clients_changes_stay_together() {
    let repo = Repo::new();
    repo.edit(
        "      config: {LOG_LEVEL: info}\n",
        "      config: {LOG_LEVEL: debug}\n",
    );
    repo.edit("        dev: \"5.9.0\"\n", "        dev: \"5.9.1\"\n");
    repo.render();
    let main = repo.git(&["rev-parse", "main"]).trim()[..12].to_owned();
    let text = stdout(&repo.diff(&["--base", "main"]));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("+0 added · ~7 changed · −0 removed across 3 zones and 2 clients")
    );
    assert_eq!(
        lines.next().map(str::to_owned),
        Some(format!(
            "base main ({main}) → head working tree (on pr at {main})"
        ))
    );
    let zones: Vec<&str> = text.lines().filter(|l| l.starts_with("zone ")).collect();
    assert_eq!(zones, ["zone dev:", "zone staging:", "zone production:"]);
    // Diffs: acme-corp's (zone by zone), then bigcorp's; never acme, bigcorp, acme.
    let owners: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("--- base/"))
        .map(|l| {
            if l.contains("acme-corp") {
                "acme-corp"
            } else {
                "bigcorp"
            }
        })
        .collect();
    assert_eq!(
        owners,
        ["acme-corp"; 6]
            .iter()
            .chain(&["bigcorp"])
            .copied()
            .collect::<Vec<_>>()
    );
    let acme_zones: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("--- base/"))
        .filter(|l| l.contains("acme-corp"))
        .map(|l| l.split('/').next().unwrap_or_default())
        .collect();
    assert_eq!(
        acme_zones,
        [
            "dev",
            "dev",
            "staging",
            "staging",
            "production",
            "production"
        ]
    );

    let md = stdout(&repo.diff(&["--base", "main", "--format", "markdown"]));
    let at = |needle: &str| {
        md.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {md}"))
    };
    assert!(at("#### Zone dev") < at("#### Zone staging"));
    assert!(at("#### Zone staging") < at("#### Zone production"));
    assert!(
        at("##### acme-corp") < at("##### bigcorp"),
        "a heading per client: {md}"
    );
    assert!(
        md.contains(&format!(
            "Base `main ({main})` → head `working tree (on pr at {main})`"
        )),
        "{md}"
    );
}

/// The Releases table lists every version change with whether it is a promotion: a promotion
/// from the zone before, a new version in the first zone, a jump that is not a promotion, a
/// client leaving a zone.
#[test]
fn a_releases_table_lists_every_version_change() {
    let repo = Repo::new();
    let out = tenantgen(repo.path())
        .args(["promote", "acme-corp", "--to", "staging"])
        .output()
        .expect("promote");
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    repo.edit("        dev: \"5.9.0\"\n", "        dev: \"5.9.1\"\n");
    repo.edit(
        "        production: \"7.1.4@sha256:66465eeb3aa14e407d3884868f098fba21c5ba7e6bfbf8ba0282c233d3b5dcba\"",
        "        production: \"7.2.0@sha256:66465eeb3aa14e407d3884868f098fba21c5ba7e6bfbf8ba0282c233d3b5dcba\"",
    );
    let text = repo.catalog();
    let start = text.find("    - name: initech").expect("initech");
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |e| start + e + 1);
    repo.write(&format!("{}{}", &text[..start], &text[end..]));
    repo.render();
    let text = stdout(&repo.diff(&["--base", "main"]));
    let releases: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "releases:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(
        releases[..3],
        [
            "  acme-corp staging: 1.2.3 → 1.3.0 (promotion from dev)",
            "  bigcorp dev: 5.9.0 → 5.9.1 (new version)",
            "  globex production: 7.1.4@sha256:66465eeb3aa1… → 7.2.0@sha256:66465eeb3aa1… (not a promotion)",
        ],
        "{text}"
    );
    assert!(
        releases[3..]
            .iter()
            .all(|l| l.starts_with("  initech ") && l.ends_with(" → — (leaves the zone)")),
        "{text}"
    );
    assert!(!releases[3..].is_empty(), "{text}");

    let md = stdout(&repo.diff(&["--base", "main", "--format", "markdown"]));
    assert!(
        md.contains(&format!("| globex (`clients/clients.yaml:{}`) | production | `7.1.4@sha256:66465eeb3aa1…` | `7.2.0@sha256:66465eeb3aa1…` | not a promotion |", repo.line_of("globex"))),
        "{md}"
    );
    assert!(
        md.contains("| staging | `1.2.3` | `1.3.0` | promotion from dev |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&repo.diff(&["--base", "main", "--format", "json"])))
            .expect("json");
    assert_eq!(
        json["releases"][0],
        serde_json::json!({"client": "acme-corp", "zone": "staging", "from": "1.2.3", "to": "1.3.0", "promotedFrom": "dev"})
    );
}
