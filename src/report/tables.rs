//! The report's tables: changes per zone and client, and version changes.

use super::*;

#[derive(Serialize, Clone)]
pub(super) struct Row {
    pub(super) client: String,
    pub(super) added: usize,
    pub(super) changed: usize,
    pub(super) removed: usize,
}

#[derive(Serialize)]
pub(super) struct ZoneTable {
    pub(super) name: String,
    pub(super) rows: Vec<Row>,
    /// Rows left out; always 0 since large tables are grouped instead (kept for templates).
    pub(super) more: usize,
    /// Whether rows stand for several clients; `total` then sums the zone.
    pub(super) grouped: bool,
    pub(super) total: Row,
}

/// (added, changed, removed) of each client, and the clients with those counts.
type CountSet = ((usize, usize, usize), Vec<String>);

/// Zone tables: a row per client, or, past `rows` clients, a row per set of clients with the
/// same counts (largest first, the smallest summed as "other clients") and a total, so the
/// counts still add up.
pub(super) fn tables(r: &Report, links: &Links, rows: usize) -> Vec<ZoneTable> {
    zones_in_order(r)
        .map(|(zone, clients)| {
            let mut total = Row {
                client: "**total**".into(),
                added: 0,
                changed: 0,
                removed: 0,
            };
            for c in clients.values() {
                total.added += c.added;
                total.changed += c.changed;
                total.removed += c.removed;
            }
            let row = |client: &str, c: &crate::diff::Counts| Row {
                client: client_cell(client, links),
                added: c.added,
                changed: c.changed,
                removed: c.removed,
            };
            if clients.len() <= rows {
                return ZoneTable {
                    name: escape_md(zone),
                    rows: clients.iter().map(|(n, c)| row(n, c)).collect(),
                    more: 0,
                    grouped: false,
                    total,
                };
            }
            let mut platform = None;
            let mut same: BTreeMap<(usize, usize, usize), Vec<String>> = BTreeMap::new();
            for (name, c) in clients {
                if name.is_empty() {
                    platform = Some(row(name, c));
                } else {
                    same.entry((c.added, c.changed, c.removed))
                        .or_default()
                        .push(escape_md(name));
                }
            }
            let mut sets: Vec<CountSet> = same.into_iter().collect();
            sets.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
            let keep = rows.max(2) - 1;
            let mut out: Vec<Row> = platform.into_iter().collect();
            let sum = |sets: &[CountSet], label: String| Row {
                client: label,
                added: sets.iter().map(|((a, _, _), n)| a * n.len()).sum(),
                changed: sets.iter().map(|((_, c, _), n)| c * n.len()).sum(),
                removed: sets.iter().map(|((_, _, d), n)| d * n.len()).sum(),
            };
            for set in sets.iter().take(keep) {
                let names = &set.1;
                let label = if names.len() == 1 {
                    names[0].clone()
                } else {
                    format!("{} clients: {}", names.len(), capped(names, NAMES_IN_ROW))
                };
                out.push(sum(std::slice::from_ref(set), label));
            }
            if sets.len() > keep {
                let rest = &sets[keep..];
                let n: usize = rest.iter().map(|(_, n)| n.len()).sum();
                out.push(sum(rest, format!("{n} other clients")));
            }
            ZoneTable {
                name: escape_md(zone),
                rows: out,
                more: 0,
                grouped: true,
                total,
            }
        })
        .collect()
}

#[derive(Serialize, Clone)]
pub(super) struct ReleaseRow {
    pub(super) client: String,
    pub(super) zone: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) kind: String,
}

/// The Releases table: a row per version change, or, past `rows` changes, a row per zone and
/// kind of change naming a few clients and counting them all.
pub(super) fn release_rows(r: &Report, links: &Links, rows: usize) -> Vec<ReleaseRow> {
    if r.releases.len() <= rows {
        return r
            .releases
            .iter()
            .map(|x| ReleaseRow {
                client: client_cell(&x.client, links),
                zone: escape_md(&x.zone),
                from: version_cell(x.from.as_deref()),
                to: version_cell(x.to.as_deref()),
                kind: escape_md(&release_kind(r, x)),
            })
            .collect();
    }
    let mut groups: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    for x in &r.releases {
        let zone = r
            .zone_order
            .iter()
            .position(|z| *z == x.zone)
            .unwrap_or(usize::MAX);
        groups
            .entry((zone, release_kind(r, x)))
            .or_default()
            .push(escape_md(&x.client));
    }
    groups
        .into_iter()
        .map(|((zone, kind), clients)| ReleaseRow {
            client: format!(
                "{}: {}",
                diff::plural(clients.len(), "client", "clients"),
                capped(&clients, NAMES_IN_ROW)
            ),
            zone: escape_md(r.zone_order.get(zone).map_or("", String::as_str)),
            from: "…".into(),
            to: "…".into(),
            kind: escape_md(&kind),
        })
        .collect()
}
