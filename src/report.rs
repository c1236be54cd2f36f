//! report: a diff `Report` as text, markdown (through a replaceable minijinja template, packed
//! by priority to fit one GitHub comment) or versioned JSON. Every user-derived string is
//! escaped for markdown; secret values never reach here (`diff` masks them).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diff::{self, Change, Flag, Report, Severity};

/// The hidden line the pull-request workflow finds its comment by.
pub const MARKER: &str = "<!-- tenantgen-diff -->";
/// GitHub's limit for one comment.
pub const COMMENT_LIMIT: usize = 65_536;
pub const DEFAULT_TEMPLATE: &str = include_str!("templates/diff.md.j2");

/// Where rows link to: the catalog's lines at each side's revision.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// `https://github.com/owner/repo/blob/<rev>/clients/clients.yaml`, when known.
    pub catalog_url: Option<String>,
    /// Catalog path for plain references.
    pub catalog_path: String,
    /// Client -> line in the head catalog.
    pub lines: BTreeMap<String, usize>,
    /// The catalog at the base commit, for clients head no longer has.
    pub base_url: Option<String>,
    /// Client -> line in the base catalog.
    pub base_lines: BTreeMap<String, usize>,
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Block => "⛔",
        Severity::Caution => "⚠️",
        Severity::Info => "ℹ️",
    }
}

fn approval_name(a: diff::Approval) -> &'static str {
    match a {
        diff::Approval::Removal => "removal",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Block => "block",
        Severity::Caution => "caution",
        Severity::Info => "info",
    }
}

pub fn headline(r: &Report) -> String {
    let clients: std::collections::BTreeSet<&str> = r
        .changes
        .iter()
        .filter_map(|c| c.client.as_deref())
        .collect();
    format!(
        "+{} added · ~{} changed · −{} removed across {} and {}",
        r.counts.added,
        r.counts.changed,
        r.counts.removed,
        diff::plural(r.zones.len(), "zone", "zones"),
        diff::plural(clients.len(), "client", "clients"),
    )
}

/// Escapes text for markdown tables and prose: no formatting, links, HTML or mentions.
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '@' => out.push_str("@\u{200b}"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code fence longer than any run of backticks in `text`.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

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
struct Row {
    client: String,
    added: usize,
    changed: usize,
    removed: usize,
}

#[derive(Serialize)]
struct ZoneTable {
    name: String,
    rows: Vec<Row>,
    /// Rows left out; always 0 since large tables are grouped instead (kept for templates).
    more: usize,
    /// Whether rows stand for several clients; `total` then sums the zone.
    grouped: bool,
    total: Row,
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
    /// What the pull request approved as deliberate (`removal`); those flags are info.
    approved: Vec<&'static str>,
    releases: &'a [ReleaseRow],
    /// Version changes in all (more than `releases` rows when grouped).
    release_count: usize,
    /// Whether a client leaving a zone blocks, so the report can say how to approve it.
    removal_blocks: bool,
}

fn client_cell(client: &str, links: &Links) -> String {
    if client.is_empty() {
        return "_platform_".into();
    }
    let path = links.catalog_path.replace('`', "");
    // A client head no longer has is linked where it was: its line in the base's file.
    match (links.lines.get(client), links.base_lines.get(client)) {
        (Some(line), _) => match &links.catalog_url {
            Some(url) => format!("[{}]({url}#L{line})", escape_md(client)),
            None => format!("{} (`{path}:{line}`)", escape_md(client)),
        },
        (None, Some(line)) => match &links.base_url {
            Some(url) => format!("[{}]({url}#L{line})", escape_md(client)),
            None => format!("{} (`{path}:{line}` at base)", escape_md(client)),
        },
        _ => escape_md(client),
    }
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
    for c in &r.changes {
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

/// More rows than this and a list stops being read: the risk panel is grouped, a zone's
/// table sums clients with the same counts.
const PANEL_ROWS: usize = 100;
const TABLE_ROWS: usize = 50;
const RELEASE_ROWS: usize = 50;
/// Stale files listed by name; the rest are counted.
const STALE_LISTED: usize = 20;
/// Names shown in a grouped table row (the risk panel names every client while it fits).
const NAMES_IN_ROW: usize = 3;

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

/// A list of at most `shown` items, then how many more.
fn capped(items: &[String], shown: usize) -> String {
    let mut out = items[..items.len().min(shown)].join(", ");
    if items.len() > shown {
        if shown > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("… and {} more", items.len() - shown));
    }
    out
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

/// The zones with changes, in promotion order.
fn zones_in_order(r: &Report) -> impl Iterator<Item = (&String, &BTreeMap<String, diff::Counts>)> {
    r.zone_order.iter().filter_map(|z| r.zones.get_key_value(z))
}

/// (added, changed, removed) of each client, and the clients with those counts.
type CountSet = ((usize, usize, usize), Vec<String>);

/// Zone tables: a row per client, or, past `rows` clients, a row per set of clients with the
/// same counts (largest first, the smallest summed as "other clients") and a total, so the
/// counts still add up.
fn tables(r: &Report, links: &Links, rows: usize) -> Vec<ZoneTable> {
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
            omitted: all_details.len().saturating_sub(detail_count),
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

/// A version for people: the tag, and a digest shortened to what tells two apart.
fn version_text(v: Option<&str>) -> String {
    match v {
        None => "—".to_owned(),
        Some(v) => match v.split_once("@sha256:") {
            Some((tag, digest)) => {
                format!(
                    "{tag}@sha256:{}…",
                    digest.chars().take(12).collect::<String>()
                )
            }
            None => v.to_owned(),
        },
    }
}

/// Whether a version change is a promotion, for people. The first zone of the path is where
/// new versions come in, so a change there is a release, not a failed promotion.
fn release_kind(r: &Report, x: &diff::Release) -> String {
    let first = r.zone_order.first() == Some(&x.zone);
    match (&x.promoted_from, &x.to) {
        (Some(prev), _) => format!("promotion from {prev}"),
        (None, None) => "leaves the zone".to_owned(),
        (None, Some(_)) if first => "new version".to_owned(),
        (None, Some(_)) => "not a promotion".to_owned(),
    }
}

/// A version in a table cell: a code span, so `@` mentions nothing and nothing is escaped.
fn version_cell(v: Option<&str>) -> String {
    match v {
        None => "—".to_owned(),
        Some(_) => format!("`{}`", version_text(v).replace(['`', '|'], "")),
    }
}

#[derive(Serialize, Clone)]
struct ReleaseRow {
    client: String,
    zone: String,
    from: String,
    to: String,
    kind: String,
}

/// The Releases table: a row per version change, or, past `rows` changes, a row per zone and
/// kind of change naming a few clients and counting them all.
fn release_rows(r: &Report, links: &Links, rows: usize) -> Vec<ReleaseRow> {
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
    for c in &r.changes {
        out.push('\n');
        out.push_str(&c.diff);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Counts, Flag};

    /// `clients` clients each losing one object in each of three zones, each flagged.
    fn removals(clients: usize) -> Report {
        let mut flags = Vec::new();
        let mut zones: BTreeMap<String, BTreeMap<String, Counts>> = BTreeMap::new();
        for zone in ["dev", "staging", "production"] {
            for i in 0..clients {
                let client = format!("client-{i:05}");
                flags.push(Flag {
                    severity: Severity::Block,
                    rule: "volume-removed",
                    zone: Some(zone.into()),
                    client: Some(client.clone()),
                    object: Some(format!("PersistentVolumeClaim/ns-{i}/data")),
                    message: "gone".into(),
                });
                zones.entry(zone.into()).or_default().insert(
                    client,
                    Counts {
                        added: 0,
                        changed: 0,
                        removed: 1,
                    },
                );
            }
        }
        flags.sort();
        Report {
            schema_version: 1,
            base: "main".into(),
            head: "pr".into(),
            counts: Counts {
                added: 0,
                changed: 0,
                removed: 3 * clients,
            },
            flags,
            zones,
            changes: Vec::new(),
            stale: Vec::new(),
            approved: Vec::new(),
            zone_order: vec!["dev".into(), "staging".into(), "production".into()],
            base_commit: None,
            head_commit: None,
            releases: Vec::new(),
        }
    }

    #[test]
    fn clients_too_many_to_name_are_counted_so_the_panel_still_adds_up() {
        let md = markdown(
            &removals(8000),
            &Links::default(),
            DEFAULT_TEMPLATE,
            COMMENT_LIMIT,
        )
        .expect("markdown");
        assert!(md.len() <= COMMENT_LIMIT, "{}", md.len());
        assert!(!md.contains("cut here"), "grouped, never cut");
        let row = md
            .lines()
            .find(|l| l.contains("24000 flags in 8000 clients: client-00000, "))
            .expect("one row for the rule");
        let (named, rest) = row
            .split_once(", … and ")
            .expect("the clients not named are counted");
        let more: usize = rest
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert_eq!(named.matches("client-").count() + more, 8000);
        assert!(more < 8000 - 1000, "as many names as fit: {more} left out");
        for zone in ["dev", "staging", "production"] {
            assert!(
                md.contains(&format!("#### Zone {zone}\n\n| client | added | changed | removed |\n|---|---:|---:|---:|\n| 8000 clients: client-00000, client-00001, client-00002, … and 7997 more | 0 | 0 | 8000 |\n| **total** | 0 | 0 | 8000 |\n")),
                "{zone}'s table is grouped with its total"
            );
        }
    }

    #[test]
    fn a_zone_of_clients_with_all_different_counts_is_summed_into_few_rows_that_add_up() {
        let mut r = removals(0);
        let dev = r.zones.entry("dev".into()).or_default();
        for i in 0..300 {
            dev.insert(
                format!("client-{i:05}"),
                Counts {
                    added: i % 3,
                    changed: 1,
                    removed: i,
                },
            );
        }
        let table = &tables(&r, &Links::default(), TABLE_ROWS)[0];
        assert!(table.grouped);
        assert!(table.rows.len() <= TABLE_ROWS, "{} rows", table.rows.len());
        let last = table.rows.last().expect("rows");
        assert!(last.client.ends_with(" other clients"), "{}", last.client);
        let sum = |f: fn(&Row) -> usize| table.rows.iter().map(f).sum::<usize>();
        assert_eq!(
            (sum(|x| x.added), sum(|x| x.changed), sum(|x| x.removed)),
            ((0..300).map(|i| i % 3).sum(), 300, (0..300).sum::<usize>())
        );
        assert_eq!(
            (table.total.added, table.total.changed, table.total.removed),
            (300, 300, 44850)
        );
    }

    #[test]
    fn a_few_flags_are_each_a_row_and_a_few_clients_each_a_table_row() {
        let md = markdown(
            &removals(3),
            &Links::default(),
            DEFAULT_TEMPLATE,
            COMMENT_LIMIT,
        )
        .expect("markdown");
        assert!(md.contains("#### Risks (9)\n\n| |"), "{md}");
        assert_eq!(md.matches("| gone |").count(), 9, "{md}");
        assert!(md.contains("| client-00002 | 0 | 0 | 1 |\n\n"), "{md}");
        assert!(!md.contains("**total**"), "{md}");
    }
}
