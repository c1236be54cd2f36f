//! capacity: what a dedicated client's namespace must admit in one zone, summed over its
//! workloads, and the ResourceQuota that admits it.

use super::{Deployment, Scaling, Volume};
use crate::catalog as raw;

/// What a dedicated client's namespace must admit in one zone: every pod its autoscaler may
/// run plus the one a rolling update surges (cpu in millicores, memory in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub pods: u64,
    pub requests_cpu: u64,
    pub limits_cpu: u64,
    pub requests_memory: u64,
    pub limits_memory: u64,
}

impl Deployment {
    /// What every workload may run at once in this zone; `None` for a client whose count is
    /// fixed by the tier alone (shared clients have no quota).
    pub fn required_capacity(&self) -> Option<Capacity> {
        if !matches!(self.scaling, Scaling::Autoscaled { .. }) {
            return None;
        }
        let mut total = Capacity {
            pods: 0,
            requests_cpu: 0,
            limits_cpu: 0,
            requests_memory: 0,
            limits_memory: 0,
        };
        for w in self.workloads.iter() {
            let pods = w.peak_pods();
            let cpu = |q: &str| crate::quantity::cpu_millis(q).unwrap_or(0) * pods;
            let mem = |q: &str| crate::quantity::bytes(q).unwrap_or(0) * pods;
            total.pods += pods;
            total.requests_cpu += cpu(w.tier.cpu_request);
            total.limits_cpu += cpu(w.tier.cpu_limit);
            total.requests_memory += mem(w.tier.memory_request);
            total.limits_memory += mem(w.tier.memory_limit);
        }
        Some(total)
    }
}

/// The hard limits of a dedicated client's ResourceQuota in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLimits {
    pub requests_cpu: String,
    pub requests_memory: String,
    pub limits_cpu: String,
    pub limits_memory: String,
    pub persistent_volume_claims: u32,
    /// `requests.storage`: set, or the sum of the client's volumes; none without volumes.
    pub requests_storage: Option<String>,
}

/// The ResourceQuota of a dedicated client in one zone: what the catalog sets, and for every
/// field it leaves out the platform default raised to what the autoscaler's maximum and a
/// rollout need (a lint makes sure the fields it sets admit that much).
pub fn effective_quota(
    explicit: Option<&raw::Quota>,
    d: &Deployment,
    volumes: &[Volume],
) -> QuotaLimits {
    use crate::quantity::{format_bytes, format_cpu};
    let need = d.required_capacity();
    let cpu = |set: Option<&String>, default: u64, need: Option<u64>| {
        set.cloned()
            .unwrap_or_else(|| format_cpu(default.max(need.unwrap_or(0))))
    };
    let mem = |set: Option<&String>, default: u64, need: Option<u64>| {
        set.cloned()
            .unwrap_or_else(|| format_bytes(default.max(need.unwrap_or(0))))
    };
    let q = explicit.cloned().unwrap_or_default();
    QuotaLimits {
        requests_cpu: cpu(q.requests_cpu.as_ref(), 2_000, need.map(|n| n.requests_cpu)),
        limits_cpu: cpu(q.limits_cpu.as_ref(), 4_000, need.map(|n| n.limits_cpu)),
        requests_memory: mem(
            q.requests_memory.as_ref(),
            4 << 30,
            need.map(|n| n.requests_memory),
        ),
        limits_memory: mem(
            q.limits_memory.as_ref(),
            8 << 30,
            need.map(|n| n.limits_memory),
        ),
        persistent_volume_claims: q.persistent_volume_claims.unwrap_or(DEFAULT_QUOTA_PVCS),
        requests_storage: q.requests_storage.clone().or_else(|| {
            (!volumes.is_empty()).then(|| {
                format_bytes(
                    volumes
                        .iter()
                        .map(|v| crate::quantity::bytes(&v.size).unwrap_or(0))
                        .sum(),
                )
            })
        }),
    }
}

/// Default `persistentvolumeclaims` of a dedicated client's quota.
pub const DEFAULT_QUOTA_PVCS: u32 = 10;
