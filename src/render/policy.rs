//! policy: the NetworkPolicies of a client or platform namespace: deny by default, then admit
//! exactly what each workload needs (Traefik to its port, the scraper to its metrics, DNS and
//! the declared egress).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::workload::Workload;
use super::{Object, labels, meta, object};
use crate::catalog::{IngressMode, Protocol};
use crate::model::{Egress, Zone};

fn selector(l: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(l.clone()),
        ..Default::default()
    }
}

fn port(protocol: &str, number: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.to_owned()),
        port: Some(IntOrString::Int(i32::from(number))),
        ..Default::default()
    }
}

fn policy(name: &str, namespace: &str, spec: NetworkPolicySpec) -> Object {
    object(NetworkPolicy {
        metadata: meta(name, Some(namespace), BTreeMap::new()),
        spec: Some(spec),
    })
}

fn cidr_peer(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Every pod of a namespace (`peer_pods` empty) or the pods with those labels.
fn namespace_peer(namespace: &str, pods: Option<BTreeMap<String, String>>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(&labels([(
            "kubernetes.io/metadata.name",
            namespace,
        )]))),
        pod_selector: pods.map(|p| selector(&p)),
        ..Default::default()
    }
}

/// The zone's Traefik as NetworkPolicy peers: its pods, or in host-network zones the node
/// CIDRs, since no pod selector matches host-network pods.
pub fn traefik_peers(zone: &Zone) -> Vec<NetworkPolicyPeer> {
    if zone.ingress == IngressMode::HostNetwork {
        zone.node_cidrs.iter().map(|c| cidr_peer(c)).collect()
    } else {
        vec![namespace_peer(
            &zone.ingress_namespace,
            Some(labels([("app.kubernetes.io/name", "traefik")])),
        )]
    }
}

/// The edge proxies that forward a raw TCP port to its NodePort (with
/// `externalTrafficPolicy: Local` the connection keeps their address); anywhere when the zone
/// names no edge.
pub fn edge_peers(zone: &Zone) -> Vec<NetworkPolicyPeer> {
    if zone.edge_cidrs.is_empty() {
        vec![cidr_peer("0.0.0.0/0")]
    } else {
        zone.edge_cidrs.iter().map(|c| cidr_peer(c)).collect()
    }
}

/// Every pod of the monitoring namespace (where Prometheus runs).
pub fn monitoring_peers(namespace: &str) -> Vec<NetworkPolicyPeer> {
    vec![namespace_peer(namespace, None)]
}

pub fn default_deny(namespace: &str) -> Object {
    policy(
        "default-deny",
        namespace,
        NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ..Default::default()
        },
    )
}

/// Admits `from` to the pods `pods` select on TCP `ports` only.
pub fn allow_from(
    name: &str,
    namespace: &str,
    pods: &BTreeMap<String, String>,
    from: Vec<NetworkPolicyPeer>,
    ports: &[u16],
) -> Object {
    policy(
        name,
        namespace,
        NetworkPolicySpec {
            pod_selector: Some(selector(pods)),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(from),
                ports: Some(ports.iter().map(|p| port("TCP", *p)).collect()),
            }]),
            ..Default::default()
        },
    )
}

pub fn allow_dns(namespace: &str) -> Object {
    policy(
        "allow-dns",
        namespace,
        NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Egress".into()]),
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(vec![namespace_peer(
                    "kube-system",
                    Some(labels([("k8s-app", "kube-dns")])),
                )]),
                ports: Some(vec![port("UDP", 53), port("TCP", 53)]),
            }]),
            ..Default::default()
        },
    )
}

/// The declared egress of the pods `pods` select; `None` when there is none.
pub fn allow_egress(
    namespace: &str,
    pods: &BTreeMap<String, String>,
    egress: &[Egress],
) -> Option<Object> {
    if egress.is_empty() {
        return None;
    }
    Some(policy(
        "allow-egress",
        namespace,
        NetworkPolicySpec {
            pod_selector: Some(selector(pods)),
            policy_types: Some(vec!["Egress".into()]),
            egress: Some(
                egress
                    .iter()
                    .map(|e| {
                        let protocol = match e.protocol {
                            Protocol::Tcp => "TCP",
                            Protocol::Udp => "UDP",
                        };
                        NetworkPolicyEgressRule {
                            to: Some(vec![cidr_peer(&e.cidr)]),
                            ports: (!e.ports.is_empty())
                                .then(|| e.ports.iter().map(|p| port(protocol, *p)).collect()),
                        }
                    })
                    .collect(),
            ),
            ..Default::default()
        },
    ))
}

/// The policies of a namespace with one HTTP workload: default deny both ways; ingress only
/// from the zone's Traefik on the workload port; DNS to kube-dns; and the declared egress.
pub fn network_policies(w: &Workload, zone: &Zone, egress: &[Egress]) -> Vec<Object> {
    let ns = w.namespace;
    let mut out = vec![default_deny(ns)];
    if let Some(p) = w.port {
        out.push(allow_from(
            "allow-ingress-from-traefik",
            ns,
            &w.selector,
            traefik_peers(zone),
            &[p],
        ));
    }
    out.push(allow_dns(ns));
    out.extend(allow_egress(ns, &w.selector, egress));
    out
}
