//! lint: the rules a JSON Schema cannot express (SPEC §9). They run on every part of the
//! catalog that passed the schema, so one run reports schema errors and lint errors together.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::OnceLock;

use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::catalog::{self as raw, Hosting, IngressMode, Middleware};
use crate::diagnostics::Diagnostic;
use crate::model::{self, Scaling, namespace_of, normalize_host};
use crate::patterns;
use crate::source::Source;
use crate::yaml::{Document, escape_segment, field_name};

/// Runs every lint. `broken` holds the pointers of values the schema rejected; the parts
/// under them are skipped so one mistake is reported once.
pub fn check(doc: &Document, source: &Source, broken: &BTreeSet<String>) -> Vec<Diagnostic> {
    let mut lint = Lint {
        doc,
        source,
        broken,
        out: Vec::new(),
    };
    let platform: Option<raw::Platform> = lint.part("/spec/platform");
    let zones: Option<Vec<raw::Zone>> = match doc.value.pointer("/spec/zones") {
        None | Some(Value::Null) => Some(raw::default_zones()),
        Some(_) => lint.part("/spec/zones"),
    };
    let clients: Vec<(usize, raw::Client)> = match doc.value.pointer("/spec/clients") {
        Some(Value::Array(items)) => (0..items.len())
            .filter_map(|i| lint.part(&format!("/spec/clients/{i}")).map(|c| (i, c)))
            .collect(),
        _ => Vec::new(),
    };
    if let Some(zones) = &zones {
        lint.zones(zones);
    }
    lint.clients(&clients, platform.as_ref(), zones.as_deref());
    lint.out
}

struct Lint<'a> {
    doc: &'a Document,
    source: &'a Source,
    broken: &'a BTreeSet<String>,
    out: Vec<Diagnostic>,
}

impl Lint<'_> {
    /// Deserializes the value at `pointer` unless the schema rejected anything in it.
    fn part<T: DeserializeOwned>(&self, pointer: &str) -> Option<T> {
        let prefix = format!("{pointer}/");
        if self
            .broken
            .iter()
            .any(|b| b == pointer || b.starts_with(&prefix))
        {
            return None;
        }
        serde_json::from_value(self.doc.value.pointer(pointer)?.clone()).ok()
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
        }
    }

    fn cidr(&mut self, cidr: &str, pointer: &str) {
        let valid = cidr.split_once('/').is_some_and(|(ip, bits)| {
            match (ip.parse::<IpAddr>(), bits.parse::<u8>()) {
                (Ok(IpAddr::V4(_)), Ok(b)) => b <= 32,
                (Ok(IpAddr::V6(_)), Ok(b)) => b <= 128,
                _ => false,
            }
        });
        if !valid {
            self.report_value(
                Diagnostic::error("invalid-cidr", format!("`{cidr}` is not a CIDR network"))
                    .hint("write a network such as `10.20.0.0/16` or `fd00::/8`"),
                pointer,
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
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        // Normalised host -> (client name, pointer of the claim).
        let mut hosts: BTreeMap<String, (String, String)> = BTreeMap::new();
        // The domain alone decides default hosts, even when other platform fields are wrong.
        let domain = match self.doc.value.pointer("/spec/platform/domain") {
            Some(Value::String(d)) if !self.broken.contains("/spec/platform/domain") => {
                Some(normalize_host(d))
            }
            _ => None,
        };
        if let (Some(d), Some(Value::Object(_))) = (
            &domain,
            self.doc.value.pointer("/spec/platform/landingPage"),
        ) {
            hosts.insert(
                d.clone(),
                (
                    "the landing page".into(),
                    "/spec/platform/landingPage".into(),
                ),
            );
        }
        for (i, client) in clients {
            let at = format!("/spec/clients/{i}");
            if let Some(first) = names.insert(&client.name, *i) {
                let line = self
                    .doc
                    .map
                    .locate(&format!("/spec/clients/{first}/name"))
                    .map_or(0, |p| p.line);
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
            let namespace = namespace_of(client.hosting, &client.name);
            if namespace.len() > 63 {
                self.report_value(
                    Diagnostic::error("namespace-too-long", format!("namespace `{namespace}` is {} characters, more than the 63 Kubernetes allows", namespace.len()))
                        .hint(format!("shorten the client name to at most {} characters", 63 - (namespace.len() - client.name.len()))),
                    &format!("{at}/name"),
                );
            }
            self.tiers(client, &at, zone_names.as_deref());
            self.hosts(client, &at, domain.as_deref(), &mut hosts);
            self.versions(client, &at, zone_names.as_deref(), production);
            self.config(client, &at);
            self.secrets_and_middlewares(client, &at, platform);
            for (j, e) in client.egress.iter().enumerate() {
                let p = format!("{at}/egress/{j}/cidr");
                self.cidr(&e.cidr, &p);
                if e.cidr == "0.0.0.0/0" || e.cidr == "::/0" {
                    self.report_value(
                        Diagnostic::warning("egress-everywhere", format!("egress to `{}` lets `{}` reach every other tenant and the cloud metadata service", e.cidr, client.name))
                            .hint("list the networks the client really needs, such as the database subnet"),
                        &p,
                    );
                }
            }
        }
    }

    fn tiers(&mut self, client: &raw::Client, at: &str, zones: Option<&[&str]>) {
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
            let p = format!("{at}/overrides/{}", escape_segment(zone));
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
        // Check each zone the client runs in, plus its base settings.
        let mut checked = BTreeSet::new();
        for zone in client.versions.keys().chain(client.overrides.keys()) {
            let Some((_, _, _, scaling, _)) = model::resolve_zone(client, zone) else {
                continue;
            };
            if !checked.insert(format!("{scaling:?}")) {
                continue;
            }
            let Scaling::Autoscaled { min, max, .. } = scaling else {
                continue;
            };
            let where_ = if client
                .overrides
                .get(zone)
                .is_some_and(|o| o.autoscaling.is_some())
            {
                format!("{at}/overrides/{}/autoscaling", escape_segment(zone))
            } else if client.autoscaling.is_some() {
                format!("{at}/autoscaling")
            } else {
                format!("{at}/replicas")
            };
            if min > max {
                self.report_value(
                    Diagnostic::error(
                        "autoscaling-min-above-max",
                        format!("autoscaling minimum {min} is above the maximum {max}"),
                    )
                    .hint("make `min` at most `max`"),
                    &format!("{where_}/min"),
                );
            } else if min < 2 {
                self.report_value(
                    Diagnostic::error("pdb-blocks-drain", format!("dedicated client `{}` would run {min} replica(s) at the floor, so its PodDisruptionBudget would block every node drain", client.name))
                        .hint("keep the replica floor at 2 or more for dedicated clients (the budget allows one pod fewer than the floor)"),
                    &format!("{where_}/min"),
                );
            }
        }
    }

    fn hosts(
        &mut self,
        client: &raw::Client,
        at: &str,
        domain: Option<&str>,
        claimed: &mut BTreeMap<String, (String, String)>,
    ) {
        let written: Vec<(String, String)> = if client.hosts.is_empty() {
            match domain {
                Some(d) => vec![(format!("{}.{d}", client.name), format!("{at}/name"))],
                None => Vec::new(),
            }
        } else {
            client
                .hosts
                .iter()
                .enumerate()
                .map(|(j, h)| (normalize_host(h), format!("{at}/hosts/{j}")))
                .collect()
        };
        for (host, pointer) in written {
            let conflict = claimed
                .iter()
                .find(|(other, _)| host == **other || covers(other, &host) || covers(&host, other));
            if let Some((other, (owner, first))) = conflict {
                let line = self.doc.map.locate(first).map_or(0, |p| p.line);
                let how = if *other == host {
                    "also claimed".to_string()
                } else {
                    format!("overlaps `{other}`, claimed")
                };
                let owner = if *owner == client.name {
                    "this client".to_string()
                } else {
                    format!("`{owner}`")
                };
                self.report_value(
                    Diagnostic::error(
                        "duplicate-host",
                        format!("host `{host}` {how} by {owner} at line {line}"),
                    )
                    .hint("each host routes to exactly one client; remove it from one of them"),
                    &pointer,
                );
            } else {
                claimed.insert(host, (client.name.clone(), pointer));
            }
        }
    }

    fn versions(
        &mut self,
        client: &raw::Client,
        at: &str,
        zones: Option<&[&str]>,
        production: Option<&str>,
    ) {
        for (zone, version) in &client.versions {
            let p = format!("{at}/versions/{}", escape_segment(zone));
            if let Some(zs) = zones.filter(|zs| !zs.contains(&zone.as_str())) {
                self.report(
                    Diagnostic::error("version-zone-unknown", format!("`{zone}` is not a zone"))
                        .hint(format!("use one of the zones: {}", zs.join(", "))),
                    &p,
                );
                continue;
            }
            let tag = version.split('@').next().unwrap_or_default();
            if tag == "latest" {
                self.report_value(
                    Diagnostic::error("version-latest", format!("`{zone}` runs the tag `latest`"))
                        .hint("use an immutable version such as `1.2.3`; `latest` changes under a running cluster"),
                    &p,
                );
            } else if production == Some(zone.as_str()) && !version.contains("sha256:") {
                self.report_value(
                    Diagnostic::error("production-without-digest", format!("production version `{version}` has no digest"))
                        .hint(format!("pin it: `{version}@sha256:<digest>` (e.g. from `crane digest {}:{version}`)", client.image)),
                    &p,
                );
            }
        }
    }

    fn config(&mut self, client: &raw::Client, at: &str) {
        static KEY: OnceLock<Option<Regex>> = OnceLock::new();
        static SECRET_KEY: OnceLock<Option<Regex>> = OnceLock::new();
        let key_re = KEY.get_or_init(|| Regex::new(patterns::CONFIG_KEY).ok());
        let secret_key = SECRET_KEY.get_or_init(|| Regex::new(r"(?i)(passw(or)?d|secret|token|api[-_.]?key|private[-_.]?key|credential|access[-_.]?key|auth[-_.]?key|client[-_.]?secret)").ok());
        for (key, value) in &client.config {
            let p = format!("{at}/config/{}", escape_segment(key));
            if key.len() > 253 || !key_re.as_ref().is_some_and(|r| r.is_match(key)) {
                self.report(
                    Diagnostic::error(
                        "config-key-invalid",
                        format!("config key `{key}` cannot be a ConfigMap key"),
                    )
                    .hint("use letters, digits, `-`, `_` and `.` only (at most 253 characters)"),
                    &p,
                );
            } else if secret_key.as_ref().is_some_and(|r| r.is_match(key)) {
                self.report(
                    Diagnostic::error("config-secret", format!("config key `{key}` looks like a secret; ConfigMaps are readable by anyone who can read the namespace"))
                        .hint("store it in Vault and reference it under `secrets:` instead"),
                    &p,
                );
            } else if credential_pattern(value).is_some() {
                self.report_value(
                    Diagnostic::error("config-secret", format!("the value of config key `{key}` looks like a credential"))
                        .hint("store it in Vault and reference it under `secrets:` instead; never commit credentials"),
                    &p,
                );
            }
        }
    }

    fn secrets_and_middlewares(
        &mut self,
        client: &raw::Client,
        at: &str,
        platform: Option<&raw::Platform>,
    ) {
        let mut names = BTreeSet::new();
        let mut mounts = BTreeSet::new();
        for (j, s) in client.secrets.iter().enumerate() {
            let p = format!("{at}/secrets/{j}");
            if s.name == "web-config" || !names.insert(s.name.as_str()) {
                self.report_value(
                    Diagnostic::error(
                        "duplicate-secret",
                        format!(
                            "secret name `{}` is used twice or clashes with a generated object",
                            s.name
                        ),
                    )
                    .hint("give every secret reference its own name"),
                    &format!("{p}/name"),
                );
            }
            let mount = s.mount_path.trim_end_matches('/');
            if mount == "/tmp" || !mounts.insert(mount.to_owned()) {
                self.report_value(
                    Diagnostic::error(
                        "duplicate-mount",
                        format!(
                            "mount path `{}` is used twice or clashes with the writable /tmp",
                            s.mount_path
                        ),
                    )
                    .hint("mount each secret at its own directory, outside /tmp"),
                    &format!("{p}/mountPath"),
                );
            }
        }
        for (j, m) in client.middlewares.iter().enumerate() {
            let p = format!("{at}/middlewares/{j}");
            if *m == Middleware::BasicAuth && !names.contains("basic-auth") {
                self.report_value(
                    Diagnostic::error("basic-auth-without-secret", "the `basic-auth` middleware needs a secret reference named `basic-auth`")
                        .hint("add `{name: basic-auth, vaultPath: <path holding `users`>, mountPath: /var/run/secrets/basic-auth}` to `secrets`"),
                    &p,
                );
            }
            let has_address = platform.is_some_and(|p| {
                p.middlewares
                    .as_ref()
                    .is_some_and(|m| m.forward_auth_address.is_some())
            });
            if *m == Middleware::ForwardAuth && platform.is_some() && !has_address {
                self.report_value(
                    Diagnostic::error("forward-auth-without-address", "the `forward-auth` middleware needs `platform.middlewares.forwardAuthAddress`")
                        .hint("set it to the auth URL of the OAuth proxy, e.g. `http://oauth2-proxy.ge-system.svc.cluster.local/oauth2/auth`"),
                    &p,
                );
            }
        }
    }
}

/// What kind of credential `text` contains, if it looks like it holds one: private keys,
/// cloud and forge tokens, JWTs, passwords in URLs.
pub fn credential_pattern(text: &str) -> Option<&'static str> {
    static PATTERNS: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
            ("an AWS access key", r"\bAKIA[0-9A-Z]{16}\b"),
            ("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
            ("a Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
            ("a Stripe live key", r"\bsk_live_[A-Za-z0-9]{16,}"),
            (
                "a JSON web token",
                r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.",
            ),
            ("a password in a URL", r"://[^/\s:@]+:[^/\s@]+@"),
        ]
        .into_iter()
        .filter_map(|(what, re)| Regex::new(re).ok().map(|r| (what, r)))
        .collect()
    });
    patterns
        .iter()
        .find(|(_, r)| r.is_match(text))
        .map(|(what, _)| *what)
}

/// Whether wildcard `pattern` (`*.example.com`) matches `host` (one label, as Ingress does).
fn covers(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| rest == suffix && !label.is_empty() && label != "*"),
        None => false,
    }
}

fn hosting_name(h: Hosting) -> &'static str {
    match h {
        Hosting::Shared => "shared",
        Hosting::Dedicated => "dedicated",
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wildcards_cover_exactly_one_label() {
        assert!(covers("*.example.com", "shop.example.com"));
        assert!(!covers("*.example.com", "a.shop.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("shop.example.com", "shop.example.com"));
    }
}
