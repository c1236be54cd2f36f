//! report: a diff `Report` as text, markdown (through a replaceable minijinja template, packed
//! by priority to fit one GitHub comment) or versioned JSON. Every user-derived string is
//! escaped for markdown; secret values never reach here (`diff` masks them).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diff::{Change, Report, Severity};

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
    /// Client -> line in the head (or, for removed clients, base) catalog.
    pub lines: BTreeMap<String, usize>,
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Block => "⛔",
        Severity::Caution => "⚠️",
        Severity::Info => "ℹ️",
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
        "+{} added · ~{} changed · −{} removed across {} zone(s) and {} client(s)",
        r.counts.added,
        r.counts.changed,
        r.counts.removed,
        r.zones.len(),
        clients.len()
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

#[derive(Serialize)]
struct FlagRow {
    icon: &'static str,
    severity: &'static str,
    zone: String,
    client: String,
    message: String,
}

#[derive(Serialize)]
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
    more: usize,
}

#[derive(Serialize, Clone)]
struct Detail {
    summary: String,
    fence: String,
    diff: String,
}

#[derive(Serialize)]
struct Context<'a> {
    marker: &'a str,
    headline: String,
    base: String,
    head: String,
    stale: Vec<String>,
    flags: Vec<FlagRow>,
    zones: Vec<ZoneTable>,
    details: Vec<Detail>,
    omitted: usize,
}

fn client_cell(client: &str, links: &Links) -> String {
    if client.is_empty() {
        return "_platform_".into();
    }
    match (links.lines.get(client), &links.catalog_url) {
        (Some(line), Some(url)) => format!("[{}]({url}#L{line})", escape_md(client)),
        (Some(line), None) => format!(
            "{} (`{}:{line}`)",
            escape_md(client),
            links.catalog_path.replace('`', "")
        ),
        _ => escape_md(client),
    }
}

/// (unflagged, change, object, diff body): flagged objects sort first.
type GroupKey = (bool, Change, String, String);
/// (zones, client, diff body).
type Group = (Vec<String>, Option<String>, String);

/// Changes grouped so that one identical change in several zones is shown once, most
/// important first: flagged objects, then changes, additions, removals.
fn details(r: &Report) -> Vec<Detail> {
    let flagged: std::collections::BTreeSet<(String, String)> = r
        .flags
        .iter()
        .filter_map(|f| Some((f.zone.clone()?, f.object.clone()?)))
        .collect();
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    for c in &r.changes {
        let body: String = c.diff.lines().skip(2).map(|l| format!("{l}\n")).collect();
        let is_flagged = flagged.contains(&(c.key.zone.clone(), c.key.label()));
        let entry = groups
            .entry((!is_flagged, c.change, c.key.label(), body.clone()))
            .or_insert_with(|| (Vec::new(), c.client.clone(), body));
        entry.0.push(c.key.zone.clone());
    }
    groups
        .into_iter()
        .map(|((_, change, label, _), (zones, client, body))| {
            let sign = match change {
                Change::Added => "➕",
                Change::Changed => "✏️",
                Change::Removed => "➖",
            };
            let who = client
                .map(|c| format!(" ({})", escape_md(&c)))
                .unwrap_or_default();
            Detail {
                summary: format!(
                    "{sign} {} in {}{who}",
                    escape_md(&label),
                    escape_md(&zones.join(", "))
                ),
                fence: fence_for(&body),
                diff: body,
            }
        })
        .collect()
}

/// Renders the markdown report within `budget` characters (GitHub's comment limit by default).
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
    let flags: Vec<FlagRow> = r
        .flags
        .iter()
        .map(|f| FlagRow {
            icon: icon(f.severity),
            severity: severity_name(f.severity),
            zone: escape_md(f.zone.as_deref().unwrap_or("all")),
            client: f
                .client
                .as_deref()
                .map(|c| client_cell(c, links))
                .unwrap_or_default(),
            message: escape_md(&f.message),
        })
        .collect();
    let all_rows: Vec<(String, Vec<Row>)> = r
        .zones
        .iter()
        .map(|(zone, clients)| {
            let rows = clients
                .iter()
                .map(|(client, c)| Row {
                    client: client_cell(client, links),
                    added: c.added,
                    changed: c.changed,
                    removed: c.removed,
                })
                .collect();
            (zone.clone(), rows)
        })
        .collect();
    let all_details = details(r);
    let render = |rows_per_zone: usize, detail_count: usize| -> Result<String, minijinja::Error> {
        let zones = all_rows
            .iter()
            .map(|(name, rows)| ZoneTable {
                name: escape_md(name),
                rows: rows
                    .iter()
                    .take(rows_per_zone)
                    .map(|x| Row {
                        client: x.client.clone(),
                        ..*x
                    })
                    .collect(),
                more: rows.len().saturating_sub(rows_per_zone),
            })
            .collect();
        tmpl.render(minijinja::value::Serde(Context {
            marker: MARKER,
            headline: headline(r),
            base: r.base.replace('`', ""),
            head: r.head.replace('`', ""),
            stale: r.stale.iter().map(|s| s.replace('`', "")).collect(),
            flags: flags
                .iter()
                .map(|f| FlagRow {
                    zone: f.zone.clone(),
                    client: f.client.clone(),
                    message: f.message.clone(),
                    ..*f
                })
                .collect(),
            zones,
            details: all_details.iter().take(detail_count).cloned().collect(),
            omitted: all_details.len().saturating_sub(detail_count),
        }))
    };
    // Risk panel always; tables shrink only if they alone would not fit; then details.
    let max_rows = all_rows.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    let mut rows = max_rows;
    let mut text = render(rows, 0)?;
    while text.len() > budget && rows > 0 {
        rows /= 2;
        text = render(rows, 0)?;
    }
    let (mut lo, mut hi) = (0, all_details.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if render(rows, mid)?.len() <= budget {
            lo = mid
        } else {
            hi = mid - 1
        }
    }
    let mut out = render(rows, lo)?;
    if out.len() > budget {
        // Only the risk panel itself can be this large; cut at a line boundary and say so.
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

/// The plain-text report for terminals.
pub fn text(r: &Report) -> String {
    let mut out = format!("{}\n", headline(r));
    if !r.stale.is_empty() {
        out.push_str(&format!(
            "\nthe committed tree is stale ({} files):\n",
            r.stale.len()
        ));
        for s in &r.stale {
            out.push_str(&format!("  {s}\n"));
        }
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
    for (zone, clients) in &r.zones {
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
    })
    .unwrap_or_default();
    s.push('\n');
    s
}
