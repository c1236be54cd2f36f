//! scaling: tiers, autoscaling and replica floors, per zone. A problem is reported where the
//! value that causes it was written: an override's field when the override set it, the
//! client's field otherwise.

use std::collections::BTreeSet;

use super::Lint;
use crate::catalog::{self as raw, Hosting};
use crate::diagnostics::Diagnostic;
use crate::model::{self, Origin, Scaling};
use crate::yaml::escape_segment;

impl Lint<'_> {
    pub(super) fn scaling(&mut self, client: &raw::Client, at: &str, zones: Option<&[&str]>) {
        if model::Tier::of(client.hosting, client.size).is_none() {
            self.report_value(
                Diagnostic::error(
                    "size-not-in-tier",
                    format!(
                        "{} hosting has no size `{}`",
                        hosting_name(client.hosting),
                        model::size_name(client.size)
                    ),
                )
                .hint(crate::schema::field_hint("/size").unwrap_or_default()),
                &format!("{at}/size"),
            );
        }
        if client.hosting == Hosting::Shared {
            if client.autoscaling.is_some() {
                self.report(
                    Diagnostic::error(
                        "autoscaling-on-shared",
                        format!("shared client `{}` cannot autoscale", client.name),
                    )
                    .hint("remove `autoscaling`, or move the client to `hosting: dedicated`"),
                    &format!("{at}/autoscaling"),
                );
            }
            if client.quota.is_some() {
                self.report(
                    Diagnostic::error(
                        "quota-on-shared",
                        format!("shared client `{}` cannot have its own quota", client.name),
                    )
                    .hint("remove `quota`, or move the client to `hosting: dedicated`"),
                    &format!("{at}/quota"),
                );
            }
        }
        for (zone, ov) in &client.overrides {
            let p = override_pointer(at, zone);
            if zones.is_some_and(|zs| !zs.contains(&zone.as_str())) {
                self.report(
                    Diagnostic::error("override-zone-unknown", format!("`{zone}` is not a zone"))
                        .hint(format!(
                            "use one of the zones: {}",
                            zones.unwrap_or_default().join(", ")
                        )),
                    &p,
                );
                continue;
            }
            if let Some(size) = ov
                .size
                .filter(|s| model::Tier::of(client.hosting, *s).is_none())
            {
                self.report_value(
                    Diagnostic::error(
                        "size-not-in-tier",
                        format!(
                            "{} hosting has no size `{}`",
                            hosting_name(client.hosting),
                            model::size_name(size)
                        ),
                    )
                    .hint(crate::schema::field_hint("/size").unwrap_or_default()),
                    &format!("{p}/size"),
                );
            }
            if client.hosting == Hosting::Shared && ov.autoscaling.is_some() {
                self.report(
                    Diagnostic::error(
                        "autoscaling-on-shared",
                        format!("shared client `{}` cannot autoscale", client.name),
                    )
                    .hint("remove `autoscaling` from the override"),
                    &format!("{p}/autoscaling"),
                );
            }
        }
        if client.hosting != Hosting::Dedicated {
            return;
        }
        // Each zone the client runs in or overrides; one problem written in one place is
        // reported once, however many zones inherit it.
        let mut reported = BTreeSet::new();
        for zone in client.versions.keys().chain(client.overrides.keys()) {
            let Some((size, size_origin, tier, scaling, min_origin)) =
                model::resolve_zone(client, zone)
            else {
                continue;
            };
            let Scaling::Autoscaled { min, max, .. } = scaling else {
                continue;
            };
            let ov = client.overrides.get(zone);
            let min_at = match &min_origin {
                Origin::Override(z) => {
                    let p = override_pointer(at, z);
                    if ov
                        .and_then(|o| o.autoscaling.as_ref())
                        .is_some_and(|a| a.min.is_some())
                    {
                        format!("{p}/autoscaling/min")
                    } else {
                        format!("{p}/replicas")
                    }
                }
                Origin::Client => {
                    if client.autoscaling.as_ref().is_some_and(|a| a.min.is_some()) {
                        format!("{at}/autoscaling/min")
                    } else {
                        format!("{at}/replicas")
                    }
                }
                // The tier's floor: it comes with the size, wherever that was chosen.
                Origin::Tier | Origin::Default | Origin::Workload | Origin::SingleNodeVolume(_) => {
                    match size_origin {
                        Origin::Override(z) => format!("{}/size", override_pointer(at, &z)),
                        _ => format!("{at}/size"),
                    }
                }
            };
            let max_at = if ov
                .and_then(|o| o.autoscaling.as_ref())
                .is_some_and(|a| a.max.is_some())
            {
                Some(format!("{}/autoscaling/max", override_pointer(at, zone)))
            } else if client.autoscaling.as_ref().is_some_and(|a| a.max.is_some()) {
                Some(format!("{at}/autoscaling/max"))
            } else {
                None
            };
            if min > max {
                // Point at the bound the user wrote: the minimum, unless it is the tier's.
                let tier_floor = matches!(min_origin, Origin::Tier | Origin::Default);
                let pointer = match (&max_at, tier_floor) {
                    (Some(m), true) => m.clone(),
                    _ => min_at,
                };
                if reported.insert((pointer.clone(), min, max)) {
                    self.report_value(
                        Diagnostic::error(
                            "autoscaling-min-above-max",
                            format!("autoscaling minimum {min} is above the maximum {max}"),
                        )
                        .hint("make `min` at most `max`"),
                        &pointer,
                    );
                }
            } else if min < 2 && reported.insert((min_at.clone(), min, max)) {
                self.report_value(
                    Diagnostic::error("pdb-blocks-drain", format!("dedicated client `{}` would run {min} replica(s) at the floor, so its PodDisruptionBudget would block every node drain", client.name))
                        .hint("keep the replica floor at 2 or more for dedicated clients (the budget allows one pod fewer than the floor)"),
                    &min_at,
                );
            } else if min < tier.replicas && reported.insert((min_at.clone(), min, max)) {
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
                    &min_at,
                );
            }
        }
    }
}

fn override_pointer(at: &str, zone: &str) -> String {
    format!("{at}/overrides/{}", escape_segment(zone))
}

fn hosting_name(h: Hosting) -> &'static str {
    match h {
        Hosting::Shared => "shared",
        Hosting::Dedicated => "dedicated",
    }
}
