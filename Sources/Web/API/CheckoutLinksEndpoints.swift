import Billing
import Foundation

/// `/v1/prices` and `/v1/checkout_links` (the checkout-links reference: snake_case, Basic or
/// Bearer auth, `Idempotency-Key` required on create).
enum CheckoutLinksEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("POST", "/v1/prices", createPrice)
        router.add("GET", "/v1/prices", { context in
            let request = try context.pageRequest()
            return .json(200, listJSON(try context.read { try $0.prices(in: context.scope, request) }, url: "/v1/prices", render: json))
        })
        router.add("GET", "/v1/prices/:id", { context in
            .json(200, json(try context.read { try $0.price(id: context.parameter("id"), in: context.scope) }))
        })
        router.add("POST", "/v1/checkout_links", create)
        router.add("GET", "/v1/checkout_links", { context in
            let request = try context.pageRequest()
            let page = try context.read { try $0.checkoutLinks(in: context.scope, request) }
            return .json(200, listJSON(page, url: "/v1/checkout_links") { json($0, publicURL: context.publicURL) })
        })
        router.add("GET", "/v1/checkout_links/:id", { context in
            .json(200, json(try context.read { try $0.checkoutLink(id: context.parameter("id"), in: context.scope) },
                            publicURL: context.publicURL))
        })
        router.add("POST", "/v1/checkout_links/:id", update)
    }

    @Sendable static func createPrice(_ context: APIContext) throws -> Response {
        let draft = try priceDraft(context.body)
        return try context.write { ledger in
            .json(201, json(try ledger.createPrice(draft, in: context.scope, now: context.now)))
        }
    }

    @Sendable static func create(_ context: APIContext) throws -> Response {
        guard context.idempotency != nil else {
            throw APIError(status: 400, code: "parameter_missing",
                           message: "Creating a checkout link needs an Idempotency-Key header.", param: "Idempotency-Key")
        }
        let draft = try draft(context.body)
        return try context.write { ledger in
            .json(201, json(try ledger.createCheckoutLink(draft, in: context.scope, now: context.now), publicURL: context.publicURL))
        }
    }

    /// The price a create request, a line item's `price_data` or a fixture describes.
    static func priceDraft(_ body: Body) throws -> PriceDraft {
        PriceDraft(currency: try body.requiredString("currency"), unitAmount: try body.requiredInteger("unit_amount"),
                   product: try body.requiredString("product"), taxBehavior: try body.string("tax_behavior"))
    }

    /// The checkout link a create request (or a fixture) describes.
    static func draft(_ body: Body) throws -> CheckoutLinkDraft {
        guard let items = try body.objects("line_items") else { throw APIError.missing(body.name("line_items")) }
        var lineItems: [LineItemDraft] = []
        for item in items {
            guard let quantity = try item.integer("quantity") else { throw APIError.missing(item.name("quantity")) }
            let priceData = try item.object("price_data").map { try priceDraft($0) }
            lineItems.append(LineItemDraft(quantity: quantity, priceID: try item.string("price"), priceData: priceData))
        }
        var limit: Int64?
        if let restrictions = try body.object("restrictions"), let completed = try restrictions.object("completed_sessions") {
            guard let value = try completed.integer("limit") else { throw APIError.missing(completed.name("limit")) }
            limit = value
        }
        return CheckoutLinkDraft(
            lineItems: lineItems, title: try body.requiredString("title"), mode: try body.string("mode"),
            description: try body.string("description"), currency: try body.string("currency"),
            afterCompletion: try afterCompletion(body), billingAddressCollection: try body.string("billing_address_collection"),
            metadata: try body.metadata(), inactiveMessage: try body.string("inactive_message"),
            paymentMethodTypes: try body.strings("payment_method_types"), allowPromotionCodes: try body.bool("allow_promotion_codes"),
            completedSessionLimit: limit, submitType: try body.string("submit_type"))
    }

    @Sendable static func update(_ context: APIContext) throws -> Response {
        let body = context.body
        var changes = CheckoutLinkChanges(active: try body.bool("active"), afterCompletion: try afterCompletion(body))
        if body.has("inactive_message") { changes.inactiveMessage = .some(try body.string("inactive_message")) }
        if body.has("metadata") { changes.metadata = try body.metadata() }
        if body.has("restrictions") {
            // `restrictions: null` or `{}` or `completed_sessions: null` removes the limit.
            let completed = try body.object("restrictions")?.object("completed_sessions")
            changes.completedSessionLimit = .some(try completed?.integer("limit"))
        }
        return try context.write { ledger in
            let before = try ledger.checkoutLink(id: context.parameter("id"), in: context.scope)
            let link = try ledger.updateCheckoutLink(id: before.id, in: context.scope, changes)
            let rendered = json(link, publicURL: context.publicURL)
            if before.active && !link.active {
                try EventLog.record(.checkoutLinkDeactivated, object: rendered, reason: link.deactivationReason?.rawValue ?? "api",
                                    scope: context.scope, in: ledger, now: context.now)
            }
            return .json(200, rendered)
        }
    }

    /// `after_completion`: `{type: redirect, redirect: {url}}` or `{type: hosted_confirmation,
    /// hosted_confirmation: {custom_message}}`.
    static func afterCompletion(_ body: Body) throws -> CheckoutLink.AfterCompletion? {
        guard let after = try body.object("after_completion") else { return nil }
        // Both members are read whatever the type, so that a malformed one is refused rather than
        // silently ignored.
        let redirect = try after.object("redirect"), confirmation = try after.object("hosted_confirmation")
        switch try after.requiredString("type") {
        case "redirect":
            guard let redirect else { throw APIError.missing(after.name("redirect")) }
            return .redirect(url: try redirect.requiredString("url"))
        case "hosted_confirmation":
            return .hostedConfirmation(customMessage: try confirmation?.string("custom_message"))
        default:
            throw APIError.invalid(after.name("type"), "after_completion[type] must be redirect or hosted_confirmation.")
        }
    }

    static func json(_ price: Price) -> JSON {
        .object([
            ("id", .string(price.id)),
            ("object", .string("price")),
            ("active", .bool(price.active)),
            ("currency", .string(price.unitAmount.currency.code.lowercased())),
            ("unit_amount", .int(price.unitAmount.minorUnits)),
            ("product", .string(price.product)),
            ("tax_behavior", .string(price.taxBehavior.rawValue)),
            ("livemode", .bool(price.scope.livemode)),
            ("created", .int(price.createdAt.unixSeconds)),
        ])
    }

    /// The link as the reference describes it; every default filled in.
    static func json(_ link: CheckoutLink, publicURL: String) -> JSON {
        let after: JSON = switch link.afterCompletion {
        case .redirect(let url):
            .object([("type", .string("redirect")), ("redirect", .object([("url", .string(url))])), ("hosted_confirmation", .null)])
        case .hostedConfirmation(let message):
            .object([("type", .string("hosted_confirmation")), ("redirect", .null),
                     ("hosted_confirmation", .object([("custom_message", .string(message))]))])
        }
        return .object([
            ("id", .string(link.id)),
            ("object", .string("checkout_link")),
            ("active", .bool(link.active)),
            ("mode", .string(link.mode.rawValue)),
            ("url", .string("\(publicURL)/\(link.id)")),
            ("title", .string(link.title)),
            ("currency", .string(link.currency.code.lowercased())),
            ("livemode", .bool(link.scope.livemode)),
            ("created", .int(link.createdAt.unixSeconds)),
            ("description", .string(link.description)),
            ("after_completion", after),
            ("billing_address_collection", .string(link.billingAddressCollection.rawValue)),
            ("metadata", .strings(link.metadata.values)),
            ("custom_fields", .array([])),
            ("custom_text", .object([])),
            ("inactive_message", .string(link.inactiveMessage)),
            ("payment_method_types", .array(link.paymentMethodTypes.map(JSON.string))),
            ("allow_promotion_codes", .bool(link.allowPromotionCodes)),
            ("restrictions", .object([("completed_sessions", .object([
                ("limit", .int(link.completedSessionLimit)),
                ("count", .int(link.completedSessionCount)),
            ]))])),
            ("submit_type", .string(link.submitType.rawValue)),
            ("line_items", .array(link.lineItems.map { item in
                .object([
                    ("price", .string(item.priceID)),
                    ("product", .string(item.product)),
                    ("quantity", .int(item.quantity)),
                    ("unit_amount", .int(item.unitAmount.minorUnits)),
                    ("currency", .string(item.unitAmount.currency.code.lowercased())),
                    ("tax_behavior", .string(item.taxBehavior.rawValue)),
                    ("amount_total", .int(item.total.minorUnits)),
                ])
            })),
            ("amount_total", .int(link.total.minorUnits)),
            ("inactive_reason", .string(link.deactivationReason?.rawValue)),
        ])
    }
}
