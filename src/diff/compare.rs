//! Comparing two renderings object by object, each change with its masked unified diff.
//! Large catalogs are compared a zone and a client at a time, side by side, and each pair of
//! objects is dropped once compared, so memory follows the largest client, not the catalog.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::flags::{Hosts, flag, object_flags, version_flags};
use super::{
    CLIENT_REMOVED, Change, Counts, Flag, Key, Object, ObjectChange, Report, SCHEMA_VERSION,
    Severity, Side, key_of, plural, releases,
};
use crate::catalog as raw;
use crate::check::Checked;
use crate::emit;
use crate::model::{Catalog, Client, Zone};
use crate::render::{self, Options, Placed, Unit};

/// Bytes of unified diff text a report keeps. The markdown shows at most one comment
/// (64 KiB) of it and JSON consumers read the flags and counts first, while a platform-wide
/// change to 10,000 clients would otherwise hold gigabytes of diffs. Every change is still
/// listed (key, kind of change, client); past this budget its `diff` is empty and marked
/// omitted, keeping the diffs a reviewer reads first: flagged objects, then client by client
/// (the platform first), each client's zones in promotion order.
pub const DIFF_BUDGET: usize = 1 << 20;

/// Clients by name, with the namespace their objects are applied in.
type Clients<'a> = BTreeMap<&'a str, &'a Client>;

fn clients(catalog: &Catalog) -> Clients<'_> {
    catalog
        .clients
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect()
}

fn applied_by(p: &Placed, clients: &Clients) -> String {
    match &p.unit {
        Unit::Root | Unit::FluxSystem => render::flux_names::FLUX_NAMESPACE.into(),
        Unit::InfraControllers => render::flux_names::INFRA_CONTROLLERS.into(),
        Unit::InfraConfigs => render::flux_names::INFRA_CONFIGS.into(),
        Unit::Tenants => render::flux_names::TENANTS.into(),
        Unit::Tenant(c) => clients
            .get(c.as_str())
            .map_or_else(|| c.clone(), |x| x.namespace.clone()),
    }
}

fn insert(side: &mut Side, zone: &str, p: Placed, clients: &Clients) {
    let value = p.value();
    let key = key_of(zone, &value);
    let object = Object {
        applied_by: applied_by(&p, clients),
        client: p.client,
        value,
    };
    side.insert(key, object);
}

/// Renders a checked catalog into a side. `only` limits client objects to these clients
/// (platform and Flux objects are always rendered), for diffs of large catalogs.
pub fn render_side(checked: &Checked, only: Option<&BTreeSet<String>>) -> Side {
    let m = &checked.model;
    let index = clients(m);
    let options = Options::default();
    let wanted = |c: &str| only.is_none_or(|o| o.contains(c));
    let mut side = Side::new();
    for zone in &m.zones {
        let _ = render::each_object(m, zone, &options, wanted, |p| {
            // Flux renders every client's Kustomization; the unchanged ones are left out as
            // they come, so a large catalog's side holds only what can differ.
            if p.client.as_deref().is_none_or(wanted) {
                insert(&mut side, &zone.name, p, &index);
            }
            Ok::<(), std::convert::Infallible>(())
        });
    }
    side
}

/// What changes from `base` to `head`: only the clients that can differ are rendered, so a
/// change to a few clients of a large catalog costs a few clients, and those are rendered a
/// zone and a client at a time, base beside head, so a change to every client holds one
/// client's objects at a time. A client's objects live in its own namespace, so no object
/// can move between the parts compared apart.
pub fn compare_catalogs(base: &Checked, head: &Checked) -> Report {
    let only = changed_clients(&base.raw, &head.raw);
    let wanted = |c: &str| only.as_ref().is_none_or(|o| o.contains(c));
    let mut zones: Vec<&str> = Vec::new();
    for z in head.model.zones.iter().chain(&base.model.zones) {
        if !zones.contains(&z.name.as_str()) {
            zones.push(&z.name);
        }
    }
    let mut cmp = Comparer::new(zones.iter().map(|z| (*z).to_owned()).collect());
    let (bc, hc) = (clients(&base.model), clients(&head.model));
    let names: BTreeSet<&str> = bc
        .keys()
        .chain(hc.keys())
        .copied()
        .filter(|n| wanted(n))
        .collect();
    let options = Options::default();
    for zone in zones {
        fn find<'a>(c: &'a Checked, zone: &str) -> Option<&'a Zone> {
            c.model.zones.iter().find(|z| z.name == zone)
        }
        let (bz, hz) = (find(base, zone), find(head, zone));
        // The zone's own objects: the platform's and Flux's (Flux renders every client's
        // Kustomization; those of clients that cannot differ are left out as they come).
        let own = |c: &Checked, z: Option<&Zone>, index: &Clients| {
            let mut side = Side::new();
            if let Some(z) = z {
                let _ = render::each_object(
                    &c.model,
                    z,
                    &options,
                    |_| false,
                    |p| {
                        if p.client.as_deref().is_none_or(wanted) {
                            insert(&mut side, zone, p, index);
                        }
                        Ok::<(), std::convert::Infallible>(())
                    },
                );
            }
            side
        };
        cmp.sides(&own(base, bz, &bc), &own(head, hz, &hc));
        for name in &names {
            let objects = |c: &Checked, z: Option<&Zone>, index: &Clients| {
                let mut side = Side::new();
                if let (Some(z), Some(client)) = (z, index.get(name)) {
                    for p in render::client_objects(&c.model, z, client) {
                        insert(&mut side, zone, p, index);
                    }
                }
                side
            };
            cmp.sides(&objects(base, bz, &bc), &objects(head, hz, &hc));
        }
    }
    cmp.finish(Some((base, head)))
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
    let mut zones: Vec<String> = Vec::new();
    if let Some((b, h)) = catalogs {
        for z in h.model.zones.iter().chain(&b.model.zones) {
            if !zones.contains(&z.name) {
                zones.push(z.name.clone());
            }
        }
    }
    let mut cmp = Comparer::new(zones);
    cmp.sides(base, head);
    cmp.finish(catalogs)
}

/// Where a change's diff ranks for keeping: flagged objects first, then by client (the
/// platform first), zone in promotion order and object.
type Rank = (bool, Option<String>, usize, Key);

/// A comparison under way: what has been found so far, holding no object.
struct Comparer {
    zone_order: Vec<String>,
    changes: Vec<ObjectChange>,
    flags: Vec<Flag>,
    /// (zone, client) of every client with objects at head.
    staying: BTreeSet<(String, String)>,
    /// (zone, client) -> the objects it loses, each with the Kustomization that applied it.
    removed: BTreeMap<(String, String), Vec<(Key, String)>>,
    hosts: Hosts,
    /// The changes whose diffs are kept, by rank, and their bytes.
    kept: BTreeMap<Rank, usize>,
    kept_bytes: usize,
}

impl Comparer {
    fn new(zone_order: Vec<String>) -> Self {
        Comparer {
            zone_order,
            changes: Vec::new(),
            flags: Vec::new(),
            staying: BTreeSet::new(),
            removed: BTreeMap::new(),
            hosts: Hosts::default(),
            kept: BTreeMap::new(),
            kept_bytes: 0,
        }
    }

    /// Compares every object of two sides (or two parts of them).
    fn sides(&mut self, base: &Side, head: &Side) {
        let keys: BTreeSet<&Key> = base.keys().chain(head.keys()).collect();
        for key in keys {
            self.object(key, base.get(key), head.get(key));
        }
    }

    fn object(&mut self, key: &Key, b: Option<&Object>, h: Option<&Object>) {
        if let Some(h) = h {
            if let Some(c) = &h.client {
                self.staying.insert((key.zone.clone(), c.clone()));
            }
            self.hosts.record(key, h);
        }
        if let (Some(b), Some(h)) = (b, h)
            && b.applied_by != h.applied_by
        {
            self.flags.push(flag(
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
        let change = match (b, h) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (Some(b), Some(h)) if b.value != h.value => Change::Changed,
            _ => return,
        };
        let client = h.or(b).and_then(|o| o.client.clone());
        let flags = object_flags(key, change, b, h);
        let rank: Rank = (
            flags.is_empty(),
            client.clone(),
            self.zone_order
                .iter()
                .position(|z| *z == key.zone)
                .unwrap_or(usize::MAX),
            key.clone(),
        );
        self.flags.extend(flags);
        if change == Change::Removed
            && let (Some(c), Some(b)) = (&client, b)
        {
            self.removed
                .entry((key.zone.clone(), c.clone()))
                .or_default()
                .push((key.clone(), b.applied_by.clone()));
        }
        // Past the budget, a diff that would be dropped again at once is not even made.
        let full = self.kept_bytes >= DIFF_BUDGET;
        let diff = if full
            && self
                .kept
                .last_key_value()
                .is_some_and(|(last, _)| *last < rank)
        {
            None
        } else {
            Some(match (b, h) {
                (None, Some(h)) => unified(key, "", &text_of(&h.value, None)),
                (Some(b), None) => unified(key, &text_of(&b.value, None), ""),
                (Some(b), Some(h)) => unified(
                    key,
                    &text_of(&b.value, Some(&h.value)),
                    &text_of(&h.value, Some(&b.value)),
                ),
                (None, None) => String::new(),
            })
        };
        let index = self.changes.len();
        self.changes.push(ObjectChange {
            key: key.clone(),
            change,
            client,
            diff_omitted: diff.is_none(),
            diff: diff.unwrap_or_default(),
        });
        if !self.changes[index].diff_omitted {
            self.kept_bytes += self.changes[index].diff.len();
            self.kept.insert(rank, index);
            while self.kept_bytes > DIFF_BUDGET && self.kept.len() > 1 {
                let Some((_, last)) = self.kept.pop_last() else {
                    break;
                };
                let dropped = &mut self.changes[last];
                self.kept_bytes -= dropped.diff.len();
                dropped.diff = String::new();
                dropped.diff_omitted = true;
            }
        }
    }

    fn finish(mut self, catalogs: Option<(&Checked, &Checked)>) -> Report {
        let mut flags = self.removed_clients();
        flags.extend(self.hosts.flags());
        if let Some((b, h)) = catalogs {
            flags.extend(version_flags(b, h));
        }
        flags.sort();
        flags.dedup();
        let mut counts = Counts::default();
        let mut zones: BTreeMap<String, BTreeMap<String, Counts>> = BTreeMap::new();
        for c in &self.changes {
            counts.add(c.change);
            zones
                .entry(c.key.zone.clone())
                .or_default()
                .entry(c.client.clone().unwrap_or_default())
                .or_default()
                .add(c.change);
        }
        let diffs_omitted = self.changes.iter().filter(|c| c.diff_omitted).count();
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            base: String::new(),
            head: String::new(),
            counts,
            flags,
            zones,
            changes: std::mem::take(&mut self.changes),
            diffs_omitted,
            stale: Vec::new(),
            approved: Vec::new(),
            zone_order: Vec::new(),
            base_commit: None,
            head_commit: None,
            releases: catalogs.map(|(b, h)| releases(b, h)).unwrap_or_default(),
        };
        report.order_zones(self.zone_order.iter().map(String::as_str));
        report
    }

    /// A client that has objects in a zone at base and none at head leaves that zone: Flux
    /// prune deletes its namespace and everything in it. That is one deliberate act, so it is
    /// one flag per zone saying what goes, in place of one flag per object (a reviewer
    /// approves the removal, not each NetworkPolicy).
    fn removed_clients(&mut self) -> Vec<Flag> {
        let mut flags = std::mem::take(&mut self.flags);
        let gone: BTreeMap<&(String, String), &Vec<(Key, String)>> = self
            .removed
            .iter()
            .filter(|(zc, _)| !self.staying.contains(*zc))
            .collect();
        flags.retain(|f| {
            f.object.is_none()
                || !matches!((&f.zone, &f.client), (Some(z), Some(c)) if gone.contains_key(&(z.clone(), c.clone())))
        });
        for ((zone, client), objects) in gone {
            // The Namespace's name, or where the first of its objects was applied.
            let namespace = objects
                .iter()
                .find(|(k, _)| k.kind == "Namespace")
                .map(|(k, _)| k.name.clone())
                .or_else(|| objects.iter().min().map(|(_, by)| by.clone()))
                .unwrap_or_default();
            let keys: Vec<&Key> = objects.iter().map(|(k, _)| k).collect();
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
                zone: Some(zone.clone()),
                client: Some(client.clone()),
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
}
