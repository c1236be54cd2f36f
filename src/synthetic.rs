//! synthetic: catalogs of any size for benchmarks and scale tests, deterministic for a given
//! size, mixing every hosting tier the way a real platform does.

use std::fmt::Write as _;

/// A valid catalog text with `clients` clients over the default three zones.
pub fn catalog(clients: usize) -> String {
    let mut s = String::from(
        "apiVersion: tenantgen.io/v1alpha1\nkind: ClientCatalog\nmetadata:\n  name: synthetic\nspec:\n  platform:\n    domain: hosting.example.com\n  clients:\n",
    );
    for i in 0..clients {
        let (hosting, size) = match i % 5 {
            0 => ("shared", "small"),
            1 => ("shared", "medium"),
            2 => ("shared", "large"),
            3 => ("dedicated", "large"),
            _ => ("dedicated", "xlarge"),
        };
        let digest = format!("{:064x}", i + 1);
        let _ = write!(
            s,
            "    - name: client-{i:05}\n      hosting: {hosting}\n      size: {size}\n      image: registry.example.com/c{i}/web\n      versions:\n        dev: \"1.{}.0\"\n        staging: \"1.{}.0\"\n        production: \"1.{}.0@sha256:{digest}\"\n",
            i % 7 + 1,
            i % 7,
            i % 7
        );
        if i % 3 == 0 {
            let _ = write!(
                s,
                "      config: {{LOG_LEVEL: info, FEATURE_{i}: \"on\"}}\n      middlewares: [security-headers, rate-limit]\n"
            );
        }
        if i % 4 == 0 {
            let _ = write!(
                s,
                "      secrets:\n        - name: db\n          vaultPath: secret/data/client-{i:05}/db\n          mountPath: /var/run/secrets/db\n      egress:\n        - cidr: 10.{}.0.0/16\n          ports: [5432]\n",
                i % 250
            );
        }
    }
    s
}

/// A ResourceList for the KRM function: no items, the catalog for `zone` as config.
pub fn resource_list(clients: usize, zone: &str) -> String {
    let text = catalog(clients).replacen(
        "  name: synthetic\n",
        &format!("  name: synthetic\n  annotations:\n    tenantgen.io/zone: {zone}\n"),
        1,
    );
    let mut s = String::from(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n",
    );
    for line in text.lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::check::check_source;
    use crate::source::Source;

    #[test]
    fn synthetic_catalogs_are_valid() {
        let checked =
            check_source(Source::from_text("synthetic.yaml", super::catalog(50))).expect("valid");
        assert_eq!(checked.model.clients.len(), 50);
        assert!(checked.warnings.is_empty());
    }
}
