//! extras: what a client has beyond its workloads' own objects: persistent volumes, raw TCP
//! ports and metrics, each with the Service and NetworkPolicy that make it reachable.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, Service, ServicePort, ServiceSpec,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::crds::{
    IngressRouteTcp, IngressRouteTcpSpec, MatchLabels, ScrapeEndpoint, ServiceMonitor,
    ServiceMonitorSpec, TcpRoute, TcpService,
};
use super::{Object, labels, meta, object, policy};
use crate::catalog::{IngressMode, VolumeAccess};
use crate::model::{Client, Platform, TcpPort, Zone};

/// Flux leaves an object with this annotation in the cluster when it leaves the tree.
pub const PRUNE_DISABLED: (&str, &str) = ("kustomize.toolkit.fluxcd.io/prune", "disabled");

fn pods(workload: &str, client: &str) -> BTreeMap<String, String> {
    labels([
        ("app.kubernetes.io/name", workload),
        ("app.kubernetes.io/instance", client),
    ])
}

fn metrics_labels(workload: &str, client: &str) -> BTreeMap<String, String> {
    let mut l = pods(workload, client);
    l.insert("app.kubernetes.io/component".into(), "metrics".into());
    l
}

/// Name of the Traefik entry point of a public TCP port.
pub fn entry_point(port: u16) -> String {
    format!("tcp-{port}")
}

/// Whether the zone's Traefik carries raw TCP ports; behind an edge proxy the edge forwards
/// them to a NodePort instead, since it owns the public addresses.
pub fn traefik_carries_tcp(zone: &Zone) -> bool {
    zone.ingress != IngressMode::EdgeProxy
}

fn tcp_service(c: &Client, t: &TcpPort, zone: &Zone) -> Object {
    let edge = !traefik_carries_tcp(zone);
    object(Service {
        metadata: meta(&t.name, Some(&c.namespace), pods(&t.workload, &c.name)),
        spec: Some(ServiceSpec {
            type_: Some(if edge { "NodePort" } else { "ClusterIP" }.into()),
            // Local keeps the edge's address, which the NetworkPolicy admits.
            external_traffic_policy: edge.then(|| "Local".into()),
            selector: Some(pods(&t.workload, &c.name)),
            ports: Some(vec![ServicePort {
                name: Some(t.name.clone()),
                port: i32::from(t.port),
                node_port: edge.then_some(i32::from(t.node_port)),
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::String(t.name.clone())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The Services of TCP ports and metrics.
pub fn services(c: &Client, zone: &Zone) -> Vec<Object> {
    let mut out: Vec<Object> = c
        .tcp_ports
        .iter()
        .map(|t| tcp_service(c, t, zone))
        .collect();
    if let Some(m) = &c.metrics {
        let l = metrics_labels(&m.workload, &c.name);
        out.push(object(Service {
            metadata: meta(&format!("{}-metrics", m.workload), Some(&c.namespace), l),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(pods(&m.workload, &c.name)),
                ports: Some(vec![ServicePort {
                    name: Some("metrics".into()),
                    port: i32::from(m.port),
                    protocol: Some("TCP".into()),
                    target_port: Some(IntOrString::String("metrics".into())),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }));
    }
    out
}

/// The NetworkPolicies admitting TCP ports and the metrics scraper, each on its port only.
pub fn policies(c: &Client, zone: &Zone, platform: &Platform) -> Vec<Object> {
    let ns = c.namespace.as_str();
    let mut out = Vec::new();
    for t in &c.tcp_ports {
        let from = if traefik_carries_tcp(zone) {
            policy::traefik_peers(zone)
        } else {
            policy::edge_peers(zone)
        };
        out.push(policy::allow_from(
            &format!("allow-tcp-{}", t.name),
            ns,
            &pods(&t.workload, &c.name),
            from,
            &[t.target_port],
        ));
    }
    if let Some(m) = &c.metrics {
        out.push(policy::allow_from(
            &format!("allow-monitoring-to-{}", m.workload),
            ns,
            &pods(&m.workload, &c.name),
            policy::monitoring_peers(&platform.monitoring_namespace),
            &[m.port],
        ));
    }
    out
}

/// PersistentVolumeClaims (never pruned by Flux), TCP routes and ServiceMonitors.
pub fn claims_routes_and_monitors(c: &Client, zone: &Zone) -> Vec<Object> {
    let ns = Some(c.namespace.as_str());
    let mut out = Vec::new();
    for v in &c.volumes {
        let mut metadata = meta(
            &v.name,
            ns,
            labels([("app.kubernetes.io/instance", c.name.as_str())]),
        );
        metadata.annotations = Some(labels([PRUNE_DISABLED]));
        let mode = match v.access {
            VolumeAccess::SingleNode => "ReadWriteOnce",
            VolumeAccess::Shared => "ReadWriteMany",
        };
        out.push(object(PersistentVolumeClaim {
            metadata,
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec![mode.into()]),
                storage_class_name: zone.storage_class.clone(),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([(
                        "storage".to_owned(),
                        Quantity(v.size.clone()),
                    )])),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }));
    }
    if traefik_carries_tcp(zone) {
        for t in &c.tcp_ports {
            out.push(object(IngressRouteTcp::new(
                meta(&t.name, ns, pods(&t.workload, &c.name)),
                IngressRouteTcpSpec {
                    entry_points: vec![entry_point(t.port)],
                    routes: vec![TcpRoute {
                        match_: "HostSNI(`*`)".into(),
                        services: vec![TcpService {
                            name: t.name.clone(),
                            port: i64::from(t.port),
                        }],
                    }],
                },
            )));
        }
    }
    if let Some(m) = c.metrics.as_ref().filter(|_| zone.prometheus_operator) {
        out.push(object(ServiceMonitor::new(
            meta(&m.workload, ns, pods(&m.workload, &c.name)),
            ServiceMonitorSpec {
                selector: MatchLabels {
                    match_labels: metrics_labels(&m.workload, &c.name),
                },
                endpoints: vec![ScrapeEndpoint {
                    port: "metrics".into(),
                    path: m.path.clone(),
                    interval: m.interval.clone(),
                }],
            },
        )));
    }
    out
}
