import Foundation
import GRDB

/// Something a merchant sells at a fixed price: once (`interval` nil) or every `intervalCount`
/// `interval`s (a subscription).
public struct Plan: Hashable, Sendable {
    /// How often a recurring plan bills.
    public enum Interval: String, Sendable, CaseIterable {
        case day, week, month, year
    }

    /// `plan_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// Shown to customers.
    public var name: String
    /// Price per period (or once).
    public let price: Money
    /// Billing period of a subscription; nil for a one-time plan.
    public let interval: Interval?
    /// Periods between bills (1 = every month for a monthly plan); nil for one-time plans.
    public let intervalCount: Int?
    /// Longer text shown to customers.
    public var description: String?
    /// The merchant's own key-value pairs.
    public let metadata: Metadata
    /// Inactive plans cannot be sold by new links or sessions.
    public var active: Bool
    /// When it was created.
    public let createdAt: Date

    /// Whether buying the plan starts a subscription.
    public var isRecurring: Bool { interval != nil }
}

/// What a merchant asks for when creating a plan, before validation.
public struct PlanDraft: Sendable {
    /// Display name, 1–250 characters.
    public var name: String
    /// Price in minor units, > 0.
    public var amount: Int64
    /// ISO 4217 code; NGN when absent.
    public var currency: String?
    /// Billing period; nil for one-time.
    public var interval: String?
    /// Periods between bills, ≥ 1; only with an interval.
    public var intervalCount: Int64?
    /// Optional longer text.
    public var description: String?
    /// Optional key-value pairs.
    public var metadata: Metadata

    /// A draft.
    public init(name: String, amount: Int64, currency: String? = nil, interval: String? = nil,
                intervalCount: Int64? = nil, description: String? = nil, metadata: Metadata = .empty) {
        self.name = name
        self.amount = amount
        self.currency = currency
        self.interval = interval
        self.intervalCount = intervalCount
        self.description = description
        self.metadata = metadata
    }
}

/// The changes an update may make to a plan; nil fields are left as they are.
public struct PlanChanges: Sendable {
    /// New activity.
    public var active: Bool?
    /// New name.
    public var name: String?
    /// New description.
    public var description: String?

    /// A set of changes.
    public init(active: Bool? = nil, name: String? = nil, description: String? = nil) {
        self.active = active
        self.name = name
        self.description = description
    }
}

extension Plan {
    /// Longest plan name.
    public static let maximumNameLength = 250
    /// Longest plan description.
    public static let maximumDescriptionLength = 1000
    /// Largest interval count (Stripe's bound: at most three years between bills).
    public static let maximumIntervalCount = 36

    static func validName(_ name: String) throws -> String {
        // The limit applies to the name as sent, before the spaces around it are dropped.
        guard name.codePointCount <= maximumNameLength else {
            throw BillingError.invalid("name", "name can be at most \(maximumNameLength) characters.")
        }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw BillingError.invalid("name", "name must not be empty.") }
        return trimmed
    }

    static func validDescription(_ description: String?) throws -> String? {
        guard let description else { return nil }
        guard description.codePointCount <= maximumDescriptionLength else {
            throw BillingError.invalid("description", "description can be at most \(maximumDescriptionLength) characters.")
        }
        return description
    }
}

extension Ledger {
    /// Validates and stores a new plan.
    public func createPlan(_ draft: PlanDraft, in scope: Scope, now: Date, identity: GivenIdentity = .generated) throws -> Plan {
        let name = try Plan.validName(draft.name)
        guard (1...Money.maximumMinorUnits).contains(draft.amount) else {
            throw BillingError.invalid("amount", "amount must be a positive integer number of minor units, at most \(Money.maximumMinorUnits).")
        }
        let currencyCode = draft.currency ?? Currency.ngn.code
        guard let currency = Currency(code: currencyCode) else {
            throw BillingError.invalid("currency", "'\(currencyCode)' is not an ISO 4217 currency code.")
        }
        var interval: Plan.Interval?
        if let text = draft.interval {
            guard let value = Plan.Interval(rawValue: text) else {
                throw BillingError.invalid("interval", "interval must be one of day, week, month, year.")
            }
            interval = value
        }
        var intervalCount: Int?
        if let count = draft.intervalCount {
            guard interval != nil else {
                throw BillingError.invalid("intervalCount", "intervalCount needs an interval.")
            }
            guard (1...Int64(Plan.maximumIntervalCount)).contains(count) else {
                throw BillingError.invalid("intervalCount", "intervalCount must be between 1 and \(Plan.maximumIntervalCount).")
            }
            intervalCount = Int(count)
        } else if interval != nil {
            intervalCount = 1
        }
        let plan = Plan(
            id: try newIdentifier(identity.id, prefix: "plan", table: "plan"), scope: scope, name: name,
            price: Money(minorUnits: draft.amount, currency: currency),
            interval: interval, intervalCount: intervalCount,
            description: try Plan.validDescription(draft.description),
            metadata: draft.metadata, active: true, createdAt: now.truncatedToSeconds)
        try execute("""
            INSERT INTO plan (id, organization_id, livemode, name, amount, currency, interval,
                              interval_count, description, metadata, active, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
            """, arguments: [
                plan.id, scope.organizationID, scope.livemode, plan.name, plan.price.minorUnits,
                currency.code, interval?.rawValue, intervalCount, plan.description,
                try MetadataColumn.encode(plan.metadata), plan.createdAt.unixSeconds,
            ])
        return plan
    }

    /// The plan `id` of `scope`; `notFound` otherwise, including for another scope's plan.
    public func plan(id: String, in scope: Scope) throws -> Plan {
        try scopedRow(in: "plan", id: id, scope: scope, kind: "plan") { try Plan(row: $0, scope: scope) }
    }

    /// Plans of `scope`, newest first.
    public func plans(in scope: Scope, _ request: PageRequest) throws -> Page<Plan> {
        try page(of: "plan", in: scope, request) { try Plan(row: $0, scope: scope) }
    }

    /// Applies `changes` to the plan and returns it as stored.
    public func updatePlan(id: String, in scope: Scope, _ changes: PlanChanges) throws -> Plan {
        var plan = try plan(id: id, in: scope)
        if let name = changes.name { plan.name = try Plan.validName(name) }
        if let description = changes.description { plan.description = try Plan.validDescription(description) }
        if let active = changes.active { plan.active = active }
        try execute("UPDATE plan SET name = ?, description = ?, active = ? WHERE id = ?",
                       arguments: [plan.name, plan.description, plan.active, plan.id])
        return plan
    }
}

extension Plan {
    init(row: Row, scope: Scope) throws {
        self.init(
            id: row["id"], scope: scope, name: row["name"], price: try row.money("amount"),
            interval: (row["interval"] as String?).flatMap(Interval.init(rawValue:)),
            intervalCount: row["interval_count"], description: row["description"],
            metadata: try MetadataColumn.decode(row["metadata"]), active: row["active"],
            createdAt: Date(unixSeconds: row["created_at"]))
    }
}
