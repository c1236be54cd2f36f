//! ports: raw TCP ports and metrics. A public port belongs to one workload per zone across
//! the catalog, so claims are indexed by (zone, port) rather than compared pairwise.

use std::collections::{BTreeMap, BTreeSet};

use super::{Known, one_of};
use crate::catalog::{self as raw, IngressMode, WorkloadKind};
use crate::diagnostics::Diagnostic;
use crate::lint::Lint;
use crate::model;

/// Public ports claimed so far, across clients: (zone, port) -> who.
#[derive(Debug, Default)]
pub(in crate::lint) struct PublicPorts {
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

/// What a node of a host-network zone already listens on at `port`, where Traefik would open
/// a public TCP port on the node itself: Traefik's own entry points (its API and metrics stay
/// on the node's loopback, which still holds the port), the Kubernetes components, and the
/// NodePort range kube-proxy owns.
fn node_port_owner(port: u16) -> Option<&'static str> {
    Some(match port {
        8080 => "Traefik's API and dashboard",
        9100 => "Traefik's metrics (and node-exporter)",
        22 => "SSH",
        2379 | 2380 => "etcd",
        6443 => "the Kubernetes API server",
        10249 | 10256 => "kube-proxy",
        10250 => "the kubelet",
        10257 => "the controller manager",
        10259 => "the scheduler",
        30000..=32767 => "NodePorts",
        _ => return None,
    })
}

impl Lint<'_> {
    pub(super) fn tcp_ports(
        &mut self,
        client: &raw::Client,
        at: &str,
        known: &Known,
        zones: Option<&[raw::Zone]>,
        ports: &mut PublicPorts,
    ) {
        let deployed: Vec<&raw::Zone> = zones
            .unwrap_or_default()
            .iter()
            .filter(|z| client.versions.contains_key(&z.name))
            .collect();
        let mut reported = BTreeSet::new();
        // (workload, container port) -> the tcp port sending there first.
        let mut targets: BTreeMap<(&str, u16), &str> = BTreeMap::new();
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
                    let first = targets.insert((t.workload.as_str(), target), n.as_str());
                    let taken = if *http_port == Some(target) {
                        Some("its `http` port".to_owned())
                    } else if metrics_port == Some(target) {
                        Some("its `metrics` port".to_owned())
                    } else {
                        first.map(|other| format!("where tcp port `{other}` goes"))
                    };
                    if let Some(what) = taken {
                        self.report_value(
                            Diagnostic::error(
                                "tcp-target-port-clash",
                                format!(
                                    "tcp port `{n}` of client `{}` sends to container port {target} of workload `{}`, which is already {what}",
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
                let node_owner = (z.ingress == IngressMode::HostNetwork)
                    .then(|| node_port_owner(t.port))
                    .flatten();
                if let Some(owner) = node_owner
                    && reported.insert(port_p.clone())
                {
                    self.report_value(
                        Diagnostic::error(
                            "tcp-port-reserved",
                            format!(
                                "tcp port `{n}` of client `{}` asks for public port {}, which the nodes of host-network zone `{}` already use for {owner}",
                                client.name, t.port, z.name
                            ),
                        )
                        .hint("choose another public port: in a host-network zone Traefik opens it on every node, beside the node's own services"),
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

    pub(super) fn metrics(&mut self, client: &raw::Client, at: &str, known: &Known) {
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
}
