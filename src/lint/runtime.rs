//! runtime: rules about what the cluster does with the tree: TLS and edge settings a zone
//! needs to work, and dedicated capacity that autoscaling and rollouts can actually use.

use std::collections::BTreeSet;

use super::Lint;
use crate::catalog::{self as raw, Hosting, TlsMode};
use crate::diagnostics::Diagnostic;
use crate::model::{self, Scaling};
use crate::quantity::{bytes, cpu_millis, format_bytes, format_cpu};
use crate::yaml::escape_segment;

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

    /// A dedicated client never scales below its tier's floor, and a quota it sets admits
    /// every pod its autoscaler may run plus a rollout's surge.
    pub(super) fn capacity(&mut self, client: &raw::Client, at: &str) {
        if client.hosting != Hosting::Dedicated {
            return;
        }
        let mut reported = BTreeSet::new();
        for zone in client.versions.keys() {
            let Some((size, _, tier, scaling, _)) = model::resolve_zone(client, zone) else {
                continue;
            };
            let Scaling::Autoscaled { min, max, .. } = scaling else {
                continue;
            };
            let floor_at = floor_pointer(client, zone, at);
            // Below 2 the drain lint already speaks for the same value.
            if min >= 2 && min < tier.replicas && min <= max && reported.insert(floor_at.clone()) {
                self.report_value(
                    Diagnostic::error(
                        "below-tier-floor",
                        format!(
                            "dedicated client `{}` would run {min} replica(s) in zone `{zone}`, below the {} tier's floor of {}",
                            client.name,
                            model::size_name(size),
                            tier.replicas
                        ),
                    )
                    .hint(format!(
                        "raise it to {} or more, or leave it out to use the tier's floor",
                        tier.replicas
                    )),
                    &floor_at,
                );
            }
            let Some(quota) = &client.quota else {
                continue;
            };
            let pods = u64::from(max) + 1;
            let needs = [
                ("requestsCpu", &quota.requests_cpu, tier.cpu_request, true),
                ("limitsCpu", &quota.limits_cpu, tier.cpu_limit, true),
                (
                    "requestsMemory",
                    &quota.requests_memory,
                    tier.memory_request,
                    false,
                ),
                (
                    "limitsMemory",
                    &quota.limits_memory,
                    tier.memory_limit,
                    false,
                ),
            ];
            // A field left out is derived from the same need, so only written ones can fall short.
            for (field, have, per_pod, is_cpu) in needs
                .into_iter()
                .filter_map(|(f, have, per, cpu)| have.as_ref().map(|h| (f, h, per, cpu)))
            {
                let (have_n, per_n) = if is_cpu {
                    (cpu_millis(have), cpu_millis(per_pod))
                } else {
                    (bytes(have), bytes(per_pod))
                };
                let (Some(have_n), Some(per_n)) = (have_n, per_n) else {
                    continue;
                };
                let need = per_n * pods;
                let pointer = format!("{at}/quota/{field}");
                if have_n < need && reported.insert(pointer.clone()) {
                    let need_text = if is_cpu {
                        format_cpu(need)
                    } else {
                        format_bytes(need)
                    };
                    self.report_value(
                        Diagnostic::error(
                            "quota-too-small",
                            format!(
                                "quota `{field}: {have}` of client `{}` cannot hold {pods} pods of {per_pod} in zone `{zone}` (autoscaling maximum {max} plus one rollout surge)",
                                client.name
                            ),
                        )
                        .hint(format!(
                            "raise `{field}` to `{need_text}` or more, lower `autoscaling.max`, or leave `quota` out to have it derived"
                        )),
                        &pointer,
                    );
                }
            }
        }
    }
}

/// Where a zone's replica floor comes from: the override's or the client's `autoscaling.min`,
/// else the override's or the client's `replicas`.
fn floor_pointer(client: &raw::Client, zone: &str, at: &str) -> String {
    let ov = client.overrides.get(zone);
    let ov_at = format!("{at}/overrides/{}", escape_segment(zone));
    if ov
        .and_then(|o| o.autoscaling.as_ref())
        .is_some_and(|a| a.min.is_some())
    {
        format!("{ov_at}/autoscaling/min")
    } else if client.autoscaling.as_ref().is_some_and(|a| a.min.is_some()) {
        format!("{at}/autoscaling/min")
    } else if ov.is_some_and(|o| o.replicas.is_some()) {
        format!("{ov_at}/replicas")
    } else {
        format!("{at}/replicas")
    }
}
