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

mod markdown;
mod plain;
mod tables;
#[cfg(test)]
mod tests;

pub use markdown::markdown;
pub use plain::{json, text};

/// More rows than this and a list stops being read: the risk panel is grouped, a zone's
/// table sums clients with the same counts.
const PANEL_ROWS: usize = 100;
const TABLE_ROWS: usize = 50;
const RELEASE_ROWS: usize = 50;
/// Stale files listed by name; the rest are counted.
const STALE_LISTED: usize = 20;
/// Names shown in a grouped table row (the risk panel names every client while it fits).
const NAMES_IN_ROW: usize = 3;

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

/// The zones with changes, in promotion order.
fn zones_in_order(r: &Report) -> impl Iterator<Item = (&String, &BTreeMap<String, diff::Counts>)> {
    r.zone_order.iter().filter_map(|z| r.zones.get_key_value(z))
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
