import Billing
import Foundation

/// Everything an API handler needs for one authenticated request.
struct APIContext {
    /// The request as received.
    let request: Request
    /// The parsed JSON body (empty for GET).
    let body: Body
    /// Values of the route's `:name` segments.
    let parameters: [String: String]
    /// The organization of the key used.
    let organization: Organization
    /// The organization and mode the key acts for.
    let scope: Scope
    /// The instant the billing rules see for this request (the organization's test clock in test
    /// mode, when it set one).
    let now: Date
    /// Where `now` came from; test helpers move it.
    let time: BillingTime
    /// The database.
    let store: Store
    /// The read snapshot the request was authenticated in, for requests that only read.
    let snapshot: Ledger?
    /// Public base URL of the hosted pages, without trailing slash.
    let publicURL: String
    /// The idempotency key of this POST, if it carried one.
    let idempotency: IdempotencyClaim?

    /// How resources are shown to this request.
    var representation: Representation {
        Representation(publicURL: publicURL, now: now, handle: organization.handle)
    }

    /// The value of the route parameter `name` (routes guarantee it is present).
    func parameter(_ name: String) -> String {
        parameters[name] ?? ""
    }

    /// Runs `body` in one write transaction. When the request carries an `Idempotency-Key` and the
    /// response is a success, the response is stored in the same transaction, so the object and the
    /// record of its creation commit together or not at all.
    func write(_ body: (Ledger) throws -> Response) throws -> Response {
        try store.write { ledger in
            let response = try body(ledger)
            if let idempotency, (200..<300).contains(response.status) {
                try ledger.saveIdempotencyRecord(
                    IdempotencyRecord(requestHash: idempotency.fingerprint, status: response.status, body: response.body),
                    key: idempotency.key, in: scope, now: now)
            }
            return response
        }
    }

    /// Runs `body` in a read snapshot (the request's own, when it has one).
    func read<T>(_ body: (Ledger) throws -> T) throws -> T {
        if let snapshot { return try body(snapshot) }
        return try store.read(body)
    }

    /// The page request of a list endpoint, from `limit` and `starting_after` in the query.
    func pageRequest() throws -> PageRequest {
        var limit = PageRequest.defaultLimit
        if let text = request.query["limit"] {
            guard let value = Int(text) else { throw APIError.invalid("limit", "limit must be an integer.") }
            limit = value
        }
        let cursor = request.query["starting_after"].flatMap { $0.isEmpty ? nil : $0 }
        return try PageRequest(limit: limit, startingAfter: cursor)
    }
}

/// An `Idempotency-Key` held by the request being handled.
struct IdempotencyClaim {
    /// The key as sent.
    let key: String
    /// Fingerprint of the request (method, path, body).
    let fingerprint: String
}

/// An API endpoint.
typealias APIHandler = @Sendable (APIContext) throws -> Response

/// A list response: `{"object": "list", "data": [...], "has_more": …, "url": …}`.
func listJSON<Item>(_ page: Page<Item>, url: String, render: (Item) -> JSON) -> JSON {
    .object([
        ("object", .string("list")),
        ("data", .array(page.items.map(render))),
        ("has_more", .bool(page.hasMore)),
        ("url", .string(url)),
    ])
}

/// What rendering a resource as JSON depends on besides the resource: where pages live, the time
/// (a session's status), and the organization's handle (slug URLs). The API and the event log
/// render resources the same way through it.
struct Representation {
    /// Public base URL of the hosted pages.
    let publicURL: String
    /// The instant statuses are computed at.
    let now: Date
    /// The organization's handle.
    let handle: String
}
