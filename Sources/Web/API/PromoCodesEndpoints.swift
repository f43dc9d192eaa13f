import Billing
import Foundation

/// `/v1/promo-codes` (Duro, camelCase).
enum PromoCodesEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("POST", "/v1/promo-codes", create)
        router.add("GET", "/v1/promo-codes", { context in
            let request = try context.pageRequest()
            return .json(200, listJSON(try context.read { try $0.promoCodes(in: context.scope, request) }, url: "/v1/promo-codes", render: json))
        })
        router.add("GET", "/v1/promo-codes/:id", { context in
            .json(200, json(try context.read { try $0.promoCode(id: context.parameter("id"), in: context.scope) }))
        })
        router.add("POST", "/v1/promo-codes/:id", update)
        router.add("PATCH", "/v1/promo-codes/:id", update)
    }

    @Sendable static func create(_ context: APIContext) throws -> Response {
        let draft = try draft(context.body)
        return try context.write { ledger in
            .json(201, json(try ledger.createPromoCode(draft, in: context.scope, now: context.now)))
        }
    }

    /// The promo code a create request (or a fixture) describes.
    static func draft(_ body: Body) throws -> PromoCodeDraft {
        PromoCodeDraft(
            code: try body.requiredString("code"), planID: try body.string("planId"),
            discountType: try body.requiredString("discountType"), discountValue: try body.requiredInteger("discountValue"),
            currency: try body.string("currency"), duration: try body.string("duration"),
            durationCycles: try body.integer("durationCycles"), maxRedemptions: try body.integer("maxRedemptions"),
            expiresAt: try body.date("expiresAt"))
    }

    @Sendable static func update(_ context: APIContext) throws -> Response {
        let body = context.body
        let maxRedemptions: Int64?? = body.has("maxRedemptions") ? .some(try body.integer("maxRedemptions")) : .none
        let expiresAt: Date?? = body.has("expiresAt") ? .some(try body.date("expiresAt")) : .none
        let active = try body.bool("active")
        return try context.write { ledger in
            .json(200, json(try ledger.updatePromoCode(id: context.parameter("id"), in: context.scope, active: active,
                                                       maxRedemptions: maxRedemptions, expiresAt: expiresAt, now: context.now)))
        }
    }

    static func json(_ promo: PromoCode) -> JSON {
        var currency: String?
        if case .fixed(let amount) = promo.kind { currency = amount.currency.code }
        return .object([
            ("id", .string(promo.id)),
            ("object", .string("promo_code")),
            ("code", .string(promo.code)),
            ("discountType", .string(promo.discountType)),
            ("discountValue", .int(promo.discountValue)),
            ("currency", .string(currency)),
            ("duration", .string(promo.duration.rawValue)),
            ("durationCycles", .int(promo.durationCycles)),
            ("planId", .string(promo.planID)),
            ("maxRedemptions", .int(promo.maxRedemptions)),
            ("redeemedCount", .int(promo.redeemedCount)),
            ("remaining", .int(promo.remaining)),
            ("active", .bool(promo.active)),
            ("livemode", .bool(promo.scope.livemode)),
            ("expiresAt", .string(promo.expiresAt?.iso8601)),
            ("createdAt", .string(promo.createdAt.iso8601)),
        ])
    }
}
