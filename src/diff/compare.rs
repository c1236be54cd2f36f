//! Comparing two renderings object by object, each change with its masked unified diff.
//! Large catalogs are compared a zone and a client at a time, side by side, and each pair of
//! objects is dropped once compared, so memory follows the largest client, not the catalog.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::flags::{Hosts, flag, object_flags, version_flags};
use super::{
    CLIENT_REMOVED, Change, Counts, Flag, Key, Object, ObjectChange, Report, SCHEMA_VERSION,
    Severity, Side, Versions, key_of, plural, releases_of,
};
use crate::catalog as raw;
use crate::check::Checked;
use crate::emit;
use crate::model::{Catalog, Client};
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
    let (bc, hc) = (clients(&base.model), clients(&head.model));
    let names: BTreeSet<&str> = bc
        .keys()
        .chain(hc.keys())
        .copied()
        .filter(|n| wanted(n))
        .collect();
    compare_parts(
        zone_names(
            &head.model,
            base.model.zones.iter().map(|z| z.name.as_str()),
        ),
        &names,
        |zone, client| part(base, &bc, zone, client, &wanted),
        |zone, client| part(head, &hc, zone, client, &wanted),
        (&Versions::of(base), &Versions::of(head)),
    )
}

/// Head's zones in order, then the zones only the base has.
fn zone_names<'a>(head: &'a Catalog, base: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut zones: Vec<String> = Vec::new();
    for z in head.zones.iter().map(|z| z.name.as_str()).chain(base) {
        if !zones.iter().any(|x| x == z) {
            zones.push(z.to_owned());
        }
    }
    zones
}

/// One part of a catalog's rendering in `zone`: with no `client`, the zone's own objects (the
/// platform's and Flux's; Flux renders every client's Kustomization, and those of clients that
/// cannot differ are left out as they come), else that client's objects.
fn part(
    c: &Checked,
    index: &Clients,
    zone: &str,
    client: Option<&str>,
    wanted: &dyn Fn(&str) -> bool,
) -> Side {
    let mut side = Side::new();
    let Some(z) = c.model.zones.iter().find(|z| z.name == zone) else {
        return side;
    };
    match client {
        None => {
            let _ = render::each_object(
                &c.model,
                z,
                &Options::default(),
                |_| false,
                |p| {
                    if p.client.as_deref().is_none_or(wanted) {
                        insert(&mut side, zone, p, index);
                    }
                    Ok::<(), std::convert::Infallible>(())
                },
            );
        }
        Some(name) => {
            if let Some(client) = index.get(name) {
                for p in render::client_objects(&c.model, z, client) {
                    insert(&mut side, zone, p, index);
                }
            }
        }
    }
    side
}

/// Compares two renderings part by part, zone by zone: each zone's own objects, then each of
/// `names`' objects. `base` and `head` render (or hand over) one part when asked, so only
/// one part of each side is held at a time.
fn compare_parts(
    zones: Vec<String>,
    names: &BTreeSet<&str>,
    mut base: impl FnMut(&str, Option<&str>) -> Side,
    mut head: impl FnMut(&str, Option<&str>) -> Side,
    versions: (&Versions, &Versions),
) -> Report {
    let mut cmp = Comparer::new(zones.clone());
    for zone in &zones {
        cmp.sides(&base(zone, None), &head(zone, None));
        for name in names {
            cmp.sides(&base(zone, Some(name)), &head(zone, Some(name)));
        }
    }
    cmp.finish(Some(versions))
}

/// What a diff keeps of the base catalog, so that the head is checked after the base is let
/// go and the two are never held together: the parts of its rendering that can differ (only
/// `only`'s clients, a few when a pull request changes a few), those clients' catalog
/// entries, and its zones and versions.
pub struct KeptBase {
    only: BTreeSet<String>,
    /// The clients of `only` the base has.
    names: BTreeSet<String>,
    /// Its zones, in order.
    zones: Vec<String>,
    clients: BTreeMap<String, raw::Client>,
    /// (zone, client or `None` for the zone's own objects) -> objects.
    parts: BTreeMap<(String, Option<String>), Side>,
    versions: Versions,
    /// Set by `narrow`: the kept clients whose entries differ at head, and head's versions.
    narrowed: Option<(BTreeSet<String>, Versions)>,
}

impl KeptBase {
    /// Keeps what `compare_kept` needs of `base`, rendering only the clients in `only`: a
    /// superset of the clients whose catalog entries differ at head (the rest render the same
    /// on both sides).
    pub fn of(base: &Checked, only: &BTreeSet<String>) -> Self {
        let wanted = |c: &str| only.contains(c);
        let index = clients(&base.model);
        let mut parts = BTreeMap::new();
        for z in &base.model.zones {
            let own = part(base, &index, &z.name, None, &wanted);
            parts.insert((z.name.clone(), None), own);
            for name in index.keys().filter(|n| wanted(n)) {
                let side = part(base, &index, &z.name, Some(name), &wanted);
                parts.insert((z.name.clone(), Some((*name).to_owned())), side);
            }
        }
        KeptBase {
            only: only.clone(),
            names: index
                .keys()
                .filter(|n| wanted(n))
                .map(|n| (*n).to_owned())
                .collect(),
            zones: base.model.zones.iter().map(|z| z.name.clone()).collect(),
            clients: base
                .raw
                .spec
                .clients
                .iter()
                .filter(|c| wanted(&c.name))
                .map(|c| (c.name.clone(), c.clone()))
                .collect(),
            parts,
            versions: Versions::of(base),
            narrowed: None,
        }
    }
}

impl KeptBase {
    /// Reads what the comparison needs of head's catalog entries: which of the kept clients
    /// differ, and head's versions. After this, `compare_kept` reads only head's model, so
    /// the caller may let head's entries go first.
    pub fn narrow(&mut self, head: &Checked) {
        self.narrowed = Some(self.differ_at(head));
        self.clients = BTreeMap::new();
    }

    fn differ_at(&self, head: &Checked) -> (BTreeSet<String>, Versions) {
        let at_head: BTreeMap<&str, &raw::Client> = head
            .raw
            .spec
            .clients
            .iter()
            .filter(|c| self.only.contains(&c.name))
            .map(|c| (c.name.as_str(), c))
            .collect();
        let differ: BTreeSet<String> = self
            .only
            .iter()
            .filter(|n| self.clients.get(*n) != at_head.get(n.as_str()).copied())
            .cloned()
            .collect();
        (differ, Versions::of(head))
    }
}

/// `compare_catalogs(base, head)` for a base kept by `KeptBase::of`: the same report, as long
/// as the platform, the zones and every client outside the kept ones are the same at base and
/// head (the caller knows it from the documents; see `Fingerprint`). Of the kept clients,
/// only those whose catalog entries differ are compared, as `compare_catalogs` does.
pub fn compare_kept(mut base: KeptBase, head: &Checked) -> Report {
    let (differ, head_versions) = match base.narrowed.take() {
        Some(narrowed) => narrowed,
        None => base.differ_at(head),
    };
    let wanted = |c: &str| differ.contains(c);
    let hc = clients(&head.model);
    let names: BTreeSet<&str> = base
        .names
        .iter()
        .map(String::as_str)
        .chain(hc.keys().copied())
        .filter(|n| wanted(n))
        .collect();
    let versions = std::mem::take(&mut base.versions);
    let zones = std::mem::take(&mut base.zones);
    compare_parts(
        zone_names(&head.model, zones.iter().map(String::as_str)),
        &names,
        |zone, client| {
            let mut side = base
                .parts
                .remove(&(zone.to_owned(), client.map(str::to_owned)))
                .unwrap_or_default();
            if client.is_none() {
                side.retain(|_, o| o.client.as_deref().is_none_or(wanted));
            }
            side
        },
        |zone, client| part(head, &hc, zone, client, &wanted),
        (&versions, &head_versions),
    )
}

/// What tells two catalog documents' clients apart before they are checked: a digest of
/// everything but the clients, and one of each client's entry, by name. Taken from the parsed
/// documents, so that the base can be checked, kept small (`KeptBase`) and let go before the
/// head is checked. Equal digests mean equal entries; a client whose entry is written
/// differently but means the same is only compared for nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    rest: [u8; 32],
    clients: BTreeMap<String, [u8; 32]>,
}

impl Fingerprint {
    /// `None` for a document that is not a catalog with named clients: the check says why.
    pub fn of(doc: &Value) -> Option<Self> {
        use sha2::Digest as _;
        let digest = |v: &Value| -> Option<[u8; 32]> {
            Some(sha2::Sha256::digest(serde_json::to_vec(v).ok()?).into())
        };
        let mut rest = sha2::Sha256::new();
        for (k, v) in doc.as_object()? {
            if k == "spec" {
                for (sk, sv) in v.as_object()? {
                    if sk != "clients" {
                        rest.update(serde_json::to_vec(&(k, sk, sv)).ok()?);
                    }
                }
            } else {
                rest.update(serde_json::to_vec(&(k, v)).ok()?);
            }
        }
        let mut clients = BTreeMap::new();
        for c in doc
            .pointer("/spec/clients")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c.get("name").and_then(Value::as_str)?;
            if clients.insert(name.to_owned(), digest(c)?).is_some() {
                return None;
            }
        }
        Some(Fingerprint {
            rest: rest.finalize().into(),
            clients,
        })
    }

    /// The clients whose entries differ (or that one side lacks), or `None` when anything
    /// else in the documents differs.
    pub fn changed(&self, head: &Fingerprint) -> Option<BTreeSet<String>> {
        if self.rest != head.rest {
            return None;
        }
        let names: BTreeSet<&String> = self.clients.keys().chain(head.clients.keys()).collect();
        Some(
            names
                .into_iter()
                .filter(|n| self.clients.get(*n) != head.clients.get(*n))
                .cloned()
                .collect(),
        )
    }
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
    let versions = catalogs.map(|(b, h)| (Versions::of(b), Versions::of(h)));
    cmp.finish(versions.as_ref().map(|(b, h)| (b, h)))
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

    fn finish(mut self, catalogs: Option<(&Versions, &Versions)>) -> Report {
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
            releases: catalogs.map(|(b, h)| releases_of(b, h)).unwrap_or_default(),
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
