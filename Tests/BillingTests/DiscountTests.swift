@testable import Billing
import Foundation
import Testing

@Suite struct DiscountArithmeticTests {
    static func promo(_ kind: PromoCode.Kind, planID: String? = nil, max: Int64? = nil, redeemed: Int64 = 0,
                      active: Bool = true, expiresAt: Date? = nil) -> PromoCode {
        PromoCode(id: "promo_x", scope: Scope(organizationID: "org", mode: .test), code: "CODE", planID: planID, kind: kind,
                  duration: .once, durationCycles: nil, maxRedemptions: max, redeemedCount: redeemed, active: active,
                  expiresAt: expiresAt, createdAt: november2026)
    }

    static func money(_ units: Int64, _ code: String) -> Money { Money(minorUnits: units, currency: Currency(code: code)!) }

    @Test(arguments: [
        // Percentages round half up to the minor unit.
        (1000 as Int64, "USD", 50 as Int64, 500 as Int64),
        (25, "USD", 50, 13),        // 12.5 → 13
        (15, "USD", 10, 2),         // 1.5 → 2
        (14, "USD", 10, 1),         // 1.4 → 1
        (1, "USD", 50, 1),          // 0.5 → 1
        (1, "USD", 49, 0),          // 0.49 → 0
        (999, "USD", 33, 330),      // 329.67 → 330
        (150_000, "NGN", 100, 150_000),
        (0, "USD", 50, 0),
        (555, "JPY", 10, 56),       // ¥55.5 → ¥56 (zero-decimal currency)
        (1005, "KWD", 50, 503),     // 0.5025 KWD → 0.503 (three-decimal currency)
        (1, "KWD", 1, 0),
        (99_999_999_999, "USD", 100, 99_999_999_999),
    ])
    func percentageDiscountsRoundHalfUp(subtotal: Int64, currency: String, percent: Int64, expected: Int64) {
        let discount = Self.promo(.percentage(percent)).discount(on: Self.money(subtotal, currency))
        #expect(discount == Self.money(expected, currency))
    }

    @Test(arguments: [
        (1000 as Int64, 300 as Int64, 300 as Int64),
        (1000, 1000, 1000),
        (1000, 5000, 1000),   // never more than the subtotal: the total stops at zero
        (0, 100, 0),
    ])
    func fixedDiscountsNeverGoBelowZero(subtotal: Int64, amount: Int64, expected: Int64) {
        let quote = PriceQuote(subtotal: Self.money(subtotal, "NGN"), promo: Self.promo(.fixed(Self.money(amount, "NGN"))))
        #expect(quote.discount.minorUnits == expected)
        #expect(quote.total.minorUnits == subtotal - expected)
        #expect(quote.total.minorUnits >= 0)
    }

    @Test func rulesDecideWhetherACodeApplies() {
        let subtotal = Self.money(1000, "USD")
        #expect(Self.promo(.percentage(10)).rejection(at: november2026, planID: nil, subtotal: subtotal) == nil)
        #expect(Self.promo(.percentage(10), active: false).rejection(at: november2026, planID: nil, subtotal: subtotal) == .inactive)
        #expect(Self.promo(.percentage(10), expiresAt: november2026).rejection(at: november2026, planID: nil, subtotal: subtotal) == .expired)
        #expect(Self.promo(.percentage(10), expiresAt: november2026.addingTimeInterval(1)).rejection(at: november2026, planID: nil, subtotal: subtotal) == nil)
        #expect(Self.promo(.percentage(10), max: 2, redeemed: 2).rejection(at: november2026, planID: nil, subtotal: subtotal) == .usedUp)
        #expect(Self.promo(.percentage(10), max: 2, redeemed: 1).rejection(at: november2026, planID: nil, subtotal: subtotal) == nil)
        #expect(Self.promo(.percentage(10), planID: "plan_a").rejection(at: november2026, planID: "plan_b", subtotal: subtotal) == .wrongPlan)
        #expect(Self.promo(.percentage(10), planID: "plan_a").rejection(at: november2026, planID: nil, subtotal: subtotal) == .wrongPlan)
        #expect(Self.promo(.percentage(10), planID: "plan_a").rejection(at: november2026, planID: "plan_a", subtotal: subtotal) == nil)
        #expect(Self.promo(.fixed(Self.money(100, "NGN"))).rejection(at: november2026, planID: nil, subtotal: subtotal) == .wrongCurrency)
        #expect(Self.promo(.fixed(Self.money(100, "USD"))).rejection(at: november2026, planID: nil, subtotal: subtotal) == nil)
    }

    @Test(arguments: [("launch50", "LAUNCH50"), ("Summer_2026-x", "SUMMER_2026-X"), (" abc ", "ABC")] as [(String, String?)]
          + [("ab", nil), ("has space", nil), ("émoji", nil), (String(repeating: "A", count: 41), nil), ("a.b", nil), ("ıııı", nil)])
    func codesAreNormalizedToUpperCase(text: String, expected: String?) {
        #expect(PromoCode.normalized(text) == expected)
    }

    @Test(arguments: [(PromoCode.Duration.once, nil as Int64?, 1 as Int64?, 0 as Int64?), (.repeating, 3, 3, 2), (.forever, nil, nil, nil)])
    func subscriptionCycles(duration: PromoCode.Duration, cycles: Int64?, total: Int64?, remaining: Int64?) {
        let promo = PromoCode(id: "p", scope: Scope(organizationID: "o", mode: .test), code: "C", planID: nil, kind: .percentage(10),
                              duration: duration, durationCycles: cycles, maxRedemptions: nil, redeemedCount: 0, active: true,
                              expiresAt: nil, createdAt: november2026)
        #expect(promo.cycles == total)
        let discount = SubscriptionDiscount(promoCodeID: "p", type: "percentage", value: 10, duration: duration, cycles: promo.cycles)
        #expect(discount.cyclesRemaining == remaining)
    }
}
