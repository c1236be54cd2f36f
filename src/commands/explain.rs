//! `tenantgen explain`: what is rendered for a client and why, per zone, with the kubectl
//! commands to inspect it.

use std::fmt::Write as _;

use crate::catalog::{IngressMode, VolumeAccess, WorkloadKind};
use crate::cli::ExplainArgs;
use crate::model::{Client, Deployment, Platform, Scaling, Zone, size_name};
use crate::render;
use crate::suggest;

use super::render::{checked, options};
use super::{CommandError, CommandResult, EXIT_OK, print_data};

pub fn run(args: &ExplainArgs) -> CommandResult {
    let path = &args.catalog.catalog;
    let checked = checked(path)?;
    let m = &checked.model;
    let Some(c) = m.clients.iter().find(|c| c.name == args.client) else {
        let names: Vec<&str> = m.clients.iter().map(|c| c.name.as_str()).collect();
        return Err(CommandError::failure(format!(
            "client `{}` is not in `{}`",
            args.client,
            path.display()
        ))
        .hint(suggest::client_hint(&args.client, &names)));
    };
    if let Some(z) = args
        .zone
        .as_ref()
        .filter(|z| !m.zones.iter().any(|x| &x.name == *z))
    {
        let names: Vec<&str> = m.zones.iter().map(|x| x.name.as_str()).collect();
        return Err(
            CommandError::failure(format!("zone `{z}` is not in `{}`", path.display()))
                .hint(suggest::zone_hint(z, &names)),
        );
    }
    let line = checked
        .doc
        .map
        .locate(&format!(
            "/spec/clients/{}",
            checked
                .raw
                .spec
                .clients
                .iter()
                .position(|r| r.name == c.name)
                .unwrap_or(0)
        ))
        .map_or(0, |p| p.line);
    let mut out = String::new();
    let hosting = match c.hosting {
        crate::catalog::Hosting::Shared => "shared",
        crate::catalog::Hosting::Dedicated => "dedicated",
    };
    let _ = writeln!(
        out,
        "client {} ({hosting} hosting, namespace {}), defined at {}:{line}",
        c.name,
        c.namespace,
        path.display()
    );
    if c.explicit_workloads {
        // Each workload's hosts, port and probes are listed per zone below.
        let _ = writeln!(
            out,
            "  default hosts: {} ({})",
            c.hosts.join(", "),
            c.hosts_origin
        );
    } else {
        let _ = writeln!(out, "  hosts: {} ({})", c.hosts.join(", "), c.hosts_origin);
        let _ = writeln!(out, "  port: {}, health: {}", c.port, c.health.path);
    }
    for zone in m
        .zones
        .iter()
        .filter(|z| args.zone.as_ref().is_none_or(|n| *n == z.name))
    {
        let _ = writeln!(out);
        let Some(d) = c.deployments.get(&zone.name) else {
            let _ = writeln!(
                out,
                "zone {}: not deployed (no version for `{}` in `versions`)",
                zone.name, zone.name
            );
            continue;
        };
        let t = d.tier;
        let _ = writeln!(
            out,
            "zone {}: version {} -> image {}",
            zone.name, d.version, d.image
        );
        let _ = writeln!(
            out,
            "  size: {} ({}): cpu {} request / {} limit, memory {} / {}",
            size_name(d.size),
            d.size_origin,
            t.cpu_request,
            t.cpu_limit,
            t.memory_request,
            t.memory_limit
        );
        match d.scaling {
            Scaling::Fixed(n) => {
                let _ = writeln!(out, "  replicas: {n} ({})", d.scaling_origin);
            }
            Scaling::Autoscaled {
                min,
                max,
                cpu_percent,
            } => {
                let _ = writeln!(
                    out,
                    "  autoscaling: {min} to {max} replicas at {cpu_percent}% CPU (floor from {}); PodDisruptionBudget minAvailable {}",
                    d.scaling_origin,
                    min.saturating_sub(1)
                );
            }
        }
        if c.explicit_workloads
            || !c.volumes.is_empty()
            || !c.tcp_ports.is_empty()
            || c.metrics.is_some()
        {
            out.push_str(&workloads_text(c, d, zone, &m.platform));
        }
        let opts = options(path, std::path::Path::new("clusters"), &checked, &zone.name);
        let objects = render::zone(m, zone, &opts);
        let mine: Vec<String> = objects
            .iter()
            .filter(|p| p.client.as_deref() == Some(c.name.as_str()))
            .map(|p| {
                if p.namespace().is_empty() {
                    format!("{}/{}", p.kind(), p.name())
                } else {
                    format!("{}/{}/{}", p.kind(), p.namespace(), p.name())
                }
            })
            .collect();
        let _ = writeln!(out, "  objects ({}):", mine.len());
        for o in mine {
            let _ = writeln!(out, "    {o}");
        }
        let _ = writeln!(
            out,
            "  files: clusters/{}/tenants/{}/ and clusters/{}/tenants/{}.yaml",
            zone.name, c.name, zone.name, c.name
        );
        if let Some(comp) = opts.components.get(&c.name) {
            let _ = writeln!(out, "  includes the hand-written component {comp}");
        }
        let ns = &c.namespace;
        let main = d
            .workloads
            .iter()
            .find(|w| w.schedule.is_none())
            .map_or("web", |w| w.name.as_str());
        let _ = writeln!(out, "  inspect (kubectl context of zone {}):", zone.name);
        for cmd in [
            format!("kubectl -n flux-system get kustomization {ns}"),
            format!("kubectl -n {ns} get deployment,pods,service,ingress,networkpolicy"),
            format!("kubectl -n {ns} describe deployment {main}"),
            format!("kubectl -n {ns} logs deployment/{main} --tail=100"),
            format!("kubectl -n {ns} get events --sort-by=.lastTimestamp"),
        ] {
            let _ = writeln!(out, "    {cmd}");
        }
    }
    print_data(&out)?;
    Ok(EXIT_OK)
}

/// The workloads, volumes, TCP ports and metrics of a client in one zone, each with where its
/// values came from.
fn workloads_text(c: &Client, d: &Deployment, zone: &Zone, platform: &Platform) -> String {
    let mut out = String::from("  workloads:\n");
    for w in d.workloads.iter() {
        let kind = match w.kind {
            WorkloadKind::Http => "http",
            WorkloadKind::Worker => "worker",
            WorkloadKind::Cron => "cron",
        };
        let _ = write!(
            out,
            "    {} ({kind}): size {} ({})",
            w.name,
            size_name(w.size),
            w.size_origin
        );
        match (&w.schedule, w.scaling) {
            (Some(s), _) => {
                let _ = write!(
                    out,
                    ", schedule `{}` -> `{}` UTC, concurrency {}",
                    s.written,
                    s.cron,
                    s.concurrency.as_str()
                );
            }
            (None, Scaling::Fixed(n)) => {
                let _ = write!(out, ", replicas {n} ({})", w.scaling_origin);
            }
            (None, Scaling::Autoscaled { min, max, .. }) => {
                let _ = write!(out, ", autoscaling {min} to {max} ({})", w.scaling_origin);
            }
        }
        if w.recreate {
            out.push_str(", replaced with Recreate");
        }
        out.push('\n');
        if let Some(h) = &w.http {
            let _ = writeln!(
                out,
                "      port {}, hosts {} ({}), path {}; probes: liveness {}, readiness {}{}",
                h.port,
                h.hosts.join(", "),
                h.hosts_origin,
                h.path,
                h.liveness_path,
                h.readiness_path,
                h.startup
                    .as_ref()
                    .map(|(p, s)| format!(", startup {p} up to {s} s"))
                    .unwrap_or_default()
            );
        }
        if !w.config.is_empty() {
            // Which keys this zone's override set, so a zone-only value is visible.
            let pairs: Vec<String> = w
                .config
                .iter()
                .map(|(k, v)| {
                    let mark = if w.zone_config.contains(k) {
                        " (zone)"
                    } else {
                        ""
                    };
                    format!("{k}={v}{mark}")
                })
                .collect();
            let _ = writeln!(
                out,
                "      config ({}-config): {}",
                w.name,
                pairs.join(", ")
            );
        }
        if !w.command.is_empty() || !w.args.is_empty() {
            let _ = writeln!(
                out,
                "      runs: {}",
                w.command
                    .iter()
                    .chain(&w.args)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    for v in &c.volumes {
        let access = match v.access {
            VolumeAccess::SingleNode => "single-node",
            VolumeAccess::Shared => "shared",
        };
        let mounts: Vec<String> = v
            .mounts
            .iter()
            .map(|(w, p)| format!("{w} at {p}"))
            .collect();
        let _ = writeln!(
            out,
            "  volume {}: {} {access}, storage class {}, mounted by {}; never pruned by Flux",
            v.name,
            v.size,
            zone.storage_class.as_deref().unwrap_or("(cluster default)"),
            if mounts.is_empty() {
                "nothing".to_owned()
            } else {
                mounts.join(", ")
            }
        );
    }
    for t in &c.tcp_ports {
        let how = if zone.ingress == IngressMode::EdgeProxy {
            format!("NodePort {} for the edge proxy to forward", t.node_port)
        } else {
            format!("Traefik entry point tcp-{}", t.port)
        };
        let _ = writeln!(
            out,
            "  tcp port {}: {} -> {}:{} via {how}",
            t.name, t.port, t.workload, t.target_port
        );
    }
    if let Some(m) = &c.metrics {
        let monitor = if zone.prometheus_operator {
            format!("ServiceMonitor {}", m.workload)
        } else {
            "no ServiceMonitor (zone without prometheusOperator)".to_owned()
        };
        let _ = writeln!(
            out,
            "  metrics: {}:{}{} every {}, admitted from namespace {}; {monitor}",
            m.workload, m.port, m.path, m.interval, platform.monitoring_namespace
        );
    }
    if c.hosting == crate::catalog::Hosting::Dedicated {
        let q = crate::model::effective_quota(c.quota.as_ref(), d, &c.volumes);
        let _ = writeln!(
            out,
            "  quota (the sum over the workloads): requests {} cpu / {}, limits {} cpu / {}, {} claims{}",
            q.requests_cpu,
            q.requests_memory,
            q.limits_cpu,
            q.limits_memory,
            q.persistent_volume_claims,
            q.requests_storage
                .map(|s| format!(", requests.storage {s}"))
                .unwrap_or_default()
        );
    }
    out
}
