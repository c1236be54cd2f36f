//! diff: compares two renderings object by object (SPEC §8). Objects are matched by zone,
//! API group (not version), kind, namespace and name, never by file or position; each is
//! attributed to the client that produced it; risky changes are flagged. The report is data;
//! `report` turns it into text, markdown or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::catalog as raw;
use crate::check::Checked;
use crate::emit;
use crate::render::{self, Options, Placed, Unit};

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

fn applied_by(p: &Placed, catalog: &crate::model::Catalog) -> String {
    match &p.unit {
        Unit::Root | Unit::FluxSystem => render::flux_names::FLUX_NAMESPACE.into(),
        Unit::InfraControllers => render::flux_names::INFRA_CONTROLLERS.into(),
        Unit::InfraConfigs => render::flux_names::INFRA_CONFIGS.into(),
        Unit::Tenants => render::flux_names::TENANTS.into(),
        Unit::Tenant(c) => catalog
            .clients
            .iter()
            .find(|x| &x.name == c)
            .map_or_else(|| c.clone(), |x| x.namespace.clone()),
    }
}

/// Renders a checked catalog into a side. `only` limits client objects to these clients
/// (platform and Flux objects are always rendered), for diffs of large catalogs.
pub fn render_side(checked: &Checked, only: Option<&BTreeSet<String>>) -> Side {
    let m = &checked.model;
    let options = Options::default();
    let wanted = |c: &str| only.is_none_or(|o| o.contains(c));
    let mut side = Side::new();
    for zone in &m.zones {
        let _ = render::each_object(m, zone, &options, wanted, |p| {
            // Flux renders every client's Kustomization; the unchanged ones are left out as
            // they come, so a large catalog's side holds only what can differ.
            if p.client.as_deref().is_none_or(wanted) {
                let key = key_of(&zone.name, &p.object);
                let object = Object {
                    applied_by: applied_by(&p, m),
                    client: p.client,
                    value: p.object,
                };
                side.insert(key, object);
            }
            Ok::<(), std::convert::Infallible>(())
        });
    }
    side
}

/// What changes from `base` to `head`: only the clients that can differ are rendered, so a
/// change to a few clients of a large catalog costs a few clients.
pub fn compare_catalogs(base: &Checked, head: &Checked) -> Report {
    let only = changed_clients(&base.raw, &head.raw);
    compare(
        &render_side(base, only.as_ref()),
        &render_side(head, only.as_ref()),
        Some((base, head)),
    )
}

/// The images of a workload's pod template, in container order.
fn container_images(workload: &Value) -> Vec<&str> {
    workload
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect()
}

/// The clients whose objects can differ between two catalogs, or `None` when anything can
/// (the platform or the zones changed).
pub fn changed_clients(base: &raw::Catalog, head: &raw::Catalog) -> Option<BTreeSet<String>> {
    if base.spec.platform != head.spec.platform || base.spec.zones != head.spec.zones {
        return None;
    }
    fn index(c: &raw::Catalog) -> BTreeMap<&str, &raw::Client> {
        c.spec
            .clients
            .iter()
            .map(|x| (x.name.as_str(), x))
            .collect()
    }
    let (b, h) = (index(base), index(head));
    let names: BTreeSet<&str> = b.keys().chain(h.keys()).copied().collect();
    Some(
        names
            .into_iter()
            .filter(|n| b.get(n) != h.get(n))
            .map(str::to_owned)
            .collect(),
    )
}

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
    pub diff: String,
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

/// Every version change between two catalogs.
pub fn releases(base: &Checked, head: &Checked) -> Vec<Release> {
    let mut zones: Vec<&str> = head.model.zones.iter().map(|z| z.name.as_str()).collect();
    for z in &base.model.zones {
        if !zones.contains(&z.name.as_str()) {
            zones.push(&z.name);
        }
    }
    let index = |c: &'_ Checked| -> BTreeMap<String, BTreeMap<String, String>> {
        c.raw
            .spec
            .clients
            .iter()
            .map(|x| (x.name.clone(), x.versions.clone()))
            .collect()
    };
    let (b, h) = (index(base), index(head));
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

const CLIENT_REMOVED: &str = "client-removed";

/// `n` and the word for `n` of them: "1 zone", "3 zones".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The YAML of an object for the diff, with Secret values masked.
fn text_of(object: &Value, other: Option<&Value>) -> String {
    let mut v = object.clone();
    if v.get("kind").and_then(Value::as_str) == Some("Secret") {
        for field in ["data", "stringData"] {
            if let Some(map) = v.get_mut(field).and_then(Value::as_object_mut) {
                for (k, val) in map.iter_mut() {
                    let len = |x: &Value| {
                        let s = x.as_str().unwrap_or("");
                        if field == "data" {
                            s.len() / 4 * 3 - s.chars().rev().take_while(|c| *c == '=').count()
                        } else {
                            s.len()
                        }
                    };
                    let before = other.and_then(|o| o.get(field)).and_then(|m| m.get(k));
                    let mask = match before {
                        Some(b) if b != val => {
                            format!("<secret: changed, {}→{} bytes>", len(b), len(val))
                        }
                        _ => format!("<secret: {} bytes>", len(val)),
                    };
                    *val = Value::String(mask);
                }
            }
        }
    }
    let mut out = String::new();
    emit::document(&mut out, &v);
    out
}

fn unified(key: &Key, before: &str, after: &str) -> String {
    let name = key.label();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("base/{}/{name}", key.zone),
            &format!("head/{}/{name}", key.zone),
        )
        .to_string()
}

/// Compares two sides. `catalogs` (base, head) adds the version-based flags.
pub fn compare(base: &Side, head: &Side, catalogs: Option<(&Checked, &Checked)>) -> Report {
    let mut changes = Vec::new();
    let mut flags = Vec::new();
    let keys: BTreeSet<&Key> = base.keys().chain(head.keys()).collect();
    for key in keys {
        let (b, h) = (base.get(key), head.get(key));
        if let (Some(b), Some(h)) = (b, h)
            && b.applied_by != h.applied_by
        {
            flags.push(flag(
                Severity::Caution,
                "moved-between-kustomizations",
                key,
                h.client.as_deref(),
                format!(
                    "{} moves from Flux Kustomization `{}` to `{}`: Flux deletes and recreates it",
                    key.label(),
                    b.applied_by,
                    h.applied_by
                ),
            ));
        }
        let (change, diff) = match (b, h) {
            (None, Some(h)) => (Change::Added, unified(key, "", &text_of(&h.value, None))),
            (Some(b), None) => (Change::Removed, unified(key, &text_of(&b.value, None), "")),
            (Some(b), Some(h)) if b.value != h.value => (
                Change::Changed,
                unified(
                    key,
                    &text_of(&b.value, Some(&h.value)),
                    &text_of(&h.value, Some(&b.value)),
                ),
            ),
            _ => continue,
        };
        let client = h.or(b).and_then(|o| o.client.clone());
        flags.extend(object_flags(key, change, b, h));
        changes.push(ObjectChange {
            key: key.clone(),
            change,
            client,
            diff,
        });
    }
    flags = removed_clients(base, head, &changes, flags);
    flags.extend(host_flags(head));
    if let Some((b, h)) = catalogs {
        flags.extend(version_flags(b, h));
    }
    flags.sort();
    flags.dedup();
    let mut counts = Counts::default();
    let mut zones: BTreeMap<String, BTreeMap<String, Counts>> = BTreeMap::new();
    for c in &changes {
        counts.add(c.change);
        zones
            .entry(c.key.zone.clone())
            .or_default()
            .entry(c.client.clone().unwrap_or_default())
            .or_default()
            .add(c.change);
    }
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        base: String::new(),
        head: String::new(),
        counts,
        flags,
        zones,
        changes,
        stale: Vec::new(),
        approved: Vec::new(),
        zone_order: Vec::new(),
        base_commit: None,
        head_commit: None,
        releases: catalogs.map(|(b, h)| releases(b, h)).unwrap_or_default(),
    };
    let order: Vec<&str> = catalogs
        .iter()
        .flat_map(|(b, h)| h.model.zones.iter().chain(&b.model.zones))
        .map(|z| z.name.as_str())
        .collect();
    report.order_zones(order);
    report
}

/// A client that has objects in a zone at base and none at head leaves that zone: Flux
/// prune deletes its namespace and everything in it. That is one deliberate act, so it is one
/// flag per zone saying what goes, in place of one flag per object (a reviewer approves the
/// removal, not each NetworkPolicy).
fn removed_clients(
    base: &Side,
    head: &Side,
    changes: &[ObjectChange],
    mut flags: Vec<Flag>,
) -> Vec<Flag> {
    let staying: BTreeSet<(&str, &str)> = head
        .iter()
        .filter_map(|(k, o)| Some((k.zone.as_str(), o.client.as_deref()?)))
        .collect();
    let mut gone: BTreeMap<(&str, &str), Vec<&Key>> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.change == Change::Removed) {
        if let Some(client) = c.client.as_deref()
            && !staying.contains(&(c.key.zone.as_str(), client))
        {
            gone.entry((c.key.zone.as_str(), client))
                .or_default()
                .push(&c.key);
        }
    }
    flags.retain(|f| {
        f.object.is_none()
            || !matches!((f.zone.as_deref(), f.client.as_deref()), (Some(z), Some(c)) if gone.contains_key(&(z, c)))
    });
    for ((zone, client), keys) in gone {
        let namespace = keys
            .iter()
            .find(|k| k.kind == "Namespace")
            .map(|k| k.name.clone())
            .or_else(|| {
                base.values()
                    .find(|o| o.client.as_deref() == Some(client))
                    .map(|o| o.applied_by.clone())
            })
            .unwrap_or_default();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for k in keys.iter().filter(|k| k.kind != "Namespace") {
            *kinds.entry(k.kind.as_str()).or_default() += 1;
        }
        let total: usize = kinds.values().sum();
        let listed = kinds
            .iter()
            .map(|(kind, n)| format!("{n} × {kind}"))
            .collect::<Vec<_>>()
            .join(", ");
        let volumes = kinds
            .get("PersistentVolumeClaim")
            .map_or(String::new(), |n| {
                format!(
                    "; the data of {} is lost",
                    plural(*n, "PersistentVolumeClaim", "PersistentVolumeClaims")
                )
            });
        flags.push(Flag {
            severity: Severity::Block,
            rule: CLIENT_REMOVED,
            zone: Some(zone.to_owned()),
            client: Some(client.to_owned()),
            object: keys
                .iter()
                .find(|k| k.kind == "Namespace")
                .map(|k| k.label()),
            message: format!(
                "`{client}` leaves {zone}: Flux prune deletes namespace `{namespace}` and everything in it ({}: {listed}){volumes}",
                plural(total, "object", "objects")
            ),
        });
    }
    flags
}

fn flag(
    severity: Severity,
    rule: &'static str,
    key: &Key,
    client: Option<&str>,
    message: String,
) -> Flag {
    Flag {
        severity,
        rule,
        zone: Some(key.zone.clone()),
        client: client.map(str::to_owned),
        object: Some(key.label()),
        message,
    }
}

/// The (peer, port) pairs a NetworkPolicy allows, per direction, for "widened" checks.
fn policy_rules(policy: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let selector = policy
        .pointer("/spec/podSelector")
        .map(Value::to_string)
        .unwrap_or_default();
    for (dir, peers_key) in [("ingress", "from"), ("egress", "to")] {
        for rule in policy
            .pointer(&format!("/spec/{dir}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let peers: Vec<String> = rule
                .get(peers_key)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Value::to_string).collect())
                .unwrap_or_else(|| vec!["*".into()]);
            let ports: Vec<String> = rule
                .get("ports")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Value::to_string).collect())
                .unwrap_or_else(|| vec!["*".into()]);
            for p in &peers {
                for port in &ports {
                    out.insert(format!("{selector} {dir} {p} {port}"));
                }
            }
        }
    }
    out
}

fn policy_types(policy: &Value) -> BTreeSet<String> {
    policy
        .pointer("/spec/policyTypes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn is_default_deny(policy: &Value) -> bool {
    policy.pointer("/spec/podSelector").is_some_and(|s| {
        s.as_object().is_some_and(|o| {
            o.values()
                .all(|v| v.as_object().is_some_and(serde_json::Map::is_empty))
        })
    }) && policy.pointer("/spec/ingress").is_none()
        && policy.pointer("/spec/egress").is_none()
        && !policy_types(policy).is_empty()
}

fn object_flags(key: &Key, change: Change, b: Option<&Object>, h: Option<&Object>) -> Vec<Flag> {
    let client = h.or(b).and_then(|o| o.client.as_deref());
    let mut out = Vec::new();
    let label = key.label();
    match (key.kind.as_str(), change) {
        ("NetworkPolicy", Change::Removed) => {
            let deny = b.is_some_and(|o| is_default_deny(&o.value));
            let (rule, what) = if deny {
                ("default-deny-dropped", "the default deny")
            } else {
                ("network-policy-removed", "a NetworkPolicy")
            };
            out.push(flag(
                Severity::Block,
                rule,
                key,
                client,
                format!("{label}: {what} is removed"),
            ));
        }
        ("NetworkPolicy", Change::Changed) => {
            let (bv, hv) = (
                &b.map(|o| o.value.clone()).unwrap_or_default(),
                &h.map(|o| o.value.clone()).unwrap_or_default(),
            );
            if is_default_deny(bv) && !is_default_deny(hv) {
                out.push(flag(
                    Severity::Block,
                    "default-deny-dropped",
                    key,
                    client,
                    format!("{label}: no longer denies all traffic by default"),
                ));
            } else if !policy_rules(hv).is_subset(&policy_rules(bv))
                || !policy_types(bv).is_subset(&policy_types(hv))
            {
                out.push(flag(
                    Severity::Caution,
                    "network-policy-widened",
                    key,
                    client,
                    format!("{label}: allows traffic it did not allow before"),
                ));
            }
        }
        ("Namespace", Change::Removed) => out.push(flag(
            Severity::Block,
            "namespace-removed",
            key,
            client,
            format!("{label}: Flux prune deletes the namespace and everything in it"),
        )),
        ("PersistentVolumeClaim", Change::Removed) => out.push(flag(
            Severity::Block,
            "volume-removed",
            key,
            client,
            format!("{label}: Flux prune deletes the volume and its data"),
        )),
        ("ResourceQuota" | "PodDisruptionBudget", Change::Removed) => out.push(flag(
            Severity::Caution,
            "guardrail-removed",
            key,
            client,
            format!("{label} is removed"),
        )),
        _ => {}
    }
    if key.kind == "Namespace" && change == Change::Changed {
        let level = |o: Option<&Object>| {
            o.and_then(|o| {
                o.value
                    .pointer("/metadata/labels/pod-security.kubernetes.io~1enforce")
            })
            .and_then(Value::as_str)
            .map(str::to_owned)
        };
        let rank = |l: &Option<String>| match l.as_deref() {
            Some("restricted") => 2,
            Some("baseline") => 1,
            _ => 0,
        };
        let (was, now) = (level(b), level(h));
        if rank(&now) < rank(&was) {
            out.push(flag(
                Severity::Block,
                "pod-security-lowered",
                key,
                client,
                format!(
                    "{label}: Pod Security enforcement drops from {} to {}",
                    was.as_deref().unwrap_or("none"),
                    now.as_deref().unwrap_or("none")
                ),
            ));
        }
    }
    if let Some(h) = h.filter(|_| {
        matches!(
            key.kind.as_str(),
            "Deployment" | "StatefulSet" | "DaemonSet"
        )
    }) {
        let before = b.map(|o| container_images(&o.value)).unwrap_or_default();
        for image in container_images(&h.value)
            .into_iter()
            .filter(|i| !before.contains(i))
        {
            let tag = image
                .split('@')
                .next()
                .unwrap_or("")
                .rsplit_once(':')
                .map(|(_, t)| t);
            if tag == Some("latest") || (!image.contains(':') && !image.contains('@')) {
                out.push(flag(
                    Severity::Block,
                    "image-latest",
                    key,
                    client,
                    format!("{label} runs `{image}`, which moves under a running cluster"),
                ));
            } else if key.zone == "production" && !image.contains("@sha256:") {
                out.push(flag(
                    Severity::Block,
                    "image-without-digest",
                    key,
                    client,
                    format!("{label} runs `{image}` in production without a digest"),
                ));
            }
        }
    }
    out
}

/// Two clients routing one host in a zone (possible through hand-written components).
fn host_flags(head: &Side) -> Vec<Flag> {
    let mut owners: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (key, o) in head.iter().filter(|(k, _)| k.kind == "Ingress") {
        for rule in o
            .value
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(host) = rule.get("host").and_then(Value::as_str) {
                owners
                    .entry((key.zone.clone(), host.to_owned()))
                    .or_default()
                    .insert(o.client.clone().unwrap_or_else(|| "the platform".into()));
            }
        }
    }
    owners
        .into_iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|((zone, host), clients)| Flag {
            severity: Severity::Block,
            rule: "host-claimed-twice",
            zone: Some(zone),
            client: None,
            object: None,
            message: format!(
                "host `{host}` is routed to {}",
                clients.into_iter().collect::<Vec<_>>().join(" and ")
            ),
        })
        .collect()
}

fn tag_of(version: &str) -> &str {
    version.split('@').next().unwrap_or(version)
}

/// Flags from the catalogs' versions: a promotion that skips a zone, and one client's version
/// moving in several zones at once.
fn version_flags(base: &Checked, head: &Checked) -> Vec<Flag> {
    let mut out = Vec::new();
    let zones: Vec<String> = head.model.zones.iter().map(|z| z.name.clone()).collect();
    let versions = |c: &Checked, name: &str| {
        c.raw
            .spec
            .clients
            .iter()
            .find(|x| x.name == name)
            .map(|x| x.versions.clone())
            .unwrap_or_default()
    };
    for client in &head.raw.spec.clients {
        let (b, h) = (versions(base, &client.name), versions(head, &client.name));
        let moved: Vec<&String> = zones
            .iter()
            .filter(|z| h.get(*z).is_some_and(|v| b.get(*z) != Some(v)))
            .collect();
        let existed = base.raw.spec.clients.iter().any(|x| x.name == client.name);
        if existed && moved.len() > 1 {
            out.push(Flag {
                severity: Severity::Caution,
                rule: "version-changed-in-several-zones",
                zone: None,
                client: Some(client.name.clone()),
                object: None,
                message: format!(
                    "`{}` changes version in {} at once; promote one zone at a time",
                    client.name,
                    moved
                        .iter()
                        .map(|z| z.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        for zone in &moved {
            let i = zones.iter().position(|z| z == *zone).unwrap_or(0);
            let Some(prev) = i.checked_sub(1).map(|p| &zones[p]) else {
                continue;
            };
            let new = tag_of(&h[*zone]);
            let known = [b.get(prev), h.get(prev)]
                .into_iter()
                .flatten()
                .any(|v| tag_of(v) == new);
            if !known {
                let severity = if head.model.zones[i].production {
                    Severity::Block
                } else {
                    Severity::Caution
                };
                out.push(Flag {
                    severity,
                    rule: "promotion-skips-zone",
                    zone: Some((*zone).clone()),
                    client: Some(client.name.clone()),
                    object: None,
                    message: format!(
                        "`{}` gets `{new}` in {zone}, which never ran in {prev}",
                        client.name
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn side(objects: &[(&str, Option<&str>, &str, Value)]) -> Side {
        objects
            .iter()
            .map(|(zone, client, by, v)| {
                (
                    key_of(zone, v),
                    Object {
                        client: client.map(str::to_owned),
                        applied_by: (*by).to_owned(),
                        value: v.clone(),
                    },
                )
            })
            .collect()
    }

    fn rules(r: &Report) -> Vec<&'static str> {
        r.flags.iter().map(|f| f.rule).collect()
    }

    fn ns(name: &str, level: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}})
    }

    fn deployment(image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "sh-a"}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    #[test]
    fn pod_security_lowered_is_blocking() {
        let r = compare(
            &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "restricted"))]),
            &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "baseline"))]),
            None,
        );
        assert_eq!(rules(&r), ["pod-security-lowered"]);
        assert_eq!(r.flags[0].severity, Severity::Block);
        let raised = compare(
            &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "baseline"))]),
            &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "restricted"))]),
            None,
        );
        assert!(raised.flags.is_empty());
    }

    #[test]
    fn images_moving_to_latest_or_losing_their_digest_in_production_are_blocking() {
        let pinned = deployment("r/a:1.0@sha256:00");
        for (zone, image, rule) in [
            ("dev", "r/a:latest", "image-latest"),
            ("dev", "r/a", "image-latest"),
            ("production", "r/a:1.1", "image-without-digest"),
        ] {
            let r = compare(
                &side(&[(zone, Some("a"), "sh-a", pinned.clone())]),
                &side(&[(zone, Some("a"), "sh-a", deployment(image))]),
                None,
            );
            assert_eq!(rules(&r), [rule], "{zone} {image}");
        }
        let ok = compare(
            &side(&[("staging", Some("a"), "sh-a", pinned.clone())]),
            &side(&[("staging", Some("a"), "sh-a", deployment("r/a:1.1"))]),
            None,
        );
        assert!(ok.flags.is_empty(), "tags are fine before production");
    }

    #[test]
    fn moving_an_object_between_kustomizations_and_removing_volumes_are_flagged() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ge-hosting"}});
        let r = compare(
            &side(&[("dev", None, "infra-configs", cm.clone())]),
            &side(&[("dev", None, "infra-controllers", cm)]),
            None,
        );
        assert_eq!(rules(&r), ["moved-between-kustomizations"]);
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "ded-a"}});
        let staying = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ded-a"}});
        let r = compare(
            &side(&[
                ("dev", Some("a"), "ded-a", pvc),
                ("dev", Some("a"), "ded-a", staying.clone()),
            ]),
            &side(&[("dev", Some("a"), "ded-a", staying)]),
            None,
        );
        assert_eq!(rules(&r), ["volume-removed"]);
    }

    #[test]
    fn a_client_leaving_a_zone_is_one_flag_there_saying_what_prune_deletes() {
        let obj = |kind: &str, name: &str| json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "ded-a"}});
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ded-a"}});
        let deny = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": "ded-a"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}});
        let objects = |zone| {
            vec![
                (zone, Some("a"), "ded-a", ns.clone()),
                (zone, Some("a"), "ded-a", deny.clone()),
                (
                    zone,
                    Some("a"),
                    "ded-a",
                    obj("PersistentVolumeClaim", "data"),
                ),
                (zone, Some("a"), "ded-a", obj("ResourceQuota", "compute")),
            ]
        };
        let base = side(&[objects("dev"), objects("staging")].concat());
        // `a` stays in staging with one object less; it leaves dev.
        let mut r = compare(&base, &side(&objects("staging")[..3]), None);
        assert_eq!(rules(&r), ["client-removed", "guardrail-removed"]);
        let removal = &r.flags[0];
        assert_eq!(
            (removal.severity, removal.zone.as_deref()),
            (Severity::Block, Some("dev"))
        );
        assert_eq!(
            removal.message,
            "`a` leaves dev: Flux prune deletes namespace `ded-a` and everything in it \
             (3 objects: 1 × NetworkPolicy, 1 × PersistentVolumeClaim, 1 × ResourceQuota); \
             the data of 1 PersistentVolumeClaim is lost"
        );
        // Approval downgrades exactly the removal, and says so.
        r.approve(Approval::Removal);
        assert_eq!(r.flags[0].severity, Severity::Caution, "the guardrail flag");
        assert_eq!(r.flags[1].rule, "client-removed");
        assert_eq!(r.flags[1].severity, Severity::Info);
        assert!(
            r.flags[1]
                .message
                .ends_with("approved as deliberate (`--approve removal`)")
        );
        assert_eq!(r.approved, [Approval::Removal]);
    }

    #[test]
    fn two_clients_routing_one_host_is_blocking() {
        let ing = |ns: &str| json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": ns}, "spec": {"rules": [{"host": "shop.example.com"}]}});
        let r = compare(
            &Side::new(),
            &side(&[
                ("dev", Some("a"), "sh-a", ing("sh-a")),
                ("dev", Some("b"), "sh-b", ing("sh-b")),
            ]),
            None,
        );
        assert!(rules(&r).contains(&"host-claimed-twice"));
    }

    #[test]
    fn secret_values_are_never_printed() {
        let secret = |data: Value| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "sh-a"}, "data": data});
        let base = side(&[(
            "dev",
            Some("a"),
            "sh-a",
            secret(json!({"password": "aHVudGVyMg==", "user": "YWRtaW4="})),
        )]);
        let head = side(&[(
            "dev",
            Some("a"),
            "sh-a",
            secret(json!({"password": "c2VjcmV0LXZhbHVl", "token": "dG9rZW4="})),
        )]);
        let r = compare(&base, &head, None);
        let diff = &r.changes[0].diff;
        for value in [
            "aHVudGVyMg==",
            "YWRtaW4=",
            "c2VjcmV0LXZhbHVl",
            "dG9rZW4=",
            "hunter2",
        ] {
            assert!(!diff.contains(value), "{value} leaked:\n{diff}");
        }
        assert!(
            diff.contains("+  password: \"<secret: changed, 7→12 bytes>\""),
            "{diff}"
        );
        assert!(
            diff.contains("-  user: \"<secret: 5 bytes>\""),
            "removed keys are shown: {diff}"
        );
        assert!(
            diff.contains("+  token: \"<secret: 5 bytes>\""),
            "added keys are shown: {diff}"
        );
    }
}
