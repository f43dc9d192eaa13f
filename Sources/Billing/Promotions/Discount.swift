import Foundation

/// Why a promo code does not apply to a checkout.
public enum PromoRejection: Error, Equatable, Sendable {
    /// No such code in this organization and mode.
    case unknown
    /// The merchant turned it off.
    case inactive
    /// Past its `expiresAt`.
    case expired
    /// Redeemed `maxRedemptions` times.
    case usedUp
    /// It names another plan (or this checkout sells no plan).
    case wrongPlan
    /// A fixed discount in another currency.
    case wrongCurrency
    /// The checkout does not take promo codes.
    case notAccepted

    /// A sentence for the customer.
    public var message: String {
        switch self {
        case .unknown: "This code does not exist. Check it and try again."
        case .inactive: "This code is no longer active."
        case .expired: "This code has expired."
        case .usedUp: "This code has been used up."
        case .wrongPlan: "This code is not valid for this purchase."
        case .wrongCurrency: "This code is for another currency."
        case .notAccepted: "This checkout does not take promo codes."
        }
    }
}

/// The price of a checkout with its discount, computed here from stored data: never taken from a
/// form.
public struct PriceQuote: Equatable, Sendable {
    /// Before the discount.
    public let subtotal: Money
    /// Taken off (zero without a code).
    public let discount: Money
    /// The code applied, if any.
    public let promo: PromoCode?

    /// What the customer pays; never below zero.
    public var total: Money { Money(minorUnits: subtotal.minorUnits - discount.minorUnits, currency: subtotal.currency) }

    /// The subtotal without a discount.
    public init(subtotal: Money) {
        self.subtotal = subtotal
        discount = Money(minorUnits: 0, currency: subtotal.currency)
        promo = nil
    }

    /// The subtotal with `promo` applied.
    public init(subtotal: Money, promo: PromoCode) {
        self.subtotal = subtotal
        self.discount = promo.discount(on: subtotal)
        self.promo = promo
    }
}

extension PromoCode {
    /// Whether the code applies, at `now`, to a checkout of `subtotal` selling `planID`.
    public func rejection(at now: Date, planID: String?, subtotal: Money) -> PromoRejection? {
        guard active else { return .inactive }
        if let expiresAt, now >= expiresAt { return .expired }
        if let maxRedemptions, redeemedCount >= maxRedemptions { return .usedUp }
        if let required = self.planID, required != planID { return .wrongPlan }
        if case .fixed(let amount) = kind, amount.currency != subtotal.currency { return .wrongCurrency }
        return nil
    }

    /// What the code takes off `subtotal`. A percentage rounds half up to the minor unit (12.5 → 13);
    /// a fixed amount never takes more than the subtotal, so a total is never negative.
    public func discount(on subtotal: Money) -> Money {
        let units: Int64
        switch kind {
        case .percentage(let percent):
            units = Self.percentage(percent, of: subtotal.minorUnits)
        case .fixed(let amount):
            units = min(amount.minorUnits, subtotal.minorUnits)
        }
        return Money(minorUnits: units, currency: subtotal.currency)
    }

    /// `percent`% of `units`, rounded half up: ⌊(units × percent + 50) / 100⌋. Amounts are bounded
    /// (`Money.maximumMinorUnits`, about 10^11) so the product fits easily in 64 bits.
    static func percentage(_ percent: Int64, of units: Int64) -> Int64 {
        (units * percent + 50) / 100
    }
}

extension Ledger {
    /// The price of a checkout of `subtotal` selling `planID` in `scope`, with the code the customer
    /// typed (if any), or why the code does not apply.
    public func quote(subtotal: Money, planID: String?, code: String?, acceptsCodes: Bool, in scope: Scope,
                      now: Date) throws -> Result<PriceQuote, PromoRejection> {
        guard let code, !code.trimmingCharacters(in: .whitespaces).isEmpty else { return .success(PriceQuote(subtotal: subtotal)) }
        guard acceptsCodes else { return .failure(.notAccepted) }
        guard let promo = try promoCode(typed: code, in: scope) else { return .failure(.unknown) }
        if let rejection = promo.rejection(at: now, planID: planID, subtotal: subtotal) { return .failure(rejection) }
        return .success(PriceQuote(subtotal: subtotal, promo: promo))
    }
}
