//! The markdown report: risk panel, object diffs and the template that lays them out within one comment.

use super::tables::{ReleaseRow, ZoneTable, release_rows, tables};
use super::*;
#[derive(Serialize, Clone)]
struct FlagRow {
    icon: &'static str,
    severity: &'static str,
    zone: String,
    client: String,
    message: String,
    /// How many flags this row stands for (1 unless the panel is grouped).
    count: usize,
}

#[derive(Serialize, Clone)]
struct Detail {
    summary: String,
    /// Whose change it is (escaped); "the platform" (no client name has a space) for platform
    /// objects.
    client: String,
    fence: String,
    diff: String,
}

#[derive(Serialize)]
struct Context<'a> {
    marker: &'a str,
    headline: String,
    base: String,
    head: String,
    stale: &'a [String],
    /// Stale files not listed (the JSON lists them all).
    stale_more: usize,
    flags: &'a [FlagRow],
    /// Every flag, whatever the grouping of `flags`.
    flag_count: usize,
    /// How `flags` is grouped: empty (one row per flag), "rule and client" or "rule".
    flags_grouped: &'static str,
    zones: &'a [ZoneTable],
    details: &'a [Detail],
    omitted: usize,
    /// Whether the JSON report has every object diff (false past `diff::DIFF_BUDGET`).
    json_has_all: bool,
    /// What the pull request approved as deliberate (`removal`); those flags are info.
    approved: Vec<&'static str>,
    releases: &'a [ReleaseRow],
    /// Version changes in all (more than `releases` rows when grouped).
    release_count: usize,
    /// Whether a client leaving a zone blocks, so the report can say how to approve it.
    removal_blocks: bool,
}

/// (client without flags, client, unflagged, change, object, diff body).
type GroupKey = (bool, Option<String>, bool, Change, String, String);
/// Zones of one identical change.
type Group = Vec<String>;

/// Changes grouped so that one identical change in several zones is shown once, client by
/// client (the platform first) and most important first: clients with risk flags, then within
/// a client its flagged objects, then changes, additions, removals.
fn details(r: &Report) -> Vec<Detail> {
    let flagged: std::collections::BTreeSet<(String, String)> = r
        .flags
        .iter()
        .filter_map(|f| Some((f.zone.clone()?, f.object.clone()?)))
        .collect();
    let flagged_clients: std::collections::BTreeSet<Option<&str>> =
        r.flags.iter().map(|f| f.client.as_deref()).collect();
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    // `changes` are in zone order within a client, so each group's zones are too.
    // A diff left out of the report is counted in `omitted`, not shown empty.
    for c in r.changes.iter().filter(|c| !c.diff_omitted) {
        let body: String = c.diff.lines().skip(2).map(|l| format!("{l}\n")).collect();
        let is_flagged = flagged.contains(&(c.key.zone.clone(), c.key.label()));
        groups
            .entry((
                !flagged_clients.contains(&c.client.as_deref()),
                c.client.clone(),
                !is_flagged,
                c.change,
                c.key.label(),
                body,
            ))
            .or_default()
            .push(c.key.zone.clone());
    }
    groups
        .into_iter()
        .map(|((_, client, _, change, label, body), zones)| {
            let sign = match change {
                Change::Added => "➕",
                Change::Changed => "✏️",
                Change::Removed => "➖",
            };
            let who = client
                .as_deref()
                .map(|c| format!(" ({})", escape_md(c)))
                .unwrap_or_default();
            Detail {
                summary: format!(
                    "{sign} {} in {}{who}",
                    escape_md(&label),
                    escape_md(&zones.join(", "))
                ),
                client: client
                    .as_deref()
                    .map_or_else(|| "the platform".to_owned(), escape_md),
                fence: fence_for(&body),
                diff: body,
            }
        })
        .collect()
}

/// How much of the risk panel is spelled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    /// One row per flag.
    Each,
    /// One row per rule and client, across zones and objects.
    PerClient,
    /// One row per rule, naming at most this many clients (and counting the rest).
    PerRule(usize),
}

fn flag_row(f: &Flag, links: &Links) -> FlagRow {
    FlagRow {
        icon: icon(f.severity),
        severity: severity_name(f.severity),
        zone: escape_md(f.zone.as_deref().unwrap_or("all")),
        client: f
            .client
            .as_deref()
            .map(|c| client_cell(c, links))
            .unwrap_or_default(),
        message: escape_md(&f.message),
        count: 1,
    }
}

/// `items` in order without repeats.
fn distinct<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = std::collections::BTreeSet::new();
    items.into_iter().filter(|i| seen.insert(*i)).collect()
}

/// The zones of some flags in the report's zone order ("all" for flags of no one zone).
fn zones_cell(flags: &[&Flag], order: &[String]) -> String {
    let mut zones: Vec<&str> = distinct(flags.iter().map(|f| f.zone.as_deref().unwrap_or("all")));
    zones.sort_by_key(|z| order.iter().position(|o| o == z).unwrap_or(usize::MAX));
    escape_md(&zones.join(", "))
}

/// The risk panel's rows at a level of detail. Every flag is counted in exactly one row.
fn panel(r: &Report, links: &Links, level: Panel) -> Vec<FlagRow> {
    let order = &r.zone_order;
    match level {
        Panel::Each => r.flags.iter().map(|f| flag_row(f, links)).collect(),
        Panel::PerClient => {
            // Each client's rows together, most severe first.
            let mut groups: BTreeMap<(Severity, Option<&str>, &str), Vec<&Flag>> = BTreeMap::new();
            for f in &r.flags {
                groups
                    .entry((f.severity, f.client.as_deref(), f.rule))
                    .or_default()
                    .push(f);
            }
            groups
                .into_iter()
                .map(|((severity, client, rule), flags)| {
                    if let [f] = flags.as_slice() {
                        return flag_row(f, links);
                    }
                    // What each flag is about: its object, or its message when it has none.
                    let subjects: Vec<String> = distinct(
                        flags
                            .iter()
                            .map(|f| f.object.as_deref().unwrap_or(f.message.as_str())),
                    )
                    .into_iter()
                    .map(escape_md)
                    .collect();
                    FlagRow {
                        icon: icon(severity),
                        severity: severity_name(severity),
                        zone: zones_cell(&flags, order),
                        client: client.map(|c| client_cell(c, links)).unwrap_or_default(),
                        message: format!(
                            "{}: {} flags on {}",
                            escape_md(diff::rule_title(rule)),
                            flags.len(),
                            capped(&subjects, NAMES_IN_ROW)
                        ),
                        count: flags.len(),
                    }
                })
                .collect()
        }
        Panel::PerRule(shown) => {
            let mut groups: BTreeMap<(Severity, &str), Vec<&Flag>> = BTreeMap::new();
            for f in &r.flags {
                groups.entry((f.severity, f.rule)).or_default().push(f);
            }
            groups
                .into_iter()
                .map(|((severity, rule), flags)| {
                    let clients: Vec<String> =
                        distinct(flags.iter().filter_map(|f| f.client.as_deref()))
                            .into_iter()
                            .map(escape_md)
                            .collect();
                    let platform = flags.iter().any(|f| f.client.is_none());
                    let mut whose = match clients.len() {
                        0 => String::new(),
                        1 => "1 client".to_owned(),
                        n => format!("{n} clients"),
                    };
                    if platform {
                        if !whose.is_empty() {
                            whose.push_str(" and ");
                        }
                        whose.push_str("no one client");
                    }
                    let flag_word = if flags.len() == 1 { "flag" } else { "flags" };
                    let names = if clients.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", capped(&clients, shown))
                    };
                    FlagRow {
                        icon: icon(severity),
                        severity: severity_name(severity),
                        zone: zones_cell(&flags, order),
                        client: whose.clone(),
                        message: format!(
                            "{}: {} {flag_word} in {whose}{names}",
                            escape_md(diff::rule_title(rule)),
                            flags.len(),
                        ),
                        count: flags.len(),
                    }
                })
                .collect()
        }
    }
}

/// Renders the markdown report within `budget` characters (GitHub's comment limit by default).
///
/// The risk panel and the zone tables are always there, every flag counted: when they are
/// large they are grouped (per rule and client, then per rule; clients with the same counts),
/// never cut. Object diffs fill what is left.
pub fn markdown(
    r: &Report,
    links: &Links,
    template: &str,
    budget: usize,
) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template_owned("diff.md".to_owned(), template.to_owned())?;
    let tmpl = env.get_template("diff.md")?;
    let all_details = details(r);
    // Diffs the report did not keep are counted one per object and zone: their bodies are
    // gone, so which of them are one identical change across zones is not known. Grouping
    // them by object alone would undercount a change that differs by zone.
    let left_out = r.diffs_omitted;
    let stale: Vec<String> = r
        .stale
        .iter()
        .take(STALE_LISTED)
        .map(|s| s.replace('`', ""))
        .collect();
    let approved: Vec<&'static str> = r.approved.iter().map(|a| approval_name(*a)).collect();
    // The tables: zones and releases, full or grouped.
    let full = (
        tables(r, links, TABLE_ROWS),
        release_rows(r, links, RELEASE_ROWS),
    );
    let grouped_tables = (tables(r, links, 1), release_rows(r, links, 0));
    let render = |flags: &[FlagRow],
                  grouped: &'static str,
                  (zones, releases): &(Vec<ZoneTable>, Vec<ReleaseRow>),
                  detail_count: usize|
     -> Result<String, minijinja::Error> {
        tmpl.render(minijinja::value::Serde(Context {
            marker: MARKER,
            headline: headline(r),
            base: r.base.replace('`', ""),
            head: r.head.replace('`', ""),
            stale: &stale,
            stale_more: r.stale.len().saturating_sub(STALE_LISTED),
            flags,
            flag_count: r.flags.len(),
            flags_grouped: grouped,
            zones,
            details: &all_details[..detail_count.min(all_details.len())],
            omitted: all_details.len().saturating_sub(detail_count) + left_out,
            json_has_all: r.diffs_omitted == 0,
            approved: approved.clone(),
            releases,
            release_count: r.releases.len(),
            removal_blocks: r
                .flags
                .iter()
                .any(|f| f.rule == "client-removed" && f.severity == Severity::Block),
        }))
    };
    // The most detailed panel and tables that fit without any object diff.
    let mut choice = None;
    'levels: for (level, grouped) in [
        (Panel::Each, ""),
        (Panel::PerClient, "rule and client"),
        (Panel::PerRule(usize::MAX), "rule"),
    ] {
        let rows = panel(r, links, level);
        if rows.len() > PANEL_ROWS && level != Panel::PerRule(usize::MAX) {
            continue;
        }
        for tables in [&full, &grouped_tables] {
            if render(&rows, grouped, tables, 0)?.len() <= budget {
                choice = Some((rows, grouped, tables));
                break 'levels;
            }
        }
    }
    let (rows, grouped, tables) = match choice {
        Some(c) => c,
        None => {
            // Too many clients to name them all: as many as fit, the rest counted.
            let (mut lo, mut hi) = (0, r.flags.len());
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                let rows = panel(r, links, Panel::PerRule(mid));
                if render(&rows, "rule", &grouped_tables, 0)?.len() <= budget {
                    lo = mid
                } else {
                    hi = mid - 1
                }
            }
            (panel(r, links, Panel::PerRule(lo)), "rule", &grouped_tables)
        }
    };
    let (mut lo, mut hi) = (0, all_details.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if render(&rows, grouped, tables, mid)?.len() <= budget {
            lo = mid
        } else {
            hi = mid - 1
        }
    }
    let mut out = render(&rows, grouped, tables, lo)?;
    if out.len() > budget {
        // Only a replaced template can be this large; cut at a line boundary and say so.
        let note = "\n_The report is cut here to fit one comment; `tenantgen diff --format json` has everything._\n";
        let mut cut = budget.saturating_sub(note.len());
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(out[..cut].rfind('\n').unwrap_or(cut));
        out.push_str(note);
    }
    Ok(out)
}
