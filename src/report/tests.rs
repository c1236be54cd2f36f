//! Unit tests of the markdown packing and the grouped tables.

use super::tables::{Row, tables};
use super::*;
use crate::diff::Counts;

/// `clients` clients each losing one object in each of three zones, each flagged.
fn removals(clients: usize) -> Report {
    let mut flags = Vec::new();
    let mut zones: BTreeMap<String, BTreeMap<String, Counts>> = BTreeMap::new();
    for zone in ["dev", "staging", "production"] {
        for i in 0..clients {
            let client = format!("client-{i:05}");
            flags.push(Flag {
                severity: Severity::Block,
                rule: "volume-removed",
                zone: Some(zone.into()),
                client: Some(client.clone()),
                object: Some(format!("PersistentVolumeClaim/ns-{i}/data")),
                message: "gone".into(),
            });
            zones.entry(zone.into()).or_default().insert(
                client,
                Counts {
                    added: 0,
                    changed: 0,
                    removed: 1,
                },
            );
        }
    }
    flags.sort();
    Report {
        schema_version: 1,
        base: "main".into(),
        head: "pr".into(),
        counts: Counts {
            added: 0,
            changed: 0,
            removed: 3 * clients,
        },
        flags,
        zones,
        changes: Vec::new(),
        diffs_omitted: 0,
        stale: Vec::new(),
        approved: Vec::new(),
        zone_order: vec!["dev".into(), "staging".into(), "production".into()],
        base_commit: None,
        head_commit: None,
        releases: Vec::new(),
    }
}

#[test]
fn clients_too_many_to_name_are_counted_so_the_panel_still_adds_up() {
    let md = markdown(
        &removals(8000),
        &Links::default(),
        DEFAULT_TEMPLATE,
        COMMENT_LIMIT,
    )
    .expect("markdown");
    assert!(md.len() <= COMMENT_LIMIT, "{}", md.len());
    assert!(!md.contains("cut here"), "grouped, never cut");
    let row = md
        .lines()
        .find(|l| l.contains("24000 flags in 8000 clients: client-00000, "))
        .expect("one row for the rule");
    let (named, rest) = row
        .split_once(", … and ")
        .expect("the clients not named are counted");
    let more: usize = rest
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert_eq!(named.matches("client-").count() + more, 8000);
    assert!(more < 8000 - 1000, "as many names as fit: {more} left out");
    for zone in ["dev", "staging", "production"] {
        assert!(
            md.contains(&format!("#### Zone {zone}\n\n| client | added | changed | removed |\n|---|---:|---:|---:|\n| 8000 clients: client-00000, client-00001, client-00002, … and 7997 more | 0 | 0 | 8000 |\n| **total** | 0 | 0 | 8000 |\n")),
            "{zone}'s table is grouped with its total"
        );
    }
}

#[test]
fn a_zone_of_clients_with_all_different_counts_is_summed_into_few_rows_that_add_up() {
    let mut r = removals(0);
    let dev = r.zones.entry("dev".into()).or_default();
    for i in 0..300 {
        dev.insert(
            format!("client-{i:05}"),
            Counts {
                added: i % 3,
                changed: 1,
                removed: i,
            },
        );
    }
    let table = &tables(&r, &Links::default(), TABLE_ROWS)[0];
    assert!(table.grouped);
    assert!(table.rows.len() <= TABLE_ROWS, "{} rows", table.rows.len());
    let last = table.rows.last().expect("rows");
    assert!(last.client.ends_with(" other clients"), "{}", last.client);
    let sum = |f: fn(&Row) -> usize| table.rows.iter().map(f).sum::<usize>();
    assert_eq!(
        (sum(|x| x.added), sum(|x| x.changed), sum(|x| x.removed)),
        ((0..300).map(|i| i % 3).sum(), 300, (0..300).sum::<usize>())
    );
    assert_eq!(
        (table.total.added, table.total.changed, table.total.removed),
        (300, 300, 44850)
    );
}

#[test]
fn a_few_flags_are_each_a_row_and_a_few_clients_each_a_table_row() {
    let md = markdown(
        &removals(3),
        &Links::default(),
        DEFAULT_TEMPLATE,
        COMMENT_LIMIT,
    )
    .expect("markdown");
    assert!(md.contains("#### Risks (9)\n\n| |"), "{md}");
    assert_eq!(md.matches("| gone |").count(), 9, "{md}");
    assert!(md.contains("| client-00002 | 0 | 0 | 1 |\n\n"), "{md}");
    assert!(!md.contains("**total**"), "{md}");
}

#[test]
fn diffs_left_out_past_the_budget_are_counted_and_the_json_is_not_said_to_have_them() {
    let mut r = removals(3);
    // Five objects changed in three zones each, their diffs left out: fifteen diffs, since
    // which of them are identical across zones is no longer known.
    for i in 0..5 {
        for zone in ["dev", "staging", "production"] {
            r.changes.push(crate::diff::ObjectChange {
                key: crate::diff::Key {
                    zone: zone.into(),
                    group: String::new(),
                    kind: "ConfigMap".into(),
                    namespace: "sh-a".into(),
                    name: format!("c{i}"),
                },
                change: Change::Changed,
                client: Some("a".into()),
                diff: String::new(),
                diff_omitted: true,
            });
        }
    }
    r.diffs_omitted = 15;
    let md = markdown(&r, &Links::default(), DEFAULT_TEMPLATE, COMMENT_LIMIT).expect("markdown");
    assert!(
        md.contains("_15 more object diffs are left out to fit one comment; `tenantgen diff --format json` lists every changed object, with the first diffs._"),
        "{md}"
    );
    assert!(
        text(&r).contains("15 object diffs are left out"),
        "{}",
        text(&r)
    );
    assert!(json(&r).contains("\"diffsOmitted\": 15"), "{}", json(&r));
    assert_eq!(json(&r).matches("\"diffOmitted\": true").count(), 15);
    r.diffs_omitted = 0;
    assert!(
        !json(&r).contains("diffsOmitted"),
        "absent when nothing is left out"
    );
}
