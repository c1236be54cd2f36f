//! Golden trees: any change in rendered output is a reviewable snapshot diff. Update them
//! deliberately with `INSTA_UPDATE=always cargo test --test integration golden`, then review.

use crate::support::{catalogs, rendered_repo, root, run, stderr, tree_files};

#[test]
fn rendered_trees_match_their_snapshots() {
    for (name, catalog) in catalogs() {
        let repo = rendered_repo(&catalog);
        let mut text = String::new();
        for (path, bytes) in tree_files(&repo.path().join("clusters")) {
            text.push_str(&format!("=== {path}\n"));
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        insta::with_settings!({snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("tree", text);
        });
    }
}

#[test]
fn committed_clusters_tree_is_the_rendering_of_the_sample() {
    let out = run(&root(), &["render", "--check"]);
    assert!(
        out.status.code() == Some(0),
        "clusters/ is stale; regenerate it with:\n    cargo run -- render\n{}",
        stderr(&out)
    );
}

#[test]
fn explain_says_what_is_rendered_and_why() {
    let out = run(&root(), &["explain", "globex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(crate::support::stdout(&out));
    // A client with several workloads: each with its kind, schedule, hosts and probes.
    let out = run(&root(), &["explain", "honeydue", "--zone", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("explain_workloads", crate::support::stdout(&out));
    let out = run(&root(), &["explain", "initech", "--zone", "production"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(crate::support::stdout(&out).contains("zone production: not deployed"));
    let out = run(&root(), &["explain", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("client `nobody` is not in"));
}
