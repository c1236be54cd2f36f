//! lint: the rules a JSON Schema cannot express (SPEC §9). They run on every part of the
//! catalog that passed the schema, so one run reports schema errors and lint errors together.
//! Each rule family has its own file: `names` (what a client's name becomes), `hosts`,
//! `config`, `isolation` (secrets, mounts, egress) and `scaling`; this file drives them and
//! holds the zone, version and landing-page rules. No rule compares all pairs of clients:
//! anything shared across clients goes through a map, so `validate` stays near-linear.

mod config;
mod hosts;
mod isolation;
mod names;
mod platform;
mod runtime;
mod scaling;
mod workloads;

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::catalog::{self as raw, IngressMode};
use crate::diagnostics::Diagnostic;
use crate::model::normalize_host;
use crate::source::Source;
use crate::yaml::{Document, escape_segment, field_name};

pub use config::credential_pattern;
use isolation::Network;

/// Runs every lint. `broken` holds the pointers of values the schema rejected; the parts
/// under them are skipped so one mistake is reported once. `catalog` is the document
/// already loaded, when the schema accepted all of it (the lints then read it rather than
/// load each part again); it is handed back unchanged.
pub fn check(
    doc: &Document,
    source: &Source,
    broken: &BTreeSet<String>,
    catalog: Option<&mut raw::Catalog>,
) -> Vec<Diagnostic> {
    let mut lint = Lint {
        doc,
        source,
        broken,
        out: Vec::new(),
    };
    let platform: Option<raw::Platform>;
    let zones: Option<Vec<raw::Zone>>;
    let page: Option<raw::LandingPage>;
    let clients: Vec<(usize, raw::Client)>;
    match &catalog {
        Some(c) => {
            platform = Some(c.spec.platform.clone());
            zones = Some(c.spec.zones.clone().unwrap_or_else(raw::default_zones));
            page = c.spec.platform.landing_page.clone();
            clients = Vec::new();
        }
        None => {
            platform = lint.part("/spec/platform");
            zones = match doc.value.pointer("/spec/zones") {
                None | Some(Value::Null) => Some(raw::default_zones()),
                Some(_) => lint.part("/spec/zones"),
            };
            // On its own, so that a mistake elsewhere in the platform does not hide it.
            page = lint.part("/spec/platform/landingPage");
            clients = match doc.value.pointer("/spec/clients") {
                Some(Value::Array(items)) => (0..items.len())
                    .filter_map(|i| lint.part(&format!("/spec/clients/{i}")).map(|c| (i, c)))
                    .collect(),
                _ => Vec::new(),
            };
        }
    }
    // The loaded clients are borrowed by moving them out and back: the rules take them
    // with their indexes, and a copy of 100,000 clients would cost more than the rules.
    let (catalog, clients) = match catalog {
        Some(c) => {
            let taken = std::mem::take(&mut c.spec.clients);
            (Some(c), taken.into_iter().enumerate().collect())
        }
        None => (None, clients),
    };
    if let Some(zones) = &zones {
        lint.zones(zones);
    }
    if let Some(page) = &page {
        lint.landing_page(page, zones.as_deref());
    }
    lint.clients(&clients, platform.as_ref(), zones.as_deref());
    if let Some(p) = &platform {
        lint.platform_namespaces(p, &clients);
    }
    if let Some(c) = catalog {
        c.spec.clients = clients.into_iter().map(|(_, client)| client).collect();
    }
    lint.out
}

struct Lint<'a> {
    doc: &'a Document,
    source: &'a Source,
    broken: &'a BTreeSet<String>,
    out: Vec<Diagnostic>,
}

/// What the rules of one client need to know about the rest of the catalog.
struct Context<'a> {
    zones: Option<Vec<&'a str>>,
    /// The last zone of a path of two or more: its versions must carry a digest.
    production: Option<&'a str>,
    /// The platform domain, normalised, when the schema accepted it.
    domain: Option<String>,
    /// `platform.vaultPathPrefix`, when the schema accepted it.
    vault_prefix: Option<String>,
    platform: Option<&'a raw::Platform>,
}

impl Lint<'_> {
    /// Whether the schema rejected `pointer` or anything under it (a range lookup, so the
    /// cost does not grow with the number of schema errors).
    fn is_broken(&self, pointer: &str) -> bool {
        if self.broken.contains(pointer) {
            return true;
        }
        let prefix = format!("{pointer}/");
        self.broken
            .range(prefix.clone()..)
            .next()
            .is_some_and(|b| b.starts_with(&prefix))
    }

    /// Deserializes the value at `pointer` unless the schema rejected anything in it.
    fn part<T: DeserializeOwned>(&self, pointer: &str) -> Option<T> {
        if self.is_broken(pointer) {
            return None;
        }
        T::deserialize(self.doc.value.pointer(pointer)?).ok()
    }

    fn report(&mut self, d: Diagnostic, pointer: &str) {
        let d = d
            .at(&self.source.name, self.doc.map.locate(pointer))
            .field(field_name(pointer));
        self.out.push(d);
    }

    /// Like `report`, pointing at the value rather than its key.
    fn report_value(&mut self, d: Diagnostic, pointer: &str) {
        let d = d
            .at(&self.source.name, self.doc.map.locate_value(pointer))
            .field(field_name(pointer));
        self.out.push(d);
    }

    /// The line a pointer was written on, for "first defined at line N" hints.
    fn line_of(&self, pointer: &str) -> usize {
        self.doc.map.locate(pointer).map_or(0, |p| p.line)
    }

    fn zones(&mut self, zones: &[raw::Zone]) {
        let mut seen = BTreeSet::new();
        for (i, zone) in zones.iter().enumerate() {
            let at = format!("/spec/zones/{i}");
            if !seen.insert(zone.name.as_str()) {
                self.report_value(
                    Diagnostic::error("duplicate-zone", format!("zone `{}` is listed twice", zone.name))
                        .hint("zone names are directories under clusters/ and steps of the promotion path; rename or remove one"),
                    &format!("{at}/name"),
                );
            }
            if zone.ingress == IngressMode::HostNetwork && zone.node_cidrs.is_empty() {
                self.report_value(
                    Diagnostic::error("host-network-without-node-cidrs", format!("zone `{}` uses host-network ingress but lists no `nodeCidrs`", zone.name))
                        .hint("add `nodeCidrs: [<node network>]`: client NetworkPolicies must admit the nodes, since no pod selector matches host-network Traefik"),
                    &format!("{at}/ingress"),
                );
            }
            for (j, cidr) in zone.node_cidrs.iter().enumerate() {
                self.cidr(cidr, &format!("{at}/nodeCidrs/{j}"));
            }
            self.zone_runtime(zone, &at);
        }
    }

    /// Parses a CIDR, reporting it when it is not one.
    fn cidr(&mut self, cidr: &str, pointer: &str) -> Option<Network> {
        let network = Network::parse(cidr);
        if network.is_none() {
            self.report_value(
                Diagnostic::error("invalid-cidr", format!("`{cidr}` is not a CIDR network"))
                    .hint("write a network such as `10.20.0.0/16` or `fd00::/8`"),
                pointer,
            );
        }
        network
    }

    /// The landing page runs in every zone, so when the path ends in production its image is
    /// a production image and must be pinned like one; in any zone it may not float on
    /// `latest`.
    fn landing_page(&mut self, page: &raw::LandingPage, zones: Option<&[raw::Zone]>) {
        let p = "/spec/platform/landingPage/image";
        if page.image.contains("@sha256:") {
            return;
        }
        let name = page.image.rsplit('/').next().unwrap_or_default();
        let tag = name.split_once(':').map(|(_, t)| t);
        let production = zones
            .filter(|zs| zs.len() > 1)
            .and_then(|zs| zs.last())
            .map(|z| z.name.as_str());
        let repository = match tag {
            Some(t) => page
                .image
                .strip_suffix(&format!(":{t}"))
                .unwrap_or(&page.image),
            None => page.image.as_str(),
        };
        if let Some(production) = production {
            self.report_value(
                Diagnostic::error(
                    "landing-page-without-digest",
                    format!(
                        "the landing page runs in every zone, `{production}` included, but its image `{}` has no digest",
                        page.image
                    ),
                )
                .hint(format!(
                    "pin it: `{repository}:{}@sha256:<digest>` (e.g. from `crane digest {repository}:{}`); production images are never moved by a tag",
                    tag.filter(|t| *t != "latest").unwrap_or("<version>"),
                    tag.filter(|t| *t != "latest").unwrap_or("<version>"),
                )),
                p,
            );
        } else if tag.is_none_or(|t| t == "latest") {
            self.report_value(
                Diagnostic::error(
                    "landing-page-latest",
                    match tag {
                        Some(_) => format!("the landing page image `{}` runs the tag `latest`", page.image),
                        None => format!("the landing page image `{}` has no tag, so it runs whatever `latest` is", page.image),
                    },
                )
                .hint(format!(
                    "name an immutable version: `{repository}:1.2.3`, or better a digest `{repository}@sha256:<digest>`"
                )),
                p,
            );
        }
    }

    fn clients(
        &mut self,
        clients: &[(usize, raw::Client)],
        platform: Option<&raw::Platform>,
        zones: Option<&[raw::Zone]>,
    ) {
        let zone_names: Option<Vec<&str>> =
            zones.map(|zs| zs.iter().map(|z| z.name.as_str()).collect());
        let production = zone_names.as_ref().and_then(|zs| {
            if zs.len() > 1 {
                zs.last().copied()
            } else {
                None
            }
        });
        // The domain alone decides default hosts, even when other platform fields are wrong.
        let domain = match self.doc.value.pointer("/spec/platform/domain") {
            Some(Value::String(d)) if !self.broken.contains("/spec/platform/domain") => {
                Some(normalize_host(d))
            }
            _ => None,
        };
        let vault_prefix = self.vault_prefix();
        let cx = Context {
            zones: zone_names,
            production,
            domain,
            vault_prefix,
            platform,
        };
        let mut claims = hosts::Claims::default();
        self.platform_hosts(&cx, &mut claims);
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut ports = workloads::PublicPorts::default();
        for (i, client) in clients {
            let at = format!("/spec/clients/{i}");
            if let Some(first) = names.insert(&client.name, *i) {
                let line = self.line_of(&format!("/spec/clients/{first}/name"));
                self.report_value(
                    Diagnostic::error(
                        "duplicate-client",
                        format!("client `{}` is defined twice", client.name),
                    )
                    .hint(format!(
                        "the first definition is at line {line}; merge them or rename one"
                    )),
                    &format!("{at}/name"),
                );
            }
            self.client_names(client, &at, &cx);
            self.scaling(client, &at, cx.zones.as_deref());
            self.capacity(client, &at);
            self.hosts(client, &at, &cx, &mut claims);
            self.versions(client, &at, &cx);
            self.config(client, &at);
            self.secrets(client, &at, &cx);
            self.egress(client, &at);
            self.middlewares(client, &at, &cx);
            self.workloads(client, &at, &cx, zones, &mut ports);
        }
    }

    fn versions(&mut self, client: &raw::Client, at: &str, cx: &Context) {
        for (zone, version) in &client.versions {
            // Written out only for a report: most versions are fine.
            let p = || format!("{at}/versions/{}", escape_segment(zone));
            if let Some(zs) = cx
                .zones
                .as_deref()
                .filter(|zs| !zs.contains(&zone.as_str()))
            {
                self.report(
                    Diagnostic::error("version-zone-unknown", format!("`{zone}` is not a zone"))
                        .hint(format!("use one of the zones: {}", zs.join(", "))),
                    &p(),
                );
                continue;
            }
            let tag = version.split('@').next().unwrap_or_default();
            if tag == "latest" {
                self.report_value(
                    Diagnostic::error("version-latest", format!("`{zone}` runs the tag `latest`"))
                        .hint("use an immutable version such as `1.2.3`; `latest` changes under a running cluster"),
                    &p(),
                );
            } else if cx.production == Some(zone.as_str()) && !version.contains("sha256:") {
                self.report_value(
                    Diagnostic::error("production-without-digest", format!("production version `{version}` has no digest"))
                        .hint(format!("pin it: `{version}@sha256:<digest>` (e.g. from `crane digest {}:{version}`)", client.image)),
                    &p(),
                );
            }
        }
    }
}
