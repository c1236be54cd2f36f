//! Traefik's HTTP middlewares (traefik.io/v1alpha1 Middleware).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

top_level_kind!(
    /// Traefik HTTP Middleware; exactly one member of the spec should be set.
    Middleware,
    MiddlewareSpec,
    "traefik.io/v1alpha1",
    "Middleware"
);

/// The middleware variants tenantgen uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MiddlewareSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Traefik v3 name; the v2 `ipWhiteList` is deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_allow_list: Option<IpAllowList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_auth: Option<ForwardAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Errors>,
}

/// How Traefik finds the visitor's address: by default the connection's peer; behind a
/// proxy, an entry of `X-Forwarded-For` counted from the right.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpStrategy {
    pub depth: i64,
}

/// What the rate limit counts requests by.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceCriterion {
    pub ip_strategy: IpStrategy,
}

/// Replaces an error response with a page from a Service in the Middleware's namespace.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Errors {
    /// Status codes or ranges (`401`, `500-599`).
    pub status: Vec<String>,
    pub service: ErrorsService,
    /// Path of the page; `{url}` is the escaped request URL.
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorsService {
    pub name: String,
    pub port: i64,
}

/// Security and custom headers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Headers {
    /// Header name to value; an empty value removes the header.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_request_headers: BTreeMap<String, String>,
    /// Header name to value; an empty value removes the header.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_response_headers: BTreeMap<String, String>,
    /// HSTS max-age; HSTS is only sent on HTTPS unless `force_sts_header` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts_include_subdomains: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts_preload: Option<bool>,
    /// Sends HSTS even on plain HTTP, for TLS terminated before Traefik.
    #[serde(rename = "forceSTSHeader", skip_serializing_if = "Option::is_none")]
    pub force_sts_header: Option<bool>,
    /// Sends `X-Frame-Options: DENY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_deny: Option<bool>,
    /// Overrides the `X-Frame-Options` value (e.g. `SAMEORIGIN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_frame_options_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type_nosniff: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_xss_filter: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_security_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_policy: Option<String>,
}

/// Token-bucket rate limit per client IP.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests allowed per `period`; 0 disables limiting.
    pub average: i64,
    /// Bucket size: requests allowed in an arbitrarily short burst.
    pub burst: i64,
    /// Go duration (e.g. `1m`); Traefik defaults to one second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_criterion: Option<SourceCriterion>,
}

/// Client IP allow list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAllowList {
    /// IPs or CIDRs; required by Traefik, so rendered even when empty.
    pub source_range: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategy>,
}

/// HTTP basic authentication.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    /// Secret in the Middleware's namespace holding htpasswd `users`, or of type
    /// `kubernetes.io/basic-auth`.
    pub secret: String,
}

/// Delegates authentication to an external service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardAuth {
    pub address: String,
    /// Trusts incoming `X-Forwarded-*` headers instead of overwriting them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_forward_header: Option<bool>,
    /// Headers copied from the auth response onto the forwarded request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_response_headers: Vec<String>,
    /// Bytes of the auth response's body Traefik reads at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_response_body_size: Option<i64>,
}
