//! workloads: the rules of clients with several processes (SPEC §2.1): fields that fit a
//! workload's kind, cron schedules, routes, the names objects take in the namespace, volumes,
//! raw TCP ports, metrics and per-zone workload overrides. Public TCP ports are shared across
//! clients, so they are indexed by (zone, port) rather than compared pairwise.

use std::collections::{BTreeMap, BTreeSet};

use super::isolation::{at_or_above, mount_segments, protected_dir};
use super::{Context, Lint};
use crate::catalog::{self as raw, Hosting, IngressMode, VolumeAccess, WorkloadKind};
use crate::diagnostics::Diagnostic;
use crate::model::{self, DEFAULT_WORKLOAD, WorkloadPlan};
use crate::quantity::{bytes, format_bytes};
use crate::yaml::escape_segment;

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

/// Every host `client` routes, per zone it is deployed to, overrides applied, as the model
/// resolves them (`model::plans`). `zones` are the catalog's zone names (`None` when the
/// schema refused them: every zone in `versions` then counts); `domain` is the normalised
/// platform domain (`None`: default hosts are left out).
pub(super) fn routes(
    client: &raw::Client,
    at: &str,
    zones: Option<&[&str]>,
    domain: Option<&str>,
) -> Vec<Route> {
    let mut out = Vec::new();
    let deployed = client
        .versions
        .keys()
        .filter(|z| zones.is_none_or(|zs| zs.contains(&z.as_str())));
    for zone in deployed {
        let op = override_pointer(at, zone);
        let ov = client.overrides.get(zone);
        let client_hosts = || -> Vec<(String, String, bool)> {
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
        let http: Vec<(&str, Vec<(String, String, bool)>, String)> = if client.workloads.is_empty()
        {
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
                    zone: zone.clone(),
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

fn listed(hosts: &[String], pointer: &str) -> Vec<(String, String, bool)> {
    hosts
        .iter()
        .enumerate()
        .map(|(j, h)| (model::normalize_host(h), format!("{pointer}/{j}"), false))
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
/// callers compute, so the platform is a stand-in.
pub(super) fn plans(client: &raw::Client, zone: &str) -> Option<Vec<WorkloadPlan>> {
    let volumes: Vec<model::Volume> = client
        .volumes
        .iter()
        .map(|(name, v)| model::Volume {
            name: name.clone(),
            size: v.size.clone(),
            access: v.access,
            mounts: v.mounts.clone(),
        })
        .collect();
    let platform = model::Platform {
        domain: String::new(),
        ingress_namespace: String::new(),
        ingress_class: String::new(),
        cert_resolver: String::new(),
        run_as_user: 0,
        namespaces: Vec::new(),
        git: None,
        flux_shards: None,
        flux_service_account: None,
        landing_page: None,
        ip_allow_list: Vec::new(),
        forward_auth_address: None,
        vault_path_prefix: String::new(),
        monitoring_namespace: String::new(),
    };
    model::plans(client, &platform, zone, &volumes)
}

/// Public ports claimed so far, across clients: (zone, port) -> who.
#[derive(Debug, Default)]
pub(super) struct PublicPorts {
    ports: BTreeMap<(String, u16), PortClaim>,
    /// Edge-proxy zones: (zone, NodePort) -> who.
    node_ports: BTreeMap<(String, u16), PortClaim>,
}

#[derive(Debug, Clone)]
struct PortClaim {
    client: String,
    pointer: String,
    port: u16,
}

/// A client's workloads by name: kind and `http` container port. A client without
/// `workloads` has the one http workload `web`.
fn workloads_of(client: &raw::Client) -> BTreeMap<&str, (WorkloadKind, Option<u16>)> {
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
fn one_of(client: &raw::Client, known: &BTreeMap<&str, (WorkloadKind, Option<u16>)>) -> String {
    if client.workloads.is_empty() {
        format!(
            "a client without `workloads` runs one workload, `{DEFAULT_WORKLOAD}`: name it, or declare the workload under `workloads`"
        )
    } else {
        let names: Vec<&str> = known.keys().copied().collect();
        format!("name one of its workloads: {}", names.join(", "))
    }
}

/// A cron field: its name, range and the names it accepts (the first standing for `min`).
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

/// The five fields of a Kubernetes CronJob schedule. Kubernetes reads days of the week
/// 0-6 only: 7 is not Sunday there (unlike some crons).
const CRON_FIELDS: [CronField; 5] = [
    CronField {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    CronField {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    CronField {
        name: "day of the month",
        min: 1,
        max: 31,
        names: &[],
    },
    CronField {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    CronField {
        name: "day of the week",
        min: 0,
        max: 6,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

/// What is wrong with a schedule the schema's pattern accepted (five fields of the right
/// characters), if anything: a value out of its field's range, an unknown name, a reversed
/// range or a zero step.
pub(super) fn schedule_problem(schedule: &str) -> Option<String> {
    let fields: Vec<&str> = schedule.split(' ').collect();
    if fields.len() != CRON_FIELDS.len() {
        return Some(format!(
            "it has {} fields, not five (minute hour day month weekday)",
            fields.len()
        ));
    }
    for (i, (text, field)) in fields.iter().zip(&CRON_FIELDS).enumerate() {
        if *text == "H" && i < 2 {
            continue;
        }
        for item in text.split(',') {
            if let Some(problem) = cron_item(item, field) {
                return Some(format!("the {} field `{text}`: {problem}", field.name));
            }
        }
    }
    None
}

fn cron_item(item: &str, field: &CronField) -> Option<String> {
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    if let Some(step) = step
        && !step.parse::<u32>().is_ok_and(|s| s >= 1)
    {
        return Some(format!("the step `{step}` is not a whole number above 0"));
    }
    if range == "*" {
        return None;
    }
    let value = |v: &str| -> Result<u32, String> {
        let n = if let Some(pos) = field.names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            field.min + u32::try_from(pos).unwrap_or(0)
        } else if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse::<u32>().unwrap_or(u32::MAX)
        } else if v.is_empty() {
            return Err("an empty value".to_owned());
        } else if field.names.is_empty() {
            return Err(format!("`{v}` is not a number"));
        } else {
            return Err(format!(
                "`{v}` is not a number or one of {}",
                field.names.join(", ")
            ));
        };
        if n < field.min || n > field.max {
            Err(format!("{v} is outside {}-{}", field.min, field.max))
        } else {
            Ok(n)
        }
    };
    let checked = match range.split_once('-') {
        Some((lo, hi)) => value(lo).and_then(|lo_n| {
            let hi_n = value(hi)?;
            if lo_n > hi_n {
                Err(format!("the range `{range}` runs backwards"))
            } else {
                Ok(())
            }
        }),
        None => value(range).map(|_| ()),
    };
    checked.err()
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
        self.tcp_ports(client, at, &known, zones, ports);
        self.metrics(client, at, &known);
        self.workload_overrides(client, at, &known);
    }

    fn present(&self, pointer: &str) -> bool {
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
    fn workload_names(
        &mut self,
        client: &raw::Client,
        at: &str,
        known: &BTreeMap<&str, (WorkloadKind, Option<u16>)>,
    ) {
        let metrics_service = client
            .metrics
            .as_ref()
            .map(|m| (format!("{}-metrics", m.workload), m.workload.as_str()));
        for name in client.workloads.keys() {
            let p = workload_pointer(at, name);
            if OAUTH_NAMES.contains(&name.as_str()) {
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
        for r in routes(client, at, cx.zones.as_deref(), cx.domain.as_deref()) {
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

    fn volumes(
        &mut self,
        client: &raw::Client,
        at: &str,
        known: &BTreeMap<&str, (WorkloadKind, Option<u16>)>,
    ) {
        let secrets: Vec<(String, &str)> = client
            .secrets
            .iter()
            .filter_map(|s| {
                mount_segments(&s.mount_path)
                    .map(|segs| (format!("/{}", segs.join("/")), s.name.as_str()))
            })
            .collect();
        // Workload -> canonical path -> volume mounted there.
        let mut by_workload: BTreeMap<&str, BTreeMap<String, &str>> = BTreeMap::new();
        let mut total: u64 = 0;
        let mut sizes_known = true;
        let mount_hint = "mount each volume in a directory of its own, such as `/data/<volume>`";
        for (v, spec) in &client.volumes {
            let vp = format!("{at}/volumes/{}", escape_segment(v));
            match bytes(&spec.size) {
                Some(n) if n > 0 => total = total.saturating_add(n),
                _ => {
                    sizes_known = false;
                    self.report_value(
                        Diagnostic::error(
                            "volume-size-invalid",
                            format!(
                                "size `{}` of volume `{v}` of client `{}` is not a positive whole number of bytes",
                                spec.size, client.name
                            ),
                        )
                        .hint("write a whole number with a binary or decimal unit, such as `10Gi`, `512Mi` or `5G`"),
                        &format!("{vp}/size"),
                    );
                }
            }
            let mut attached: Vec<(&str, String)> = Vec::new();
            for (w, path) in &spec.mounts {
                let mp = format!("{vp}/mounts/{}", escape_segment(w));
                if !known.contains_key(w.as_str()) {
                    self.report(
                        Diagnostic::error(
                            "volume-mount-workload-unknown",
                            format!(
                                "volume `{v}` of client `{}` is mounted into `{w}`, which is not one of its workloads",
                                client.name
                            ),
                        )
                        .hint(one_of(client, known)),
                        &mp,
                    );
                    continue;
                }
                attached.push((w.as_str(), mp.clone()));
                let Some(segments) = mount_segments(path) else {
                    self.report_value(
                        Diagnostic::error(
                            "mount-path-invalid",
                            format!("mount path `{path}` of volume `{v}` has a `..` segment"),
                        )
                        .hint("write the directory as an absolute path without `..`, such as `/data/uploads`"),
                        &mp,
                    );
                    continue;
                };
                let canonical = format!("/{}", segments.join("/"));
                let clash = |what: String| {
                    Diagnostic::error(
                        "volume-mount-clash",
                        format!(
                            "volume `{v}` mounted at `{path}` in workload `{w}` of client `{}` {what}",
                            client.name
                        ),
                    )
                    .hint(mount_hint)
                };
                if let Some((dir, why)) = protected_dir(&canonical) {
                    let what = if canonical == "/" {
                        "would hide the container's whole filesystem".to_owned()
                    } else {
                        format!("would hide or lie inside `{dir}`, {why}")
                    };
                    self.report_value(clash(what), &mp);
                } else if let Some((sp, s)) = secrets
                    .iter()
                    .find(|(sp, _)| at_or_above(sp, &canonical) || at_or_above(&canonical, sp))
                {
                    self.report_value(
                        clash(format!(
                            "overlaps `{sp}`, the mount of secret `{s}`: one would hide the other's files"
                        )),
                        &mp,
                    );
                } else if let Some(other) = by_workload
                    .entry(w.as_str())
                    .or_default()
                    .insert(canonical, v.as_str())
                {
                    self.report_value(
                        clash(format!("is where volume `{other}` is already mounted")),
                        &mp,
                    );
                }
            }
            if spec.access != VolumeAccess::SingleNode {
                continue;
            }
            if let [(first, _), (second, mp), ..] = attached.as_slice() {
                self.report(
                    Diagnostic::error(
                        "single-node-volume-shared",
                        format!(
                            "single-node volume `{v}` of client `{}` is mounted by workloads `{first}` and `{second}`: it attaches to one node at a time, so pods elsewhere fail with a Multi-Attach error",
                            client.name
                        ),
                    )
                    .hint("mount it into one workload, or set `access: shared` (ReadWriteMany; the zone's storage class must support it)"),
                    mp,
                );
            }
            for (w, _) in &attached {
                self.single_node_replicas(client, at, v, w);
            }
        }
        if client.hosting != Hosting::Dedicated {
            return;
        }
        let quota = client.quota.as_ref();
        let claims = quota.and_then(|q| q.persistent_volume_claims);
        let limit = claims.unwrap_or(model::DEFAULT_QUOTA_PVCS);
        let n = client.volumes.len();
        if n > usize::try_from(limit).unwrap_or(usize::MAX) {
            let message = format!(
                "client `{}` declares {n} volumes, but its quota admits {limit} PersistentVolumeClaims",
                client.name
            );
            if claims.is_some() {
                self.report_value(
                    Diagnostic::error("too-many-volumes", message).hint(format!(
                        "raise `persistentVolumeClaims` to {n} or more, or remove a volume"
                    )),
                    &format!("{at}/quota/persistentVolumeClaims"),
                );
            } else {
                self.report(
                    Diagnostic::error("too-many-volumes", message).hint(format!(
                        "set `quota.persistentVolumeClaims: {n}` or more (the default is {limit}), or remove a volume"
                    )),
                    &format!("{at}/volumes"),
                );
            }
        }
        if let Some(set) = quota.and_then(|q| q.requests_storage.as_ref())
            && sizes_known
            && let Some(have) = bytes(set)
            && have < total
        {
            self.report_value(
                Diagnostic::error(
                    "quota-storage-too-small",
                    format!(
                        "quota `requestsStorage: {set}` of client `{}` cannot hold its volumes, {} in all",
                        client.name,
                        format_bytes(total)
                    ),
                )
                .hint(format!(
                    "raise `requestsStorage` to `{}` or more, or leave it out to have it derived",
                    format_bytes(total)
                )),
                &format!("{at}/quota/requestsStorage"),
            );
        }
    }

    /// A workload mounting a single-node volume runs one replica: every count above one (or
    /// an autoscaler) written for it is an error rather than a silent override.
    fn single_node_replicas(&mut self, client: &raw::Client, at: &str, volume: &str, w: &str) {
        let mut written: Vec<(String, Option<u32>)> = Vec::new();
        let many = |r: Option<u32>| r.filter(|n| *n > 1);
        if client.workloads.is_empty() {
            if let Some(n) = many(client.replicas) {
                written.push((format!("{at}/replicas"), Some(n)));
            }
            if client.autoscaling.is_some() {
                written.push((format!("{at}/autoscaling"), None));
            }
            for (zone, ov) in &client.overrides {
                let op = override_pointer(at, zone);
                if let Some(n) = many(ov.replicas) {
                    written.push((format!("{op}/replicas"), Some(n)));
                }
                if ov.autoscaling.is_some() {
                    written.push((format!("{op}/autoscaling"), None));
                }
            }
        } else {
            if let Some(n) = many(client.workloads.get(w).and_then(|s| s.replicas)) {
                written.push((format!("{}/replicas", workload_pointer(at, w)), Some(n)));
            }
            for (zone, ov) in &client.overrides {
                if let Some(n) = many(ov.workloads.get(w).and_then(|o| o.replicas)) {
                    let p = format!(
                        "{}/workloads/{}/replicas",
                        override_pointer(at, zone),
                        escape_segment(w)
                    );
                    written.push((p, Some(n)));
                }
            }
        }
        for (pointer, n) in written {
            let asks = match n {
                Some(n) => format!("asks for {n} replicas"),
                None => "asks for an autoscaler".to_owned(),
            };
            let d = Diagnostic::error(
                "single-node-volume-replicas",
                format!(
                    "workload `{w}` of client `{}` mounts single-node volume `{volume}`, which attaches to one node at a time, but `{}` {asks}",
                    client.name,
                    crate::yaml::field_name(&pointer)
                        .rsplit('.')
                        .next()
                        .unwrap_or_default()
                ),
            )
            .hint(format!(
                "a workload with a single-node volume runs one replica, replaced with `Recreate`, without an autoscaler: remove this (or set 1), or give `{volume}` `access: shared`"
            ));
            if n.is_some() {
                self.report_value(d, &pointer);
            } else {
                self.report(d, &pointer);
            }
        }
    }

    fn tcp_ports(
        &mut self,
        client: &raw::Client,
        at: &str,
        known: &BTreeMap<&str, (WorkloadKind, Option<u16>)>,
        zones: Option<&[raw::Zone]>,
        ports: &mut PublicPorts,
    ) {
        let deployed: Vec<&raw::Zone> = zones
            .unwrap_or_default()
            .iter()
            .filter(|z| client.versions.contains_key(&z.name))
            .collect();
        let mut reported = BTreeSet::new();
        for (j, t) in client.tcp_ports.iter().enumerate() {
            let tp = format!("{at}/tcpPorts/{j}");
            let port_p = format!("{tp}/port");
            let n = &t.name;
            match known.get(t.workload.as_str()) {
                None => self.report_value(
                    Diagnostic::error(
                        "tcp-port-workload-invalid",
                        format!(
                            "tcp port `{n}` of client `{}` leads to `{}`, which is not one of its workloads",
                            client.name, t.workload
                        ),
                    )
                    .hint(one_of(client, known)),
                    &format!("{tp}/workload"),
                ),
                Some((WorkloadKind::Cron, _)) => self.report_value(
                    Diagnostic::error(
                        "tcp-port-workload-invalid",
                        format!(
                            "tcp port `{n}` of client `{}` leads to cron workload `{}`, whose pods only run now and then",
                            client.name, t.workload
                        ),
                    )
                    .hint("point it at the http or worker workload that listens on it"),
                    &format!("{tp}/workload"),
                ),
                Some((_, http_port)) => {
                    let target = t.target_port.unwrap_or(t.port);
                    let target_p = if t.target_port.is_some() {
                        format!("{tp}/targetPort")
                    } else {
                        port_p.clone()
                    };
                    let metrics_port = client
                        .metrics
                        .as_ref()
                        .filter(|m| m.workload == t.workload)
                        .map(|m| m.port);
                    let taken = if *http_port == Some(target) {
                        Some("http")
                    } else if metrics_port == Some(target) {
                        Some("metrics")
                    } else {
                        None
                    };
                    if let Some(what) = taken {
                        self.report_value(
                            Diagnostic::error(
                                "tcp-target-port-clash",
                                format!(
                                    "tcp port `{n}` of client `{}` sends to container port {target} of workload `{}`, which is already its `{what}` port",
                                    client.name, t.workload
                                ),
                            )
                            .hint("give the raw TCP listener a container port of its own with `targetPort`"),
                            &target_p,
                        );
                    }
                }
            }
            if t.port == 80 || t.port == 443 {
                self.report_value(
                    Diagnostic::error(
                        "tcp-port-reserved",
                        format!(
                            "tcp port `{n}` of client `{}` asks for public port {}, where Traefik serves HTTP and HTTPS",
                            client.name, t.port
                        ),
                    )
                    .hint("choose another public port; web traffic reaches workloads through their `hosts`"),
                    &port_p,
                );
                continue;
            }
            for z in &deployed {
                if z.ingress == IngressMode::HostNetwork
                    && (t.port == 8080 || t.port == 9100)
                    && reported.insert(port_p.clone())
                {
                    self.report_value(
                        Diagnostic::error(
                            "tcp-port-reserved",
                            format!(
                                "tcp port `{n}` of client `{}` asks for public port {}, where Traefik itself listens on the nodes of host-network zone `{}`",
                                client.name, t.port, z.name
                            ),
                        )
                        .hint("choose another public port: 8080 and 9100 are Traefik's own on the node's network"),
                        &port_p,
                    );
                }
                let claim = PortClaim {
                    client: client.name.clone(),
                    pointer: port_p.clone(),
                    port: t.port,
                };
                if let Some(first) = ports.ports.get(&(z.name.clone(), t.port)).cloned() {
                    if reported.insert(port_p.clone()) {
                        let line = self.line_of(&first.pointer);
                        let owner = if first.client == client.name {
                            "this client".to_owned()
                        } else {
                            format!("client `{}`", first.client)
                        };
                        self.report_value(
                            Diagnostic::error(
                                "tcp-port-claimed-twice",
                                format!(
                                    "public tcp port {} of client `{}` in zone `{}` is also claimed by {owner} at line {line}",
                                    t.port, client.name, z.name
                                ),
                            )
                            .hint("a public port leads to one workload per zone: choose another `port` for one of them"),
                            &port_p,
                        );
                    }
                } else {
                    ports.ports.insert((z.name.clone(), t.port), claim.clone());
                }
                if z.ingress != IngressMode::EdgeProxy {
                    continue;
                }
                let node_port = t
                    .node_port
                    .unwrap_or_else(|| model::default_node_port(t.port));
                let node_p = if t.node_port.is_some() {
                    format!("{tp}/nodePort")
                } else {
                    port_p.clone()
                };
                let key = (z.name.clone(), node_port);
                match ports.node_ports.get(&key).cloned() {
                    Some(first) if first.port != t.port || first.client != client.name => {
                        if reported.insert(node_p.clone()) {
                            let line = self.line_of(&first.pointer);
                            let owner = if first.client == client.name {
                                "this client".to_owned()
                            } else {
                                format!("client `{}`", first.client)
                            };
                            self.report_value(
                                Diagnostic::error(
                                    "node-port-claimed-twice",
                                    format!(
                                        "tcp port `{n}` of client `{}` would use NodePort {node_port} in edge-proxy zone `{}`, which {owner} already uses (line {line})",
                                        client.name, z.name
                                    ),
                                )
                                .hint(format!(
                                    "set `nodePort` (30000-32767) on one of them; by default it is 30000 + port modulo 2768, so ports {} and {} meet",
                                    first.port, t.port
                                )),
                                &node_p,
                            );
                        }
                    }
                    Some(_) => {}
                    None => {
                        ports.node_ports.insert(
                            key,
                            PortClaim {
                                pointer: node_p.clone(),
                                ..claim
                            },
                        );
                    }
                }
            }
        }
    }

    fn metrics(
        &mut self,
        client: &raw::Client,
        at: &str,
        known: &BTreeMap<&str, (WorkloadKind, Option<u16>)>,
    ) {
        let Some(m) = &client.metrics else {
            return;
        };
        let mp = format!("{at}/metrics");
        match known.get(m.workload.as_str()) {
            None => self.report_value(
                Diagnostic::error(
                    "metrics-workload-invalid",
                    format!(
                        "`metrics` of client `{}` names `{}`, which is not one of its workloads",
                        client.name, m.workload
                    ),
                )
                .hint(one_of(client, known)),
                &format!("{mp}/workload"),
            ),
            Some((WorkloadKind::Cron, _)) => self.report_value(
                Diagnostic::error(
                    "metrics-workload-invalid",
                    format!(
                        "`metrics` of client `{}` names cron workload `{}`, whose pods only run now and then, so Prometheus would rarely find them",
                        client.name, m.workload
                    ),
                )
                .hint("scrape an http or worker workload; a job's results belong in a push gateway or the logs"),
                &format!("{mp}/workload"),
            ),
            Some((_, http_port)) => {
                if *http_port == Some(m.port) {
                    self.report_value(
                        Diagnostic::error(
                            "metrics-port-clash",
                            format!(
                                "metrics port {} of client `{}` is already the `http` port of workload `{}`",
                                m.port, client.name, m.workload
                            ),
                        )
                        .hint("serve metrics on a port of their own (e.g. 9090): the NetworkPolicy admits the scraper on that port only"),
                        &format!("{mp}/port"),
                    );
                }
                // A tcp port's targetPort equal to it is reported at the tcp port.
            }
        }
    }

    /// `overrides.<zone>.workloads`: only workloads the client has, and only what their kind reads.
    fn workload_overrides(
        &mut self,
        client: &raw::Client,
        at: &str,
        known: &BTreeMap<&str, (WorkloadKind, Option<u16>)>,
    ) {
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
mod tests {
    use super::schedule_problem;

    #[test]
    fn schedules_are_checked_field_by_field() {
        for ok in [
            "H 3 * * *",
            "H H * * *",
            "*/15 * * * *",
            "0 0 1 JAN,jul SUN",
            "5 4 * * MON-FRI",
            "0 0-23/2 1-31 1-12 0-6",
            "59 23 31 12 6",
            "0 12 * * 1/2",
        ] {
            assert_eq!(schedule_problem(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("60 * * * *", "minute"),
            ("0 24 * * *", "hour"),
            ("0 0 0 * *", "day of the month"),
            ("0 0 32 * *", "day of the month"),
            ("0 0 * 13 *", "month"),
            ("0 0 * * 7", "day of the week"),
            ("0 0 * FOO *", "not a number or one of JAN"),
            ("0 0 * * FRI-MON", "backwards"),
            ("*/0 * * * *", "step"),
            ("1,,2 * * * *", "empty"),
            ("0 0 * * 1-2-3", "day of the week"),
            ("99999999999 * * * *", "outside"),
        ] {
            let problem = schedule_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem:?}");
        }
    }
}
