import Foundation
import GRDB

/// A code customers type for a discount: a percentage or a fixed amount, optionally for one plan,
/// a limited number of times, until a date.
public struct PromoCode: Hashable, Sendable {
    /// Percentage off, or a fixed amount off.
    public enum Kind: Hashable, Sendable {
        /// 1–100 percent.
        case percentage(Int64)
        /// Minor units of `currency`.
        case fixed(Money)
    }

    /// How long a subscription keeps the discount.
    public enum Duration: String, Sendable, CaseIterable {
        /// The first period only.
        case once
        /// Every period.
        case forever
        /// `durationCycles` periods.
        case repeating
    }

    /// `promo_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// Upper case; customers may type it in any case.
    public let code: String
    /// The only plan it applies to, if any.
    public let planID: String?
    /// What it takes off.
    public let kind: Kind
    /// How long it lasts on a subscription.
    public let duration: Duration
    /// Periods, for `repeating`.
    public let durationCycles: Int64?
    /// Completions it may be redeemed in, at most.
    /// `maxRedemptions`: completions it may be redeemed in.
    public var maxRedemptions: Int64?
    /// Completions it was redeemed in.
    public let redeemedCount: Int64
    /// Whether it can be used.
    public var active: Bool
    /// When it stops applying.
    /// `expiresAt`: when it stops applying (in the future).
    public var expiresAt: Date?
    /// When it was made.
    public let createdAt: Date

    /// Redemptions left; nil when unlimited.
    public var remaining: Int64? { maxRedemptions.map { max(0, $0 - redeemedCount) } }

    /// `percentage` or `fixed`.
    public var discountType: String {
        if case .percentage = kind { return "percentage" }
        return "fixed"
    }

    /// The percent, or the minor units.
    public var discountValue: Int64 {
        switch kind {
        case .percentage(let percent): percent
        case .fixed(let amount): amount.minorUnits
        }
    }

    /// Periods of a subscription the discount applies to: 1 for `once`, `durationCycles` for
    /// `repeating`, nil (all) for `forever`.
    public var cycles: Int64? {
        switch duration {
        case .once: 1
        case .repeating: durationCycles
        case .forever: nil
        }
    }
}

/// A promo code as asked for.
public struct PromoCodeDraft: Sendable {
    /// `code`: 3–40 of A–Z, 0–9, `-`, `_`, any case.
    public var code: String
    /// `planId`: the only plan it applies to.
    public var planID: String?
    /// `discountType`: `percentage` or `fixed`.
    public var discountType: String
    /// `discountValue`: percent (1–100) or minor units (> 0).
    public var discountValue: Int64
    /// `currency` of a fixed discount (NGN when absent).
    public var currency: String?
    /// `duration`: once (default), forever or repeating.
    public var duration: String?
    /// `durationCycles`: periods of a repeating discount.
    public var durationCycles: Int64?
    public var maxRedemptions: Int64?
    public var expiresAt: Date?

    /// A draft.
    public init(code: String, planID: String? = nil, discountType: String, discountValue: Int64, currency: String? = nil,
                duration: String? = nil, durationCycles: Int64? = nil, maxRedemptions: Int64? = nil, expiresAt: Date? = nil) {
        self.code = code
        self.planID = planID
        self.discountType = discountType
        self.discountValue = discountValue
        self.currency = currency
        self.duration = duration
        self.durationCycles = durationCycles
        self.maxRedemptions = maxRedemptions
        self.expiresAt = expiresAt
    }
}

extension PromoCode {
    /// Shortest and longest code.
    public static let codeLength = 3...40

    /// `launch-50` → `LAUNCH-50` (spaces around it dropped, as customers type them); nil when not
    /// 3–40 of A–Z, a–z, 0–9, `-`, `_`. The letters are checked before upper-casing, which would
    /// turn some others into ASCII ("ı" → "I").
    public static func normalized(_ text: String) -> String? {
        let code = text.trimmingCharacters(in: .whitespaces)
        guard codeLength.contains(code.utf8.count),
              code.utf8.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 95 })
        else { return nil }
        return code.uppercased()
    }
}

extension Ledger {
    /// Validates and stores a promo code. A code already used in the scope is `codeTaken`.
    public func createPromoCode(_ draft: PromoCodeDraft, in scope: Scope, now: Date,
                                identity: GivenIdentity = .generated) throws -> PromoCode {
        // Created exactly as sent: no spaces around it (only what customers type is trimmed).
        guard let code = PromoCode.normalized(draft.code), code.utf8.count == draft.code.utf8.count else {
            throw BillingError.invalid("code", "code must be 3 to 40 letters, digits, hyphens or underscores.")
        }
        let kind: PromoCode.Kind
        switch draft.discountType {
        case "percentage":
            guard (1...100).contains(draft.discountValue) else {
                throw BillingError.invalid("discountValue", "A percentage discount is 1 to 100.")
            }
            if draft.currency != nil {
                throw BillingError.invalid("currency", "currency is only for fixed discounts.")
            }
            kind = .percentage(draft.discountValue)
        case "fixed":
            guard (1...Money.maximumMinorUnits).contains(draft.discountValue) else {
                throw BillingError.invalid("discountValue", "A fixed discount is a positive number of minor units, at most \(Money.maximumMinorUnits).")
            }
            let currencyCode = draft.currency ?? Currency.ngn.code
            guard let currency = Currency(code: currencyCode) else {
                throw BillingError.invalid("currency", "'\(currencyCode)' is not an ISO 4217 currency code.")
            }
            kind = .fixed(Money(minorUnits: draft.discountValue, currency: currency))
        default:
            throw BillingError.invalid("discountType", "discountType must be percentage or fixed.")
        }
        let durationText = draft.duration ?? PromoCode.Duration.once.rawValue
        guard let duration = PromoCode.Duration(rawValue: durationText) else {
            throw BillingError.invalid("duration", "duration must be once, forever or repeating.")
        }
        switch (duration, draft.durationCycles) {
        case (.repeating, nil):
            throw BillingError(.missingField, "durationCycles is required with duration repeating.", param: "durationCycles")
        case (.repeating, let cycles?) where cycles < 1:
            throw BillingError.invalid("durationCycles", "durationCycles must be at least 1.")
        case (.once, _?), (.forever, _?):
            throw BillingError.invalid("durationCycles", "durationCycles is only for duration repeating.")
        default:
            break
        }
        if let limit = draft.maxRedemptions, limit < 1 {
            throw BillingError.invalid("maxRedemptions", "maxRedemptions must be at least 1.")
        }
        if let expiresAt = draft.expiresAt, expiresAt <= now {
            throw BillingError.invalid("expiresAt", "expiresAt must be in the future.")
        }
        if let planID = draft.planID {
            do {
                _ = try plan(id: planID, in: scope)
            } catch let error as BillingError where error.code == .notFound {
                throw BillingError.notFound("plan", planID, param: "planId")
            }
        }
        if try fetchValue(Bool.self, "SELECT 1 FROM promo_code WHERE organization_id = ? AND livemode = ? AND code = ?",
                          arguments: [scope.organizationID, scope.livemode, code]) == true {
            throw BillingError(.codeTaken, "The code '\(code)' already exists.", param: "code")
        }
        let promo = PromoCode(
            id: try newIdentifier(identity.id, prefix: "promo", table: "promo_code"), scope: scope, code: code, planID: draft.planID, kind: kind, duration: duration,
            durationCycles: draft.durationCycles, maxRedemptions: draft.maxRedemptions, redeemedCount: 0, active: true,
            expiresAt: draft.expiresAt?.truncatedToSeconds, createdAt: now.truncatedToSeconds)
        var currency: String?
        if case .fixed(let amount) = kind { currency = amount.currency.code }
        try execute("""
            INSERT INTO promo_code (id, organization_id, livemode, code, plan_id, discount_type, discount_value, currency,
                                    duration, duration_cycles, max_redemptions, redeemed_count, active, expires_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?)
            """, arguments: [promo.id, scope.organizationID, scope.livemode, code, promo.planID, promo.discountType,
                             promo.discountValue, currency, duration.rawValue, promo.durationCycles, promo.maxRedemptions,
                             promo.expiresAt?.unixSeconds, promo.createdAt.unixSeconds])
        return promo
    }

    /// The promo code `id` of `scope`.
    public func promoCode(id: String, in scope: Scope) throws -> PromoCode {
        try scopedRow(in: "promo_code", id: id, scope: scope, kind: "promo code") { try PromoCode(row: $0) }
    }

    /// The code a customer typed, in `scope`; nil when there is none (or the text cannot be a code).
    public func promoCode(typed text: String, in scope: Scope) throws -> PromoCode? {
        guard let code = PromoCode.normalized(text) else { return nil }
        return try fetchRow("SELECT * FROM promo_code WHERE organization_id = ? AND livemode = ? AND code = ?",
                            arguments: [scope.organizationID, scope.livemode, code], PromoCode.init(row:))
    }

    /// Promo codes of `scope`, newest first.
    public func promoCodes(in scope: Scope, _ request: PageRequest) throws -> Page<PromoCode> {
        try page(of: "promo_code", in: scope, request, decode: PromoCode.init(row:))
    }

    /// Changes `active`, `maxRedemptions` (never below `redeemedCount`) and `expiresAt`.
    public func updatePromoCode(id: String, in scope: Scope, active: Bool?, maxRedemptions: Int64??,
                                expiresAt: Date??, now: Date) throws -> PromoCode {
        var promo = try promoCode(id: id, in: scope)
        if let active { promo.active = active }
        if let maxRedemptions {
            if let limit = maxRedemptions {
                guard limit >= 1 else { throw BillingError.invalid("maxRedemptions", "maxRedemptions must be at least 1.") }
                // Redemptions held by attempts being paid right now count too: they may settle.
                let reserved = try fetchValue(Int64.self, "SELECT reserved_count FROM promo_code WHERE id = ?", arguments: [promo.id]) ?? 0
                guard limit >= promo.redeemedCount + reserved else {
                    throw BillingError.invalid("maxRedemptions", reserved == 0
                        ? "maxRedemptions cannot be below the \(promo.redeemedCount) redemptions already made."
                        : "maxRedemptions cannot be below the \(promo.redeemedCount) redemptions made and \(reserved) being paid for right now.")
                }
            }
            promo.maxRedemptions = maxRedemptions
        }
        if let expiresAt {
            if let date = expiresAt, date <= now {
                throw BillingError.invalid("expiresAt", "expiresAt must be in the future.")
            }
            promo.expiresAt = expiresAt?.truncatedToSeconds
        }
        try execute("UPDATE promo_code SET active = ?, max_redemptions = ?, expires_at = ? WHERE id = ?",
                    arguments: [promo.active, promo.maxRedemptions, promo.expiresAt?.unixSeconds, promo.id])
        return promo
    }

    /// Counts one redemption, refusing to pass `maxRedemptions` even if two completions race: the
    /// row is only updated while there is room. Returns false when there was none.
    func redeem(_ promo: PromoCode) throws -> Bool {
        try execute("""
            UPDATE promo_code SET redeemed_count = redeemed_count + 1
            WHERE id = ? AND (max_redemptions IS NULL OR redeemed_count < max_redemptions)
            """, arguments: [promo.id])
        return db.changesCount == 1
    }
}

extension PromoCode {
    init(row: Row) throws {
        let type: String = row["discount_type"]
        let value: Int64 = row["discount_value"]
        let kind: Kind = type == "fixed" ? .fixed(try row.money("discount_value")) : .percentage(value)
        self.init(
            id: row["id"], scope: row.scope, code: row["code"], planID: row["plan_id"], kind: kind,
            duration: Duration(rawValue: row["duration"]) ?? .once, durationCycles: row["duration_cycles"],
            maxRedemptions: row["max_redemptions"], redeemedCount: row["redeemed_count"], active: row["active"],
            expiresAt: (row["expires_at"] as Int64?).map(Date.init(unixSeconds:)), createdAt: Date(unixSeconds: row["created_at"]))
    }
}
