import Foundation
import GRDB

/// Someone who paid, known by email per organization and mode.
public struct Customer: Hashable, Sendable {
    /// `cus_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// The address they paid with.
    public let email: String
    /// The name given at their latest payment.
    public let name: String?
    /// When they first paid.
    public let createdAt: Date
}

/// Money taken for one completed checkout (a "transaction" in the API).
public struct Payment: Hashable, Sendable {
    /// `txn_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// The session it paid.
    public let checkoutSessionID: String
    /// Who paid.
    public let customerID: String?
    /// How much.
    public let amount: Money
    /// `succeeded`.
    public let status: String
    /// Card brand; nil when nothing had to be charged.
    public let cardBrand: String?
    /// Last four digits; nil when nothing had to be charged.
    public let cardLast4: String?
    /// The processor's reference for the charge.
    public let processorReference: String?
    /// When it was taken.
    public let createdAt: Date
    /// The promo code applied, if any.
    public var promoCode: String? = nil
    /// What it took off, in the payment's currency.
    public var discountAmount: Int64 = 0
    /// Taken back by refunds that succeeded.
    public var amountRefunded: Int64 = 0
    /// The processor that took it (`test`, `stripe`); refunds go through it.
    public var processor: String? = nil

    /// `succeeded`, `partially_refunded` or `refunded`.
    public var refundStatus: String {
        guard amountRefunded > 0 else { return status }
        return amountRefunded >= amount.minorUnits ? "refunded" : "partially_refunded"
    }
}

/// A recurring plan a customer is subscribed to.
public struct Subscription: Hashable, Sendable {
    /// `sub_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// Who.
    public let customerID: String
    /// What.
    public let planID: String
    /// The session that started it.
    public let checkoutSessionID: String
    /// `active`.
    public let status: String
    /// Start of the period paid for.
    public let currentPeriodStart: Date
    /// End of the period paid for.
    public let currentPeriodEnd: Date
    /// When it started.
    public let createdAt: Date
    /// The discount it carries, if one was applied at checkout.
    public var discount: SubscriptionDiscount? = nil
}

/// A promo code's discount on a subscription and how long it lasts.
public struct SubscriptionDiscount: Hashable, Sendable {
    /// The code's id.
    public let promoCodeID: String
    /// `percentage` or `fixed`.
    public let type: String
    /// Percent or minor units.
    public let value: Int64
    /// once, forever or repeating.
    public let duration: PromoCode.Duration
    /// Periods it applies to in all (the first included); nil for forever.
    public let cycles: Int64?

    /// Periods it still applies to after the first, already paid; nil for forever.
    public var cyclesRemaining: Int64? { cycles.map { max(0, $0 - 1) } }
}

extension Ledger {
    /// The customer with `email` in `scope`, created (or renamed) as needed.
    func customer(email: String, name: String?, in scope: Scope, now: Date) throws -> Customer {
        if let existing = try fetchRow("SELECT * FROM customer WHERE organization_id = ? AND livemode = ? AND email = ?",
                                       arguments: [scope.organizationID, scope.livemode, email], { Customer(row: $0, scope: scope) }) {
            if let name, name != existing.name {
                try execute("UPDATE customer SET name = ? WHERE id = ?", arguments: [name, existing.id])
            }
            return Customer(id: existing.id, scope: scope, email: email, name: name ?? existing.name, createdAt: existing.createdAt)
        }
        let customer = Customer(id: Identifier.make("cus"), scope: scope, email: email, name: name, createdAt: now.truncatedToSeconds)
        try execute("INSERT INTO customer (id, organization_id, livemode, email, name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [customer.id, scope.organizationID, scope.livemode, email, name, customer.createdAt.unixSeconds])
        return customer
    }

    func insert(_ payment: Payment) throws {
        try execute("""
            INSERT INTO payment (id, organization_id, livemode, checkout_session_id, customer_id, amount, currency, status,
                                 card_brand, card_last4, processor_reference, created_at, promo_code, discount_amount, processor)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                payment.id, payment.scope.organizationID, payment.scope.livemode, payment.checkoutSessionID,
                payment.customerID, payment.amount.minorUnits, payment.amount.currency.code, payment.status,
                payment.cardBrand, payment.cardLast4, payment.processorReference, payment.createdAt.unixSeconds,
                payment.promoCode, payment.discountAmount, payment.processor,
            ])
    }

    func insert(_ subscription: Subscription) throws {
        try execute("""
            INSERT INTO subscription (id, organization_id, livemode, customer_id, plan_id, checkout_session_id, status,
                                      current_period_start, current_period_end, created_at, promo_code_id, discount_type,
                                      discount_value, discount_duration, discount_cycles)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                subscription.id, subscription.scope.organizationID, subscription.scope.livemode, subscription.customerID,
                subscription.planID, subscription.checkoutSessionID, subscription.status,
                subscription.currentPeriodStart.unixSeconds, subscription.currentPeriodEnd.unixSeconds,
                subscription.createdAt.unixSeconds, subscription.discount?.promoCodeID, subscription.discount?.type,
                subscription.discount?.value, subscription.discount?.duration.rawValue, subscription.discount?.cycles,
            ])
    }

    /// The customer `id` of `scope`.
    public func customer(id: String, in scope: Scope) throws -> Customer {
        try scopedRow(in: "customer", id: id, scope: scope, kind: "customer") { Customer(row: $0, scope: scope) }
    }

    /// Customers of `scope`, newest first.
    public func customers(in scope: Scope, _ request: PageRequest) throws -> Page<Customer> {
        try page(of: "customer", in: scope, request) { Customer(row: $0, scope: scope) }
    }

    /// The payment `id` of `scope`.
    public func payment(id: String, in scope: Scope) throws -> Payment {
        try scopedRow(in: "payment", id: id, scope: scope, kind: "transaction") { try Payment(row: $0, scope: scope) }
    }

    /// Payments of `scope`, newest first.
    public func payments(in scope: Scope, _ request: PageRequest) throws -> Page<Payment> {
        try page(of: "payment", in: scope, request) { try Payment(row: $0, scope: scope) }
    }

    /// The subscription `id` of `scope`.
    public func subscription(id: String, in scope: Scope) throws -> Subscription {
        try scopedRow(in: "subscription", id: id, scope: scope, kind: "subscription") { Subscription(row: $0, scope: scope) }
    }

    /// Subscriptions of `scope`, newest first.
    public func subscriptions(in scope: Scope, _ request: PageRequest) throws -> Page<Subscription> {
        try page(of: "subscription", in: scope, request) { Subscription(row: $0, scope: scope) }
    }
}

extension Customer {
    init(row: Row, scope: Scope) {
        self.init(id: row["id"], scope: scope, email: row["email"], name: row["name"], createdAt: Date(unixSeconds: row["created_at"]))
    }
}

extension Payment {
    init(row: Row, scope: Scope) throws {
        self.init(id: row["id"], scope: scope, checkoutSessionID: row["checkout_session_id"], customerID: row["customer_id"],
                  amount: try row.money("amount"), status: row["status"],
                  cardBrand: row["card_brand"], cardLast4: row["card_last4"], processorReference: row["processor_reference"],
                  createdAt: Date(unixSeconds: row["created_at"]), promoCode: row["promo_code"],
                  discountAmount: row["discount_amount"], amountRefunded: row["amount_refunded"], processor: row["processor"])
    }
}

extension Subscription {
    init(row: Row, scope: Scope) {
        self.init(id: row["id"], scope: scope, customerID: row["customer_id"], planID: row["plan_id"],
                  checkoutSessionID: row["checkout_session_id"], status: row["status"],
                  currentPeriodStart: Date(unixSeconds: row["current_period_start"]),
                  currentPeriodEnd: Date(unixSeconds: row["current_period_end"]),
                  createdAt: Date(unixSeconds: row["created_at"]),
                  discount: (row["promo_code_id"] as String?).map { id in
                      SubscriptionDiscount(promoCodeID: id, type: row["discount_type"], value: row["discount_value"],
                                           duration: PromoCode.Duration(rawValue: row["discount_duration"]) ?? .once,
                                           cycles: row["discount_cycles"])
                  })
    }
}

extension Plan {
    /// The end of the billing period that starts at `start`: `intervalCount` intervals later, by the
    /// Gregorian calendar in UTC (Jan 31 + 1 month = Feb 28/29).
    public func periodEnd(from start: Date) -> Date? {
        guard let interval, let intervalCount else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let component: Calendar.Component = switch interval {
        case .day: .day
        case .week: .weekOfYear
        case .month: .month
        case .year: .year
        }
        return calendar.date(byAdding: component, value: intervalCount, to: start)
    }
}
