import Foundation
import GRDB

/// A shareable URL that sells one thing at a fixed price, over and over. Two shapes share one
/// type: a plan link (Duro: `planId` + `slug`) and an amount link (billing.io: `amount_usd` +
/// `payment_method_id`).
public struct PaymentLink: Hashable, Sendable {
    /// `pl_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// The plan sold, for a plan link.
    public let planID: String?
    /// The readable URL segment of a plan link.
    public let slug: String?
    /// What one checkout costs.
    public let price: Money
    /// The payment method of an amount link, as the merchant named it.
    public let paymentMethodID: String?
    /// Shown on the page.
    public var description: String?
    /// The merchant's key-value pairs.
    public let metadata: Metadata
    /// Whether it takes payments.
    public var active: Bool
    /// Why it is inactive: `api` (the merchant) or `expired` (its `expires_at` passed).
    public var deactivationReason: String? = nil
    /// When it stops taking payments, if ever.
    public let expiresAt: Date?
    /// When it was made.
    public let createdAt: Date

    /// Whether it is a plan link (else an amount link).
    public var isPlanLink: Bool { planID != nil }
}

/// A plan link as asked for (Duro shape).
public struct PlanLinkDraft: Sendable {
    /// The plan to sell; must be active and of the same mode.
    public var planID: String
    /// 1–64 lowercase letters, digits and single hyphens; unique per organization and mode.
    public var slug: String
    /// Optional pairs.
    public var metadata: Metadata

    /// A draft.
    public init(planID: String, slug: String, metadata: Metadata = .empty) {
        self.planID = planID
        self.slug = slug
        self.metadata = metadata
    }
}

/// An amount link as asked for (billing.io shape).
public struct AmountLinkDraft: Sendable {
    /// Dollars, 0.01 to 999,999,999.99, at most two decimals.
    public var amountUSD: Decimal
    /// The merchant's payment method id, non-empty.
    public var paymentMethodID: String
    /// Shown on the page, ≤ 512 characters.
    public var description: String?
    /// Lifetime, ≥ 300 seconds.
    public var expiresInSeconds: Int64?

    /// A draft.
    public init(amountUSD: Decimal, paymentMethodID: String, description: String? = nil, expiresInSeconds: Int64? = nil) {
        self.amountUSD = amountUSD
        self.paymentMethodID = paymentMethodID
        self.description = description
        self.expiresInSeconds = expiresInSeconds
    }
}

extension PaymentLink {
    /// Longest description (billing.io's limit).
    public static let maximumDescriptionLength = 512
    /// Shortest lifetime of an expiring link.
    public static let minimumLifetime: Int64 = 300
    /// Longest lifetime accepted (ten years), so the instant always fits.
    public static let maximumLifetime: Int64 = 10 * 365 * 24 * 3600

    static func validDescription(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard text.codePointCount <= maximumDescriptionLength else {
            throw BillingError.invalid("description", "description can be at most \(maximumDescriptionLength) characters.")
        }
        return text
    }
}

extension Ledger {
    /// Creates a plan link. A taken slug is `slugTaken`.
    public func createPlanLink(_ draft: PlanLinkDraft, in scope: Scope, now: Date,
                               identity: GivenIdentity = .generated) throws -> PaymentLink {
        guard Handle.isValid(draft.slug) else {
            throw BillingError.invalid("slug", "A slug is 1 to \(Handle.maximumLength) lowercase letters, digits and single hyphens, not starting or ending with a hyphen.")
        }
        let plan: Plan
        do {
            plan = try self.plan(id: draft.planID, in: scope)
        } catch let error as BillingError where error.code == .notFound {
            throw BillingError.notFound("plan", draft.planID, param: "planId")
        }
        guard plan.active else {
            throw BillingError.invalid("planId", "The plan '\(plan.id)' is inactive; activate it before selling it.")
        }
        if try fetchValue(Bool.self, "SELECT 1 FROM payment_link WHERE organization_id = ? AND livemode = ? AND slug = ?",
                          arguments: [scope.organizationID, scope.livemode, draft.slug]) == true {
            throw BillingError(.slugTaken, "The slug '\(draft.slug)' is already used by another payment link.", param: "slug")
        }
        let link = PaymentLink(
            id: try newIdentifier(identity.id, prefix: "pl", table: "payment_link"), scope: scope, planID: plan.id, slug: draft.slug, price: plan.price,
            paymentMethodID: nil, description: nil, metadata: draft.metadata, active: true, expiresAt: nil,
            createdAt: now.truncatedToSeconds)
        try insert(link)
        return link
    }

    /// Creates an amount link in US dollars.
    public func createAmountLink(_ draft: AmountLinkDraft, in scope: Scope, now: Date,
                                 identity: GivenIdentity = .generated) throws -> PaymentLink {
        guard draft.amountUSD >= Decimal(string: "0.01")! else {
            throw BillingError.invalid("amount_usd", "amount_usd must be at least 0.01.")
        }
        let maximum = Money(minorUnits: Money.maximumMinorUnits, currency: .usd).major
        guard draft.amountUSD <= maximum else {
            throw BillingError.invalid("amount_usd", "amount_usd can be at most \(maximum).")
        }
        guard let price = Money(major: draft.amountUSD, currency: .usd) else {
            throw BillingError.invalid("amount_usd", "amount_usd can have at most two decimal places.")
        }
        guard draft.paymentMethodID.codePointCount <= 255 else {
            throw BillingError.invalid("payment_method_id", "payment_method_id can be at most 255 characters.")
        }
        let method = draft.paymentMethodID.trimmingCharacters(in: .whitespaces)
        guard !method.isEmpty else {
            throw BillingError.invalid("payment_method_id", "payment_method_id must not be empty.")
        }
        var expiresAt: Date?
        if let seconds = draft.expiresInSeconds {
            guard seconds >= PaymentLink.minimumLifetime else {
                throw BillingError.invalid("expires_in_seconds", "expires_in_seconds must be at least \(PaymentLink.minimumLifetime).")
            }
            guard seconds <= PaymentLink.maximumLifetime else {
                throw BillingError.invalid("expires_in_seconds", "expires_in_seconds can be at most \(PaymentLink.maximumLifetime) (ten years).")
            }
            expiresAt = now.truncatedToSeconds.addingTimeInterval(TimeInterval(seconds))
        }
        let link = PaymentLink(
            id: try newIdentifier(identity.id, prefix: "pl", table: "payment_link"), scope: scope, planID: nil, slug: nil, price: price,
            paymentMethodID: method, description: try PaymentLink.validDescription(draft.description),
            metadata: .empty, active: true, expiresAt: expiresAt, createdAt: now.truncatedToSeconds)
        try insert(link)
        return link
    }

    private func insert(_ link: PaymentLink) throws {
        try execute("""
            INSERT INTO payment_link (id, organization_id, livemode, plan_id, slug, amount, currency,
                                      payment_method_id, description, metadata, active, expires_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
            """, arguments: [
                link.id, link.scope.organizationID, link.scope.livemode, link.planID, link.slug,
                link.price.minorUnits, link.price.currency.code, link.paymentMethodID, link.description,
                try MetadataColumn.encode(link.metadata), link.expiresAt?.unixSeconds, link.createdAt.unixSeconds,
            ])
    }

    /// The link `id` of `scope`.
    public func paymentLink(id: String, in scope: Scope) throws -> PaymentLink {
        try scopedRow(in: "payment_link", id: id, scope: scope, kind: "payment link") { try PaymentLink(row: $0) }
    }

    /// The link `id`, whatever its scope: what a customer's browser opens. Nil when unknown.
    public func paymentLink(id: String) throws -> PaymentLink? {
        try fetchRow("SELECT * FROM payment_link WHERE id = ?", arguments: [id], PaymentLink.init(row:))
    }

    /// The plan link with `slug` of the organization `handle` in `mode`. Nil when unknown.
    public func paymentLink(handle: String, mode: Mode, slug: String) throws -> PaymentLink? {
        try fetchRow("""
            SELECT l.* FROM payment_link l JOIN organization o ON o.id = l.organization_id
            WHERE o.handle = ? AND l.livemode = ? AND l.slug = ?
            """, arguments: [handle, mode == .live, slug], PaymentLink.init(row:))
    }

    /// Links of `scope`, newest first.
    public func paymentLinks(in scope: Scope, _ request: PageRequest) throws -> Page<PaymentLink> {
        try page(of: "payment_link", in: scope, request, decode: PaymentLink.init(row:))
    }

    /// Changes a link's activity or description.
    public func updatePaymentLink(id: String, in scope: Scope, active: Bool?, description: String??) throws -> PaymentLink {
        var link = try paymentLink(id: id, in: scope)
        if let active, active != link.active {
            link.active = active
            link.deactivationReason = active ? nil : "api"
        }
        if let description { link.description = try PaymentLink.validDescription(description) }
        try execute("UPDATE payment_link SET active = ?, deactivation_reason = ?, description = ? WHERE id = ?",
                    arguments: [link.active, link.deactivationReason, link.description, link.id])
        return link
    }
}

extension PaymentLink {
    init(row: Row) throws {
        self.init(
            id: row["id"], scope: row.scope, planID: row["plan_id"], slug: row["slug"], price: try row.money("amount"),
            paymentMethodID: row["payment_method_id"], description: row["description"],
            metadata: try MetadataColumn.decode(row["metadata"]), active: row["active"],
            expiresAt: (row["expires_at"] as Int64?).map(Date.init(unixSeconds:)),
            createdAt: Date(unixSeconds: row["created_at"]))
        deactivationReason = row["deactivation_reason"]
    }
}
