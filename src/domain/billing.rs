//! What a run costs: compute by duration plus the tool's fee (PLATFORM.md §4).

use rust_decimal::Decimal;

use crate::config::Config;
use crate::money;
use crate::registry::Tool;

/// The fee a run of `tool` costs on top of compute.
pub fn fee_micros(config: &Config, tool: &Tool) -> i64 {
    money::to_micros(
        tool.price_per_run
            .unwrap_or(config.billing.default_price_per_run),
    )
}

/// Compute cost of a run of `duration_ms`.
pub fn compute_micros(config: &Config, duration_ms: f64) -> i64 {
    let ms = Decimal::from_f64_retain(duration_ms.max(0.0)).unwrap_or_default();
    config
        .billing
        .compute_per_second
        .checked_mul(ms)
        .map(|c| money::to_micros(c / Decimal::from(1000)))
        .unwrap_or(money::MAX_BALANCE_MICROS)
}

/// The least a balance must hold for a run of `tool` to start: its fee plus one millisecond of
/// compute.
pub fn minimum_micros(config: &Config, tool: &Tool) -> i64 {
    fee_micros(config, tool).saturating_add(compute_micros(config, 1.0))
}
