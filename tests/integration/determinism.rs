//! Determinism (issue "rendering twice, into another directory, with the clients in another
//! order, under another TZ, LANG and umask, gives byte-identical trees"). File modes are not
//! compared: the umask legitimately affects them; paths and bytes must not change.
//!
//! Also holds the catalog-text helpers the writer tests use to add, drop and reorder clients.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::repo_with_catalog;
use crate::support::{root, stderr, tenantgen};
use crate::writer::{Tree, sample_tree, snapshot, tree_diff};

/// A catalog's text cut around its `clients:` list: everything before the list (up to and
/// including the `  clients:` line), one block per client, and everything after.
struct Clients {
    head: Vec<String>,
    blocks: Vec<Vec<String>>,
    tail: Vec<String>,
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Splits `text` into its client blocks. A block starts at a line `    - name: ` and runs to
/// the next such line; the comment and blank lines just above a block's first line belong to
/// that block (they describe it).
fn split_clients(text: &str) -> Clients {
    let lines: Vec<String> = text
        .split_inclusive('\n')
        .map(|l| {
            if l.ends_with('\n') {
                l.to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("  clients:"))
        .expect("the catalog has a `  clients:` line")
        + 1;
    let end = lines[start..]
        .iter()
        .position(|l| !is_blank_or_comment(l) && indent(l) < 4)
        .map_or(lines.len(), |i| start + i);
    let mut head = lines[..start].to_vec();
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for line in &lines[start..end] {
        if line.starts_with("    - name: ") {
            let mut block = std::mem::take(&mut pending);
            block.push(line.clone());
            blocks.push(block);
        } else if is_blank_or_comment(line) {
            pending.push(line.clone());
        } else {
            let current = blocks
                .last_mut()
                .expect("nothing but comments before the first client");
            current.append(&mut pending);
            current.push(line.clone());
        }
    }
    if blocks.is_empty() {
        head.append(&mut pending);
    }
    let mut tail = pending;
    tail.extend_from_slice(&lines[end..]);
    Clients { head, blocks, tail }
}

fn join(c: &Clients) -> String {
    c.head
        .iter()
        .chain(c.blocks.iter().flatten())
        .chain(c.tail.iter())
        .map(String::as_str)
        .collect()
}

fn block_name(block: &[String]) -> String {
    block
        .iter()
        .find_map(|l| l.strip_prefix("    - name: "))
        .expect("a block has a name line")
        .split('#')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// The client names of a catalog, in order.
pub(crate) fn client_names(text: &str) -> Vec<String> {
    split_clients(text)
        .blocks
        .iter()
        .map(|b| block_name(b))
        .collect()
}

/// The catalog with its clients in reverse order.
pub(crate) fn reverse_clients(text: &str) -> String {
    let mut c = split_clients(text);
    c.blocks.reverse();
    join(&c)
}

/// The catalog without the client `name` (which must be there).
pub(crate) fn without_client(text: &str, name: &str) -> String {
    let mut c = split_clients(text);
    let before = c.blocks.len();
    c.blocks.retain(|b| block_name(b) != name);
    assert_eq!(
        c.blocks.len() + 1,
        before,
        "client `{name}` is in the catalog"
    );
    join(&c)
}

/// The catalog with `clients: []`.
pub(crate) fn without_clients(text: &str) -> String {
    let mut c = split_clients(text);
    c.blocks.clear();
    let last = c.head.last_mut().expect("the `clients:` line");
    *last = "  clients: []\n".to_owned();
    join(&c)
}

/// Renders `catalog_text` in a fresh repository with the test defaults.
fn render_plain(catalog_text: &str) -> (tempfile::TempDir, Output) {
    let repo = repo_with_catalog(catalog_text);
    let out = tenantgen(repo.path())
        .arg("render")
        .output()
        .expect("tenantgen runs");
    (repo, out)
}

/// Renders `catalog_text` in a fresh repository under another TZ, LANG and a umask of 077,
/// through `sh` (the only way to set a child's umask from std).
fn render_foreign(catalog_text: &str) -> (tempfile::TempDir, Output) {
    let repo = repo_with_catalog(catalog_text);
    let base = tenantgen(repo.path());
    let mut cmd = Command::new("sh");
    cmd.current_dir(repo.path()).env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("TZ", "Asia/Kathmandu")
        .env("LANG", "tr_TR.UTF-8")
        .env("LC_ALL", "tr_TR.UTF-8")
        .arg("-c")
        .arg(r#"umask 077; exec "$0" "$@""#)
        .arg(base.get_program())
        .arg("render");
    let out = cmd.output().expect("sh runs tenantgen");
    (repo, out)
}

#[track_caller]
fn assert_same_tree(a: &Tree, b: &Tree, what: &str) {
    let diff = tree_diff(a, b);
    let first = diff
        .iter()
        .find_map(|d| d.strip_prefix("~ "))
        .map(|path| {
            let get = |t: &Tree| {
                t.iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, x)| String::from_utf8_lossy(x).into_owned())
                    .unwrap_or_default()
            };
            format!(
                "\n--- {path}, first render\n{}\n--- {path}, second render\n{}",
                get(a),
                get(b)
            )
        })
        .unwrap_or_default();
    assert!(
        diff.is_empty(),
        "{what}: the two renders differ:\n{}{first}",
        diff.join("\n")
    );
}

/// The catalog rendered plainly (the sample's rendering is shared with the writer tests).
fn first(text: &str) -> Tree {
    if text == std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample") {
        return sample_tree().clone();
    }
    let (repo, out) = render_plain(text);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snapshot(&repo.path().join("clusters"))
}

fn assert_deterministic(catalog: &Path) {
    let what = catalog.display().to_string();
    let text = std::fs::read_to_string(catalog).expect("catalog");
    let names = client_names(&text);
    assert!(names.len() >= 2, "{what}: at least two clients to reorder");
    let reversed = reverse_clients(&text);
    let mut expected: Vec<String> = names.clone();
    expected.reverse();
    assert_eq!(
        client_names(&reversed),
        expected,
        "{what}: the clients are reversed"
    );

    let tree_a = first(&text);
    let (b, out_b) = render_foreign(&reversed);
    assert_eq!(out_b.status.code(), Some(0), "{what}: {}", stderr(&out_b));

    // The second render really ran under umask 077 (else this test proves less than it says).
    let probe = b.path().join("clusters/dev/kustomization.yaml");
    let mode = std::fs::metadata(&probe)
        .expect("rendered")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "{what}: umask 077 applied to {probe:?}"
    );

    let tree_b = snapshot(&b.path().join("clusters"));
    let files = tree_a.iter().filter(|(p, _)| !p.ends_with('/')).count();
    assert!(
        files > 10,
        "{what}: a real tree was rendered ({files} files)"
    );
    for name in &names {
        assert!(
            tree_a
                .iter()
                .any(|(p, _)| p.contains(&format!("/tenants/{name}"))),
            "{what}: client `{name}` is rendered"
        );
    }
    assert_same_tree(&tree_a, &tree_b, &what);
}

#[test]
fn sample_renders_identically_reordered_elsewhere_under_other_locale_tz_umask() {
    assert_deterministic(&root().join("clients/clients.yaml"));
}

#[test]
fn all_options_fixture_renders_identically_reordered_under_other_locale_tz_umask() {
    assert_deterministic(&root().join("tests/fixtures/valid/all_options.yaml"));
}

#[test]
fn workloads_fixture_renders_identically_reordered_under_other_locale_tz_umask() {
    assert_deterministic(&root().join("tests/fixtures/valid/workloads.yaml"));
}

#[test]
fn k3s_host_network_fixture_renders_identically_reordered_under_other_locale_tz_umask() {
    assert_deterministic(&root().join("tests/fixtures/valid/k3s_host_network.yaml"));
}

#[test]
fn catalog_helpers_keep_every_line_and_move_comments_with_their_client() {
    let text = std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample");
    let names = client_names(&text);
    assert_eq!(names.first().map(String::as_str), Some("acme-corp"));
    let reversed = reverse_clients(&text);
    let mut a: Vec<&str> = text.lines().collect();
    let mut b: Vec<&str> = reversed.lines().collect();
    assert_ne!(a, b);
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "reordering keeps every line");
    // The comment describing a client travels with it.
    let comment = "    # New client: not yet in production (no production version).";
    let pos = reversed.find(comment).expect("comment kept");
    assert!(reversed[pos..].lines().nth(1) == Some("    - name: initech"));
    assert_eq!(
        reverse_clients(&reversed),
        text,
        "reversing twice is the identity"
    );
    let dropped = without_client(&text, "initech");
    assert!(!dropped.contains("initech") && !dropped.contains(comment));
    assert!(without_clients(&text).contains("\n  clients: []\n"));
    assert!(client_names(&without_clients(&text)).is_empty());
}
