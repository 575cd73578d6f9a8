//! Migration ids (`YYYYMMDDHHMMSS_slug`) and the UTC timestamps they and the CLI show.

use super::*;

/// A new migration id: `YYYYMMDDHHMMSS_<slug of message>`, later than every id in `existing`.
pub fn new_id(message: &str, existing: &Migrations, now: std::time::SystemTime) -> String {
    let mut stamp = timestamp_digits(now);
    if let Some(last) = existing.list.last() {
        let last_stamp: u64 = last.id.chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().unwrap_or(0);
        if last_stamp >= stamp {
            stamp = bump_timestamp(last_stamp);
        }
    }
    let slug: String = message
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let slug: String = slug.chars().take(60).collect();
    if slug.is_empty() { stamp.to_string() } else { format!("{stamp}_{slug}") }
}

/// `YYYYMMDDHHMMSS` of `time`, in UTC.
fn timestamp_digits(time: std::time::SystemTime) -> u64 {
    let (y, mo, d, h, mi, s) = civil(time);
    ((((y * 100 + mo) * 100 + d) * 100 + h) * 100 + mi) * 100 + s
}

/// The next second after a `YYYYMMDDHHMMSS` stamp (roll-overs past 59 seconds just carry on
/// into a still-sortable number).
fn bump_timestamp(stamp: u64) -> u64 {
    stamp + 1
}

/// `(year, month, day, hour, minute, second)` of `time` in UTC (Howard Hinnant's algorithm).
fn civil(time: std::time::SystemTime) -> (u64, u64, u64, u64, u64, u64) {
    let secs = time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `time` in UTC as ISO 8601, to the second: how the CLI shows
/// [`AppliedMigration::applied_at`](AppliedMigration::applied_at).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let at = UNIX_EPOCH + Duration::from_secs(1_795_500_000);
/// assert_eq!(duo_orm::migrate::iso_timestamp(at), "2026-11-24T06:00:00Z");
/// ```
pub fn iso_timestamp(time: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_after_existing_ones_and_slug_the_message() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_500_000);
        assert_eq!(iso_timestamp(at), "2026-11-24T06:00:00Z");
        let id = new_id("Add users' e-mail!", &Migrations::default(), at);
        assert_eq!(id, "20261124060000_add_users_e_mail");
        let existing = Migrations::from_list(vec![Migration {
            id: id.clone(),
            message: String::new(),
            up: vec![],
            down: vec![],
            checksum: String::new(),
            legacy_checksum: String::new(),
        }])
        .unwrap();
        assert_eq!(new_id("next", &existing, at), "20261124060001_next");
    }
}
