//! The plain-text report for terminals and the versioned JSON report.

use super::*;
/// The plain-text report for terminals.
pub fn text(r: &Report) -> String {
    let mut out = format!("{}\nbase {} → head {}\n", headline(r), r.base, r.head);
    if !r.stale.is_empty() {
        out.push_str(&format!(
            "\nthe committed tree is stale ({} files):\n",
            r.stale.len()
        ));
        for s in &r.stale {
            out.push_str(&format!("  {s}\n"));
        }
    }
    for a in &r.approved {
        out.push_str(&format!(
            "\napproved as deliberate: {} (`--approve {0}`); those flags are info\n",
            approval_name(*a)
        ));
    }
    if !r.flags.is_empty() {
        out.push_str("\nrisks:\n");
        for f in &r.flags {
            let zone = f.zone.as_deref().unwrap_or("all");
            out.push_str(&format!(
                "  [{}] {zone}: {} ({})\n",
                severity_name(f.severity),
                f.message,
                f.rule
            ));
        }
    }
    if !r.releases.is_empty() {
        out.push_str("\nreleases:\n");
        for x in &r.releases {
            out.push_str(&format!(
                "  {} {}: {} → {} ({})\n",
                x.client,
                x.zone,
                version_text(x.from.as_deref()),
                version_text(x.to.as_deref()),
                release_kind(r, x)
            ));
        }
    }
    for (zone, clients) in zones_in_order(r) {
        out.push_str(&format!("\nzone {zone}:\n"));
        for (client, c) in clients {
            let name = if client.is_empty() {
                "(platform)"
            } else {
                client
            };
            out.push_str(&format!(
                "  {name}: +{} ~{} -{}\n",
                c.added, c.changed, c.removed
            ));
        }
    }
    for c in r.changes.iter().filter(|c| !c.diff_omitted) {
        out.push('\n');
        out.push_str(&c.diff);
    }
    if r.diffs_omitted > 0 {
        out.push_str(&format!(
            "\n{} left out: a report keeps {} KiB of diffs, the flagged objects' first; every changed object is listed in `--format json`\n",
            diff::plural(r.diffs_omitted, "object diff is", "object diffs are"),
            diff::DIFF_BUDGET / 1024
        ));
    }
    out
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The JSON report (`schemaVersion` tells its shape).
pub fn json(r: &Report) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        schema_version: u32,
        base: &'a str,
        head: &'a str,
        headline: String,
        counts: &'a crate::diff::Counts,
        flags: &'a [crate::diff::Flag],
        zones: &'a BTreeMap<String, BTreeMap<String, crate::diff::Counts>>,
        changes: &'a [crate::diff::ObjectChange],
        #[serde(skip_serializing_if = "is_zero")]
        diffs_omitted: usize,
        stale: &'a [String],
        approved: &'a [crate::diff::Approval],
        zone_order: &'a [String],
        base_commit: Option<&'a str>,
        head_commit: Option<&'a str>,
        releases: &'a [crate::diff::Release],
    }
    let mut s = serde_json::to_string_pretty(&Out {
        schema_version: r.schema_version,
        base: &r.base,
        head: &r.head,
        headline: headline(r),
        counts: &r.counts,
        flags: &r.flags,
        zones: &r.zones,
        changes: &r.changes,
        diffs_omitted: r.diffs_omitted,
        stale: &r.stale,
        approved: &r.approved,
        zone_order: &r.zone_order,
        base_commit: r.base_commit.as_deref(),
        head_commit: r.head_commit.as_deref(),
        releases: &r.releases,
    })
    .unwrap_or_default();
    s.push('\n');
    s
}
