import Foundation
import GRDB

/// A shareable checkout of one or more line items (the checkout-links reference): a title, what
/// happens after payment, whether an address is collected, and optionally a completed-session
/// limit that is never exceeded.
public struct CheckoutLink: Hashable, Sendable {
    /// `payment` or `order`.
    public enum Mode: String, Sendable, CaseIterable { case payment, order }
    /// The button's word.
    public enum SubmitType: String, Sendable, CaseIterable { case auto, pay, book, donate }
    /// Whether the page asks for a billing address.
    public enum AddressCollection: String, Sendable, CaseIterable { case auto, required }
    /// Why an inactive link is inactive.
    public enum DeactivationReason: String, Sendable {
        /// Its completed-session limit was reached.
        case limitReached = "limit_reached"
        /// The merchant turned it off.
        case api
    }

    /// What the customer gets after paying.
    public enum AfterCompletion: Hashable, Sendable {
        /// A 303 to `url` (`{CHECKOUT_SESSION_ID}` replaced).
        case redirect(url: String)
        /// Our confirmation page, with the merchant's message if any.
        case hostedConfirmation(customMessage: String?)
    }

    /// `cl_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// Whether it takes payments (a reached limit turns it off by itself).
    public var active: Bool
    /// Why it is inactive, when it is.
    public var deactivationReason: DeactivationReason?
    /// `payment` or `order`.
    public let mode: Mode
    /// ≤ 30 characters.
    public let title: String
    /// ≤ 500 characters.
    public let description: String?
    /// Every line item's currency.
    public let currency: Currency
    /// What is bought, in order.
    public let lineItems: [LineItem]
    /// After payment.
    public var afterCompletion: AfterCompletion
    /// Address collection.
    public let billingAddressCollection: AddressCollection
    /// The merchant's pairs.
    public var metadata: Metadata
    /// Shown when the link is inactive or sold out.
    public var inactiveMessage: String?
    /// `["card"]`.
    public let paymentMethodTypes: [String]
    /// Whether a promo code may be entered.
    public let allowPromotionCodes: Bool
    /// At most this many completed checkouts, if set.
    public var completedSessionLimit: Int64?
    /// Completed checkouts so far.
    public var completedSessionCount: Int64
    /// Places held by attempts being paid right now (each becomes a completion or comes back).
    public var reservedSessionCount: Int64 = 0
    /// The button's word.
    public let submitType: SubmitType
    /// When it was made.
    public let createdAt: Date

    /// Sum of the line totals.
    public var total: Money {
        Money(minorUnits: lineItems.reduce(0) { $0 + $1.total.minorUnits }, currency: currency)
    }
}

/// One line of a checkout link: a quantity of a unit price.
public struct LineItem: Hashable, Sendable {
    /// The price object it came from, if it referenced one.
    public let priceID: String?
    /// Product name.
    public let product: String
    /// ≥ 1.
    public let quantity: Int64
    /// Per unit.
    public let unitAmount: Money
    /// Tax treatment.
    public let taxBehavior: TaxBehavior

    /// `quantity × unitAmount`.
    public var total: Money { Money(minorUnits: quantity * unitAmount.minorUnits, currency: unitAmount.currency) }
}

/// A line item as asked for: a `price` id or inline `price_data`, exactly one.
public struct LineItemDraft: Sendable {
    /// `quantity`.
    public var quantity: Int64
    /// `price`.
    public var priceID: String?
    /// `price_data`.
    public var priceData: PriceDraft?

    /// A draft.
    public init(quantity: Int64, priceID: String? = nil, priceData: PriceDraft? = nil) {
        self.quantity = quantity
        self.priceID = priceID
        self.priceData = priceData
    }
}

/// A checkout link as asked for (`POST /v1/checkout_links`), before validation.
public struct CheckoutLinkDraft: Sendable {
    /// `line_items`: 1–20.
    public var lineItems: [LineItemDraft]
    /// `title`: ≤ 30 characters.
    public var title: String
    /// `mode`: payment (default) or order.
    public var mode: String?
    /// `description`: ≤ 500 characters.
    public var description: String?
    /// `currency`: three letters; the line items' when absent.
    public var currency: String?
    /// `after_completion`: a hosted confirmation when absent.
    public var afterCompletion: CheckoutLink.AfterCompletion?
    /// `billing_address_collection`: auto (default) or required.
    public var billingAddressCollection: String?
    /// `metadata`.
    public var metadata: Metadata
    /// `inactive_message`: ≤ 500 characters.
    public var inactiveMessage: String?
    /// `payment_method_types`: `["card"]` when absent.
    public var paymentMethodTypes: [String]?
    /// `allow_promotion_codes`: false when absent.
    public var allowPromotionCodes: Bool?
    /// `restrictions.completed_sessions.limit`: ≥ 1.
    public var completedSessionLimit: Int64?
    /// `submit_type`: auto (default), pay, book or donate.
    public var submitType: String?

    /// A draft; every field but the line items and title optional.
    public init(lineItems: [LineItemDraft], title: String, mode: String? = nil, description: String? = nil,
                currency: String? = nil, afterCompletion: CheckoutLink.AfterCompletion? = nil,
                billingAddressCollection: String? = nil, metadata: Metadata = .empty, inactiveMessage: String? = nil,
                paymentMethodTypes: [String]? = nil, allowPromotionCodes: Bool? = nil,
                completedSessionLimit: Int64? = nil, submitType: String? = nil) {
        self.lineItems = lineItems
        self.title = title
        self.mode = mode
        self.description = description
        self.currency = currency
        self.afterCompletion = afterCompletion
        self.billingAddressCollection = billingAddressCollection
        self.metadata = metadata
        self.inactiveMessage = inactiveMessage
        self.paymentMethodTypes = paymentMethodTypes
        self.allowPromotionCodes = allowPromotionCodes
        self.completedSessionLimit = completedSessionLimit
        self.submitType = submitType
    }
}

/// The changes `POST /v1/checkout_links/{id}` may make; nil leaves a field as it is.
public struct CheckoutLinkChanges: Sendable {
    /// `active`.
    public var active: Bool?
    /// `.some(nil)` clears the message.
    public var inactiveMessage: String??
    /// `after_completion`.
    public var afterCompletion: CheckoutLink.AfterCompletion?
    /// `.some(nil)` removes the limit.
    public var completedSessionLimit: Int64??
    /// `metadata`, replacing the old pairs.
    public var metadata: Metadata?

    /// Changes.
    public init(active: Bool? = nil, inactiveMessage: String?? = nil, afterCompletion: CheckoutLink.AfterCompletion? = nil,
                completedSessionLimit: Int64?? = nil, metadata: Metadata? = nil) {
        self.active = active
        self.inactiveMessage = inactiveMessage
        self.afterCompletion = afterCompletion
        self.completedSessionLimit = completedSessionLimit
        self.metadata = metadata
    }
}

extension CheckoutLink {
    /// Line items per link, at most.
    public static let maximumLineItems = 20
    /// Longest title.
    public static let maximumTitleLength = 30
    /// Longest description, inactive message and custom confirmation message.
    public static let maximumTextLength = 500
    /// Payment method types this server can take.
    public static let knownPaymentMethodTypes: Set<String> = ["card"]

    /// Open unless turned off, or sold out (the merchant's `inactive_message` is shown either way).
    public func availability(at now: Date) -> CheckoutAvailability {
        if let limit = completedSessionLimit, completedSessionCount >= limit {
            return .soldOut(message: inactiveMessage)
        }
        guard active else {
            return deactivationReason == .limitReached ? .soldOut(message: inactiveMessage) : .inactive(message: inactiveMessage)
        }
        return .open
    }

    static func validText(_ text: String?, _ param: String) throws -> String? {
        guard let text else { return nil }
        guard text.codePointCount <= maximumTextLength else {
            throw BillingError.invalid(param, "\(param) can be at most \(maximumTextLength) characters.")
        }
        return text
    }

    static func validAfterCompletion(_ value: AfterCompletion) throws -> AfterCompletion {
        switch value {
        case .redirect(let url):
            guard RedirectURL.isValid(url) else {
                throw BillingError.invalid("after_completion[redirect][url]", "The redirect URL must be an absolute http or https URL.")
            }
        case .hostedConfirmation(let message):
            _ = try validText(message, "after_completion[hosted_confirmation][custom_message]")
        }
        return value
    }
}

extension Ledger {
    /// Validates and stores a checkout link with its line items.
    public func createCheckoutLink(_ draft: CheckoutLinkDraft, in scope: Scope, now: Date,
                                   identity: GivenIdentity = .generated) throws -> CheckoutLink {
        guard !draft.lineItems.isEmpty else { throw BillingError.invalid("line_items", "line_items needs at least one item.") }
        guard draft.lineItems.count <= CheckoutLink.maximumLineItems else {
            throw BillingError.invalid("line_items", "line_items can have at most \(CheckoutLink.maximumLineItems) items.")
        }
        // The limit applies to the title as sent, before the spaces around it are dropped.
        guard draft.title.codePointCount <= CheckoutLink.maximumTitleLength else {
            throw BillingError.invalid("title", "title can be at most \(CheckoutLink.maximumTitleLength) characters.")
        }
        let title = draft.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty else { throw BillingError.invalid("title", "title must not be empty.") }
        var items: [LineItem] = []
        for (index, item) in draft.lineItems.enumerated() {
            let param = "line_items[\(index)]"
            guard item.quantity >= 1 else { throw BillingError.invalid("\(param)[quantity]", "quantity must be at least 1.") }
            guard item.quantity <= 1_000_000 else { throw BillingError.invalid("\(param)[quantity]", "quantity can be at most 1000000.") }
            switch (item.priceID, item.priceData) {
            case (let id?, nil):
                let price: Price
                do {
                    price = try self.price(id: id, in: scope)
                } catch let error as BillingError where error.code == .notFound {
                    throw BillingError.notFound("price", id, param: "\(param)[price]")
                }
                guard price.active else { throw BillingError.invalid("\(param)[price]", "The price '\(id)' is inactive.") }
                items.append(LineItem(priceID: id, product: price.product, quantity: item.quantity,
                                      unitAmount: price.unitAmount, taxBehavior: price.taxBehavior))
            case (nil, let data?):
                let (amount, product, tax) = try Price.validate(currency: data.currency, unitAmount: data.unitAmount,
                                                                product: data.product, taxBehavior: data.taxBehavior,
                                                                param: "\(param)[price_data]")
                items.append(LineItem(priceID: nil, product: product, quantity: item.quantity, unitAmount: amount, taxBehavior: tax))
            default:
                throw BillingError.invalid(param, "Each line item needs exactly one of price or price_data.")
            }
        }
        let currency: Currency
        if let code = draft.currency {
            guard code.utf8.count == 3, let given = Currency(code: code) else {
                throw BillingError.invalid("currency", "currency must be a three-letter ISO 4217 code.")
            }
            currency = given
        } else {
            currency = items[0].unitAmount.currency
        }
        var total: Int64 = 0
        for (index, item) in items.enumerated() {
            guard item.unitAmount.currency == currency else {
                throw BillingError.invalid("line_items[\(index)]", "Every line item must be in \(currency.code), the link's currency.")
            }
            let (line, lineOverflow) = item.quantity.multipliedReportingOverflow(by: item.unitAmount.minorUnits)
            let (sum, sumOverflow) = total.addingReportingOverflow(line)
            guard !lineOverflow, !sumOverflow, sum <= Money.maximumMinorUnits else {
                throw BillingError.invalid("line_items[\(index)]", "The total is larger than this server accepts (\(Money.maximumMinorUnits) minor units).")
            }
            total = sum
        }
        func choice<T: RawRepresentable & CaseIterable>(_ text: String?, _ param: String, default value: T) throws -> T where T.RawValue == String {
            guard let text else { return value }
            guard let parsed = T(rawValue: text) else {
                throw BillingError.invalid(param, "\(param) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return parsed
        }
        let methods = draft.paymentMethodTypes ?? ["card"]
        guard !methods.isEmpty else { throw BillingError.invalid("payment_method_types", "payment_method_types must not be empty.") }
        for (index, method) in methods.enumerated() where !CheckoutLink.knownPaymentMethodTypes.contains(method) {
            throw BillingError.invalid("payment_method_types[\(index)]", "'\(method)' is not a payment method this server takes; use card.")
        }
        if let limit = draft.completedSessionLimit, limit < 1 {
            throw BillingError.invalid("restrictions[completed_sessions][limit]", "limit must be at least 1.")
        }
        let link = CheckoutLink(
            id: try newIdentifier(identity.id, prefix: "cl", table: "checkout_link"), scope: scope, active: true, deactivationReason: nil,
            mode: try choice(draft.mode, "mode", default: .payment), title: title,
            description: try CheckoutLink.validText(draft.description, "description"), currency: currency,
            lineItems: items,
            afterCompletion: try CheckoutLink.validAfterCompletion(draft.afterCompletion ?? .hostedConfirmation(customMessage: nil)),
            billingAddressCollection: try choice(draft.billingAddressCollection, "billing_address_collection", default: .auto),
            metadata: draft.metadata, inactiveMessage: try CheckoutLink.validText(draft.inactiveMessage, "inactive_message"),
            paymentMethodTypes: methods, allowPromotionCodes: draft.allowPromotionCodes ?? false,
            completedSessionLimit: draft.completedSessionLimit, completedSessionCount: 0,
            submitType: try choice(draft.submitType, "submit_type", default: .auto), createdAt: now.truncatedToSeconds)
        try execute("""
            INSERT INTO checkout_link (id, organization_id, livemode, active, mode, title, description, currency,
                after_completion, billing_address_collection, metadata, inactive_message, payment_method_types,
                allow_promotion_codes, completed_sessions_limit, completed_sessions_count, submit_type, created_at)
            VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
            """, arguments: [
                link.id, scope.organizationID, scope.livemode, link.mode.rawValue, link.title, link.description,
                currency.code, AfterCompletionColumn.encode(link.afterCompletion), link.billingAddressCollection.rawValue,
                try MetadataColumn.encode(link.metadata), link.inactiveMessage, methods.joined(separator: ","),
                link.allowPromotionCodes, link.completedSessionLimit, link.submitType.rawValue, link.createdAt.unixSeconds,
            ])
        for (position, item) in items.enumerated() {
            try execute("""
                INSERT INTO checkout_link_item (checkout_link_id, position, quantity, price_id, currency, unit_amount, product, tax_behavior)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [link.id, position, item.quantity, item.priceID, item.unitAmount.currency.code,
                                 item.unitAmount.minorUnits, item.product, item.taxBehavior.rawValue])
        }
        return link
    }

    /// The link `id` of `scope`.
    public func checkoutLink(id: String, in scope: Scope) throws -> CheckoutLink {
        try scopedRow(in: "checkout_link", id: id, scope: scope, kind: "checkout link") { try checkoutLink(row: $0) }
    }

    /// The link `id` whatever its scope (what a browser opens); nil when unknown.
    public func checkoutLink(id: String) throws -> CheckoutLink? {
        try fetchRow("SELECT * FROM checkout_link WHERE id = ?", arguments: [id], checkoutLink(row:))
    }

    /// Links of `scope`, newest first.
    public func checkoutLinks(in scope: Scope, _ request: PageRequest) throws -> Page<CheckoutLink> {
        try page(of: "checkout_link", in: scope, request, decode: checkoutLink(row:))
    }

    /// Applies `changes`. Raising (or removing) the limit of a link the limit turned off reopens it;
    /// turning on a link whose count has reached its limit is refused until the limit is raised.
    public func updateCheckoutLink(id: String, in scope: Scope, _ changes: CheckoutLinkChanges) throws -> CheckoutLink {
        var link = try checkoutLink(id: id, in: scope)
        if let message = changes.inactiveMessage {
            link.inactiveMessage = try CheckoutLink.validText(message, "inactive_message")
        }
        if let after = changes.afterCompletion { link.afterCompletion = try CheckoutLink.validAfterCompletion(after) }
        if let metadata = changes.metadata { link.metadata = metadata }
        if let limit = changes.completedSessionLimit {
            if let limit, limit < 1 {
                throw BillingError.invalid("restrictions[completed_sessions][limit]", "limit must be at least 1.")
            }
            if let limit, limit < link.completedSessionCount + link.reservedSessionCount {
                throw BillingError.invalid("restrictions[completed_sessions][limit]", link.reservedSessionCount == 0
                    ? "limit cannot be below the \(link.completedSessionCount) checkouts already completed."
                    : "limit cannot be below the \(link.completedSessionCount) checkouts completed and \(link.reservedSessionCount) being paid for right now.")
            }
            link.completedSessionLimit = limit
            if link.deactivationReason == .limitReached, limit.map({ $0 > link.completedSessionCount }) ?? true {
                link.active = true
                link.deactivationReason = nil
            }
        }
        if let active = changes.active {
            if !active {
                link.active = false
                link.deactivationReason = .api
            } else if !link.active {
                if let limit = link.completedSessionLimit, link.completedSessionCount >= limit {
                    throw BillingError.invalid("active", "This link has completed its \(limit) checkouts; raise restrictions.completed_sessions.limit to reopen it.")
                }
                link.active = true
                link.deactivationReason = nil
            }
        }
        if let limit = link.completedSessionLimit, link.completedSessionCount >= limit, link.active {
            link.active = false
            link.deactivationReason = .limitReached
        }
        try execute("""
            UPDATE checkout_link SET active = ?, deactivation_reason = ?, inactive_message = ?, after_completion = ?,
                metadata = ?, completed_sessions_limit = ?
            WHERE id = ?
            """, arguments: [link.active, link.deactivationReason?.rawValue, link.inactiveMessage,
                             AfterCompletionColumn.encode(link.afterCompletion), try MetadataColumn.encode(link.metadata),
                             link.completedSessionLimit, link.id])
        return link
    }

    func checkoutLink(row: Row) throws -> CheckoutLink {
        let id: String = row["id"]
        let currency = try row.currency()
        let items = try fetchRows("SELECT * FROM checkout_link_item WHERE checkout_link_id = ? ORDER BY position", arguments: [id]) { item in
                LineItem(priceID: item["price_id"], product: item["product"], quantity: item["quantity"],
                         unitAmount: try item.money("unit_amount"),
                         taxBehavior: TaxBehavior(rawValue: item["tax_behavior"]) ?? .unspecified)
            }
        let methods: String = row["payment_method_types"]
        var link = CheckoutLink(
            id: id, scope: row.scope,
            active: row["active"], deactivationReason: (row["deactivation_reason"] as String?).flatMap(CheckoutLink.DeactivationReason.init(rawValue:)),
            mode: CheckoutLink.Mode(rawValue: row["mode"]) ?? .payment, title: row["title"], description: row["description"],
            currency: currency, lineItems: items, afterCompletion: AfterCompletionColumn.decode(row["after_completion"]),
            billingAddressCollection: CheckoutLink.AddressCollection(rawValue: row["billing_address_collection"]) ?? .auto,
            metadata: try MetadataColumn.decode(row["metadata"]), inactiveMessage: row["inactive_message"],
            paymentMethodTypes: methods.split(separator: ",").map(String.init),
            allowPromotionCodes: row["allow_promotion_codes"], completedSessionLimit: row["completed_sessions_limit"],
            completedSessionCount: row["completed_sessions_count"],
            submitType: CheckoutLink.SubmitType(rawValue: row["submit_type"]) ?? .auto, createdAt: Date(unixSeconds: row["created_at"]))
        link.reservedSessionCount = row["reserved_sessions_count"]
        return link
    }
}

/// `after_completion` in one TEXT column: `redirect <url>` or `hosted_confirmation <message>`.
enum AfterCompletionColumn {
    static func encode(_ value: CheckoutLink.AfterCompletion) -> String {
        switch value {
        case .redirect(let url): "redirect \(url)"
        case .hostedConfirmation(let message?): "hosted_confirmation \(message)"
        case .hostedConfirmation(nil): "hosted_confirmation"
        }
    }

    static func decode(_ text: String) -> CheckoutLink.AfterCompletion {
        if text.hasPrefix("redirect ") { return .redirect(url: String(text.dropFirst("redirect ".count))) }
        if text.hasPrefix("hosted_confirmation ") {
            return .hostedConfirmation(customMessage: String(text.dropFirst("hosted_confirmation ".count)))
        }
        return .hostedConfirmation(customMessage: nil)
    }
}
