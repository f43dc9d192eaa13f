import Billing
import Foundation

/// `/v1/payment-links`: one path for both reference shapes. A body with `planId`/`slug` is a plan
/// link (Duro, camelCase); one with `amount_usd`/`payment_method_id` an amount link (billing.io,
/// snake_case). Each link is returned in the shape it was made in.
enum PaymentLinksEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("POST", "/v1/payment-links", create)
        router.add("GET", "/v1/payment-links", list)
        router.add("GET", "/v1/payment-links/:id", retrieve)
        router.add("POST", "/v1/payment-links/:id", update)
        router.add("PATCH", "/v1/payment-links/:id", update)
    }

    /// Fields that mark the billing.io shape.
    static let amountShapeFields = ["amount_usd", "payment_method_id", "expires_in_seconds", "description"]

    @Sendable static func create(_ context: APIContext) throws -> Response {
        let draft = try draft(context.body)
        return try context.write { ledger in
            .json(201, json(try create(draft, in: ledger, scope: context.scope, now: context.now), context.representation))
        }
    }

    /// A link of either shape, as a create request (or a fixture) describes it.
    enum Draft {
        /// A plan link (Duro).
        case plan(PlanLinkDraft)
        /// An amount link (billing.io).
        case amount(AmountLinkDraft)
    }

    /// The link a create request describes, in the shape its fields mark.
    static func draft(_ body: Body) throws -> Draft {
        if !body.has("planId") && !body.has("slug") && amountShapeFields.contains(where: body.has) {
            guard let amount = try body.decimal("amount_usd") else { throw APIError.missing(body.name("amount_usd")) }
            return .amount(AmountLinkDraft(
                amountUSD: amount, paymentMethodID: try body.requiredString("payment_method_id"),
                description: try body.string("description", maxLength: PaymentLink.maximumDescriptionLength),
                expiresInSeconds: try body.integer("expires_in_seconds")))
        }
        return .plan(PlanLinkDraft(planID: try body.requiredString("planId"), slug: try body.requiredString("slug"),
                                   metadata: try body.metadata()))
    }

    /// Stores the link `draft` describes.
    static func create(_ draft: Draft, in ledger: Ledger, scope: Scope, now: Date,
                       identity: GivenIdentity = .generated) throws -> PaymentLink {
        switch draft {
        case .plan(let plan): try ledger.createPlanLink(plan, in: scope, now: now, identity: identity)
        case .amount(let amount): try ledger.createAmountLink(amount, in: scope, now: now, identity: identity)
        }
    }

    @Sendable static func retrieve(_ context: APIContext) throws -> Response {
        .json(200, json(try context.read { try $0.paymentLink(id: context.parameter("id"), in: context.scope) }, context.representation))
    }

    @Sendable static func list(_ context: APIContext) throws -> Response {
        let request = try context.pageRequest()
        let page = try context.read { try $0.paymentLinks(in: context.scope, request) }
        return .json(200, listJSON(page, url: "/v1/payment-links") { json($0, context.representation) })
    }

    @Sendable static func update(_ context: APIContext) throws -> Response {
        let body = context.body
        let active = try body.bool("active")
        let description: String?? = body.has("description")
            ? .some(try body.string("description", maxLength: PaymentLink.maximumDescriptionLength)) : .none
        return try context.write { ledger in
            let before = try ledger.paymentLink(id: context.parameter("id"), in: context.scope)
            let link = try ledger.updatePaymentLink(id: before.id, in: context.scope, active: active, description: description)
            let rendered = json(link, context.representation)
            if before.active && !link.active {
                try EventLog.record(.paymentLinkDeactivated, object: rendered, reason: "api", scope: context.scope,
                                    in: ledger, now: context.now)
            }
            return .json(200, rendered)
        }
    }

    /// The link as the API returns it, in its own shape.
    static func json(_ link: PaymentLink, _ context: Representation) -> JSON {
        let url = "\(context.publicURL)/\(link.id)"
        if let slug = link.slug {
            let slugURL = PageURLs.slug(publicURL: context.publicURL, handle: context.handle,
                                        mode: link.scope.mode, slug: slug)
            return .object([
                ("id", .string(link.id)),
                ("object", .string("payment_link")),
                ("planId", .string(link.planID)),
                ("slug", .string(slug)),
                ("active", .bool(link.active)),
                ("url", .string(url)),
                ("slugUrl", .string(slugURL)),
                ("amount", .int(link.price.minorUnits)),
                ("currency", .string(link.price.currency.code)),
                ("description", .string(link.description)),
                ("metadata", .strings(link.metadata.values)),
                ("livemode", .bool(link.scope.livemode)),
                ("createdAt", .string(link.createdAt.iso8601)),
            ])
        }
        return .object([
            ("id", .string(link.id)),
            ("object", .string("payment_link")),
            ("org_id", .string(link.scope.organizationID)),
            ("amount_usd", .number(link.price.major)),
            ("payment_method_id", .string(link.paymentMethodID)),
            ("description", .string(link.description)),
            ("url", .string(url)),
            ("active", .bool(link.active)),
            ("expires_at", .string(link.expiresAt?.iso8601)),
            ("environment", .string(link.scope.mode == .live ? "live" : "sandbox")),
            ("livemode", .bool(link.scope.livemode)),
            ("created_at", .string(link.createdAt.iso8601)),
        ])
    }
}

/// Where hosted pages live. Every URL the API hands out is built here.
enum PageURLs {
    /// `/<handle>/<slug>` for live links, `/<handle>/test/<slug>` for test links.
    static func slug(publicURL: String, handle: String, mode: Mode, slug: String) -> String {
        mode == .live ? "\(publicURL)/\(handle)/\(slug)" : "\(publicURL)/\(handle)/test/\(slug)"
    }

    /// `/c/<token>`: a checkout session's page, and later its receipt.
    static func session(publicURL: String, token: String) -> String {
        "\(publicURL)/c/\(token)"
    }
}
