//! runtime: rules about what the cluster does with the tree: TLS and edge settings a zone
//! needs to work, and dedicated capacity that autoscaling and rollouts can actually use.

use std::collections::BTreeSet;

use super::Lint;
use crate::catalog::{self as raw, Hosting, TlsMode};
use crate::diagnostics::Diagnostic;
use crate::model::{self, Scaling};
use crate::quantity::{bytes, cpu_millis, format_bytes, format_cpu};

impl Lint<'_> {
    pub(super) fn zone_runtime(&mut self, zone: &raw::Zone, at: &str) {
        for (j, cidr) in zone.edge_cidrs.iter().flatten().enumerate() {
            self.cidr(cidr, &format!("{at}/edgeCidrs/{j}"));
        }
        if zone.cluster_issuer.is_some() && zone.tls != Some(TlsMode::CertManager) {
            self.report(
                Diagnostic::error(
                    "cluster-issuer-without-cert-manager",
                    format!(
                        "zone `{}` names a `clusterIssuer` but does not use cert-manager",
                        zone.name
                    ),
                )
                .hint("set `tls: cert-manager` on the zone, or remove `clusterIssuer`"),
                &format!("{at}/clusterIssuer"),
            );
        }
    }

    /// A quota a dedicated client sets admits every pod its workloads may run at once: each
    /// one's maximum plus a rollout's surge (as `Deployment::required_capacity` derives it).
    /// (The replica floor is checked with the other scaling rules.)
    pub(super) fn capacity(&mut self, client: &raw::Client, at: &str) {
        if client.hosting != Hosting::Dedicated {
            return;
        }
        let Some(quota) = &client.quota else {
            return;
        };
        let mut reported = BTreeSet::new();
        for zone in client.versions.keys() {
            let Some((_, _, _, scaling, _)) = model::resolve_zone(client, zone) else {
                continue;
            };
            let Scaling::Autoscaled { max, .. } = scaling else {
                continue;
            };
            let Some(plans) = super::workloads::plans(client, zone) else {
                continue;
            };
            // Today's single `web`, autoscaled and surging: the message it always had.
            let lone = match plans.as_slice() {
                [w] if client.workloads.is_empty() && !w.recreate => Some(w.tier),
                _ => None,
            };
            let needs = [
                ("requestsCpu", &quota.requests_cpu, true),
                ("limitsCpu", &quota.limits_cpu, true),
                ("requestsMemory", &quota.requests_memory, false),
                ("limitsMemory", &quota.limits_memory, false),
            ];
            // A field left out is derived from the same need, so only written ones can fall short.
            for (field, have, is_cpu) in needs
                .into_iter()
                .filter_map(|(f, have, cpu)| have.as_ref().map(|h| (f, h, cpu)))
            {
                let parse = |q: &str| if is_cpu { cpu_millis(q) } else { bytes(q) };
                let per_pod = |t: &model::Tier| match field {
                    "requestsCpu" => t.cpu_request,
                    "limitsCpu" => t.cpu_limit,
                    "requestsMemory" => t.memory_request,
                    _ => t.memory_limit,
                };
                let format = |n: u64| {
                    if is_cpu {
                        format_cpu(n)
                    } else {
                        format_bytes(n)
                    }
                };
                let Some(have_n) = parse(have) else {
                    continue;
                };
                let mut need: u64 = 0;
                let mut parts = Vec::new();
                for w in &plans {
                    let Some(per_n) = parse(per_pod(&w.tier)) else {
                        continue;
                    };
                    let pods = w.peak_pods();
                    need = need.saturating_add(per_n.saturating_mul(pods));
                    parts.push(format!("{}: {pods} × {}", w.name, per_pod(&w.tier)));
                }
                let pointer = format!("{at}/quota/{field}");
                if have_n >= need || !reported.insert(pointer.clone()) {
                    continue;
                }
                let need_text = format(need);
                let message = match lone {
                    Some(tier) => format!(
                        "quota `{field}: {have}` of client `{}` cannot hold {} pods of {} in zone `{zone}` (autoscaling maximum {max} plus one rollout surge)",
                        client.name,
                        u64::from(max) + 1,
                        per_pod(&tier)
                    ),
                    None => format!(
                        "quota `{field}: {have}` of client `{}` cannot hold what its workloads may run at once in zone `{zone}`, {need_text} ({}; each at its maximum plus one rollout surge)",
                        client.name,
                        parts.join(", ")
                    ),
                };
                let lower = if lone.is_some() {
                    "lower `autoscaling.max`"
                } else {
                    "lower `autoscaling.max` or a workload's `replicas`"
                };
                self.report_value(
                    Diagnostic::error("quota-too-small", message).hint(format!(
                        "raise `{field}` to `{need_text}` or more, {lower}, or leave `quota` out to have it derived"
                    )),
                    &pointer,
                );
            }
        }
    }
}
