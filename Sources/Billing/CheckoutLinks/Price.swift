import Foundation
import GRDB

/// How a price treats tax. Informational here: no tax is computed.
public enum TaxBehavior: String, Sendable, CaseIterable {
    case inclusive, exclusive, unspecified
}

/// A reusable unit price of a product, referenced by checkout links' line items.
public struct Price: Hashable, Sendable {
    /// `price_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// Per unit.
    public let unitAmount: Money
    /// The product's name, as customers see it.
    public let product: String
    /// How tax is treated.
    public let taxBehavior: TaxBehavior
    /// Inactive prices cannot be put on new links.
    public let active: Bool
    /// When it was made.
    public let createdAt: Date
}

/// A price as asked for.
public struct PriceDraft: Sendable {
    /// ISO 4217.
    public var currency: String
    /// Minor units, ≥ 0.
    public var unitAmount: Int64
    /// Product name, 1–250 characters.
    public var product: String
    /// `inclusive`, `exclusive` or `unspecified` (default).
    public var taxBehavior: String?

    /// A draft.
    public init(currency: String, unitAmount: Int64, product: String, taxBehavior: String? = nil) {
        self.currency = currency
        self.unitAmount = unitAmount
        self.product = product
        self.taxBehavior = taxBehavior
    }
}

extension Price {
    /// Longest product name.
    public static let maximumProductLength = 250

    /// Checks a unit price's parts; `param` prefixes the names in errors (`line_items[0][price_data]`).
    static func validate(currency code: String, unitAmount: Int64, product: String, taxBehavior: String?,
                         param: String) throws -> (Money, String, TaxBehavior) {
        guard code.utf8.count == 3, let currency = Currency(code: code) else {
            throw BillingError.invalid(param.isEmpty ? "currency" : "\(param)[currency]", "'\(code)' is not a three-letter ISO 4217 currency code.")
        }
        guard (0...Money.maximumMinorUnits).contains(unitAmount) else {
            throw BillingError.invalid(param.isEmpty ? "unit_amount" : "\(param)[unit_amount]",
                                       "unit_amount must be 0 to \(Money.maximumMinorUnits) minor units.")
        }
        let name = product.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, product.codePointCount <= maximumProductLength else {
            throw BillingError.invalid(param.isEmpty ? "product" : "\(param)[product]", "product must be 1 to \(maximumProductLength) characters.")
        }
        var tax = TaxBehavior.unspecified
        if let taxBehavior {
            guard let value = TaxBehavior(rawValue: taxBehavior) else {
                throw BillingError.invalid(param.isEmpty ? "tax_behavior" : "\(param)[tax_behavior]", "tax_behavior must be inclusive, exclusive or unspecified.")
            }
            tax = value
        }
        return (Money(minorUnits: unitAmount, currency: currency), name, tax)
    }
}

extension Ledger {
    /// Validates and stores a price.
    public func createPrice(_ draft: PriceDraft, in scope: Scope, now: Date, identity: GivenIdentity = .generated) throws -> Price {
        let (amount, product, tax) = try Price.validate(currency: draft.currency, unitAmount: draft.unitAmount,
                                                        product: draft.product, taxBehavior: draft.taxBehavior, param: "")
        let price = Price(id: try newIdentifier(identity.id, prefix: "price", table: "price"), scope: scope, unitAmount: amount, product: product,
                          taxBehavior: tax, active: true, createdAt: now.truncatedToSeconds)
        try execute("""
            INSERT INTO price (id, organization_id, livemode, currency, unit_amount, product, tax_behavior, active, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
            """, arguments: [price.id, scope.organizationID, scope.livemode, amount.currency.code, amount.minorUnits,
                             product, tax.rawValue, price.createdAt.unixSeconds])
        return price
    }

    /// The price `id` of `scope`.
    public func price(id: String, in scope: Scope) throws -> Price {
        try scopedRow(in: "price", id: id, scope: scope, kind: "price") { try Price(row: $0, scope: scope) }
    }

    /// Prices of `scope`, newest first.
    public func prices(in scope: Scope, _ request: PageRequest) throws -> Page<Price> {
        try page(of: "price", in: scope, request) { try Price(row: $0, scope: scope) }
    }
}

extension Price {
    init(row: Row, scope: Scope) throws {
        self.init(id: row["id"], scope: scope, unitAmount: try row.money("unit_amount"),
                  product: row["product"], taxBehavior: TaxBehavior(rawValue: row["tax_behavior"]) ?? .unspecified,
                  active: row["active"], createdAt: Date(unixSeconds: row["created_at"]))
    }
}
