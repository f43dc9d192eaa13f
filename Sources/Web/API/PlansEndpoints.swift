import Billing

/// `/v1/plans`: create, retrieve, list, update. camelCase, like the Duro references.
enum PlansEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("POST", "/v1/plans", create)
        router.add("GET", "/v1/plans", list)
        router.add("GET", "/v1/plans/:id", retrieve)
        router.add("POST", "/v1/plans/:id", update)
        router.add("PATCH", "/v1/plans/:id", update)
    }

    @Sendable static func create(_ context: APIContext) throws -> Response {
        let draft = try draft(context.body)
        return try context.write { ledger in
            .json(201, json(try ledger.createPlan(draft, in: context.scope, now: context.now)))
        }
    }

    @Sendable static func retrieve(_ context: APIContext) throws -> Response {
        .json(200, json(try context.read { try $0.plan(id: context.parameter("id"), in: context.scope) }))
    }

    @Sendable static func list(_ context: APIContext) throws -> Response {
        let request = try context.pageRequest()
        let page = try context.read { try $0.plans(in: context.scope, request) }
        return .json(200, listJSON(page, url: "/v1/plans", render: json))
    }

    @Sendable static func update(_ context: APIContext) throws -> Response {
        let body = context.body
        let changes = PlanChanges(active: try body.bool("active"), name: try body.string("name"),
                                  description: try body.string("description"))
        return try context.write { ledger in
            .json(200, json(try ledger.updatePlan(id: context.parameter("id"), in: context.scope, changes)))
        }
    }

    /// The plan a create request (or a fixture) describes.
    static func draft(_ body: Body) throws -> PlanDraft {
        PlanDraft(
            name: try body.requiredString("name"),
            amount: try body.requiredInteger("amount"),
            currency: try body.string("currency"),
            interval: try body.string("interval"),
            intervalCount: try body.integer("intervalCount"),
            description: try body.string("description"),
            metadata: try body.metadata())
    }

    /// The plan as the API returns it.
    static func json(_ plan: Plan) -> JSON {
        .object([
            ("id", .string(plan.id)),
            ("object", .string("plan")),
            ("name", .string(plan.name)),
            ("amount", .int(plan.price.minorUnits)),
            ("currency", .string(plan.price.currency.code)),
            ("interval", .string(plan.interval?.rawValue)),
            ("intervalCount", .int(plan.intervalCount)),
            ("description", .string(plan.description)),
            ("metadata", .strings(plan.metadata.values)),
            ("active", .bool(plan.active)),
            ("livemode", .bool(plan.scope.livemode)),
            ("createdAt", .string(plan.createdAt.iso8601)),
        ])
    }
}
