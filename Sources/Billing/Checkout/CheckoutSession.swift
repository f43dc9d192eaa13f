import Foundation
import GRDB

/// One attempt to pay: made by the API (Duro checkout sessions), or by a customer submitting a
/// payment link's page (created and completed in the same transaction).
public struct CheckoutSession: Hashable, Sendable {
    /// Stored state. `status(at:)` also turns an open session past `expiresAt` into `expired`.
    public enum Status: String, Sendable {
        case open, complete, expired
    }

    /// Whether money was taken; `status` says whether the session can still be paid.
    public enum PaymentStatus: String, Sendable {
        /// Nothing taken yet.
        case unpaid
        /// An attempt is being charged (or waits for the bank).
        case processing
        /// Paid.
        case paid
        /// Completed with nothing due (a 100 % discount).
        case noPaymentRequired = "no_payment_required"
    }

    /// `one_time` or `subscription` (a recurring plan).
    public enum Kind: String, Sendable {
        case oneTime = "one_time"
        case subscription
    }

    /// `cs_…`
    public let id: String
    /// The secret of its URL (32 random characters, 190 bits).
    public let token: String
    /// The scope it belongs to.
    public let scope: Scope
    /// The payment link it was made from, if any.
    public let paymentLinkID: String?
    /// The checkout link it was made from, if any.
    public var checkoutLinkID: String? = nil
    /// The plan bought, if any.
    public let planID: String?
    /// One-time or subscription.
    public let kind: Kind
    /// What it costs.
    public let price: Money
    /// Shown to the customer when there is no plan.
    public let description: String?
    /// Stored status.
    public var storedStatus: Status
    /// Email known in advance (prefilled) or given at completion.
    public var customerEmail: String?
    /// Phone given by the merchant.
    public let customerPhone: String?
    /// Name given at completion.
    public var customerName: String?
    /// Where the customer goes after paying; `{CHECKOUT_SESSION_ID}` is replaced.
    public let successURL: String?
    /// The merchant's pairs.
    public let metadata: Metadata
    /// When it stops accepting payment.
    public let expiresAt: Date
    /// When it was made.
    public let createdAt: Date
    /// When it was paid.
    public var completedAt: Date?
    /// When it was expired explicitly.
    public var expiredAt: Date?
    /// The customer record, once paid.
    public var customerID: String?
    /// The payment, once paid.
    public var paymentID: String?
    /// The subscription it started, for a subscription session.
    public var subscriptionID: String?
    /// The billing address given at completion, when one was asked for.
    public var billingAddress: BillingAddress? = nil
    /// The promo code redeemed at completion.
    public var promoCodeID: String? = nil
    /// Its text, as stored (upper case).
    public var promoCode: String? = nil
    /// What it took off `price`.
    public var discountAmount: Int64 = 0
    /// Whether money was taken.
    public var paymentStatus: PaymentStatus = .unpaid

    /// What was (or is to be) paid: the price less the discount.
    public var amountTotal: Money { Money(minorUnits: price.minorUnits - discountAmount, currency: price.currency) }

    /// The status as of `now`. A session being paid does not expire under its charge: the
    /// attempt settles (or is released) first.
    public func status(at now: Date) -> Status {
        storedStatus == .open && now >= expiresAt && paymentStatus != .processing ? .expired : storedStatus
    }

    /// The success URL with the session id in place of `{CHECKOUT_SESSION_ID}`.
    public var resolvedSuccessURL: String? {
        successURL?.replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: id)
    }
}

/// A session as asked for through the API.
public struct SessionDraft: Sendable {
    /// A plan to sell (or give `amount`).
    public var planID: String?
    /// Minor units (> 0) when there is no plan.
    public var amount: Int64?
    /// ISO 4217; NGN when absent. With a plan, must match the plan's when given.
    public var currency: String?
    /// Prefilled on the page.
    public var customerEmail: String?
    /// Kept for the merchant.
    public var customerPhone: String?
    /// Absolute http(s) URL.
    public var successURL: String?
    /// Pairs.
    public var metadata: Metadata
    /// Between 30 minutes and 24 hours ahead; 24 hours when absent.
    public var expiresAt: Date?

    /// A draft.
    public init(planID: String? = nil, amount: Int64? = nil, currency: String? = nil, customerEmail: String? = nil,
                customerPhone: String? = nil, successURL: String? = nil, metadata: Metadata = .empty, expiresAt: Date? = nil) {
        self.planID = planID
        self.amount = amount
        self.currency = currency
        self.customerEmail = customerEmail
        self.customerPhone = customerPhone
        self.successURL = successURL
        self.metadata = metadata
        self.expiresAt = expiresAt
    }
}

extension CheckoutSession {
    /// Default and longest lifetime of a session.
    public static let maximumLifetime: TimeInterval = 24 * 3600
    /// Shortest lifetime a merchant may ask for.
    public static let minimumLifetime: TimeInterval = 30 * 60
    /// Random characters of a token.
    static let tokenLength = 32

    /// A new session's id and page token.
    public struct Identity: Sendable {
        /// `cs_…`
        public let id: String
        /// The random part of its page URL.
        public let token: String

        /// Freshly drawn: a caller that writes under the write lock draws them before taking it.
        public static func new() -> Identity {
            Identity(id: Identifier.make("cs"), token: Identifier.random(CheckoutSession.tokenLength))
        }
    }
}

/// URLs merchants give for redirects: absolute, http or https, with a host, at most 2048
/// characters, without controls or spaces. Anything else (`javascript:`, relative paths) is refused.
public enum RedirectURL {
    /// Longest URL accepted.
    public static let maximumLength = 2048

    /// Code points no URL may hold: controls (C0, DEL, C1) and every kind of space. Foundation's
    /// parser lets controls through in a path, and the URL ends up in a `Location` header.
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0...0x20, 0x7F...0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Whether `text` is acceptable.
    public static func isValid(_ text: String) -> Bool {
        guard text.codePointCount <= maximumLength, !text.unicodeScalars.contains(where: isForbidden),
              let components = URLComponents(string: text.replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: "x")),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    /// `scheme://host[:port]` of a valid URL: what a Content-Security-Policy names.
    public static func origin(of text: String) -> String? {
        guard isValid(text),
              let components = URLComponents(string: text.replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: "x")),
              let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased()
        else { return nil }
        return components.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }
}

extension Ledger {
    /// Validates and stores a new open session.
    public func createSession(_ draft: SessionDraft, in scope: Scope, now: Date,
                              identity: GivenIdentity = .generated) throws -> CheckoutSession {
        var plan: Plan?
        let price: Money
        if let planID = draft.planID {
            do {
                plan = try self.plan(id: planID, in: scope)
            } catch let error as BillingError where error.code == .notFound {
                throw BillingError.notFound("plan", planID, param: "planId")
            }
            guard plan!.active else {
                throw BillingError.invalid("planId", "The plan '\(planID)' is inactive.")
            }
            if let amount = draft.amount, amount != plan!.price.minorUnits {
                throw BillingError.invalid("amount", "amount must be left out (or equal the plan's price) when planId is given.")
            }
            if let code = draft.currency, Currency(code: code) != plan!.price.currency {
                throw BillingError.invalid("currency", "currency must be left out (or equal the plan's, \(plan!.price.currency.code)) when planId is given.")
            }
            price = plan!.price
        } else if let amount = draft.amount {
            guard (1...Money.maximumMinorUnits).contains(amount) else {
                throw BillingError.invalid("amount", "amount must be a positive integer number of minor units, at most \(Money.maximumMinorUnits).")
            }
            let code = draft.currency ?? Currency.ngn.code
            guard let currency = Currency(code: code) else {
                throw BillingError.invalid("currency", "'\(code)' is not an ISO 4217 currency code.")
            }
            price = Money(minorUnits: amount, currency: currency)
        } else {
            throw BillingError(.missingField, "Either planId or amount is required.", param: "planId")
        }
        var email: String?
        // Given means valid: an empty address is refused, not taken for "none" (null or absent is).
        if let given = draft.customerEmail?.trimmingCharacters(in: .whitespaces) {
            guard EmailAddress.isValid(given) else {
                throw BillingError.invalid("customerEmail", "customerEmail is not a valid email address.")
            }
            email = EmailAddress.normalized(given)
        }
        // Checked code point by code point: `Character.isNumber` would take "½" and "٣", and a digit
        // followed by a combining mark is one `Character`.
        if let phone = draft.customerPhone,
           phone.codePointCount > 32 || !phone.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || "+-() ".unicodeScalars.contains($0) }) {
            throw BillingError.invalid("customerPhone", "customerPhone can hold at most 32 digits, spaces, +, -, ( and ).")
        }
        if let url = draft.successURL, !RedirectURL.isValid(url) {
            throw BillingError.invalid("successUrl", "successUrl must be an absolute http or https URL.")
        }
        let start = now.truncatedToSeconds
        var expiresAt = start.addingTimeInterval(CheckoutSession.maximumLifetime)
        if let requested = draft.expiresAt {
            guard requested >= start.addingTimeInterval(CheckoutSession.minimumLifetime),
                  requested <= start.addingTimeInterval(CheckoutSession.maximumLifetime)
            else {
                throw BillingError.invalid("expiresAt", "expiresAt must be between 30 minutes and 24 hours from now.")
            }
            expiresAt = requested.truncatedToSeconds
        }
        let session = CheckoutSession(
            id: try newIdentifier(identity.id, prefix: "cs", table: "checkout_session"), token: try newSessionToken(identity.token),
            scope: scope, paymentLinkID: nil, planID: plan?.id, kind: plan?.isRecurring == true ? .subscription : .oneTime,
            price: price, description: plan?.description, storedStatus: .open, customerEmail: email,
            customerPhone: draft.customerPhone, customerName: nil, successURL: draft.successURL,
            metadata: draft.metadata, expiresAt: expiresAt, createdAt: start)
        try insert(session)
        return session
    }

    func insert(_ session: CheckoutSession) throws {
        try execute("""
            INSERT INTO checkout_session (id, token, organization_id, livemode, payment_link_id, plan_id, kind, amount,
                currency, description, status, customer_email, customer_phone, customer_name, success_url, metadata,
                expires_at, created_at, completed_at, customer_id, payment_id, subscription_id, checkout_link_id, billing_address,
                promo_code_id, promo_code, discount_amount, payment_status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                session.id, session.token, session.scope.organizationID, session.scope.livemode, session.paymentLinkID,
                session.planID, session.kind.rawValue, session.price.minorUnits, session.price.currency.code,
                session.description, session.storedStatus.rawValue, session.customerEmail, session.customerPhone,
                session.customerName, session.successURL, try MetadataColumn.encode(session.metadata),
                session.expiresAt.unixSeconds, session.createdAt.unixSeconds, session.completedAt?.unixSeconds,
                session.customerID, session.paymentID, session.subscriptionID, session.checkoutLinkID,
                try session.billingAddress.map(AddressColumn.encode), session.promoCodeID, session.promoCode,
                session.discountAmount, session.paymentStatus.rawValue,
            ])
    }

    /// The session `id` of `scope`.
    public func session(id: String, in scope: Scope) throws -> CheckoutSession {
        try scopedRow(in: "checkout_session", id: id, scope: scope, kind: "checkout session") { try CheckoutSession(row: $0) }
    }

    /// The session whose URL carries `token`, whatever its scope; nil when unknown.
    public func session(token: String) throws -> CheckoutSession? {
        try fetchRow("SELECT * FROM checkout_session WHERE token = ?", arguments: [token], CheckoutSession.init(row:))
    }

    /// Sessions of `scope`, newest first; only those of one payment or checkout link when `linkID`
    /// (`pl_…` or `cl_…`) is given.
    public func sessions(in scope: Scope, linkID: String? = nil, _ request: PageRequest) throws -> Page<CheckoutSession> {
        let filter: (sql: String, arguments: StatementArguments)? = linkID.map { id in
            (id.hasPrefix("cl_") ? "checkout_link_id = ?" : "payment_link_id = ?", [id])
        }
        return try page(of: "checkout_session", in: scope, request, filter: filter, decode: CheckoutSession.init(row:))
    }

    /// A new checkout session's page token: `given` when there is one (16 to 64 letters and digits,
    /// unused), 32 random characters otherwise.
    func newSessionToken(_ given: String?) throws -> String {
        guard let given else { return Identifier.random(CheckoutSession.tokenLength) }
        guard Identifier.isRandomPart(given.utf8, length: 16...64) else {
            throw BillingError.invalid("token", "token must be 16 to 64 letters and digits.")
        }
        if try fetchValue(Bool.self, "SELECT 1 FROM checkout_session WHERE token = ?", arguments: [given]) == true {
            throw BillingError(.alreadyExists, "The token '\(given)' is already used.", param: "token")
        }
        return given
    }

    /// The newest completed session of the payment link or checkout link `linkID` of `scope`, if
    /// any. The link must exist in the scope.
    public func lastCompletedSession(linkID: String, in scope: Scope) throws -> CheckoutSession? {
        let column: String
        if linkID.hasPrefix("cl_") {
            _ = try scopedRow(in: "checkout_link", id: linkID, scope: scope, kind: "checkout link") { _ in () }
            column = "checkout_link_id"
        } else {
            _ = try scopedRow(in: "payment_link", id: linkID, scope: scope, kind: "payment link") { _ in () }
            column = "payment_link_id"
        }
        return try fetchRow("""
            SELECT * FROM checkout_session WHERE \(column) = ? AND organization_id = ? AND livemode = ? AND status = 'complete'
            ORDER BY completed_at DESC, seq DESC LIMIT 1
            """, arguments: [linkID, scope.organizationID, scope.livemode], CheckoutSession.init(row:))
    }

    /// Expires an open session now. An already expired one is returned as it is; a completed one
    /// is `invalidState`.
    public func expireSession(id: String, in scope: Scope, now: Date) throws -> CheckoutSession {
        var session = try session(id: id, in: scope)
        switch session.status(at: now) {
        case .complete:
            throw BillingError(.invalidState, "The checkout session '\(id)' is complete and cannot be expired.")
        case .expired where session.storedStatus == .expired:
            return session
        case .open where session.paymentStatus == .processing:
            throw BillingError(.invalidState, "The checkout session '\(id)' is being paid right now; it can be expired once the payment has settled or failed.")
        case .open, .expired:
            session.storedStatus = .expired
            session.expiredAt = now.truncatedToSeconds
            try execute("UPDATE checkout_session SET status = 'expired', expired_at = ? WHERE id = ?",
                        arguments: [session.expiredAt!.unixSeconds, session.id])
            return session
        }
    }
}

extension CheckoutSession {
    init(row: Row) throws {
        self.init(
            id: row["id"], token: row["token"],
            scope: row.scope, paymentLinkID: row["payment_link_id"], planID: row["plan_id"],
            kind: Kind(rawValue: row["kind"]) ?? .oneTime,
            price: try row.money("amount"), description: row["description"],
            storedStatus: Status(rawValue: row["status"]) ?? .open,
            customerEmail: row["customer_email"], customerPhone: row["customer_phone"], customerName: row["customer_name"],
            successURL: row["success_url"], metadata: try MetadataColumn.decode(row["metadata"]),
            expiresAt: Date(unixSeconds: row["expires_at"]), createdAt: Date(unixSeconds: row["created_at"]),
            completedAt: (row["completed_at"] as Int64?).map(Date.init(unixSeconds:)),
            expiredAt: (row["expired_at"] as Int64?).map(Date.init(unixSeconds:)),
            customerID: row["customer_id"], paymentID: row["payment_id"], subscriptionID: row["subscription_id"])
        checkoutLinkID = row["checkout_link_id"]
        billingAddress = try (row["billing_address"] as String?).map(AddressColumn.decode)
        promoCodeID = row["promo_code_id"]
        promoCode = row["promo_code"]
        discountAmount = row["discount_amount"]
        paymentStatus = PaymentStatus(rawValue: row["payment_status"]) ?? .unpaid
    }
}

/// A billing address as JSON in one TEXT column.
enum AddressColumn {
    static func encode(_ address: BillingAddress) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(address), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> BillingAddress {
        try JSONDecoder().decode(BillingAddress.self, from: Data(text.utf8))
    }
}
