//! workloads: the rules of clients with several processes (SPEC §2.1): fields that fit a
//! workload's kind, routes, the names objects take in the namespace and per-zone workload
//! overrides; cron schedules, volumes, and raw TCP ports with metrics have files of their own.
//! `routes` is every host a client routes, for the catalog-wide host rules.

mod ports;
mod schedule;
mod volumes;

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Lint};
use crate::catalog::{self as raw, Hosting, WorkloadKind};
use crate::diagnostics::Diagnostic;
use crate::model::{self, DEFAULT_WORKLOAD, WorkloadPlan};
use crate::yaml::escape_segment;

pub(super) use ports::PublicPorts;
use schedule::schedule_problem;

/// A client's workloads by name: kind and `http` container port.
type Known<'a> = BTreeMap<&'a str, (WorkloadKind, Option<u16>)>;

/// The names the forward-auth objects take in every client namespace (Service, Ingress).
const OAUTH_NAMES: [&str; 2] = ["oauth2-proxy", "oauth2"];

/// One host a client routes in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Route {
    /// Where the host was written: a `hosts` entry (the client's, a workload's or an
    /// override's), or the client's `name` for its default `<name>.<domain>`.
    pub pointer: String,
    pub zone: String,
    /// Lowercase, without a trailing dot.
    pub host: String,
    /// The http workload it leads to.
    pub workload: String,
    /// The path prefix, without a trailing `/` (`/` itself stays).
    pub path: String,
    /// The client's implicit `<name>.<domain>`.
    pub default: bool,
}

/// The zones `client` is deployed to: its `versions` keys that are zones. `zones` are the
/// catalog's zone names, `None` when the schema refused them (every key then counts).
pub(super) fn deployed_zones<'c>(client: &'c raw::Client, zones: Option<&[&str]>) -> Vec<&'c str> {
    client
        .versions
        .keys()
        .map(String::as_str)
        .filter(|z| zones.is_none_or(|zs| zs.contains(z)))
        .collect()
}

/// Every host `client` routes in each of `zones`, overrides applied, as the model resolves
/// them (`model::plans`), with the pointer of the field that names it: for the routes that
/// really exist pass `deployed_zones`; for every host the catalog could route, all zones.
/// `domain` is the normalised platform domain (`None`: default hosts are left out).
pub(super) fn routes(
    client: &raw::Client,
    at: &str,
    zones: &[&str],
    domain: Option<&str>,
) -> Vec<Route> {
    let mut out = Vec::new();
    for &zone in zones {
        let op = override_pointer(at, zone);
        let ov = client.overrides.get(zone);
        let client_hosts = || -> Hosts {
            if let Some(ov) = ov.filter(|o| !o.hosts.is_empty()) {
                listed(&ov.hosts, &format!("{op}/hosts"))
            } else if !client.hosts.is_empty() {
                listed(&client.hosts, &format!("{at}/hosts"))
            } else {
                domain
                    .map(|d| (format!("{}.{d}", client.name), format!("{at}/name"), true))
                    .into_iter()
                    .collect()
            }
        };
        let http: Vec<(&str, Hosts, String)> = if client.workloads.is_empty() {
            vec![(DEFAULT_WORKLOAD, client_hosts(), "/".to_owned())]
        } else {
            client
                .workloads
                .iter()
                .filter(|(_, w)| w.kind == WorkloadKind::Http)
                .map(|(name, w)| {
                    let wov = ov.and_then(|o| o.workloads.get(name));
                    let hosts = match wov.filter(|o| !o.hosts.is_empty()) {
                        Some(o) => listed(
                            &o.hosts,
                            &format!("{op}/workloads/{}/hosts", escape_segment(name)),
                        ),
                        None if !w.hosts.is_empty() => {
                            listed(&w.hosts, &format!("{}/hosts", workload_pointer(at, name)))
                        }
                        None => client_hosts(),
                    };
                    let path = normalize_path(w.path.as_deref().unwrap_or("/"));
                    (name.as_str(), hosts, path)
                })
                .collect()
        };
        for (workload, hosts, path) in http {
            for (host, pointer, default) in hosts {
                out.push(Route {
                    pointer,
                    zone: zone.to_owned(),
                    host,
                    workload: workload.to_owned(),
                    path: path.clone(),
                    default,
                });
            }
        }
    }
    out
}

/// The hosts of `routes`, each once with the pointer it was written at, in the order
/// `routes` first gives them, without a route per zone and workload: the host rules ask
/// this of every client. Each list of hosts is read once, the first time a zone uses it.
pub(super) fn written_hosts(
    client: &raw::Client,
    at: &str,
    zones: &[&str],
    domain: Option<&str>,
) -> Hosts {
    /// A list of hosts, by where it is written (as `routes` picks it).
    #[derive(Clone, Copy, PartialEq)]
    enum List<'c> {
        Override(&'c str),
        OverrideWorkload(&'c str, &'c str),
        Workload(&'c str),
        Client,
        Default,
    }
    fn use_list<'c>(
        lists: &mut Vec<(List<'c>, &'c [String])>,
        list: List<'c>,
        hosts: &'c [String],
    ) {
        if !lists.iter().any(|(l, _)| *l == list) {
            lists.push((list, hosts));
        }
    }
    let mut lists = Vec::new();
    for &zone in zones {
        let ov = client.overrides.get_key_value(zone);
        let client_list = match ov.filter(|(_, o)| !o.hosts.is_empty()) {
            Some((z, o)) => Some((List::Override(z), o.hosts.as_slice())),
            None if !client.hosts.is_empty() => Some((List::Client, client.hosts.as_slice())),
            None => domain.map(|_| (List::Default, &[][..])),
        };
        if client.workloads.is_empty() {
            if let Some((list, hosts)) = client_list {
                use_list(&mut lists, list, hosts);
            }
            continue;
        }
        for (name, w) in &client.workloads {
            if w.kind != WorkloadKind::Http {
                continue;
            }
            let wov = ov.and_then(|(z, o)| o.workloads.get(name).map(|w| (z, w)));
            match wov.filter(|(_, o)| !o.hosts.is_empty()) {
                Some((z, o)) => use_list(&mut lists, List::OverrideWorkload(z, name), &o.hosts),
                None if !w.hosts.is_empty() => use_list(&mut lists, List::Workload(name), &w.hosts),
                None => {
                    if let Some((list, hosts)) = client_list {
                        use_list(&mut lists, list, hosts);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for (list, hosts) in lists {
        let pointer = match list {
            List::Override(z) => [&override_pointer(at, z), "/hosts"].concat(),
            List::OverrideWorkload(z, name) => [
                &override_pointer(at, z),
                "/workloads/",
                &escape_segment(name),
                "/hosts",
            ]
            .concat(),
            List::Workload(name) => [&workload_pointer(at, name), "/hosts"].concat(),
            List::Client => [at, "/hosts"].concat(),
            List::Default => {
                if let Some(d) = domain {
                    out.push((
                        [&client.name, ".", d].concat(),
                        [at, "/name"].concat(),
                        true,
                    ));
                }
                continue;
            }
        };
        out.extend(listed(hosts, &pointer));
    }
    out
}

/// Hosts with the pointer each was written at, and whether it is the implicit default.
type Hosts = Vec<(String, String, bool)>;

fn listed(hosts: &[String], pointer: &str) -> Hosts {
    hosts
        .iter()
        .enumerate()
        .map(|(j, h)| {
            use std::fmt::Write as _;
            let mut at = String::with_capacity(pointer.len() + 4);
            at.push_str(pointer);
            let _ = write!(at, "/{j}");
            (model::normalize_host(h), at, false)
        })
        .collect()
}

/// An Ingress `Prefix` path matches by segment, so `/api` and `/api/` are one route.
fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The model's workloads of `client` in `zone` (for the rules that count pods), or `None`
/// when a size has no tier (another rule reports it). Host names play no part in what the
/// callers compute, so the domain is left empty.
pub(super) fn plans(client: &raw::Client, zone: &str) -> Option<Vec<WorkloadPlan>> {
    model::plans(
        client,
        &model::Shared::of(client, ""),
        zone,
        &model::Volume::all_of(client),
    )
}

/// A client's workloads by name: kind and `http` container port. A client without
/// `workloads` has the one http workload `web`.
fn workloads_of(client: &raw::Client) -> Known<'_> {
    if client.workloads.is_empty() {
        return BTreeMap::from([(DEFAULT_WORKLOAD, (WorkloadKind::Http, Some(client.port)))]);
    }
    client
        .workloads
        .iter()
        .map(|(name, w)| {
            let port = (w.kind == WorkloadKind::Http).then(|| w.port.unwrap_or(client.port));
            (name.as_str(), (w.kind, port))
        })
        .collect()
}

fn workload_pointer(at: &str, name: &str) -> String {
    format!("{at}/workloads/{}", escape_segment(name))
}

fn override_pointer(at: &str, zone: &str) -> String {
    format!("{at}/overrides/{}", escape_segment(zone))
}

fn kind_name(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Http => "http",
        WorkloadKind::Worker => "worker",
        WorkloadKind::Cron => "cron",
    }
}

fn hosting_name(h: Hosting) -> &'static str {
    match h {
        Hosting::Shared => "shared",
        Hosting::Dedicated => "dedicated",
    }
}

/// "one of: a, b" for hints naming the workloads a client has.
fn one_of(client: &raw::Client, known: &Known) -> String {
    if client.workloads.is_empty() {
        format!(
            "a client without `workloads` runs one workload, `{DEFAULT_WORKLOAD}`: name it, or declare the workload under `workloads`"
        )
    } else {
        let names: Vec<&str> = known.keys().copied().collect();
        format!("name one of its workloads: {}", names.join(", "))
    }
}

impl Lint<'_> {
    /// Every workload rule of one client. `zones` are the catalog's zones (for ingress modes).
    pub(super) fn workloads(
        &mut self,
        client: &raw::Client,
        at: &str,
        cx: &Context,
        zones: Option<&[raw::Zone]>,
        ports: &mut PublicPorts,
    ) {
        let known = workloads_of(client);
        self.workload_fields(client, at);
        self.workload_names(client, at, &known);
        self.duplicate_routes(client, at, cx);
        self.volumes(client, at, &known);
        self.shared_volume_classes(client, at, zones);
        self.tcp_ports(client, at, &known, zones, ports);
        self.metrics(client, at, &known);
        self.workload_overrides(client, at, &known);
    }

    pub(super) fn present(&self, pointer: &str) -> bool {
        self.doc.value.pointer(pointer).is_some()
    }

    fn workload_size(&mut self, client: &raw::Client, name: &str, size: raw::Size, p: &str) {
        if model::Tier::of(client.hosting, size).is_none() {
            self.report_value(
                Diagnostic::error(
                    "size-not-in-tier",
                    format!(
                        "workload `{name}` of client `{}`: {} hosting has no size `{}`",
                        client.name,
                        hosting_name(client.hosting),
                        model::size_name(size)
                    ),
                )
                .hint(crate::schema::field_hint("/size").unwrap_or_default()),
                p,
            );
        }
    }

    /// Fields that only one kind of workload reads, and the schedule a cron needs.
    fn workload_fields(&mut self, client: &raw::Client, at: &str) {
        const HTTP_ONLY: &str = "remove it, or make the workload `kind: http` if it serves HTTP (a worker's raw ports go in `tcpPorts`, its metrics in `metrics`)";
        const CRON_ONLY: &str = "remove it, or make the workload `kind: cron`";
        const NOT_CRON: &str = "remove it: a cron workload starts one job per run (`concurrencyPolicy` says what happens when runs overlap)";
        for (name, w) in &client.workloads {
            let p = workload_pointer(at, name);
            let not_for: &[(&str, &str, &str)] = match w.kind {
                WorkloadKind::Http => &[
                    ("schedule", "cron", CRON_ONLY),
                    ("concurrencyPolicy", "cron", CRON_ONLY),
                ],
                WorkloadKind::Worker => &[
                    ("port", "http", HTTP_ONLY),
                    ("hosts", "http", HTTP_ONLY),
                    ("path", "http", HTTP_ONLY),
                    ("health", "http", HTTP_ONLY),
                    ("schedule", "cron", CRON_ONLY),
                    ("concurrencyPolicy", "cron", CRON_ONLY),
                ],
                WorkloadKind::Cron => &[
                    ("port", "http", HTTP_ONLY),
                    ("hosts", "http", HTTP_ONLY),
                    ("path", "http", HTTP_ONLY),
                    ("health", "http", HTTP_ONLY),
                    ("replicas", "http and worker", NOT_CRON),
                ],
            };
            for (field, for_kinds, hint) in not_for {
                let fp = format!("{p}/{field}");
                if self.present(&fp) {
                    self.report(
                        Diagnostic::error(
                            "workload-field-not-for-kind",
                            format!(
                                "`{field}` of {} workload `{name}` of client `{}` would be ignored: it is for {for_kinds} workloads",
                                kind_name(w.kind),
                                client.name
                            ),
                        )
                        .hint(*hint),
                        &fp,
                    );
                }
            }
            if w.kind == WorkloadKind::Cron {
                match &w.schedule {
                    None => self.report_value(
                        Diagnostic::error(
                            "cron-without-schedule",
                            format!(
                                "cron workload `{name}` of client `{}` has no `schedule`",
                                client.name
                            ),
                        )
                        .hint("add `schedule:` with five fields in UTC, e.g. `\"H 3 * * *\"` (`H`: a minute of the workload's own)"),
                        &format!("{p}/kind"),
                    ),
                    Some(s) => {
                        if let Some(problem) = schedule_problem(s) {
                            self.report_value(
                                Diagnostic::error(
                                    "schedule-out-of-range",
                                    format!(
                                        "schedule `{s}` of cron workload `{name}` of client `{}`: {problem}",
                                        client.name
                                    ),
                                )
                                .hint("fields are minute 0-59, hour 0-23, day of the month 1-31, month 1-12 or JAN-DEC, day of the week 0-6 or SUN-SAT (Kubernetes does not read 7 as Sunday), e.g. `H 3 * * MON-FRI`"),
                                &format!("{p}/schedule"),
                            );
                        }
                    }
                }
            }
            if let Some(size) = w.size {
                self.workload_size(client, name, size, &format!("{p}/size"));
            }
        }
    }

    /// Names that would give two objects of one kind the same name in the namespace, or one
    /// container two ports of one name.
    fn workload_names(&mut self, client: &raw::Client, at: &str, known: &Known) {
        let metrics_service = client
            .metrics
            .as_ref()
            .map(|m| (format!("{}-metrics", m.workload), m.workload.as_str()));
        for name in client.workloads.keys() {
            let p = workload_pointer(at, name);
            if name == "default" {
                self.report(
                    Diagnostic::error(
                        "workload-name-reserved",
                        format!(
                            "workload `default` of client `{}` would take over the ServiceAccount `default` Kubernetes creates in every namespace",
                            client.name
                        ),
                    )
                    .hint("rename the workload: each workload runs under a ServiceAccount named after it"),
                    &p,
                );
            } else if OAUTH_NAMES.contains(&name.as_str()) {
                self.report(
                    Diagnostic::error(
                        "workload-name-reserved",
                        format!(
                            "workload `{name}` of client `{}` would take the name of the OAuth proxy's Service and Ingress (`oauth2-proxy`, `oauth2`)",
                            client.name
                        ),
                    )
                    .hint("rename the workload: forward-auth puts those objects in every client namespace"),
                    &p,
                );
            } else if let Some((service, owner)) = &metrics_service
                && service == name
            {
                self.report(
                    Diagnostic::error(
                        "workload-name-reserved",
                        format!(
                            "workload `{name}` of client `{}` would take the name of the metrics Service of workload `{owner}`",
                            client.name
                        ),
                    )
                    .hint(format!(
                        "rename the workload: `metrics` on `{owner}` makes a Service named `{service}`"
                    )),
                    &p,
                );
            }
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (j, t) in client.tcp_ports.iter().enumerate() {
            let p = format!("{at}/tcpPorts/{j}/name");
            let n = t.name.as_str();
            let clash = |what: String| {
                Diagnostic::error(
                    "tcp-port-name-clash",
                    format!("tcp port `{n}` of client `{}` {what}", client.name),
                )
                .hint("rename the tcp port, e.g. after its protocol (`mqtt`, `amqp`)")
            };
            if let Some(first) = seen.insert(n, j) {
                let line = self.line_of(&format!("{at}/tcpPorts/{first}/name"));
                self.report_value(
                    Diagnostic::error(
                        "duplicate-tcp-port-name",
                        format!(
                            "tcp port name `{n}` of client `{}` is used twice (first at line {line})",
                            client.name
                        ),
                    )
                    .hint("give each tcp port its own name: it names the port's Service, NetworkPolicy and container port"),
                    &p,
                );
            } else if n == "http" || n == "metrics" {
                self.report_value(
                    clash(format!(
                        "would share the container port name `{n}` with the workload's own {n} port"
                    )),
                    &p,
                );
            } else if known.contains_key(n) {
                self.report_value(
                    clash(format!("would take the name of workload `{n}`'s Service")),
                    &p,
                );
            } else if OAUTH_NAMES.contains(&n) {
                self.report_value(
                    clash("would take the name of the OAuth proxy's Service".to_owned()),
                    &p,
                );
            } else if let Some((service, owner)) = &metrics_service
                && service == n
            {
                self.report_value(
                    clash(format!(
                        "would take the name of the metrics Service of workload `{owner}`"
                    )),
                    &p,
                );
            }
        }
    }

    /// Two http workloads routing one host and one path: Traefik would send all of it to one.
    fn duplicate_routes(&mut self, client: &raw::Client, at: &str, cx: &Context) {
        if client.workloads.len() < 2 {
            return;
        }
        let mut seen: BTreeMap<(String, String, String), String> = BTreeMap::new();
        let mut reported = BTreeSet::new();
        let zones = deployed_zones(client, cx.zones.as_deref());
        for r in routes(client, at, &zones, cx.domain.as_deref()) {
            let key = (r.zone.clone(), r.host.clone(), r.path.clone());
            match seen.get(&key) {
                Some(first) if *first != r.workload => {
                    let wp = workload_pointer(at, &r.workload);
                    let pointer = if self.present(&format!("{wp}/path")) {
                        format!("{wp}/path")
                    } else {
                        wp
                    };
                    if reported.insert((pointer.clone(), first.clone())) {
                        let path = if r.path == "/" { "" } else { r.path.as_str() };
                        self.report(
                            Diagnostic::error(
                                "duplicate-route",
                                format!(
                                    "workloads `{first}` and `{}` of client `{}` both route `{}{path}` in zone `{}`",
                                    r.workload, client.name, r.host, r.zone
                                ),
                            )
                            .hint("give one of them its own `hosts` or a different `path` prefix: Traefik would send every such request to one of them"),
                            &pointer,
                        );
                    }
                }
                Some(_) => {}
                None => {
                    seen.insert(key, r.workload.clone());
                }
            }
        }
    }

    /// `overrides.<zone>.workloads`: only workloads the client has, and only what their kind reads.
    fn workload_overrides(&mut self, client: &raw::Client, at: &str, known: &Known) {
        for (zone, ov) in &client.overrides {
            let op = override_pointer(at, zone);
            for (w, wov) in &ov.workloads {
                let p = format!("{op}/workloads/{}", escape_segment(w));
                if client.workloads.is_empty() {
                    self.report(
                        Diagnostic::error(
                            "override-workload-unknown",
                            format!(
                                "the override of zone `{zone}` changes workload `{w}`, but client `{}` declares no `workloads`",
                                client.name
                            ),
                        )
                        .hint(format!(
                            "a client without `workloads` runs one workload, `{DEFAULT_WORKLOAD}`, which the override's own `replicas`, `size` and `hosts` change: move them there"
                        )),
                        &p,
                    );
                    continue;
                }
                let Some(spec) = client.workloads.get(w) else {
                    self.report(
                        Diagnostic::error(
                            "override-workload-unknown",
                            format!(
                                "the override of zone `{zone}` changes workload `{w}`, which client `{}` does not have",
                                client.name
                            ),
                        )
                        .hint(one_of(client, known)),
                        &p,
                    );
                    continue;
                };
                let kind = kind_name(spec.kind);
                if spec.kind != WorkloadKind::Http && self.present(&format!("{p}/hosts")) {
                    self.report(
                        Diagnostic::error(
                            "workload-field-not-for-kind",
                            format!(
                                "`hosts` in the override of zone `{zone}` would be ignored: `{w}` of client `{}` is a {kind} workload, and only http workloads are routed",
                                client.name
                            ),
                        )
                        .hint("remove it, or make the workload `kind: http` if it serves HTTP"),
                        &format!("{p}/hosts"),
                    );
                }
                if spec.kind == WorkloadKind::Cron && self.present(&format!("{p}/replicas")) {
                    self.report(
                        Diagnostic::error(
                            "workload-field-not-for-kind",
                            format!(
                                "`replicas` in the override of zone `{zone}` would be ignored: `{w}` of client `{}` is a cron workload",
                                client.name
                            ),
                        )
                        .hint("remove it: a cron workload starts one job per run (`concurrencyPolicy` says what happens when runs overlap)"),
                        &format!("{p}/replicas"),
                    );
                }
                if let Some(size) = wov.size {
                    self.workload_size(client, w, size, &format!("{p}/size"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
