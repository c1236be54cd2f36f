//! promote: moves a client's version one step along the promotion path (SPEC §7) by editing
//! the catalog's text in place. Only the bytes of one version change, or one entry is added
//! after the previous zone's; every comment and every other byte stays as it was.

use crate::check::{self, Checked};
use crate::source::Source;
use crate::suggest;
use crate::yaml::{self, escape_segment};

/// A promotion ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub client: String,
    pub from: String,
    pub to: String,
    pub old: Option<String>,
    pub new: String,
    /// The whole catalog after the edit.
    pub text: String,
    /// The 1-based line of the edited or added entry.
    pub line: usize,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PromoteError {
    /// `hint` names the closest known client and a few others.
    #[error("client `{client}` is not in the catalog")]
    UnknownClient { client: String, hint: String },
    /// `hint` names the zones in promotion order.
    #[error("zone `{zone}` is not in the catalog")]
    UnknownZone { zone: String, hint: String },
    #[error("`{0}` is the first zone of the promotion path; there is nothing to promote from")]
    FirstZone(String),
    #[error(
        "`{client}` has no version in `{from}`, the zone before `{to}`; promotions never skip a zone"
    )]
    NotInPrevious {
        client: String,
        from: String,
        to: String,
    },
    #[error("`{version}` has no digest, and production versions must be pinned by digest")]
    NoDigest { version: String },
    #[error("`{client}` already runs `{version}` in `{to}`; nothing to promote")]
    NoOp {
        client: String,
        to: String,
        version: String,
    },
    #[error("the edit would change more than `{client}`'s version in `{to}`: {why}")]
    Edit {
        client: String,
        to: String,
        why: String,
    },
}

impl PromoteError {
    pub fn hint(&self) -> String {
        match self {
            PromoteError::UnknownClient { hint, .. } | PromoteError::UnknownZone { hint, .. } => {
                hint.clone()
            }
            PromoteError::FirstZone(z) => format!(
                "set the version of `{z}` in the catalog directly; promotion starts from there"
            ),
            PromoteError::NotInPrevious { client, from, .. } => {
                format!("promote it into `{from}` first: `tenantgen promote {client} --to {from}`")
            }
            PromoteError::NoDigest { .. } => {
                "pin the version in the previous zone with `@sha256:<digest>` first, then promote"
                    .into()
            }
            PromoteError::NoOp { .. } => "nothing was changed".into(),
            PromoteError::Edit { .. } => {
                "this is a tenantgen bug; the catalog was not changed".into()
            }
        }
    }
}

/// Plans the promotion of `client` into `to` on a checked catalog.
pub fn plan(checked: &Checked, client: &str, to: &str) -> Result<Promotion, PromoteError> {
    let zones = &checked.model.zones;
    let idx = zones.iter().position(|z| z.name == to).ok_or_else(|| {
        let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
        PromoteError::UnknownZone {
            zone: to.into(),
            hint: suggest::zone_hint(to, &names),
        }
    })?;
    let i = checked
        .raw
        .spec
        .clients
        .iter()
        .position(|c| c.name == client)
        .ok_or_else(|| {
            let names: Vec<&str> = checked
                .raw
                .spec
                .clients
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            PromoteError::UnknownClient {
                client: client.into(),
                hint: suggest::client_hint(client, &names),
            }
        })?;
    // A misspelt client is reported before anything about the zone's place in the path.
    let Some(prev) = idx.checked_sub(1).map(|i| &zones[i]) else {
        return Err(PromoteError::FirstZone(to.into()));
    };
    let target = &zones[idx];
    let raw = &checked.raw.spec.clients[i];
    let new = raw
        .versions
        .get(&prev.name)
        .cloned()
        .ok_or_else(|| PromoteError::NotInPrevious {
            client: client.into(),
            from: prev.name.clone(),
            to: to.into(),
        })?;
    let old = raw.versions.get(to).cloned();
    if old.as_deref() == Some(new.as_str()) {
        return Err(PromoteError::NoOp {
            client: client.into(),
            to: to.into(),
            version: new,
        });
    }
    if target.production && !new.contains("sha256:") {
        return Err(PromoteError::NoDigest { version: new });
    }
    let text = &checked.source.text;
    let versions = format!("/spec/clients/{i}/versions");
    let edit_err = |why: &str| PromoteError::Edit {
        client: client.into(),
        to: to.into(),
        why: why.into(),
    };
    let (edited, line) = match checked
        .doc
        .map
        .get(&format!("{versions}/{}", escape_segment(to)))
    {
        Some(node) => {
            let original = &text[node.start..node.end];
            let replacement = quote_like(original, &new);
            let mut t = String::with_capacity(text.len() + new.len());
            t.push_str(&text[..node.start]);
            t.push_str(&replacement);
            t.push_str(&text[node.end..]);
            (t, node.value.line)
        }
        None => {
            let prev_node = checked
                .doc
                .map
                .get(&format!("{versions}/{}", escape_segment(&prev.name)))
                .ok_or_else(|| edit_err("the previous zone's entry has no position"))?;
            let map_node = checked
                .doc
                .map
                .get(&versions)
                .ok_or_else(|| edit_err("`versions` has no position"))?;
            let value = quote_like("\"\"", &new);
            if text[map_node.start..].starts_with('{') {
                // Flow mapping: `{dev: "1", staging: "1"}` gains `, production: "1"`.
                let at = prev_node.end;
                (
                    format!("{}, {to}: {value}{}", &text[..at], &text[at..]),
                    prev_node.value.line,
                )
            } else {
                // Block mapping: a new line after the previous zone's, at its indentation
                // (after any comment on that line).
                let key_col = prev_node.key.map_or(1, |k| k.col);
                let at = text[prev_node.end..]
                    .find('\n')
                    .map_or(text.len(), |n| prev_node.end + n);
                // The new line ends like the file's lines do (CRLF stays CRLF).
                let (at, newline) = if text[..at].ends_with('\r') {
                    (at - 1, "\r\n")
                } else if at == text.len() && text.contains("\r\n") {
                    (at, "\r\n")
                } else {
                    (at, "\n")
                };
                let indent = " ".repeat(key_col.saturating_sub(1));
                (
                    format!(
                        "{}{newline}{indent}{to}: {value}{}",
                        &text[..at],
                        &text[at..]
                    ),
                    prev_node.value.line + 1,
                )
            }
        }
    };
    // The edit must parse to the same catalog with exactly this version changed.
    let after = check::check_source(Source::from_text(
        checked.source.name.clone(),
        edited.clone(),
    ))
    .map_err(|_| edit_err("the result does not validate"))?;
    let mut expected = checked.raw.clone();
    expected.spec.clients[i]
        .versions
        .insert(to.into(), new.clone());
    if after.raw != expected {
        return Err(edit_err("the result differs elsewhere"));
    }
    Ok(Promotion {
        client: client.into(),
        from: prev.name.clone(),
        to: to.into(),
        old,
        new,
        text: edited,
        line,
    })
}

/// `value` written in the quoting style of `original` (plain only where YAML reads it as text).
fn quote_like(original: &str, value: &str) -> String {
    match original.chars().next() {
        Some('\'') => format!("'{}'", value.replace('\'', "''")),
        Some('"') => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
        _ if yaml::plain_is_text(value) => value.to_owned(),
        _ => format!("\"{value}\""),
    }
}
