//! schedule: the cron schedules Kubernetes accepts, field by field (the schema's pattern
//! checks only their shape).

/// A cron field: its name, range and the names it accepts (the first standing for `min`).
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

/// The five fields of a Kubernetes CronJob schedule. Kubernetes reads days of the week
/// 0-6 only: 7 is not Sunday there (unlike some crons).
const CRON_FIELDS: [CronField; 5] = [
    CronField {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    CronField {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    CronField {
        name: "day of the month",
        min: 1,
        max: 31,
        names: &[],
    },
    CronField {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    CronField {
        name: "day of the week",
        min: 0,
        max: 6,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

/// What is wrong with a schedule the schema's pattern accepted (five fields of the right
/// characters), if anything: a value out of its field's range, an unknown name, a reversed
/// range or a zero step.
pub(super) fn schedule_problem(schedule: &str) -> Option<String> {
    let fields: Vec<&str> = schedule.split(' ').collect();
    if fields.len() != CRON_FIELDS.len() {
        return Some(format!(
            "it has {} fields, not five (minute hour day month weekday)",
            fields.len()
        ));
    }
    for (i, (text, field)) in fields.iter().zip(&CRON_FIELDS).enumerate() {
        if *text == "H" && i < 2 {
            continue;
        }
        for item in text.split(',') {
            if let Some(problem) = cron_item(item, field) {
                return Some(format!("the {} field `{text}`: {problem}", field.name));
            }
        }
    }
    None
}

fn cron_item(item: &str, field: &CronField) -> Option<String> {
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    if let Some(step) = step
        && !step.parse::<u32>().is_ok_and(|s| s >= 1)
    {
        return Some(format!("the step `{step}` is not a whole number above 0"));
    }
    if range == "*" {
        return None;
    }
    let value = |v: &str| -> Result<u32, String> {
        let n = if let Some(pos) = field.names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            field.min + u32::try_from(pos).unwrap_or(0)
        } else if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse::<u32>().unwrap_or(u32::MAX)
        } else if v.is_empty() {
            return Err("an empty value".to_owned());
        } else if field.names.is_empty() {
            return Err(format!("`{v}` is not a number"));
        } else {
            return Err(format!(
                "`{v}` is not a number or one of {}",
                field.names.join(", ")
            ));
        };
        if n < field.min || n > field.max {
            Err(format!("{v} is outside {}-{}", field.min, field.max))
        } else {
            Ok(n)
        }
    };
    let checked = match range.split_once('-') {
        Some((lo, hi)) => value(lo).and_then(|lo_n| {
            let hi_n = value(hi)?;
            if lo_n > hi_n {
                Err(format!("the range `{range}` runs backwards"))
            } else {
                Ok(())
            }
        }),
        None => value(range).map(|_| ()),
    };
    checked.err()
}

#[cfg(test)]
mod tests {
    use super::schedule_problem;

    #[test]
    fn schedules_are_checked_field_by_field() {
        for ok in [
            "H 3 * * *",
            "H H * * *",
            "*/15 * * * *",
            "0 0 1 JAN,jul SUN",
            "5 4 * * MON-FRI",
            "0 0-23/2 1-31 1-12 0-6",
            "59 23 31 12 6",
            "0 12 * * 1/2",
        ] {
            assert_eq!(schedule_problem(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("60 * * * *", "minute"),
            ("0 24 * * *", "hour"),
            ("0 0 0 * *", "day of the month"),
            ("0 0 32 * *", "day of the month"),
            ("0 0 * 13 *", "month"),
            ("0 0 * * 7", "day of the week"),
            ("0 0 * FOO *", "not a number or one of JAN"),
            ("0 0 * * FRI-MON", "backwards"),
            ("*/0 * * * *", "step"),
            ("1,,2 * * * *", "empty"),
            ("0 0 * * 1-2-3", "day of the week"),
            ("99999999999 * * * *", "outside"),
        ] {
            let problem = schedule_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem:?}");
        }
    }
}
