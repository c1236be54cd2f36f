//! Comparing two renderings: object by object, each change with its masked unified diff.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::flags::{flag, host_flags, object_flags, version_flags};
use super::{
    CLIENT_REMOVED, Change, Counts, Flag, Key, Object, ObjectChange, Report, SCHEMA_VERSION,
    Severity, Side, key_of, plural, releases,
};
use crate::catalog as raw;
use crate::check::Checked;
use crate::emit;
use crate::render::{self, Options, Placed, Unit};

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
