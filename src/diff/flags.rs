//! Risk flags: what a change to one object, or to the catalogs' versions, puts at risk.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Change, Flag, Key, Object, Severity, Versions, tag_of};

/// The images of a workload's pod template, in container order: a Deployment's, Job's or
/// other controller's template, or a CronJob's job template.
fn container_images(workload: &Value) -> Vec<&str> {
    [
        "/spec/template/spec/containers",
        "/spec/jobTemplate/spec/template/spec/containers",
    ]
    .into_iter()
    .filter_map(|p| workload.pointer(p).and_then(Value::as_array))
    .flatten()
    .filter_map(|c| c.get("image").and_then(Value::as_str))
    .collect()
}

pub(super) fn flag(
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

pub(super) fn object_flags(
    key: &Key,
    change: Change,
    b: Option<&Object>,
    h: Option<&Object>,
) -> Vec<Flag> {
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
        ("PersistentVolumeClaim", Change::Changed) => {
            if let (Some(b), Some(h)) = (b, h) {
                out.extend(volume_refused(&b.value, &h.value).map(|why| {
                    flag(
                        Severity::Block,
                        "volume-change-refused",
                        key,
                        client,
                        format!("{label}: {why}; Kubernetes refuses it on a bound claim, so Flux fails to apply (or recreates the claim and loses its data)"),
                    )
                }));
            }
        }
        ("CronJob", Change::Changed) => {
            let when = |o: Option<&Object>| {
                let at = |p: &str| {
                    o.and_then(|o| o.value.pointer(p))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                (at("/spec/schedule"), at("/spec/timeZone"))
            };
            let (was, now) = (when(b), when(h));
            if was != now {
                let text = |(schedule, zone): &(Option<String>, Option<String>)| {
                    let schedule = schedule.as_deref().unwrap_or("none");
                    match zone {
                        Some(z) => format!("`{schedule}` ({z})"),
                        None => format!("`{schedule}`"),
                    }
                };
                out.push(flag(
                    Severity::Caution,
                    "schedule-changed",
                    key,
                    client,
                    format!("{label}: runs at {} instead of {}", text(&now), text(&was)),
                ));
            }
        }
        _ => {}
    }
    out.extend(tcp_port_flags(key, client, b, h));
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
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob"
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

/// Why Kubernetes refuses a change to a bound PersistentVolumeClaim, if it does: its storage
/// can only grow, its class and access modes never change.
fn volume_refused(b: &Value, h: &Value) -> Option<String> {
    let size = |v: &Value| {
        v.pointer("/spec/resources/requests/storage")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let (Some(was), Some(now)) = (size(b), size(h))
        && let (Some(wb), Some(nb)) = (crate::quantity::bytes(&was), crate::quantity::bytes(&now))
        && nb < wb
    {
        return Some(format!("storage shrinks from {was} to {now}"));
    }
    let class = |v: &Value| v.pointer("/spec/storageClassName").cloned();
    if class(b) != class(h) {
        let show = |c: Option<Value>| match c {
            Some(Value::String(s)) => format!("`{s}`"),
            _ => "the default".to_owned(),
        };
        return Some(format!(
            "storage class changes from {} to {}",
            show(class(b)),
            show(class(h))
        ));
    }
    let modes = |v: &Value| v.pointer("/spec/accessModes").cloned();
    if modes(b) != modes(h) {
        let show = |m: Option<Value>| {
            m.as_ref()
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "none".to_owned())
        };
        return Some(format!(
            "access modes change from {} to {}",
            show(modes(b)),
            show(modes(h))
        ));
    }
    None
}

/// The public TCP ports an object opens: an IngressRouteTCP's `tcp-<port>` entry points, or
/// the `tcp-*` entry points of Traefik's Helm values (a HelmRelease's `spec.values`, or a k3s
/// HelmChartConfig's `spec.valuesContent` YAML). Port -> what opens it, for messages.
fn tcp_ports(object: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match object.get("kind").and_then(Value::as_str) {
        Some("IngressRouteTCP") => {
            for ep in object
                .pointer("/spec/entryPoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let port = ep.strip_prefix("tcp-").unwrap_or(ep);
                out.insert(port.to_owned(), format!("entry point `{ep}`"));
            }
        }
        Some("HelmRelease") => {
            if let Some(ports) = object.pointer("/spec/values/ports") {
                entry_points(ports, &mut out);
            }
        }
        Some("HelmChartConfig") => {
            let text = object
                .pointer("/spec/valuesContent")
                .and_then(Value::as_str)
                .unwrap_or("");
            let source = crate::source::Source::from_text("valuesContent", text);
            if let Ok(values) = crate::yaml::parse_stream(&source, crate::yaml::Numbers::Go)
                && let Some(ports) = values.first().and_then(|v| v.get("ports"))
            {
                entry_points(ports, &mut out);
            }
        }
        _ => {}
    }
    out
}

/// Traefik's `tcp-*` entry points in its `ports` values, by the port they expose.
fn entry_points(ports: &Value, out: &mut BTreeMap<String, String>) {
    for (name, p) in ports.as_object().into_iter().flatten() {
        if !name.starts_with("tcp-") {
            continue;
        }
        let port = ["exposedPort", "port"]
            .iter()
            .find_map(|f| p.get(*f).filter(|v| !v.is_null()))
            .map_or_else(
                || name.trim_start_matches("tcp-").to_owned(),
                |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            );
        out.insert(port, format!("Traefik entry point `{name}`"));
    }
}

/// A TCP port that head opens and base did not (caution: it is reachable from the internet),
/// or that base opened and head closes (info).
fn tcp_port_flags(
    key: &Key,
    client: Option<&str>,
    b: Option<&Object>,
    h: Option<&Object>,
) -> Vec<Flag> {
    if !matches!(
        key.kind.as_str(),
        "IngressRouteTCP" | "HelmRelease" | "HelmChartConfig"
    ) {
        return Vec::new();
    }
    let ports = |o: Option<&Object>| o.map(|o| tcp_ports(&o.value)).unwrap_or_default();
    let (was, now) = (ports(b), ports(h));
    let label = key.label();
    let zone = &key.zone;
    let opened = now
        .iter()
        .filter(|(p, _)| !was.contains_key(*p))
        .map(|(port, what)| {
            flag(
                Severity::Caution,
                "tcp-port-opened",
                key,
                client,
                format!("{label} opens TCP port {port} to the internet in zone {zone} ({what})"),
            )
        });
    let closed = was
        .iter()
        .filter(|(p, _)| !now.contains_key(*p))
        .map(|(port, what)| {
            flag(
                Severity::Info,
                "tcp-port-closed",
                key,
                client,
                format!("{label} closes TCP port {port} in zone {zone} ({what})"),
            )
        });
    opened.chain(closed).collect()
}

/// The hosts each Ingress of head routes, to find two clients routing one host in a zone
/// (possible through hand-written components). Only (zone, host) -> owners is kept, so the
/// objects can be dropped as they are compared.
#[derive(Default)]
pub(super) struct Hosts(BTreeMap<(String, String), BTreeSet<String>>);

impl Hosts {
    pub(super) fn record(&mut self, key: &Key, o: &Object) {
        if key.kind != "Ingress" {
            return;
        }
        for rule in o
            .value
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(host) = rule.get("host").and_then(Value::as_str) {
                self.0
                    .entry((key.zone.clone(), host.to_owned()))
                    .or_default()
                    .insert(o.client.clone().unwrap_or_else(|| "the platform".into()));
            }
        }
    }

    pub(super) fn flags(self) -> impl Iterator<Item = Flag> {
        self.0
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
    }
}

/// Flags from the catalogs' versions: a promotion that skips a zone, and one client's version
/// moving in several zones at once.
pub(super) fn version_flags(base: &Versions, head: &Versions) -> Vec<Flag> {
    let mut out = Vec::new();
    let zones: Vec<String> = head.zones.iter().map(|(z, _)| z.clone()).collect();
    let at_base = &base.clients;
    let none = BTreeMap::new();
    for (name, versions) in &head.clients {
        let existed = at_base.contains_key(name);
        let (b, h) = (at_base.get(name).unwrap_or(&none), versions);
        let moved: Vec<&String> = zones
            .iter()
            .filter(|z| h.get(*z).is_some_and(|v| b.get(*z) != Some(v)))
            .collect();
        if existed && moved.len() > 1 {
            out.push(Flag {
                severity: Severity::Caution,
                rule: "version-changed-in-several-zones",
                zone: None,
                client: Some(name.clone()),
                object: None,
                message: format!(
                    "`{}` changes version in {} at once; promote one zone at a time",
                    name,
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
                let severity = if head.zones[i].1 {
                    Severity::Block
                } else {
                    Severity::Caution
                };
                out.push(Flag {
                    severity,
                    rule: "promotion-skips-zone",
                    zone: Some((*zone).clone()),
                    client: Some(name.clone()),
                    object: None,
                    message: format!(
                        "`{}` gets `{new}` in {zone}, which never ran in {prev}",
                        name
                    ),
                });
            }
        }
    }
    out
}
