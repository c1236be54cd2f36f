//! workload: what each process of a client is in one zone, with every default and override
//! applied: the implicit `web` of a client without `workloads`, or each workload it lists.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Origin, Scaling, Tier, normalize_host, resolve_zone};
use crate::catalog::{self as raw, ConcurrencyPolicy, Size, VolumeAccess, WorkloadKind};

/// A persistent volume of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub name: String,
    pub size: String,
    pub access: VolumeAccess,
    /// Workload -> mount path.
    pub mounts: BTreeMap<String, String>,
}

impl Volume {
    /// A client's volumes, sorted by name.
    pub fn all_of(c: &raw::Client) -> Vec<Volume> {
        c.volumes
            .iter()
            .map(|(name, v)| Volume {
                name: name.clone(),
                size: v.size.clone(),
                access: v.access,
                mounts: v.mounts.clone(),
            })
            .collect()
    }
}

/// A raw TCP port of a client, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpPort {
    pub name: String,
    pub port: u16,
    pub workload: String,
    pub target_port: u16,
    pub node_port: u16,
}

/// The HTTP side of a workload: its port, where it is routed and how it is probed.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPlan {
    pub port: u16,
    /// Lowercase, without trailing dots. Shared with the client's other zones when no
    /// override changes them (a model of 10,000 clients holds them once, not per zone).
    pub hosts: Arc<[String]>,
    pub hosts_origin: Origin,
    pub path: String,
    pub liveness_path: String,
    pub readiness_path: String,
    /// Path and seconds of the startup probe.
    pub startup: Option<(String, u32)>,
}

/// When a cron workload runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// As written, `H` included.
    pub written: String,
    /// With `H` replaced by the client's own minute or hour.
    pub cron: String,
    pub concurrency: ConcurrencyPolicy,
}

/// One workload of a client in one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadPlan {
    pub name: String,
    pub kind: WorkloadKind,
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// Http workloads only.
    pub http: Option<HttpPlan>,
    /// Cron workloads only.
    pub schedule: Option<Schedule>,
    pub size: Size,
    pub size_origin: Origin,
    pub tier: Tier,
    /// Cron workloads: `Fixed(1)`, one run at a time.
    pub scaling: Scaling,
    pub scaling_origin: Origin,
    /// Replaced with `Recreate`: a single-node volume cannot be attached to two nodes.
    pub recreate: bool,
    /// The client's settings with the workload's and the zone's over them; shared with the
    /// client's other workloads and zones when neither adds to them.
    pub config: Arc<BTreeMap<String, String>>,
    /// The keys of `config` this zone's override set.
    pub zone_config: std::collections::BTreeSet<String>,
    /// Volume -> mount path, by volume name.
    pub mounts: Vec<(String, String)>,
}

impl WorkloadPlan {
    /// The most pods the workload runs at once: its maximum plus a rolling update's surge.
    pub fn peak_pods(&self) -> u64 {
        let surge = u64::from(!self.recreate);
        match (self.kind, self.scaling) {
            (WorkloadKind::Cron, _) => match self.schedule.as_ref().map(|s| s.concurrency) {
                Some(ConcurrencyPolicy::Allow) => 2,
                _ => 1,
            },
            (_, Scaling::Autoscaled { max, .. }) => u64::from(max) + surge,
            (_, Scaling::Fixed(n)) => u64::from(n) + surge,
        }
    }
}

/// The name of the workload a client without `workloads` runs.
pub const DEFAULT_WORKLOAD: &str = "web";

/// Every workload of `c` in `zone`, sorted by name. `None` when a size has no tier for the
/// client's hosting (a lint reports it).
/// What every zone of a client starts from, made once per client so that zones without
/// overrides share it.
#[derive(Debug, Clone)]
pub struct Shared {
    config: Arc<BTreeMap<String, String>>,
    /// The client's hosts: its own, or `<name>.<domain>`.
    pub(super) hosts: Arc<[String]>,
    pub(super) hosts_origin: Origin,
}

impl Shared {
    /// `domain`: the platform's, normalised, for the default host `<name>.<domain>`.
    pub fn of(c: &raw::Client, domain: &str) -> Shared {
        let (hosts, hosts_origin): (Vec<String>, Origin) = if c.hosts.is_empty() {
            (vec![format!("{}.{domain}", c.name)], Origin::Default)
        } else {
            (
                c.hosts.iter().map(|h| normalize_host(h)).collect(),
                Origin::Client,
            )
        };
        Shared {
            config: Arc::new(c.config.clone()),
            hosts: hosts.into(),
            hosts_origin,
        }
    }
}

pub fn plans(
    c: &raw::Client,
    shared: &Shared,
    zone: &str,
    volumes: &[Volume],
) -> Option<Vec<WorkloadPlan>> {
    let ov = c.overrides.get(zone);
    let config = |own: &BTreeMap<String, String>| {
        let zone_config = ov.map(|o| &o.config).filter(|z| !z.is_empty());
        if own.is_empty() && zone_config.is_none() {
            return Arc::clone(&shared.config);
        }
        let mut config = (*shared.config).clone();
        config.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(z) = zone_config {
            config.extend(z.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Arc::new(config)
    };
    let zone_config: std::collections::BTreeSet<String> = ov
        .map(|o| o.config.keys().cloned().collect())
        .unwrap_or_default();
    let client_hosts = || -> (Arc<[String]>, Origin) {
        if let Some(ov) = ov.filter(|o| !o.hosts.is_empty()) {
            (
                ov.hosts.iter().map(|h| normalize_host(h)).collect(),
                Origin::Override(zone.to_owned()),
            )
        } else {
            (Arc::clone(&shared.hosts), shared.hosts_origin.clone())
        }
    };
    let mounts = |workload: &str| -> Vec<(String, String)> {
        volumes
            .iter()
            .filter_map(|v| v.mounts.get(workload).map(|p| (v.name.clone(), p.clone())))
            .collect()
    };
    let single_node = |workload: &str| {
        volumes
            .iter()
            .find(|v| v.access == VolumeAccess::SingleNode && v.mounts.contains_key(workload))
            .map(|v| v.name.clone())
    };
    let (client_size, client_size_origin, client_tier, client_scaling, client_scaling_origin) =
        resolve_zone(c, zone)?;
    if c.workloads.is_empty() {
        let (hosts, hosts_origin) = client_hosts();
        let (scaling, scaling_origin, recreate) = match single_node(DEFAULT_WORKLOAD) {
            Some(v) => (Scaling::Fixed(1), Origin::SingleNodeVolume(v), true),
            None => (client_scaling, client_scaling_origin, false),
        };
        return Some(vec![WorkloadPlan {
            name: DEFAULT_WORKLOAD.to_owned(),
            kind: WorkloadKind::Http,
            command: Vec::new(),
            args: Vec::new(),
            http: Some(HttpPlan {
                port: c.port,
                hosts,
                hosts_origin,
                path: "/".to_owned(),
                liveness_path: c.health.path.clone(),
                readiness_path: c.health.path.clone(),
                startup: c.health.startup_seconds.map(|s| (c.health.path.clone(), s)),
            }),
            schedule: None,
            size: client_size,
            size_origin: client_size_origin,
            tier: client_tier,
            scaling,
            scaling_origin,
            recreate,
            config: config(&BTreeMap::new()),
            zone_config: zone_config.clone(),
            mounts: mounts(DEFAULT_WORKLOAD),
        }]);
    }
    let mut out = Vec::new();
    for (name, w) in &c.workloads {
        let wov = ov.and_then(|o| o.workloads.get(name));
        let (size, size_origin) = match (wov.and_then(|o| o.size), w.size) {
            (Some(s), _) => (s, Origin::Override(zone.to_owned())),
            (None, Some(s)) => (s, Origin::Workload),
            (None, None) => (client_size, client_size_origin.clone()),
        };
        let tier = Tier::of(c.hosting, size)?;
        let own_replicas = wov
            .and_then(|o| o.replicas)
            .map(|r| (r, Origin::Override(zone.to_owned())))
            .or_else(|| w.replicas.map(|r| (r, Origin::Workload)));
        let (mut scaling, mut scaling_origin) = match (own_replicas, client_scaling) {
            (Some((n, origin)), _) => (Scaling::Fixed(n), origin),
            // The client's count, with this workload's own tier floor where the tier set it.
            (None, Scaling::Fixed(_)) if client_scaling_origin == Origin::Tier => {
                (Scaling::Fixed(tier.replicas), Origin::Tier)
            }
            (
                None,
                Scaling::Autoscaled {
                    max, cpu_percent, ..
                },
            ) if client_scaling_origin == Origin::Tier => {
                let min = tier.replicas;
                (
                    Scaling::Autoscaled {
                        min,
                        max: max.max(min),
                        cpu_percent,
                    },
                    Origin::Tier,
                )
            }
            (None, s) => (s, client_scaling_origin.clone()),
        };
        let mut recreate = false;
        if let Some(v) = single_node(name) {
            scaling = Scaling::Fixed(1);
            scaling_origin = Origin::SingleNodeVolume(v);
            recreate = true;
        }
        let http = (w.kind == WorkloadKind::Http).then(|| {
            let (hosts, hosts_origin) = match wov.filter(|o| !o.hosts.is_empty()) {
                Some(o) => (
                    o.hosts.iter().map(|h| normalize_host(h)).collect(),
                    Origin::Override(zone.to_owned()),
                ),
                None if !w.hosts.is_empty() => (
                    w.hosts.iter().map(|h| normalize_host(h)).collect(),
                    Origin::Workload,
                ),
                None => client_hosts(),
            };
            let health = w.health.clone().unwrap_or_else(|| raw::WorkloadHealth {
                path: c.health.path.clone(),
                liveness_path: None,
                readiness_path: None,
                startup_path: None,
                startup_seconds: None,
            });
            let or_path = |p: &Option<String>| p.clone().unwrap_or_else(|| health.path.clone());
            HttpPlan {
                port: w.port.unwrap_or(c.port),
                hosts,
                hosts_origin,
                path: w.path.clone().unwrap_or_else(|| "/".to_owned()),
                liveness_path: or_path(&health.liveness_path),
                readiness_path: or_path(&health.readiness_path),
                startup: health
                    .startup_seconds
                    .map(|s| (or_path(&health.startup_path), s)),
            }
        });
        let schedule = (w.kind == WorkloadKind::Cron).then(|| {
            let written = w.schedule.clone().unwrap_or_default();
            Schedule {
                cron: spread_schedule(&written, &c.name, name),
                written,
                concurrency: w.concurrency_policy.unwrap_or(ConcurrencyPolicy::Forbid),
            }
        });
        if w.kind == WorkloadKind::Cron {
            scaling = Scaling::Fixed(1);
        }
        out.push(WorkloadPlan {
            name: name.clone(),
            kind: w.kind,
            command: w.command.clone(),
            args: w.args.clone(),
            http,
            schedule,
            size,
            size_origin,
            tier,
            scaling,
            scaling_origin,
            recreate,
            config: config(&w.config),
            zone_config: zone_config.clone(),
            mounts: mounts(name),
        });
    }
    Some(out)
}

/// Replaces an `H` minute or hour with a value derived from the client and workload names:
/// stable across renders, different between clients, so their jobs do not all start at once.
pub fn spread_schedule(schedule: &str, client: &str, workload: &str) -> String {
    let digest = Sha256::digest(format!("{client}/{workload}").as_bytes());
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(seed);
    schedule
        .split(' ')
        .enumerate()
        .map(|(i, field)| match (i, field) {
            (0, "H") => (n % 60).to_string(),
            (1, "H") => ((n / 60) % 24).to_string(),
            _ => field.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_schedules_are_stable_and_differ_between_clients() {
        let a = spread_schedule("H H * * *", "acme", "report");
        assert_eq!(a, spread_schedule("H H * * *", "acme", "report"));
        let minutes: std::collections::BTreeSet<String> = (0..200)
            .map(|i| spread_schedule("H 3 * * *", &format!("client-{i}"), "report"))
            .collect();
        assert!(
            minutes.len() > 40,
            "200 clients share {} minutes",
            minutes.len()
        );
        assert!(minutes.iter().all(|m| m.ends_with(" 3 * * *")));
        assert_eq!(spread_schedule("*/5 * * * *", "a", "b"), "*/5 * * * *");
    }
}
