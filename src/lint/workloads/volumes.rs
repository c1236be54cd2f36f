//! volumes: where a client's volumes are mounted, how single-node volumes limit the
//! workloads that mount them (one node, one replica), and what the quota must admit.

use std::collections::BTreeMap;

use super::{Known, one_of, override_pointer, workload_pointer};
use crate::catalog::{self as raw, Hosting, VolumeAccess, WorkloadKind};
use crate::diagnostics::Diagnostic;
use crate::lint::Lint;
use crate::lint::isolation::{at_or_above, mount_segments, protected_dir};
use crate::model;
use crate::quantity::{bytes, format_bytes};
use crate::yaml::escape_segment;

impl Lint<'_> {
    pub(super) fn volumes(&mut self, client: &raw::Client, at: &str, known: &Known) {
        let secrets: Vec<(String, &str)> = client
            .secrets
            .iter()
            .filter_map(|s| {
                mount_segments(&s.mount_path)
                    .map(|segs| (format!("/{}", segs.join("/")), s.name.as_str()))
            })
            .collect();
        // Workload -> canonical path -> volume mounted there.
        let mut by_workload: BTreeMap<&str, BTreeMap<String, &str>> = BTreeMap::new();
        let mut total: u64 = 0;
        let mut sizes_known = true;
        let mount_hint = "mount each volume in a directory of its own, such as `/data/<volume>`";
        for (v, spec) in &client.volumes {
            let vp = format!("{at}/volumes/{}", escape_segment(v));
            match bytes(&spec.size) {
                Some(n) if n > 0 => total = total.saturating_add(n),
                _ => {
                    sizes_known = false;
                    self.report_value(
                        Diagnostic::error(
                            "volume-size-invalid",
                            format!(
                                "size `{}` of volume `{v}` of client `{}` is not a positive whole number of bytes",
                                spec.size, client.name
                            ),
                        )
                        .hint("write a whole number with a binary or decimal unit, such as `10Gi`, `512Mi` or `5G`"),
                        &format!("{vp}/size"),
                    );
                }
            }
            let mut attached: Vec<(&str, String)> = Vec::new();
            for (w, path) in &spec.mounts {
                let mp = format!("{vp}/mounts/{}", escape_segment(w));
                if !known.contains_key(w.as_str()) {
                    self.report(
                        Diagnostic::error(
                            "volume-mount-workload-unknown",
                            format!(
                                "volume `{v}` of client `{}` is mounted into `{w}`, which is not one of its workloads",
                                client.name
                            ),
                        )
                        .hint(one_of(client, known)),
                        &mp,
                    );
                    continue;
                }
                attached.push((w.as_str(), mp.clone()));
                let Some(segments) = mount_segments(path) else {
                    self.report_value(
                        Diagnostic::error(
                            "mount-path-invalid",
                            format!("mount path `{path}` of volume `{v}` has a `..` segment"),
                        )
                        .hint("write the directory as an absolute path without `..`, such as `/data/uploads`"),
                        &mp,
                    );
                    continue;
                };
                let canonical = format!("/{}", segments.join("/"));
                let clash = |what: String| {
                    Diagnostic::error(
                        "volume-mount-clash",
                        format!(
                            "volume `{v}` mounted at `{path}` in workload `{w}` of client `{}` {what}",
                            client.name
                        ),
                    )
                    .hint(mount_hint)
                };
                if let Some((dir, why)) = protected_dir(&canonical) {
                    let what = if canonical == "/" {
                        "would hide the container's whole filesystem".to_owned()
                    } else {
                        format!("would hide or lie inside `{dir}`, {why}")
                    };
                    self.report_value(clash(what), &mp);
                } else if let Some((sp, s)) = secrets
                    .iter()
                    .find(|(sp, _)| at_or_above(sp, &canonical) || at_or_above(&canonical, sp))
                {
                    self.report_value(
                        clash(format!(
                            "overlaps `{sp}`, the mount of secret `{s}`: one would hide the other's files"
                        )),
                        &mp,
                    );
                } else if let Some(other) = by_workload
                    .entry(w.as_str())
                    .or_default()
                    .insert(canonical, v.as_str())
                {
                    self.report_value(
                        clash(format!("is where volume `{other}` is already mounted")),
                        &mp,
                    );
                }
            }
            let running: Vec<&str> = attached
                .iter()
                .map(|(w, _)| *w)
                .filter(|w| known.get(w).is_some_and(|(k, _)| *k != WorkloadKind::Cron))
                .collect();
            // Unknown workloads are reported above; the volume's own problem is then theirs.
            if running.is_empty() && attached.len() == spec.mounts.len() {
                let crons: Vec<String> = attached.iter().map(|(w, _)| format!("`{w}`")).collect();
                let how = if crons.is_empty() {
                    "is mounted by no workload".to_owned()
                } else {
                    format!("is mounted only by cron workload {}", crons.join(", "))
                };
                let pointer = format!("{vp}/mounts");
                let d = Diagnostic::error(
                    "volume-not-mounted",
                    format!("volume `{v}` of client `{}` {how}", client.name),
                )
                .hint("mount it into an http or worker workload, or remove it: the tenant's Kustomization waits for every claim to bind, and storage classes that bind on first use (local-path, most block storage) leave a claim no running pod mounts Pending");
                if self.present(&pointer) {
                    self.report(d, &pointer);
                } else {
                    self.report(d, &vp);
                }
            }
            if spec.access != VolumeAccess::SingleNode {
                continue;
            }
            if let [(first, _), (second, mp), ..] = attached.as_slice() {
                self.report(
                    Diagnostic::error(
                        "single-node-volume-shared",
                        format!(
                            "single-node volume `{v}` of client `{}` is mounted by workloads `{first}` and `{second}`: it attaches to one node at a time, so pods elsewhere fail with a Multi-Attach error",
                            client.name
                        ),
                    )
                    .hint("mount it into one workload, or set `access: shared` (ReadWriteMany; the zone's storage class must support it)"),
                    mp,
                );
            }
            for (w, _) in &attached {
                self.single_node_replicas(client, at, v, w);
            }
        }
        if client.hosting != Hosting::Dedicated {
            return;
        }
        let quota = client.quota.as_ref();
        let claims = quota.and_then(|q| q.persistent_volume_claims);
        let limit = claims.unwrap_or(model::DEFAULT_QUOTA_PVCS);
        let n = client.volumes.len();
        if n > usize::try_from(limit).unwrap_or(usize::MAX) {
            let message = format!(
                "client `{}` declares {n} volumes, but its quota admits {limit} PersistentVolumeClaims",
                client.name
            );
            if claims.is_some() {
                self.report_value(
                    Diagnostic::error("too-many-volumes", message).hint(format!(
                        "raise `persistentVolumeClaims` to {n} or more, or remove a volume"
                    )),
                    &format!("{at}/quota/persistentVolumeClaims"),
                );
            } else {
                self.report(
                    Diagnostic::error("too-many-volumes", message).hint(format!(
                        "set `quota.persistentVolumeClaims: {n}` or more (the default is {limit}), or remove a volume"
                    )),
                    &format!("{at}/volumes"),
                );
            }
        }
        if let Some(set) = quota.and_then(|q| q.requests_storage.as_ref())
            && sizes_known
            && let Some(have) = bytes(set)
            && have < total
        {
            self.report_value(
                Diagnostic::error(
                    "quota-storage-too-small",
                    format!(
                        "quota `requestsStorage: {set}` of client `{}` cannot hold its volumes, {} in all",
                        client.name,
                        format_bytes(total)
                    ),
                )
                .hint(format!(
                    "raise `requestsStorage` to `{}` or more, or leave it out to have it derived",
                    format_bytes(total)
                )),
                &format!("{at}/quota/requestsStorage"),
            );
        }
    }

    /// A workload mounting a single-node volume runs one replica: every count above one (or
    /// an autoscaler) written for it is an error rather than a silent override.
    fn single_node_replicas(&mut self, client: &raw::Client, at: &str, volume: &str, w: &str) {
        let mut written: Vec<(String, Option<u32>)> = Vec::new();
        let many = |r: Option<u32>| r.filter(|n| *n > 1);
        if client.workloads.is_empty() {
            if let Some(n) = many(client.replicas) {
                written.push((format!("{at}/replicas"), Some(n)));
            }
            if client.autoscaling.is_some() {
                written.push((format!("{at}/autoscaling"), None));
            }
            for (zone, ov) in &client.overrides {
                let op = override_pointer(at, zone);
                if let Some(n) = many(ov.replicas) {
                    written.push((format!("{op}/replicas"), Some(n)));
                }
                if ov.autoscaling.is_some() {
                    written.push((format!("{op}/autoscaling"), None));
                }
            }
        } else {
            if let Some(n) = many(client.workloads.get(w).and_then(|s| s.replicas)) {
                written.push((format!("{}/replicas", workload_pointer(at, w)), Some(n)));
            }
            for (zone, ov) in &client.overrides {
                if let Some(n) = many(ov.workloads.get(w).and_then(|o| o.replicas)) {
                    let p = format!(
                        "{}/workloads/{}/replicas",
                        override_pointer(at, zone),
                        escape_segment(w)
                    );
                    written.push((p, Some(n)));
                }
            }
        }
        for (pointer, n) in written {
            let (field, asks, fix) = match n {
                Some(n) => (
                    "replicas",
                    format!("asks for {n} replicas"),
                    "set it to 1 or remove it",
                ),
                None => (
                    "autoscaling",
                    "asks for an autoscaler".to_owned(),
                    "remove it",
                ),
            };
            let d = Diagnostic::error(
                "single-node-volume-replicas",
                format!(
                    "workload `{w}` of client `{}` mounts single-node volume `{volume}`, which attaches to one node at a time, but `{field}` {asks}",
                    client.name
                ),
            )
            .hint(format!(
                "a workload with a single-node volume runs one replica, replaced with `Recreate`, without an autoscaler: {fix}, or give `{volume}` `access: shared`"
            ));
            if n.is_some() {
                self.report_value(d, &pointer);
            } else {
                self.report(d, &pointer);
            }
        }
    }
}

/// Storage classes known to provision single-node volumes only.
const SINGLE_NODE_CLASSES: [&str; 1] = ["local-path"];

impl Lint<'_> {
    /// A `shared` volume in a zone whose storage class cannot attach a volume to several
    /// nodes: its claim would stay Pending and the tenant never become ready.
    pub(in crate::lint) fn shared_volume_classes(
        &mut self,
        client: &raw::Client,
        at: &str,
        zones: Option<&[raw::Zone]>,
    ) {
        let Some(zones) = zones else {
            return;
        };
        for (v, spec) in &client.volumes {
            if spec.access != VolumeAccess::Shared {
                continue;
            }
            for zone in zones
                .iter()
                .filter(|z| client.versions.contains_key(&z.name))
            {
                let Some(class) = zone
                    .storage_class
                    .as_deref()
                    .filter(|c| SINGLE_NODE_CLASSES.contains(c))
                else {
                    continue;
                };
                self.report_value(
                    Diagnostic::warning(
                        "shared-volume-on-single-node-class",
                        format!(
                            "volume `{v}` of client `{}` is shared (ReadWriteMany), but zone `{}` provisions volumes with `{class}`, which attaches a volume to one node only; its claim would stay Pending",
                            client.name, zone.name
                        ),
                    )
                    .hint("use `access: single-node` if one workload mounts it, or give the zone a storage class that supports ReadWriteMany (NFS, Longhorn, a cloud file store)"),
                    &format!("{at}/volumes/{}/access", escape_segment(v)),
                );
            }
        }
    }
}
