//! Raw TCP routes (Traefik) and scrape targets (Prometheus operator).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

top_level_kind!(
    /// A Traefik route for raw TCP connections on an entry point of their own.
    IngressRouteTcp,
    IngressRouteTcpSpec,
    "traefik.io/v1alpha1",
    "IngressRouteTCP"
);

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRouteTcpSpec {
    pub entry_points: Vec<String>,
    pub routes: Vec<TcpRoute>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpRoute {
    /// `HostSNI(\`*\`)`: every connection, TLS or not, since the entry point is the client's.
    #[serde(rename = "match")]
    pub match_: String,
    pub services: Vec<TcpService>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpService {
    pub name: String,
    pub port: i64,
}

top_level_kind!(
    /// What the Prometheus operator scrapes: the endpoints of the Services it selects.
    ServiceMonitor,
    ServiceMonitorSpec,
    "monitoring.coreos.com/v1",
    "ServiceMonitor"
);

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    pub selector: MatchLabels,
    pub endpoints: Vec<ScrapeEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchLabels {
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrapeEndpoint {
    pub port: String,
    pub path: String,
    pub interval: String,
}
