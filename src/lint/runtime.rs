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

    /// A quota a dedicated client sets admits every pod its autoscaler may run plus a
    /// rollout's surge. (Its replica floor is checked with the other scaling rules.)
    pub(super) fn capacity(&mut self, client: &raw::Client, at: &str) {
        if client.hosting != Hosting::Dedicated {
            return;
        }
        let mut reported = BTreeSet::new();
        for zone in client.versions.keys() {
            let Some((_, _, tier, scaling, _)) = model::resolve_zone(client, zone) else {
                continue;
            };
            let Scaling::Autoscaled { max, .. } = scaling else {
                continue;
            };
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
