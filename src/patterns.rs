//! patterns: the regular expressions shared by the JSON Schema and the lints, written once.

/// RFC 1123 label: namespaces, object names, zone names.
pub const DNS_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A DNS name (no wildcard): the platform domain.
pub const DNS_NAME: &str = r"^([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.?$";
/// A host an Ingress can route: a DNS name, optionally a leading `*.` wildcard.
pub const HOST: &str = r"^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.?$";
/// An image repository without tag or digest (`registry:5000/team/app`).
pub const IMAGE_REPOSITORY: &str = r"^([a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$";
/// A full image reference with a tag, a digest or both (the landing page).
pub const IMAGE_REFERENCE: &str = r"^([a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$";
/// `tag`, `tag@sha256:<hex>` or `sha256:<hex>`.
pub const VERSION: &str =
    r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?|sha256:[a-f0-9]{64})$";
/// An IPv4 or IPv6 CIDR; the lints parse IPv6 properly.
pub const CIDR: &str = r"^(((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$";
/// An absolute URL path.
pub const HTTP_PATH: &str = r"^/[^\s?#]*$";
/// An absolute file path inside a container.
pub const MOUNT_PATH: &str = r"^/[^\s:]*$";
/// A Vault KV path.
pub const VAULT_PATH: &str = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$";
/// A Vault path prefix ending in `/`, where `{client}` stands for a client's name.
pub const VAULT_PATH_PREFIX: &str =
    r"^([A-Za-z0-9_.-]|\{client\})+(/([A-Za-z0-9_.-]|\{client\})+)*/$";
/// A Flux/Go duration (`1m`, `30s`, `1h30m`).
pub const DURATION: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
/// A Kubernetes minor version (`1.34`).
pub const KUBE_VERSION: &str = r"^1\.[0-9]{2}$";
/// A Kubernetes resource quantity (`500m`, `4Gi`).
pub const QUANTITY: &str = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$";
/// A Git URL Flux can clone.
pub const GIT_URL: &str = r"^(https?|ssh)://[^\s]+$";
/// An http(s) URL.
pub const HTTP_URL: &str = r"^https?://[^\s]+$";
/// A key a ConfigMap can hold.
pub const CONFIG_KEY: &str = r"^[-._a-zA-Z0-9]+$";
/// A five-field cron schedule; `H` (a stable per-client value) only as the minute or hour.
pub const CRON_SCHEDULE: &str =
    r"^(H|[0-9*,/-]+) (H|[0-9*,/-]+) [0-9*,/-]+ [0-9*,/A-Za-z-]+ [0-9*,/A-Za-z-]+$";
