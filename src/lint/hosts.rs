//! hosts: who routes which host. A host is claimed once across the catalog (compared
//! without case and trailing dot; a wildcard covers one label), is a DNS name rather than an
//! IP address, and fits DNS's 253 characters, the implicit default host included.
//!
//! Claims are kept in two maps so each host costs a few lookups whatever the catalog's size:
//! the exact hosts (wildcards included, as `*.suffix`), and for each parent domain the first
//! host claimed under it, which is what a later wildcard on that domain would cover.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::{Context, Lint};
use crate::catalog as raw;
use crate::diagnostics::Diagnostic;

/// DNS allows at most 253 characters in a name (without the trailing dot).
const HOST_MAX: usize = 253;

/// Who claimed a host, and where.
#[derive(Debug, Clone)]
struct Claim {
    owner: String,
    pointer: String,
    /// The client's implicit `<name>.<domain>`, which its entry never spells out.
    default: bool,
}

#[derive(Debug, Default)]
pub(super) struct Claims {
    exact: BTreeMap<String, Claim>,
    /// Parent domain -> the first non-wildcard host claimed directly under it.
    by_parent: BTreeMap<String, String>,
}

impl Claims {
    /// The claimed host that `host` collides with: the same host, a wildcard covering it,
    /// or (for a wildcard) a host it covers.
    fn conflict(&self, host: &str) -> Option<(&str, &Claim)> {
        if let Some((other, claim)) = self.exact.get_key_value(host) {
            return Some((other, claim));
        }
        if let Some(suffix) = host.strip_prefix("*.") {
            let other = self.by_parent.get(suffix)?;
            return self.exact.get(other).map(|c| (other.as_str(), c));
        }
        let (_, parent) = covered_label(host)?;
        let wildcard = ["*.", parent].concat();
        self.exact
            .get_key_value(&wildcard)
            .map(|(other, claim)| (other.as_str(), claim))
    }

    fn claim(&mut self, host: String, claim: Claim) {
        if let Some((_, parent)) = covered_label(&host)
            && !self.by_parent.contains_key(parent)
        {
            self.by_parent.insert(parent.to_owned(), host.clone());
        }
        self.exact.insert(host, claim);
    }
}

/// `shop.example.com` -> (`shop`, `example.com`): the one label a wildcard `*.example.com`
/// covers (as an Ingress matches). `None` for wildcards and single labels.
fn covered_label(host: &str) -> Option<(&str, &str)> {
    host.split_once('.')
        .filter(|(label, _)| !label.is_empty() && *label != "*")
}

impl Lint<'_> {
    /// The platform's own hosts: the landing page is served on the bare domain. A domain
    /// that is an IP address makes no DNS names at all.
    pub(super) fn platform_hosts(&mut self, cx: &Context, claims: &mut Claims) {
        let Some(domain) = &cx.domain else {
            return;
        };
        if domain.parse::<IpAddr>().is_ok() {
            self.report_value(
                Diagnostic::error(
                    "host-is-ip-address",
                    format!("the platform domain `{domain}` is an IP address, so the landing page and the default hosts `<client>.{domain}` are not DNS names an Ingress can route"),
                )
                .hint("use the DNS domain clients are hosted under, such as `hosting.example.com`"),
                "/spec/platform/domain",
            );
        }
        if let Some(Value::Object(_)) = self.doc.value.pointer("/spec/platform/landingPage") {
            claims.claim(
                domain.clone(),
                Claim {
                    owner: "the landing page".into(),
                    pointer: "/spec/platform/landingPage".into(),
                    default: false,
                },
            );
        }
    }

    pub(super) fn hosts(
        &mut self,
        client: &raw::Client,
        at: &str,
        cx: &Context,
        claims: &mut Claims,
    ) {
        // Every host the client could route in any zone (its workloads' and overrides'
        // included), once per place it is written.
        let zones: Vec<&str> = match &cx.zones {
            Some(z) => z.clone(),
            None => client.versions.keys().map(String::as_str).collect(),
        };
        let written = super::workloads::written_hosts(client, at, &zones, cx.domain.as_deref());
        #[cfg(debug_assertions)]
        {
            // `written_hosts` is `routes` without the per-zone copies: every test checks so.
            let mut seen = std::collections::BTreeSet::new();
            let from_routes: Vec<(String, String, bool)> =
                super::workloads::routes(client, at, &zones, cx.domain.as_deref())
                    .into_iter()
                    .filter(|r| seen.insert((r.host.clone(), r.pointer.clone())))
                    .map(|r| (r.host, r.pointer, r.default))
                    .collect();
            debug_assert_eq!(written, from_routes);
        }
        for (host, pointer, default) in &written {
            if *default && host.len() > HOST_MAX {
                self.report_value(
                    Diagnostic::error(
                        "host-too-long",
                        format!(
                            "the default host `{host}` of `{}` is {} characters, more than the {HOST_MAX} a DNS name may have",
                            client.name,
                            host.len()
                        ),
                    )
                    .hint("list the client's hosts under `hosts:`, or shorten the client name or `platform.domain`"),
                    pointer,
                );
            }
        }
        for (host, pointer, default) in written {
            if host.parse::<IpAddr>().is_ok() {
                self.report_value(
                    Diagnostic::error(
                        "host-is-ip-address",
                        format!("host `{host}` is an IP address; an Ingress routes DNS names only"),
                    )
                    .hint("use a DNS name that resolves to the address, such as `www.example.com`"),
                    &pointer,
                );
                continue;
            }
            let conflict = claims.conflict(&host).filter(|(_, claim)| {
                // One client may route a host from several places (workloads on different
                // paths, a zone's override): `duplicate-route` checks those. Twice in one
                // list is still a mistake.
                let list = |p: &str| p.rsplit_once('/').map_or("", |(l, _)| l).to_owned();
                claim.owner != client.name || list(&claim.pointer) == list(&pointer)
            });
            if let Some((other, claim)) = conflict {
                let line = self.line_of(&claim.pointer);
                let how = if other == host {
                    "also claimed".to_string()
                } else {
                    format!("overlaps `{other}`, claimed")
                };
                let mut owner = if claim.owner == client.name {
                    "this client".to_string()
                } else {
                    format!("`{}`", claim.owner)
                };
                if claim.default {
                    owner.push_str(" as its default host");
                }
                let what = if default {
                    format!("the default host `{host}` of `{}`", client.name)
                } else {
                    format!("host `{host}`")
                };
                let hint = if default || claim.default {
                    "each host routes to exactly one client; a client without `hosts:` gets `<name>.<platform.domain>`, so list explicit `hosts:` for one of them or rename it"
                } else {
                    "each host routes to exactly one client; remove it from one of them"
                };
                self.report_value(
                    Diagnostic::error(
                        "duplicate-host",
                        format!("{what} {how} by {owner} at line {line}"),
                    )
                    .hint(hint),
                    &pointer,
                );
            } else {
                claims.claim(
                    host,
                    Claim {
                        owner: client.name.clone(),
                        pointer,
                        default,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Claim, Claims};

    /// The pairwise rule the maps replace: equal, or a wildcard covering exactly one label.
    fn naive_overlap(a: &str, b: &str) -> bool {
        let covers = |pattern: &str, host: &str| match pattern.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(label, rest)| rest == suffix && !label.is_empty() && label != "*"),
            None => false,
        };
        a == b || covers(a, b) || covers(b, a)
    }

    proptest! {
        /// Over hosts built from a tiny alphabet (so that collisions are common), the maps
        /// find a conflict exactly when some earlier accepted host overlaps pairwise.
        #[test]
        fn the_maps_find_exactly_the_pairwise_conflicts(
            hosts in prop::collection::vec(
                prop::collection::vec(prop::sample::select(vec!["a", "b", "*"]), 1..4),
                1..12,
            )
        ) {
            let mut claims = Claims::default();
            let mut accepted: Vec<String> = Vec::new();
            for labels in hosts {
                // `*` only as the first label, as the host pattern allows.
                if labels.iter().skip(1).any(|l| *l == "*") {
                    continue;
                }
                let host = labels.join(".");
                let expected = accepted.iter().any(|h| naive_overlap(h, &host));
                prop_assert_eq!(claims.conflict(&host).is_some(), expected, "{} after {:?}", host, accepted);
                if !expected {
                    claims.claim(host.clone(), Claim { owner: "x".into(), pointer: String::new(), default: false });
                    accepted.push(host);
                }
            }
        }
    }

    fn claims(hosts: &[&str]) -> Claims {
        let mut c = Claims::default();
        for h in hosts {
            c.claim(
                (*h).to_owned(),
                Claim {
                    owner: "x".into(),
                    pointer: String::new(),
                    default: false,
                },
            );
        }
        c
    }

    #[test]
    fn wildcards_cover_exactly_one_label_both_ways() {
        let c = claims(&["*.example.com"]);
        assert!(c.conflict("shop.example.com").is_some());
        assert!(c.conflict("a.shop.example.com").is_none());
        assert!(c.conflict("example.com").is_none());
        assert!(c.conflict("*.example.com").is_some());
        assert!(c.conflict("*.shop.example.com").is_none());
        let c = claims(&["shop.example.com"]);
        assert_eq!(
            c.conflict("*.example.com").map(|(h, _)| h),
            Some("shop.example.com")
        );
        assert!(c.conflict("*.com").is_none());
        assert!(c.conflict("shop.example.com").is_some());
    }
}
