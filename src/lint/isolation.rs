//! isolation: what keeps one tenant out of another's way and out of the platform's. A
//! client's secrets come from its own Vault prefix (every client reads Vault through one
//! shared ClusterSecretStore); its egress does not reach link-local addresses, where clouds
//! hand out node credentials, unless an entry says so; its secret mounts do not cover the
//! container's system directories, its service-account token, its scratch `/tmp` or each
//! other; and its middlewares have what they need.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::Value;

use super::{Context, Lint};
use crate::catalog::{self as raw, Middleware};
use crate::diagnostics::Diagnostic;

/// Directories a secret mount may not be or contain, and whether it may not lie inside them
/// either. The image's system directories may hold a mount below them (`/etc/app`), but
/// the kubelet's service-account token, the kernel filesystems and the pod's scratch `/tmp`
/// may not. `/var/run` is a link to `/run` in most images, so both spellings count.
const PROTECTED: [(&str, &str, bool); 16] = [
    ("/bin", "the image's programs", false),
    ("/boot", "the image's boot files", false),
    ("/etc", "the image's configuration", false),
    ("/lib", "the image's libraries", false),
    ("/lib32", "the image's libraries", false),
    ("/lib64", "the image's libraries", false),
    ("/root", "the root user's home", false),
    ("/sbin", "the image's programs", false),
    ("/usr", "the image's programs and libraries", false),
    ("/var/lib", "the image's state", false),
    ("/proc", "a kernel filesystem", true),
    ("/sys", "a kernel filesystem", true),
    ("/dev", "the container's devices", true),
    ("/tmp", "the pod's writable scratch volume", true),
    (
        "/var/run/secrets/kubernetes.io",
        "the service-account token directory",
        true,
    ),
    (
        "/run/secrets/kubernetes.io",
        "the service-account token directory",
        true,
    ),
];

/// The link-local ranges, as shown in messages, and what is there: 169.254.169.254 serves
/// cloud instance metadata (and node credentials); fe80::/10 reaches the node and its
/// neighbours directly. An IPv4-mapped IPv6 network is the IPv4 range in disguise.
const LINK_LOCAL: [(&str, &str, &str); 3] = [
    (
        "169.254.0.0/16",
        "169.254.0.0/16",
        "where the cloud metadata service (169.254.169.254) hands out node credentials",
    ),
    (
        "::ffff:169.254.0.0/112",
        "169.254.0.0/16",
        "where the cloud metadata service (169.254.169.254) hands out node credentials",
    ),
    (
        "fe80::/10",
        "fe80::/10",
        "which reaches the node and its neighbours directly, past the cluster network",
    ),
];

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Network {
    addr: IpAddr,
    bits: u8,
}

impl Network {
    pub(crate) fn parse(cidr: &str) -> Option<Network> {
        let (ip, bits) = cidr.split_once('/')?;
        let addr: IpAddr = ip.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Network { addr, bits })
    }

    /// Whether the two networks share an address (one contains the other).
    fn overlaps(self, other: Network) -> bool {
        let bits = u32::from(self.bits.min(other.bits));
        match (self.addr, other.addr) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                prefix(u128::from(u32::from(a)) << 96, bits)
                    == prefix(u128::from(u32::from(b)) << 96, bits)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                prefix(u128::from(a), bits) == prefix(u128::from(b), bits)
            }
            _ => false,
        }
    }
}

/// The first `bits` bits of a 128-bit address (IPv4 shifted to the top).
fn prefix(addr: u128, bits: u32) -> u128 {
    if bits == 0 { 0 } else { addr >> (128 - bits) }
}

/// A mount path split into its segments, `//` and `.` dropped; `None` with a `..` segment.
pub(super) fn mount_segments(path: &str) -> Option<Vec<&str>> {
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    (!segments.contains(&"..")).then_some(segments)
}

/// Whether `dir` is `path` or one of its ancestors (both canonical, `/`-rooted).
pub(super) fn at_or_above(dir: &str, path: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The protected directory a mount at `path` (canonical, `/`-rooted) would hide or lie in,
/// and what it holds.
pub(super) fn protected_dir(path: &str) -> Option<(&'static str, &'static str)> {
    PROTECTED
        .iter()
        .find(|(dir, _, no_inside)| {
            at_or_above(path, dir) || (*no_inside && at_or_above(dir, path))
        })
        .map(|(dir, why, _)| (*dir, *why))
}

impl Lint<'_> {
    /// `platform.vaultPathPrefix` with `{client}` unexpanded, unless the schema refused it.
    pub(super) fn vault_prefix(&mut self) -> Option<String> {
        let p = "/spec/platform/vaultPathPrefix";
        let platform_is_mapping = self
            .doc
            .value
            .pointer("/spec/platform")
            .is_some_and(Value::is_object);
        if self.is_broken(p) || !platform_is_mapping {
            return None;
        }
        let prefix = match self.doc.value.pointer(p) {
            None => return Some("secret/data/{client}/".to_owned()),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return None,
        };
        if prefix.split('/').any(|s| s == "." || s == "..") {
            self.report_value(
                Diagnostic::error(
                    "vault-path-traversal",
                    format!("the Vault path prefix `{prefix}` has a `.` or `..` segment"),
                )
                .hint("write the prefix as plain segments, e.g. `secret/data/{client}/`"),
                p,
            );
            return None;
        }
        if !prefix.contains("{client}") {
            self.report_value(
                Diagnostic::error("vault-prefix-shared", format!("the Vault path prefix `{prefix}` does not contain `{{client}}`, so every client could read every other client's secrets"))
                    .hint("put the client's name in the prefix, e.g. `secret/data/{client}/` or `tenants/{client}/`"),
                p,
            );
            return None;
        }
        Some(prefix)
    }

    pub(super) fn secrets(&mut self, client: &raw::Client, at: &str, cx: &Context) {
        let own = cx
            .vault_prefix
            .as_ref()
            .map(|p| p.replace("{client}", &client.name));
        let mut names = BTreeSet::new();
        // Canonical mount path -> secret, to find one mount inside another.
        let mut mounts: BTreeMap<String, String> = BTreeMap::new();
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
            self.vault_path(client, s, &p, own.as_deref());
            self.mount_path(s, &p, &mut mounts);
        }
    }

    fn vault_path(&mut self, client: &raw::Client, s: &raw::SecretRef, p: &str, own: Option<&str>) {
        let path = &s.vault_path;
        let pointer = || [p, "/vaultPath"].concat();
        if path.split('/').any(|seg| seg == "." || seg == "..") {
            self.report_value(
                Diagnostic::error(
                    "vault-path-traversal",
                    format!("Vault path `{path}` has a `.` or `..` segment"),
                )
                .hint(format!(
                    "write the path without `.`, `..` or `//`, under `{}`",
                    own.unwrap_or("the client's own prefix")
                )),
                &pointer(),
            );
            return;
        }
        let Some(own) = own else {
            return;
        };
        if !path.starts_with(own) {
            self.report_value(
                Diagnostic::error(
                    "vault-path-outside-prefix",
                    format!(
                        "secret `{}` reads `{path}`, outside `{own}`, the Vault prefix of `{}`",
                        s.name, client.name
                    ),
                )
                .hint(format!(
                    "keep the client's secrets under `{own}`: every client reads Vault through the one shared ClusterSecretStore, so the prefix (`platform.vaultPathPrefix`) is what keeps tenants apart"
                )),
                &pointer(),
            );
        }
    }

    fn mount_path(&mut self, s: &raw::SecretRef, p: &str, mounts: &mut BTreeMap<String, String>) {
        let pointer = || [p, "/mountPath"].concat();
        let written = &s.mount_path;
        let Some(segments) = mount_segments(written) else {
            self.report_value(
                Diagnostic::error(
                    "mount-path-invalid",
                    format!("mount path `{written}` has a `..` segment"),
                )
                .hint("write the directory as an absolute path without `..`, such as `/var/run/secrets/db`"),
                &pointer(),
            );
            return;
        };
        let path = format!("/{}", segments.join("/"));
        let mount_hint =
            "mount each secret in a directory of its own, such as `/var/run/secrets/<name>`";
        let shadowed = PROTECTED.iter().find(|(dir, _, _)| at_or_above(&path, dir));
        let inside = || {
            PROTECTED
                .iter()
                .find(|(dir, _, no_inside)| *no_inside && at_or_above(dir, &path))
        };
        if let Some((dir, why, _)) = shadowed {
            let message = if path == "/" {
                format!(
                    "mount path `{written}` would hide the container's whole filesystem behind the secret's files"
                )
            } else {
                format!("mount path `{written}` would hide {why} `{dir}` behind the secret's files")
            };
            self.report_value(
                Diagnostic::error("mount-shadows-system", message).hint(mount_hint),
                &pointer(),
            );
            return;
        }
        if let Some((dir, why, _)) = inside() {
            self.report_value(
                Diagnostic::error(
                    "mount-shadows-system",
                    format!("mount path `{written}` lies inside `{dir}`, {why}"),
                )
                .hint(mount_hint),
                &pointer(),
            );
            return;
        }
        // Another mount at, above or below this one: one would hide the other's files.
        let above = segments
            .iter()
            .scan(String::new(), |acc, seg| {
                acc.push('/');
                acc.push_str(seg);
                Some(acc.clone())
            })
            .find_map(|a| mounts.get_key_value(&a));
        let below = || {
            let child = format!("{path}/");
            mounts
                .range(child.clone()..)
                .next()
                .filter(|(m, _)| m.starts_with(&child))
        };
        if let Some((other, owner)) = above.or_else(below) {
            let d = if *other == path {
                Diagnostic::error(
                    "duplicate-mount",
                    format!("mount path `{written}` is already the mount of secret `{owner}`"),
                )
            } else if other.len() < path.len() {
                Diagnostic::error(
                    "mount-nested",
                    format!(
                        "mount path `{written}` lies inside `{other}`, the mount of secret `{owner}`: one would hide the other's files"
                    ),
                )
            } else {
                Diagnostic::error(
                    "mount-nested",
                    format!(
                        "mount path `{written}` contains `{other}`, the mount of secret `{owner}`: one would hide the other's files"
                    ),
                )
            };
            self.report_value(d.hint(mount_hint), &pointer());
            return;
        }
        mounts.insert(path, s.name.clone());
    }

    pub(super) fn egress(&mut self, client: &raw::Client, at: &str) {
        if client.egress.is_empty() {
            return;
        }
        let link_local: Vec<(Network, &str, &str)> = LINK_LOCAL
            .iter()
            .filter_map(|(cidr, shown, why)| Network::parse(cidr).map(|n| (n, *shown, *why)))
            .collect();
        for (j, e) in client.egress.iter().enumerate() {
            let entry = format!("{at}/egress/{j}");
            let p = format!("{entry}/cidr");
            let network = self.cidr(&e.cidr, &p);
            // Only an entry without ports can have written `ports: []`.
            if e.ports.is_empty()
                && matches!(self.doc.value.pointer(&format!("{entry}/ports")), Some(Value::Array(a)) if a.is_empty())
            {
                self.report_value(
                    Diagnostic::error(
                        "egress-ports-empty",
                        "`ports: []` lists no port, but a NetworkPolicy rule without ports allows every port",
                    )
                    .hint("list the ports the client needs, e.g. `ports: [5432]`; to allow every port on purpose, leave `ports` out"),
                    &format!("{entry}/ports"),
                );
            }
            if e.cidr == "0.0.0.0/0" || e.cidr == "::/0" {
                self.report_value(
                    Diagnostic::warning("egress-everywhere", format!("egress to `{}` lets `{}` reach every other tenant and the cloud metadata service", e.cidr, client.name))
                        .hint("list the networks the client really needs, such as the database subnet"),
                    &p,
                );
            }
            let Some(network) = network else {
                continue;
            };
            if e.allow_link_local {
                continue;
            }
            if let Some((_, range, why)) = link_local.iter().find(|(n, _, _)| n.overlaps(network)) {
                self.report_value(
                    Diagnostic::error(
                        "egress-link-local",
                        format!("egress to `{}` reaches the link-local range {range}, {why}", e.cidr),
                    )
                    .hint("narrow the network to what the client needs; if it must reach link-local addresses, add `allowLinkLocal: true` to this entry"),
                    &p,
                );
            }
        }
    }

    pub(super) fn middlewares(&mut self, client: &raw::Client, at: &str, cx: &Context) {
        let has_basic_auth_secret = client.secrets.iter().any(|s| s.name == "basic-auth");
        for (j, m) in client.middlewares.iter().enumerate() {
            // Written out only for a report.
            let p = || format!("{at}/middlewares/{j}");
            if *m == Middleware::BasicAuth && !has_basic_auth_secret {
                self.report_value(
                    Diagnostic::error("basic-auth-without-secret", "the `basic-auth` middleware needs a secret reference named `basic-auth`")
                        .hint("add `{name: basic-auth, vaultPath: <path holding `users`>, mountPath: /var/run/secrets/basic-auth}` to `secrets`"),
                    &p(),
                );
            }
            let has_address = cx.platform.is_some_and(|p| {
                p.middlewares
                    .as_ref()
                    .is_some_and(|m| m.forward_auth_address.is_some())
            });
            if *m == Middleware::ForwardAuth && cx.platform.is_some() && !has_address {
                self.report_value(
                    Diagnostic::error("forward-auth-without-address", "the `forward-auth` middleware needs `platform.middlewares.forwardAuthAddress`")
                        .hint("set it to the auth URL of the OAuth proxy, e.g. `http://oauth2-proxy.ge-system.svc.cluster.local/oauth2/auth`"),
                    &p(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Network, at_or_above, mount_segments};

    fn net(s: &str) -> Network {
        Network::parse(s).expect(s)
    }

    #[test]
    fn networks_overlap_when_one_contains_the_other() {
        let ll = net("169.254.0.0/16");
        assert!(net("0.0.0.0/0").overlaps(ll));
        assert!(net("169.254.169.254/32").overlaps(ll));
        assert!(net("128.0.0.0/1").overlaps(ll));
        assert!(!net("10.0.0.0/8").overlaps(ll));
        assert!(!net("169.255.0.0/16").overlaps(ll));
        assert!(net("::/0").overlaps(net("fe80::/10")));
        assert!(!net("fd00::/8").overlaps(net("fe80::/10")));
        assert!(!net("::/0").overlaps(ll), "families never overlap");
    }

    #[test]
    fn mount_paths_compare_by_segment() {
        assert_eq!(mount_segments("//etc/./ssl/"), Some(vec!["etc", "ssl"]));
        assert_eq!(mount_segments("/a/../etc"), None);
        assert!(at_or_above("/", "/etc"));
        assert!(at_or_above("/var", "/var/run/secrets/kubernetes.io"));
        assert!(!at_or_above(
            "/var/run/secrets/db",
            "/var/run/secrets/kubernetes.io"
        ));
        assert!(!at_or_above("/etcd", "/etc"));
        assert!(!at_or_above("/et", "/etc"));
    }
}
