import Billing
import Foundation

/// `/v1/events` and `/v1/webhook_endpoints`.
enum EventsEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("GET", "/v1/events", { context in
            let request = try context.pageRequest()
            let type = context.request.query["type"]
            if let type, Event.Kind(rawValue: type) == nil {
                throw APIError.invalid("type", "'\(type)' is not an event type.")
            }
            let page = try context.read { try $0.events(in: context.scope, type: type, request) }
            return .json(200, listJSON(page, url: "/v1/events", render: json))
        })
        router.add("GET", "/v1/events/:id", { context in
            .json(200, try context.read { try $0.event(id: context.parameter("id"), in: context.scope) }.body)
        })
        router.add("POST", "/v1/events/:id/redeliver", { context in
            try context.write { ledger in
                let queued = try ledger.redeliver(eventID: context.parameter("id"), in: context.scope, now: context.now)
                return .json(200, .object([("id", .string(context.parameter("id"))), ("object", .string("event_redelivery")),
                                          ("queued", .int(queued))]))
            }
        })
        router.add("POST", "/v1/webhook_endpoints", createEndpoint)
        router.add("GET", "/v1/webhook_endpoints", { context in
            let request = try context.pageRequest()
            let page = try context.read { try $0.webhookEndpoints(in: context.scope, request) }
            return .json(200, listJSON(page, url: "/v1/webhook_endpoints") { json($0, showSecret: false) })
        })
        router.add("GET", "/v1/webhook_endpoints/:id", { context in
            .json(200, json(try context.read { try $0.webhookEndpoint(id: context.parameter("id"), in: context.scope) }, showSecret: false))
        })
        router.add("POST", "/v1/webhook_endpoints/:id", updateEndpoint)
        router.add("DELETE", "/v1/webhook_endpoints/:id", { context in
            try context.write { ledger in
                try ledger.deleteWebhookEndpoint(id: context.parameter("id"), in: context.scope)
                return .json(200, .object([("id", .string(context.parameter("id"))), ("object", .string("webhook_endpoint")),
                                          ("deleted", .bool(true))]))
            }
        })
        router.add("GET", "/v1/webhook_endpoints/:id/deliveries", { context in
            let request = try context.pageRequest()
            let page = try context.read { try $0.deliveries(endpointID: context.parameter("id"), in: context.scope, request) }
            return .json(200, listJSON(page, url: "/v1/webhook_endpoints/\(context.parameter("id"))/deliveries", render: json))
        })
    }

    @Sendable static func createEndpoint(_ context: APIContext) throws -> Response {
        let draft = try endpointDraft(context.body)
        return try context.write { ledger in
            .json(201, json(try ledger.createWebhookEndpoint(draft, in: context.scope, now: context.now), showSecret: true))
        }
    }

    /// The webhook endpoint a create request (or a fixture) describes.
    static func endpointDraft(_ body: Body) throws -> WebhookEndpointDraft {
        guard let events = try body.strings("enabled_events") else { throw APIError.missing(body.name("enabled_events")) }
        return WebhookEndpointDraft(url: try body.requiredString("url"), enabledEvents: events,
                                    description: try body.string("description"))
    }

    @Sendable static func updateEndpoint(_ context: APIContext) throws -> Response {
        let body = context.body
        let description: String?? = body.has("description") ? .some(try body.string("description")) : .none
        let url = try body.string("url"), events = try body.strings("enabled_events"), disabled = try body.bool("disabled")
        return try context.write { ledger in
            .json(200, json(try ledger.updateWebhookEndpoint(id: context.parameter("id"), in: context.scope, url: url,
                                                             enabledEvents: events, description: description, disabled: disabled),
                            showSecret: false))
        }
    }

    /// The event as recorded with its change: the stored bytes, keys in the order of the event shape.
    static func json(_ event: Event) -> JSON {
        .serialized(event.body)
    }

    /// The endpoint; its secret only in the answer to its creation.
    static func json(_ endpoint: WebhookEndpoint, showSecret: Bool) -> JSON {
        var fields: [(String, JSON)] = [
            ("id", .string(endpoint.id)),
            ("object", .string("webhook_endpoint")),
            ("url", .string(endpoint.url)),
            ("enabled_events", .array(endpoint.enabledEvents.map(JSON.string))),
            ("description", .string(endpoint.description)),
            ("status", .string(endpoint.enabled ? "enabled" : "disabled")),
            ("livemode", .bool(endpoint.scope.livemode)),
            ("created", .int(endpoint.createdAt.unixSeconds)),
        ]
        if showSecret { fields.insert(("secret", .string(endpoint.secret)), at: 4) }
        return .object(fields)
    }

    static func json(_ item: (WebhookDelivery, [WebhookAttempt])) -> JSON {
        let (delivery, attempts) = item
        return .object([
            ("id", .string(delivery.id)),
            ("object", .string("webhook_delivery")),
            ("event", .string(delivery.eventID)),
            ("endpoint", .string(delivery.endpointID)),
            ("status", .string(delivery.status.rawValue)),
            ("attempt_count", .int(delivery.attempts)),
            // A delivery queued to go out at once is stored as due at time zero; it has been due
            // since it was created.
            ("next_attempt", delivery.status == .pending ? .int(max(delivery.nextAttemptAt, delivery.createdAt).unixSeconds) : .null),
            ("created", .int(delivery.createdAt.unixSeconds)),
            ("completed", .int(delivery.completedAt?.unixSeconds)),
            ("attempts", .array(attempts.map { attempt in
                .object([
                    ("attempted", .int(attempt.attemptedAt.unixSeconds)),
                    ("status_code", .int(attempt.statusCode)),
                    ("latency_ms", .int(attempt.latencyMilliseconds)),
                    ("error", .string(attempt.error)),
                ])
            })),
        ])
    }
}
