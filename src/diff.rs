//! diff: compares two renderings object by object (SPEC §8). Objects are matched by zone,
//! API group (not version), kind, namespace and name, never by file or position; each is
//! attributed to the client that produced it; risky changes are flagged. The report is data;
//! `report` turns it into text, markdown or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::check::Checked;

/// Version of the JSON report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an object is, independent of files and API versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Key {
    pub zone: String,
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One object of a rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub client: Option<String>,
    /// The Flux Kustomization that applies it.
    pub applied_by: String,
    pub value: Value,
}

/// All objects of one side.
pub type Side = BTreeMap<Key, Object>;

pub fn key_of(zone: &str, value: &Value) -> Key {
    let s = |p: &str| {
        value
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let api = s("/apiVersion");
    Key {
        zone: zone.to_owned(),
        group: api
            .rsplit_once('/')
            .map_or(String::new(), |(g, _)| g.to_owned()),
        kind: s("/kind"),
        namespace: s("/metadata/namespace"),
        name: s("/metadata/name"),
    }
}

mod compare;
mod flags;
#[cfg(test)]
mod tests;

pub use compare::{
    DIFF_BUDGET, Fingerprint, KeptBase, changed_clients, compare, compare_catalogs, compare_kept,
    render_side,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Changed,
    Removed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Block,
    Caution,
    Info,
}

/// A kind of flag a pull request may approve as deliberate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// A client leaving a zone (`client-removed`): Flux prune deletes its namespace.
    Removal,
}

/// A rule's name for people, where many flags of one rule are summed up in one line.
pub fn rule_title(rule: &str) -> &str {
    match rule {
        "client-removed" => "client removed: Flux prune deletes its namespace and all it holds",
        "default-deny-dropped" => "default deny dropped",
        "network-policy-removed" => "NetworkPolicy removed",
        "network-policy-widened" => "NetworkPolicy widened",
        "namespace-removed" => "namespace removed: Flux prune deletes it and all it holds",
        "volume-removed" => "volume removed: Flux prune deletes its data",
        "volume-change-refused" => {
            "volume shrunk or its class or access modes changed: Kubernetes refuses it"
        }
        "schedule-changed" => "CronJob schedule changed",
        "tcp-port-opened" => "TCP port opened to the internet",
        "tcp-port-closed" => "TCP port closed",
        "guardrail-removed" => "quota or PodDisruptionBudget removed",
        "pod-security-lowered" => "Pod Security enforcement lowered",
        "image-latest" => "image moves to latest or has no tag",
        "image-without-digest" => "image without digest in production",
        "host-claimed-twice" => "host routed to two owners",
        "promotion-skips-zone" => "promotion skips a zone",
        "version-changed-in-several-zones" => "version changed in several zones at once",
        "moved-between-kustomizations" => {
            "moved between Flux Kustomizations: deleted and recreated"
        }
        other => other,
    }
}

/// A risky change, for reviewers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Flag {
    pub severity: Severity,
    pub rule: &'static str,
    pub zone: Option<String>,
    pub client: Option<String>,
    pub object: Option<String>,
    pub message: String,
}

/// One object's change, with its unified diff (secret values masked).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectChange {
    pub key: Key,
    pub change: Change,
    pub client: Option<String>,
    /// Empty when `diff_omitted`.
    pub diff: String,
    /// Whether the diff is left out to keep the report within `DIFF_BUDGET` (JSON
    /// `diffOmitted`, present only when true).
    #[serde(rename = "diffOmitted", skip_serializing_if = "std::ops::Not::not")]
    pub diff_omitted: bool,
}

/// Counts for headlines and tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

impl Counts {
    fn add(&mut self, c: Change) {
        match c {
            Change::Added => self.added += 1,
            Change::Changed => self.changed += 1,
            Change::Removed => self.removed += 1,
        }
    }
    pub fn total(&self) -> usize {
        self.added + self.changed + self.removed
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub base: String,
    pub head: String,
    pub counts: Counts,
    pub flags: Vec<Flag>,
    /// zone -> client (`""` for platform objects) -> counts.
    pub zones: BTreeMap<String, BTreeMap<String, Counts>>,
    pub changes: Vec<ObjectChange>,
    /// Changes whose diff is left out (past `DIFF_BUDGET`).
    pub diffs_omitted: usize,
    /// Files of the committed tree at head that differ from head's rendering.
    pub stale: Vec<String>,
    /// What was approved as deliberate; those flags are info.
    pub approved: Vec<Approval>,
    /// The zones in promotion order (catalog order); every key of `zones` is in it.
    pub zone_order: Vec<String>,
    /// The commits compared, when known (the head is the working tree on top of its commit).
    pub base_commit: Option<String>,
    pub head_commit: Option<String>,
    /// Every version change of the catalog, client by client, zones in promotion order.
    pub releases: Vec<Release>,
}

/// One client's version changing in one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub client: String,
    pub zone: String,
    /// `None` when the client (or its zone) is new.
    pub from: Option<String>,
    /// `None` when the client leaves the zone.
    pub to: Option<String>,
    /// The zone this version comes from, when it is a promotion: the zone before in the path
    /// ran it (at base or at head).
    pub promoted_from: Option<String>,
}

/// What the release list and the version flags read of a catalog: its zones and each
/// client's versions. A diff keeps this much of a catalog it lets go before the other one is
/// checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Versions {
    /// In promotion order, with whether each is production.
    pub zones: Vec<(String, bool)>,
    /// Client name -> zone -> version as written.
    pub clients: BTreeMap<String, BTreeMap<String, String>>,
}

impl Versions {
    pub fn of(c: &Checked) -> Self {
        Versions {
            zones: c
                .model
                .zones
                .iter()
                .map(|z| (z.name.clone(), z.production))
                .collect(),
            clients: c
                .raw
                .spec
                .clients
                .iter()
                .map(|x| (x.name.clone(), x.versions.clone()))
                .collect(),
        }
    }
}

/// Every version change between two catalogs.
pub fn releases(base: &Checked, head: &Checked) -> Vec<Release> {
    releases_of(&Versions::of(base), &Versions::of(head))
}

fn releases_of(base: &Versions, head: &Versions) -> Vec<Release> {
    let mut zones: Vec<&str> = head.zones.iter().map(|(z, _)| z.as_str()).collect();
    for (z, _) in &base.zones {
        if !zones.contains(&z.as_str()) {
            zones.push(z);
        }
    }
    let (b, h) = (&base.clients, &head.clients);
    let none = BTreeMap::new();
    let names: BTreeSet<&String> = b.keys().chain(h.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (bv, hv) = (b.get(name).unwrap_or(&none), h.get(name).unwrap_or(&none));
        for (i, zone) in zones.iter().enumerate() {
            let (from, to) = (bv.get(*zone), hv.get(*zone));
            if from == to {
                continue;
            }
            let promoted_from = match (i.checked_sub(1).map(|p| zones[p]), to) {
                (Some(prev), Some(to))
                    if [bv.get(prev), hv.get(prev)]
                        .into_iter()
                        .flatten()
                        .any(|v| tag_of(v) == tag_of(to)) =>
                {
                    Some(prev.to_owned())
                }
                _ => None,
            };
            out.push(Release {
                client: name.clone(),
                zone: (*zone).to_owned(),
                from: from.cloned(),
                to: to.cloned(),
                promoted_from,
            });
        }
    }
    out
}

impl Report {
    pub fn max_severity(&self) -> Option<Severity> {
        self.flags.iter().map(|f| f.severity).min()
    }

    /// Downgrades exactly the flags `what` covers to info, saying so in each.
    pub fn approve(&mut self, what: Approval) {
        let rule = match what {
            Approval::Removal => CLIENT_REMOVED,
        };
        for f in self.flags.iter_mut().filter(|f| f.rule == rule) {
            f.severity = Severity::Info;
            f.message
                .push_str("; approved as deliberate (`--approve removal`)");
        }
        self.sort();
        if !self.approved.contains(&what) {
            self.approved.push(what);
        }
    }

    /// Puts zones in promotion order (`order`, then any other zone by name) and sorts flags and
    /// changes by it: most severe flags first, then zone by zone, each client's together;
    /// changes client by client (the platform first), each client's zone by zone.
    pub fn order_zones<'a>(&mut self, order: impl IntoIterator<Item = &'a str>) {
        let mut zones: Vec<String> = Vec::new();
        let known = order.into_iter().map(str::to_owned);
        for z in known.chain(self.zones.keys().cloned()) {
            if !zones.contains(&z) {
                zones.push(z);
            }
        }
        self.zone_order = zones;
        self.sort();
    }

    fn zone_rank(&self, zone: Option<&str>) -> usize {
        zone.and_then(|z| self.zone_order.iter().position(|o| o == z))
            .unwrap_or(usize::MAX)
    }

    fn sort(&mut self) {
        let mut flags = std::mem::take(&mut self.flags);
        flags.sort_by_cached_key(|f| {
            (
                f.severity,
                self.zone_rank(f.zone.as_deref()),
                f.client.clone(),
                f.rule,
                f.object.clone(),
                f.message.clone(),
            )
        });
        self.flags = flags;
        let mut changes = std::mem::take(&mut self.changes);
        changes.sort_by_cached_key(|c| {
            (
                c.client.clone(),
                self.zone_rank(Some(&c.key.zone)),
                c.key.clone(),
            )
        });
        self.changes = changes;
    }
}

pub(crate) const CLIENT_REMOVED: &str = "client-removed";

/// `n` and the word for `n` of them: "1 zone", "3 zones".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn tag_of(version: &str) -> &str {
    version.split('@').next().unwrap_or(version)
}
