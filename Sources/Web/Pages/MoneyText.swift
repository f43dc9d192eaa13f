import Billing
import Foundation

/// Amounts as customers read them: symbol, thousands separators, the currency's own number of
/// decimals (₦1,500.00, $29.99, ¥500, KWD 1.005).
enum MoneyText {
    /// Symbols of the currencies whose symbol is unambiguous enough to stand alone.
    private static let symbols: [String: String] = [
        "NGN": "₦", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩",
        "GHS": "GH₵", "KES": "KSh ", "ZAR": "R ", "CAD": "CA$", "AUD": "A$", "CNY": "CN¥", "BRL": "R$",
        "CHF": "CHF ", "ILS": "₪", "PHP": "₱", "VND": "₫", "UAH": "₴", "TRY": "₺", "EGP": "E£",
    ]

    /// `₦1,500.00`
    static func format(_ money: Money) -> String {
        let negative = money.minorUnits < 0
        let units = money.minorUnits.magnitude
        let divisor = UInt64(money.currency.minorUnitsPerMajor)
        let whole = units / divisor
        let fraction = units % divisor
        var digits = String(whole)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        grouped = digits + grouped
        if money.currency.exponent > 0 {
            let fractionText = String(fraction)
            grouped += "." + String(repeating: "0", count: money.currency.exponent - fractionText.count) + fractionText
        }
        let prefix = symbols[money.currency.code] ?? "\(money.currency.code) "
        return (negative ? "−" : "") + prefix + grouped
    }

    /// `per month`, `every 3 months`; nil for a one-time plan.
    static func interval(of plan: Plan?) -> String? {
        guard let plan, let interval = plan.interval, let count = plan.intervalCount else { return nil }
        return count == 1 ? "per \(interval.rawValue)" : "every \(count) \(interval.rawValue)s"
    }
}
