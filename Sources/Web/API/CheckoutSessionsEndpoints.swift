import Billing
import Foundation

/// `/v1/checkout/sessions` (Duro, camelCase).
enum CheckoutSessionsEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("POST", "/v1/checkout/sessions", create)
        router.add("GET", "/v1/checkout/sessions", list)
        router.add("GET", "/v1/checkout/sessions/:id", retrieve)
        router.add("POST", "/v1/checkout/sessions/:id/expire", expire)
    }

    @Sendable static func create(_ context: APIContext) throws -> Response {
        let draft = try draft(context.body)
        return try context.write { ledger in
            .json(201, json(try ledger.createSession(draft, in: context.scope, now: context.now), context.representation))
        }
    }

    @Sendable static func retrieve(_ context: APIContext) throws -> Response {
        .json(200, json(try context.read { try $0.session(id: context.parameter("id"), in: context.scope) }, context.representation))
    }

    @Sendable static func list(_ context: APIContext) throws -> Response {
        let request = try context.pageRequest()
        let link = context.request.query["paymentLinkId"] ?? context.request.query["checkoutLinkId"]
        let page = try context.read { try $0.sessions(in: context.scope, linkID: link, request) }
        return .json(200, listJSON(page, url: "/v1/checkout/sessions") { json($0, context.representation) })
    }

    @Sendable static func expire(_ context: APIContext) throws -> Response {
        try context.write { ledger in
            let before = try ledger.session(id: context.parameter("id"), in: context.scope)
            let session = try ledger.expireSession(id: before.id, in: context.scope, now: context.now)
            let rendered = json(session, context.representation)
            if before.storedStatus == .open {
                try EventLog.record(.checkoutSessionExpired, object: rendered, scope: context.scope, in: ledger, now: context.now)
            }
            return .json(200, rendered)
        }
    }

    /// The session a create request (or a fixture) describes.
    static func draft(_ body: Body) throws -> SessionDraft {
        SessionDraft(
            planID: try body.string("planId"), amount: try body.integer("amount"), currency: try body.string("currency"),
            customerEmail: try body.string("customerEmail"), customerPhone: try body.string("customerPhone"),
            successURL: try body.string("successUrl", maxLength: RedirectURL.maximumLength),
            metadata: try body.metadata(), expiresAt: try body.date("expiresAt"))
    }

    /// The session as the API returns it; `status` is as of the request.
    static func json(_ session: CheckoutSession, _ context: Representation) -> JSON {
        .object([
            ("id", .string(session.id)),
            ("object", .string("checkout_session")),
            ("token", .string(session.token)),
            ("url", .string(PageURLs.session(publicURL: context.publicURL, token: session.token))),
            ("status", .string(session.status(at: context.now).rawValue)),
            ("paymentStatus", .string(session.paymentStatus.rawValue)),
            ("kind", .string(session.kind.rawValue)),
            ("amount", .int(session.price.minorUnits)),
            ("currency", .string(session.price.currency.code)),
            ("promoCode", .string(session.promoCode)),
            ("discountAmount", .int(session.discountAmount)),
            ("amountTotal", .int(session.amountTotal.minorUnits)),
            ("planId", .string(session.planID)),
            ("paymentLinkId", .string(session.paymentLinkID)),
            ("checkoutLinkId", .string(session.checkoutLinkID)),
            ("customerEmail", .string(session.customerEmail)),
            ("customerPhone", .string(session.customerPhone)),
            ("customerName", .string(session.customerName)),
            ("billingAddress", session.billingAddress.map { address in
                .object([
                    ("line1", .string(address.line1)), ("line2", .string(address.line2)), ("city", .string(address.city)),
                    ("postalCode", .string(address.postalCode)), ("country", .string(address.country)),
                ])
            } ?? .null),
            ("successUrl", .string(session.successURL)),
            ("metadata", .strings(session.metadata.values)),
            ("customerId", .string(session.customerID)),
            ("transactionId", .string(session.paymentID)),
            ("subscriptionId", .string(session.subscriptionID)),
            ("livemode", .bool(session.scope.livemode)),
            ("expiresAt", .string(session.expiresAt.iso8601)),
            ("completedAt", .string(session.completedAt?.iso8601)),
            ("createdAt", .string(session.createdAt.iso8601)),
        ])
    }
}

/// What checkouts leave behind: customers, transactions, subscriptions (read-only).
enum RecordsEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("GET", "/v1/customers", { context in
            let request = try context.pageRequest()
            return .json(200, listJSON(try context.read { try $0.customers(in: context.scope, request) }, url: "/v1/customers", render: json))
        })
        router.add("GET", "/v1/customers/:id", { context in
            .json(200, json(try context.read { try $0.customer(id: context.parameter("id"), in: context.scope) }))
        })
        router.add("GET", "/v1/transactions", { context in
            let request = try context.pageRequest()
            return .json(200, listJSON(try context.read { try $0.payments(in: context.scope, request) }, url: "/v1/transactions", render: json))
        })
        router.add("GET", "/v1/transactions/:id", { context in
            .json(200, json(try context.read { try $0.payment(id: context.parameter("id"), in: context.scope) }))
        })
        router.add("GET", "/v1/subscriptions", { context in
            let request = try context.pageRequest()
            return .json(200, listJSON(try context.read { try $0.subscriptions(in: context.scope, request) }, url: "/v1/subscriptions", render: json))
        })
        router.add("GET", "/v1/subscriptions/:id", { context in
            .json(200, json(try context.read { try $0.subscription(id: context.parameter("id"), in: context.scope) }))
        })
    }

    static func json(_ customer: Customer) -> JSON {
        .object([
            ("id", .string(customer.id)),
            ("object", .string("customer")),
            ("email", .string(customer.email)),
            ("name", .string(customer.name)),
            ("livemode", .bool(customer.scope.livemode)),
            ("createdAt", .string(customer.createdAt.iso8601)),
        ])
    }

    static func json(_ payment: Payment) -> JSON {
        .object([
            ("id", .string(payment.id)),
            ("object", .string("transaction")),
            ("amount", .int(payment.amount.minorUnits)),
            ("currency", .string(payment.amount.currency.code)),
            ("status", .string(payment.refundStatus)),
            ("amountRefunded", .int(payment.amountRefunded)),
            ("cardBrand", .string(payment.cardBrand)),
            ("cardLast4", .string(payment.cardLast4)),
            ("promoCode", .string(payment.promoCode)),
            ("discountAmount", .int(payment.discountAmount)),
            ("checkoutSessionId", .string(payment.checkoutSessionID)),
            ("customerId", .string(payment.customerID)),
            ("livemode", .bool(payment.scope.livemode)),
            ("createdAt", .string(payment.createdAt.iso8601)),
        ])
    }

    static func json(_ subscription: Subscription) -> JSON {
        .object([
            ("id", .string(subscription.id)),
            ("object", .string("subscription")),
            ("customerId", .string(subscription.customerID)),
            ("planId", .string(subscription.planID)),
            ("status", .string(subscription.status)),
            ("currentPeriodStart", .string(subscription.currentPeriodStart.iso8601)),
            ("currentPeriodEnd", .string(subscription.currentPeriodEnd.iso8601)),
            ("checkoutSessionId", .string(subscription.checkoutSessionID)),
            ("discount", subscription.discount.map { discount in
                .object([
                    ("promoCodeId", .string(discount.promoCodeID)),
                    ("discountType", .string(discount.type)),
                    ("discountValue", .int(discount.value)),
                    ("duration", .string(discount.duration.rawValue)),
                    ("cycles", .int(discount.cycles)),
                    ("cyclesRemaining", .int(discount.cyclesRemaining)),
                ])
            } ?? .null),
            ("livemode", .bool(subscription.scope.livemode)),
            ("createdAt", .string(subscription.createdAt.iso8601)),
        ])
    }
}
