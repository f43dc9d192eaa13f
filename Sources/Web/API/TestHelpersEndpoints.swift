import Billing
import Foundation

/// `/v1/test_helpers/…`: what a merchant's end-to-end test needs besides the API itself. Test mode
/// only; a live key gets 404, as if the paths did not exist.
///
/// - `GET|POST|DELETE /v1/test_helpers/clock`: the organization's test clock. `POST
///   {"advance_seconds": N}` moves it forward, `POST {"frozen_at": T}` stops it at `T` (unix seconds
///   or ISO 8601), `DELETE` returns to the wall clock. Whatever expires by the new time is expired
///   (with its events) before the answer, so a test sees it at once.
/// - `GET /v1/test_helpers/last_completion?link=ID`: the newest completed session of a link.
enum TestHelpersEndpoints {
    static func register(in router: inout Router<APIEndpoint>) {
        router.add("GET", "/v1/test_helpers/clock", testModeOnly { context in .json(200, json(context.time, context.scope)) })
        router.add("POST", "/v1/test_helpers/clock", testModeOnly(moveClock))
        router.add("DELETE", "/v1/test_helpers/clock", testModeOnly { context in
            context.time.reset(context.scope.organizationID)
            return .json(200, json(context.time, context.scope))
        })
        router.add("GET", "/v1/test_helpers/last_completion", testModeOnly(lastCompletion))
    }

    /// The longest single move of a test clock, and how far ahead of the wall clock a test clock
    /// may ever be: ten years, far past any expiry this server knows (and dates stay 4-digit years).
    static let maximumAdvance: Int64 = 10 * 366 * 86_400

    /// Wraps a handler so that live mode answers 404.
    private static func testModeOnly(_ handler: @escaping APIHandler) -> APIHandler {
        { context in
            guard context.scope.mode == .test else {
                throw APIError(status: 404, code: "route_not_found",
                               message: "Test helpers exist only in test mode; use a test key (sk_test_…).")
            }
            return try handler(context)
        }
    }

    @Sendable static func moveClock(_ context: APIContext) throws -> Response {
        let body = context.body
        let organization = context.scope.organizationID
        let latest = context.time.wall.now().addingTimeInterval(TimeInterval(maximumAdvance))
        switch (body.has("advance_seconds"), body.has("frozen_at")) {
        case (true, false):
            guard let seconds = try body.integer("advance_seconds"), (1...maximumAdvance).contains(seconds) else {
                throw APIError.invalid("advance_seconds", "advance_seconds must be an integer from 1 to \(maximumAdvance); a clock never goes back.")
            }
            guard context.now.addingTimeInterval(TimeInterval(seconds)) <= latest else {
                throw APIError.invalid("advance_seconds", "A test clock can be at most ten years ahead of the real time (until \(latest.iso8601)).")
            }
            context.time.advance(organization, by: TimeInterval(seconds))
        case (false, true):
            let instant: Date
            if case .number = body.fields["frozen_at"] {
                guard let seconds = try body.integer("frozen_at") else { throw APIError.missing("frozen_at") }
                instant = Date(unixSeconds: seconds)
            } else {
                guard let date = try body.date("frozen_at") else { throw APIError.missing("frozen_at") }
                instant = date
            }
            guard instant <= latest else {
                throw APIError.invalid("frozen_at", "frozen_at can be at most ten years ahead of the real time (until \(latest.iso8601)).")
            }
            guard context.time.freeze(organization, at: instant) != nil else {
                throw APIError.invalid("frozen_at", "frozen_at is before the clock's current time (\(context.now.iso8601)); a clock never goes back.")
            }
        default:
            throw APIError(status: 400, code: "parameter_missing",
                           message: "Send either advance_seconds or frozen_at (not both).", param: "advance_seconds")
        }
        let now = context.time.now(for: context.scope)
        let publicURL = context.publicURL
        return try context.write { ledger in
            while try !ExpirySweeper.expire(.scope(context.scope), at: now, publicURL: publicURL, in: ledger).isEmpty {}
            return .json(200, json(context.time, context.scope))
        }
    }

    @Sendable static func lastCompletion(_ context: APIContext) throws -> Response {
        guard let link = context.request.query["link"], !link.isEmpty else { throw APIError.missing("link") }
        guard Identifier.looksLike(link, prefix: "pl") || Identifier.looksLike(link, prefix: "cl") else {
            throw APIError.invalid("link", "link must be a payment link id (pl_…) or a checkout link id (cl_…).")
        }
        let session: CheckoutSession?
        do {
            session = try context.read { try $0.lastCompletedSession(linkID: link, in: context.scope) }
        } catch let error as BillingError where error.code == .notFound {
            throw APIError(BillingError(error.code, error.message, param: "link"))
        }
        guard let session else {
            throw APIError(status: 404, code: "resource_missing", message: "No session of '\(link)' has completed yet.", param: "link")
        }
        return .json(200, CheckoutSessionsEndpoints.json(session, context.representation))
    }

    /// The organization's test clock as the API shows it.
    static func json(_ time: BillingTime, _ scope: Scope) -> JSON {
        let clock = time.testClock(of: scope.organizationID)
        let now = time.now(for: scope)
        return .object([
            ("object", .string("test_clock")),
            ("livemode", .bool(false)),
            ("now", .string(now.iso8601)),
            ("now_unix", .int(now.unixSeconds)),
            ("frozen", .bool(clock?.frozenAt != nil)),
            ("offset_seconds", .int(Int64(now.timeIntervalSince(time.wall.now()).rounded()))),
            ("active", .bool(clock != nil)),
        ])
    }
}
