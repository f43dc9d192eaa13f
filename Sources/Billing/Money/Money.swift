import Foundation

/// An exact amount of money: an integer count of the currency's minor units. Never a Double.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    /// The largest amount a merchant may name anywhere (a price, a unit amount, a fixed discount, a
    /// link's total): 99,999,999,999 minor units, just under a billion dollars. With it, no sum or
    /// product the rules compute (quantity × unit amount, amount × percent) comes near 64-bit
    /// overflow, and the API can state the bound instead of failing somewhere past 2^63.
    public static let maximumMinorUnits: Int64 = 99_999_999_999

    /// The amount in minor units (kobo, cents, fils).
    public let minorUnits: Int64
    /// The currency the units belong to.
    public let currency: Currency

    /// An amount of `minorUnits` of `currency`.
    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Converts a decimal number of major units (`29.99` dollars) exactly, or returns nil when it has
    /// more fractional digits than the currency's minor unit or does not fit in 64 bits.
    public init?(major: Decimal, currency: Currency) {
        var scaled = major
        for _ in 0..<currency.exponent { scaled *= 10 }
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        guard rounded == scaled,
              rounded.magnitude <= Decimal(Int64.max),
              let units = Int64(exactly: NSDecimalNumber(decimal: rounded).int64Value),
              Decimal(units) == rounded
        else { return nil }
        self.init(minorUnits: units, currency: currency)
    }

    /// The amount as a decimal number of major units (2999 cents → 29.99), exact.
    public var major: Decimal {
        var value = Decimal(minorUnits)
        for _ in 0..<currency.exponent { value /= 10 }
        return value
    }

    public var description: String { "\(major) \(currency.code)" }
}
