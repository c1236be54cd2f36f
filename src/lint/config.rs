//! config: what may go into a client's ConfigMap. Keys the API server refuses (the kubelet
//! reserves `.`, `..` and names starting with `..` for its own files when it mounts a
//! ConfigMap), a total over the 1 MiB a ConfigMap holds, and anything that looks like a secret.

use std::sync::OnceLock;

use regex::Regex;

use super::Lint;
use crate::catalog as raw;
use crate::diagnostics::Diagnostic;
use crate::patterns;
use crate::yaml::escape_segment;

/// The API server refuses a ConfigMap whose keys and values together exceed 1 MiB.
const CONFIG_MAP_MAX: usize = 1024 * 1024;
/// Longest ConfigMap key.
const KEY_MAX: usize = 253;

impl Lint<'_> {
    pub(super) fn config(&mut self, client: &raw::Client, at: &str) {
        static KEY: OnceLock<Option<Regex>> = OnceLock::new();
        static SECRET_KEY: OnceLock<Option<Regex>> = OnceLock::new();
        let key_re = KEY.get_or_init(|| Regex::new(patterns::CONFIG_KEY).ok());
        let secret_key = SECRET_KEY.get_or_init(|| Regex::new(r"(?i)(passw(or)?d|secret|token|api[-_.]?key|private[-_.]?key|credential|access[-_.]?key|auth[-_.]?key|client[-_.]?secret)").ok());
        let mut size = 0usize;
        for (key, value) in &client.config {
            size += key.len() + value.len();
            // Written out only for a report: most keys are fine.
            let p = || format!("{at}/config/{}", escape_segment(key));
            if key.len() > KEY_MAX || !key_re.as_ref().is_some_and(|r| r.is_match(key)) {
                self.report(
                    Diagnostic::error(
                        "config-key-invalid",
                        format!("config key `{key}` cannot be a ConfigMap key"),
                    )
                    .hint("use letters, digits, `-`, `_` and `.` only (at most 253 characters)"),
                    &p(),
                );
            } else if key == "." || key.starts_with("..") {
                self.report(
                    Diagnostic::error(
                        "config-key-invalid",
                        format!("config key `{key}` cannot be a ConfigMap key: `.`, `..` and keys starting with `..` are reserved for the kubelet's own files"),
                    )
                    .hint("rename the key, e.g. `data` for `..data`"),
                    &p(),
                );
            } else if secret_key.as_ref().is_some_and(|r| r.is_match(key)) {
                self.report(
                    Diagnostic::error("config-secret", format!("config key `{key}` looks like a secret; ConfigMaps are readable by anyone who can read the namespace"))
                        .hint("store it in Vault and reference it under `secrets:` instead"),
                    &p(),
                );
            } else if credential_pattern(value).is_some() {
                self.report_value(
                    Diagnostic::error("config-secret", format!("the value of config key `{key}` looks like a credential"))
                        .hint("store it in Vault and reference it under `secrets:` instead; never commit credentials"),
                    &p(),
                );
            }
        }
        if size > CONFIG_MAP_MAX {
            self.report(
                Diagnostic::error(
                    "config-too-large",
                    format!(
                        "the config of `{}` is {size} bytes, more than the 1 MiB ({CONFIG_MAP_MAX} bytes) a ConfigMap can hold",
                        client.name
                    ),
                )
                .hint("keep `config` to small settings; ship large files in the image or fetch them at start-up"),
                &format!("{at}/config"),
            );
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
