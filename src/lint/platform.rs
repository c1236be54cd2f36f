//! platform: rules about the platform's own settings, here its namespaces.

use std::collections::BTreeMap;

use super::Lint;
use crate::catalog as raw;
use crate::diagnostics::Diagnostic;
use crate::model::namespace_of;

impl Lint<'_> {
    pub(super) fn platform_namespaces(
        &mut self,
        platform: &raw::Platform,
        clients: &[(usize, raw::Client)],
    ) {
        let at = "/spec/platform/namespaces";
        let listed = platform
            .namespaces
            .clone()
            .unwrap_or_else(raw::default_platform_namespaces);
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, ns) in listed.iter().enumerate() {
            if seen.insert(ns.name.as_str(), i).is_some() {
                self.report_value(
                    Diagnostic::error(
                        "duplicate-platform-namespace",
                        format!("platform namespace `{}` is listed twice", ns.name),
                    )
                    .hint("list each namespace once, with one Pod Security level"),
                    &format!("{at}/{i}/name"),
                );
            }
        }
        // Platform namespace -> the last client whose namespace it is: a map of the few
        // platform namespaces, not of every client's.
        let mut clients_ns: BTreeMap<&str, &str> = BTreeMap::new();
        for (_, c) in clients {
            let namespace = namespace_of(c.hosting, &c.name);
            if let Some((ns, _)) = seen.get_key_value(namespace.as_str()) {
                clients_ns.insert(ns, c.name.as_str());
            }
        }
        for (i, ns) in listed.iter().enumerate() {
            if let Some(client) = clients_ns.get(ns.name.as_str()) {
                self.report_value(
                    Diagnostic::error(
                        "platform-namespace-is-a-client-namespace",
                        format!(
                            "platform namespace `{}` is also client `{client}`'s namespace",
                            ns.name
                        ),
                    )
                    .hint("rename the platform namespace; client namespaces are `sh-<name>` and `ded-<name>`"),
                    &format!("{at}/{i}/name"),
                );
            }
        }
        if let Some(page) = &platform.landing_page
            && !listed.iter().any(|ns| ns.name == page.namespace)
        {
            let names: Vec<&str> = listed.iter().map(|n| n.name.as_str()).collect();
            self.report_value(
                Diagnostic::error(
                    "landing-page-namespace-unknown",
                    format!(
                        "the landing page's namespace `{}` is not a platform namespace",
                        page.namespace
                    ),
                )
                .hint(format!(
                    "add it to `platform.namespaces`, or use one of: {}",
                    names.join(", ")
                )),
                "/spec/platform/landingPage/namespace",
            );
        }
    }
}
