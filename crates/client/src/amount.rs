//! UMB amounts: decimal text with up to 12 fractional digits ⇄ units.
//! Integer arithmetic only.

use umbra_primitives::{Balance, TOKEN_DECIMALS};

/// Units per UMB.
pub const UNITS_PER_UMB: Balance = 1_000_000_000_000;

/// Parses `"12"`, `"0.5"`, `"1_000.000000000001"` (UMB) into units.
pub fn parse(text: &str) -> Result<Balance, String> {
    let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || cleaned.len() > 64 {
        return Err(format!("invalid amount `{text}`"));
    }
    let (whole, frac) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("invalid amount `{text}`"));
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("invalid amount `{text}`: only digits and one decimal point"));
    }
    if frac.len() > TOKEN_DECIMALS as usize {
        return Err(format!("invalid amount `{text}`: at most {TOKEN_DECIMALS} decimal places"));
    }
    let whole: Balance =
        if whole.is_empty() { 0 } else { whole.parse().map_err(|_| format!("amount `{text}` is too large"))? };
    let mut frac_units: Balance = 0;
    for (i, c) in frac.chars().enumerate() {
        let digit = Balance::from(c.to_digit(10).unwrap_or(0));
        frac_units += digit * 10u128.pow(TOKEN_DECIMALS - 1 - i as u32);
    }
    whole
        .checked_mul(UNITS_PER_UMB)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(|| format!("amount `{text}` is too large"))
}

/// Formats units as UMB with trailing zeros trimmed, e.g. `"12.5 UMB"`.
pub fn format(units: Balance) -> String {
    let whole = units / UNITS_PER_UMB;
    let frac = units % UNITS_PER_UMB;
    if frac == 0 {
        return format!("{whole} UMB");
    }
    let frac = format!("{frac:012}");
    format!("{whole}.{} UMB", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(parse("1"), Ok(UNITS_PER_UMB));
        assert_eq!(parse("0.5"), Ok(UNITS_PER_UMB / 2));
        assert_eq!(parse(".000000000001"), Ok(1));
        assert_eq!(parse("1_000"), Ok(1000 * UNITS_PER_UMB));
        for bad in ["", ".", "-1", "1.2.3", "1e5", "0.0000000000001", "abc", &"9".repeat(40)] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(format(UNITS_PER_UMB * 3 / 2), "1.5 UMB");
        assert_eq!(format(1), "0.000000000001 UMB");
        assert_eq!(format(7 * UNITS_PER_UMB), "7 UMB");
        for v in [0u128, 1, 999, UNITS_PER_UMB - 1, 123_456_789_012_345] {
            assert_eq!(parse(format(v).trim_end_matches(" UMB")), Ok(v));
        }
    }
}
