//! `diff` of catalogs whose clients have several workloads: what a reviewer must see flagged
//! when a volume goes, a schedule moves or a TCP port opens (issue 13 item 8).

use crate::diff::Repo;
use crate::support::{stderr, stdout, tenantgen};

fn flags(repo: &Repo) -> Vec<(String, String, String)> {
    repo.render();
    repo.commit("change");
    let out = tenantgen(repo.path())
        .args(["diff", "--base", "main", "--head", "pr", "--format", "json"])
        .output()
        .expect("diff");
    assert!(
        matches!(out.status.code(), Some(0 | 2 | 3)),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    json["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_owned();
            (s("rule"), s("severity"), s("zone"))
        })
        .collect()
}

#[test]
fn removing_a_volume_is_a_block_in_every_zone_that_had_it() {
    let repo = Repo::new();
    repo.edit(
        "      volumes:\n        data: {size: 5Gi, access: single-node, mounts: {broker: /mosquitto/data}}\n",
        "",
    );
    let f = flags(&repo);
    for zone in ["dev", "staging", "production"] {
        assert!(
            f.iter()
                .any(|(r, s, z)| r == "volume-removed" && s == "block" && z == zone),
            "{zone}: {f:?}"
        );
    }
}

#[test]
fn moving_a_schedule_and_opening_a_tcp_port_are_flagged_for_review() {
    let repo = Repo::new();
    repo.edit("schedule: \"H 3 * * *\"", "schedule: \"H 4 * * *\"");
    repo.edit(
        "      metrics: {workload: api, port: 9090}\n",
        "      metrics: {workload: api, port: 9090}\n      tcpPorts:\n        - {name: ws, port: 9443, workload: api, targetPort: 9443}\n",
    );
    let f = flags(&repo);
    assert!(
        f.iter()
            .any(|(r, _, z)| r == "schedule-changed" && z == "production"),
        "{f:?}"
    );
    for zone in ["staging", "production"] {
        assert!(
            f.iter()
                .any(|(r, s, z)| r == "tcp-port-opened" && s == "caution" && z == zone),
            "{zone}: {f:?}"
        );
    }
}
