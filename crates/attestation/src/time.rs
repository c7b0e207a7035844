//! Calendar arithmetic for the timestamps attestation formats use, without a
//! clock and without floats.
//!
//! * [`parse_rfc3339`]: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` → Unix seconds.
//! * [`parse_ias_timestamp`]: IAS's `YYYY-MM-DDTHH:MM:SS[.ffffff]` (UTC, no
//!   zone designator) → Unix seconds.
//! * [`format_rfc3339`]: Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`.

use alloc::format;
use alloc::string::String;

/// Why a timestamp does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeError(pub &'static str);

impl core::fmt::Display for TimeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm, integers only).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // `day` is 1..=31 and `month` 1..=12 by construction.
    (year, month as u32, day as u32)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Reads exactly `N` ASCII digits.
fn digits<const N: usize>(bytes: &[u8], at: usize) -> Result<u32, TimeError> {
    let slice = bytes.get(at..at + N).ok_or(TimeError("timestamp too short"))?;
    slice.iter().try_fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + u32::from(b - b'0'))
        } else {
            Err(TimeError("expected a digit"))
        }
    })
}

fn expect(bytes: &[u8], at: usize, what: u8) -> Result<(), TimeError> {
    match bytes.get(at) {
        Some(&b) if b == what => Ok(()),
        _ => Err(TimeError("unexpected separator")),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS` at the start and returns seconds since the
/// epoch (may be negative before 1970) and the rest.
fn parse_date_time(bytes: &[u8]) -> Result<(i64, &[u8]), TimeError> {
    let year = digits::<4>(bytes, 0)?;
    expect(bytes, 4, b'-')?;
    let month = digits::<2>(bytes, 5)?;
    expect(bytes, 7, b'-')?;
    let day = digits::<2>(bytes, 8)?;
    match bytes.get(10) {
        Some(b'T' | b't' | b' ') => {}
        _ => return Err(TimeError("expected 'T' between date and time")),
    }
    let hour = digits::<2>(bytes, 11)?;
    expect(bytes, 13, b':')?;
    let minute = digits::<2>(bytes, 14)?;
    expect(bytes, 16, b':')?;
    let second = digits::<2>(bytes, 17)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) {
        return Err(TimeError("month out of range"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(TimeError("day out of range"));
    }
    // A leap second (60) is read as the next second's start, like most
    // Unix-time converters.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(TimeError("time of day out of range"));
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second);
    Ok((secs, &bytes[19..]))
}

/// Skips `.digits` (fractions of a second are truncated).
fn skip_fraction(rest: &[u8]) -> Result<&[u8], TimeError> {
    match rest.split_first() {
        Some((b'.', tail)) => {
            let count = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if count == 0 || count > 9 {
                return Err(TimeError("bad fraction of a second"));
            }
            Ok(&tail[count..])
        }
        _ => Ok(rest),
    }
}

fn non_negative(secs: i64) -> Result<u64, TimeError> {
    u64::try_from(secs).map_err(|_| TimeError("timestamp before 1970"))
}

/// Parses an RFC 3339 timestamp into seconds since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Result<u64, TimeError> {
    let (secs, rest) = parse_date_time(text.as_bytes())?;
    let rest = skip_fraction(rest)?;
    let offset_secs: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] if rest.len() == 6 => {
            let hours = digits::<2>(rest, 1)?;
            expect(rest, 3, b':')?;
            let minutes = digits::<2>(rest, 4)?;
            if hours > 23 || minutes > 59 {
                return Err(TimeError("zone offset out of range"));
            }
            let offset = i64::from(hours * 3_600 + minutes * 60);
            if *sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return Err(TimeError("expected 'Z' or a ±HH:MM zone offset")),
    };
    non_negative(secs - offset_secs)
}

/// Parses an IAS report timestamp (UTC without a zone designator).
pub fn parse_ias_timestamp(text: &str) -> Result<u64, TimeError> {
    let (secs, rest) = parse_date_time(text.as_bytes())?;
    if !skip_fraction(rest)?.is_empty() {
        return Err(TimeError("trailing characters after the timestamp"));
    }
    non_negative(secs)
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: u64) -> String {
    // u64 seconds / 86400 always fits i64.
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3_600, rem % 3_600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn known_instants() {
        // `date -u -d 2025-06-19T10:56:11Z +%s`
        assert_eq!(parse_rfc3339("2025-06-19T10:56:11Z"), Ok(1_750_330_571));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2000-02-29T23:59:59Z"), Ok(951_868_799));
        assert_eq!(parse_rfc3339("2025-06-19T12:56:11.5+02:00"), Ok(1_750_330_571));
        assert_eq!(parse_ias_timestamp("2021-09-12T18:06:20.402478"), Ok(1_631_469_980));
        assert_eq!(format_rfc3339(1_750_330_571), "2025-06-19T10:56:11Z");
        assert_eq!(format_rfc3339(951_868_799), "2000-02-29T23:59:59Z");
    }

    #[test]
    fn round_trips() {
        for secs in [0u64, 59, 86_399, 86_400, 951_868_800, 4_102_444_800, 253_402_300_799] {
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Ok(secs));
        }
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "2025-06-19",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-06-19T24:00:00Z",
            "2025-06-19T10:56:11",
            "2025-06-19T10:56:11+0200",
            "2025-06-19T10:56:11.Z",
            "1969-12-31T23:59:59Z",
            "２025-06-19T10:56:11Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        assert!(parse_ias_timestamp("2021-09-12T18:06:20Z").is_err());
    }
}
