//! suggest: did-you-mean for names a user typed (clients, zones), by edit distance.

/// The known name closest to `typed`, if it is near enough to be a likely misspelling:
/// at most 2 edits, or a quarter of the name's length for long names; failing that, the one
/// name `typed` abbreviates (`prod` for `production`). Case is ignored.
pub fn closest<'a>(typed: &str, known: &[&'a str]) -> Option<&'a str> {
    let typed = typed.to_lowercase();
    let near = known
        .iter()
        .map(|k| (edit_distance(&typed, &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.chars().count() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k);
    if near.is_some() || typed.chars().count() < 2 {
        return near;
    }
    let mut prefixed = known
        .iter()
        .filter(|k| k.to_lowercase().starts_with(&typed));
    match (prefixed.next(), prefixed.next()) {
        (Some(k), None) => Some(*k),
        _ => None,
    }
}

/// Up to `n` known names, nearest to `typed` first (ties keep the given order), so that a
/// hint can show a few plausible names even from a catalog of thousands.
pub fn nearest<'a>(typed: &str, known: &[&'a str], n: usize) -> Vec<&'a str> {
    let typed = typed.to_lowercase();
    let mut ranked: Vec<(usize, usize, &str)> = known
        .iter()
        .enumerate()
        .map(|(i, k)| (edit_distance(&typed, &k.to_lowercase()), i, *k))
        .collect();
    ranked.sort_unstable();
    ranked.into_iter().take(n).map(|(_, _, k)| k).collect()
}

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The hint for a client name the catalog does not have: the likely one, then a few others.
pub fn client_hint(typed: &str, known: &[&str]) -> String {
    if known.is_empty() {
        return "the catalog has no clients yet; add one under `spec.clients`".into();
    }
    let best = closest(typed, known);
    // A small catalog is listed whole, in its order; a large one by likeness.
    let shown: Vec<&str> = if known.len() <= 8 {
        known.to_vec()
    } else {
        nearest(typed, known, 6)
    };
    let others: Vec<&str> = shown
        .into_iter()
        .filter(|k| Some(*k) != best)
        .take(7)
        .collect();
    let more = known.len() - others.len() - usize::from(best.is_some());
    let mut list = others
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    match best {
        Some(b) if others.is_empty() => format!("did you mean `{b}`?"),
        Some(b) => format!("did you mean `{b}`? other clients: {list}"),
        None => format!("no client is named like that; clients: {list}"),
    }
}

/// The hint for a zone name the catalog does not have: the likely one, then every zone in
/// promotion-path order (catalogs have a handful).
pub fn zone_hint(typed: &str, zones: &[&str]) -> String {
    let path = zones
        .iter()
        .map(|z| format!("`{z}`"))
        .collect::<Vec<_>>()
        .join(" -> ");
    match closest(typed, zones) {
        Some(z) => format!("did you mean `{z}`? the zones, in promotion order: {path}"),
        None => format!("the zones, in promotion order: {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_name_finds_the_intended_one() {
        let known = ["acme-corp", "initech", "globex"];
        assert_eq!(closest("acme-crop", &known), Some("acme-corp"));
        assert_eq!(closest("INITECH", &known), Some("initech"));
        assert_eq!(closest("zzzzzzzz", &known), None);
    }

    #[test]
    fn the_hint_names_the_closest_then_a_few_others() {
        let known = [
            "a1",
            "b2",
            "acme-corp",
            "c3",
            "d4",
            "e5",
            "f6",
            "g7",
            "h8",
            "i9",
            "j10",
            "k11",
        ];
        let hint = client_hint("acme-crop", &known);
        assert!(
            hint.starts_with("did you mean `acme-corp`? other clients: "),
            "{hint}"
        );
        assert!(hint.ends_with("and 6 more"), "{hint}");
        assert_eq!(closest("prod", &["dev", "production"]), Some("production"));
        assert_eq!(closest("pro", &["production", "profiling"]), None);
        assert_eq!(
            zone_hint("stagin", &["dev", "staging", "production"]),
            "did you mean `staging`? the zones, in promotion order: `dev` -> `staging` -> `production`"
        );
    }
}
