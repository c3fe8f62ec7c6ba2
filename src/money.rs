//! Money: amounts are integer micro-credits (1 credit = 1 000 000) everywhere they are stored or
//! added, with bounds that keep every balance and every SQL sum of the ledger inside `i64`.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

pub const MICROS: i64 = 1_000_000;

/// The largest amount one top-up, grant or configured value may carry, in credits.
pub const MAX_AMOUNT_CREDITS: i64 = 1_000_000_000;

/// The largest balance an organization may hold, in credits (10^18 micro-credits, an eighth of
/// what `i64` holds, so sums over a ledger of bounded entries cannot overflow).
pub const MAX_BALANCE_CREDITS: i64 = 1_000_000_000_000;

pub const MAX_BALANCE_MICROS: i64 = MAX_BALANCE_CREDITS * MICROS;

/// `d` in micro-credits, or `None` when it does not fit.
pub fn checked_micros(d: Decimal) -> Option<i64> {
    d.checked_mul(Decimal::from(MICROS))?.round().to_i64()
}

/// `d` in micro-credits, clamped to ± the largest balance (for values already validated).
pub fn to_micros(d: Decimal) -> i64 {
    checked_micros(d)
        .unwrap_or(if d.is_sign_negative() {
            -MAX_BALANCE_MICROS
        } else {
            MAX_BALANCE_MICROS
        })
        .clamp(-MAX_BALANCE_MICROS, MAX_BALANCE_MICROS)
}

pub fn format_micros(m: i64) -> String {
    Decimal::new(m, 6).normalize().to_string()
}

/// Why an amount was refused (the text is shown to the user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be a positive decimal, e.g. \"10.00\"")]
    NotPositiveDecimal,
    #[error("amount has more than 6 decimal places (the smallest unit is 0.000001)")]
    TooPrecise,
    #[error("amount must not exceed {MAX_AMOUNT_CREDITS} credits")]
    TooLarge,
    #[error("the balance would exceed the maximum of {MAX_BALANCE_CREDITS} credits")]
    BalanceTooLarge,
}

/// A credit amount as a user types it (`"10.00"`, `10`), in micro-credits.
pub fn parse_credit(text: &str) -> Result<i64, AmountError> {
    let d: Decimal = text
        .trim()
        .parse()
        .map_err(|_| AmountError::NotPositiveDecimal)?;
    if d <= Decimal::ZERO {
        return Err(AmountError::NotPositiveDecimal);
    }
    if d.normalize().scale() > 6 {
        return Err(AmountError::TooPrecise);
    }
    if d > Decimal::from(MAX_AMOUNT_CREDITS) {
        return Err(AmountError::TooLarge);
    }
    checked_micros(d).ok_or(AmountError::TooLarge)
}

/// `balance + amount`, or an error when the result would pass the largest balance.
pub fn add_to_balance(balance: i64, amount: i64) -> Result<i64, AmountError> {
    balance
        .checked_add(amount)
        .filter(|b| *b <= MAX_BALANCE_MICROS)
        .ok_or(AmountError::BalanceTooLarge)
}

/// Whether a configured amount (welcome credits, a balance, a price) is within bounds.
pub fn within_bounds(d: Decimal) -> bool {
    d.abs() <= Decimal::from(MAX_AMOUNT_CREDITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_within_bounds() {
        assert_eq!(parse_credit("10.00"), Ok(10 * MICROS));
        assert_eq!(parse_credit("0.000001"), Ok(1));
        assert_eq!(parse_credit("0.0000001"), Err(AmountError::TooPrecise));
        assert_eq!(parse_credit("0"), Err(AmountError::NotPositiveDecimal));
        assert_eq!(parse_credit("-5"), Err(AmountError::NotPositiveDecimal));
        assert_eq!(parse_credit("9223372036854"), Err(AmountError::TooLarge));
        assert_eq!(
            parse_credit("79228162514264337593543950335"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(parse_credit("1e5"), Ok(100_000 * MICROS));
    }

    #[test]
    fn balances_never_overflow() {
        assert_eq!(
            add_to_balance(MAX_BALANCE_MICROS, 1),
            Err(AmountError::BalanceTooLarge)
        );
        assert_eq!(
            add_to_balance(i64::MAX, i64::MAX),
            Err(AmountError::BalanceTooLarge)
        );
        assert_eq!(to_micros(Decimal::MAX), MAX_BALANCE_MICROS);
    }
}
