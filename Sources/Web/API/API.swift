import Billing
import Foundation
import Logging
import Synchronization

/// The merchant API under `/v1`: authentication, the JSON conventions, idempotency, and the
/// dispatch of each route to its endpoint.
final class API: Sendable {
    private let store: Store
    private let time: BillingTime
    private let publicURL: PublicURL
    private let logger: Logger
    private let router: Router<APIEndpoint>
    /// Idempotency keys whose first request is being handled right now.
    let keysInFlight = IdempotencyLocks()

    /// Called after a POST committed (events may be waiting for delivery).
    private let afterWrite: @Sendable () -> Void

    init(store: Store, time: BillingTime, publicURL: PublicURL, logger: Logger, document: OpenAPIDocument, flow: PaymentFlow,
         afterWrite: @escaping @Sendable () -> Void = {}) {
        self.afterWrite = afterWrite
        self.store = store
        self.time = time
        self.publicURL = publicURL
        self.logger = logger
        var router = Router<APIEndpoint>()
        router.add("GET", "/v1/openapi.json", .open(document.response(to:)))
        PlansEndpoints.register(in: &router)
        PaymentLinksEndpoints.register(in: &router)
        CheckoutSessionsEndpoints.register(in: &router)
        RecordsEndpoints.register(in: &router)
        CheckoutLinksEndpoints.register(in: &router)
        PromoCodesEndpoints.register(in: &router)
        EventsEndpoints.register(in: &router)
        RefundsEndpoints.register(in: &router, flow: flow)
        TestHelpersEndpoints.register(in: &router)
        self.router = router
    }

    /// Every route of the API as (method, pattern), patterns with `:name` parameters
    /// (`/v1/plans/:id`). `HEAD` is not listed: every `GET` route answers it.
    var routes: [(method: String, pattern: String)] { router.registeredRoutes }

    /// Whether answering `request` makes a round trip to a payment processor (creating a refund),
    /// so that it is better answered from a charge worker than from an HTTP worker.
    func waitsForProcessor(_ request: Request) -> Bool {
        request.method == "POST" && request.path == "/v1/refunds"
    }

    /// Answers one request whose path starts with `/v1/`.
    func handle(_ request: Request) -> Response {
        do {
            let response = try respond(to: request)
            if request.method != "GET" && request.method != "HEAD" && (200..<300).contains(response.status) { afterWrite() }
            return response
        } catch let error as APIError {
            return error.response
        } catch let error as BillingError {
            return APIError(error).response
        } catch {
            logger.error("unhandled error: \(error)", metadata: ["request_id": "\(request.id)"])
            return APIError.internalError(requestID: request.id).response
        }
    }

    private func respond(to request: Request) throws -> Response {
        let handler: APIHandler
        let parameters: [String: String]
        switch router.match(method: request.method, segments: request.pathSegments) {
        case .notFound: throw APIError.unknownRoute(request.method, request.path)
        case .methodNotAllowed(let allowed): throw APIError.methodNotAllowed(request.method, allowed: allowed)
        case .found(.open(let open), _):
            return open(request)
        case .found(.authenticated(let found), let values):
            handler = found
            parameters = values
        }
        let key = try Self.presentedKey(request.headers["Authorization"])
        if request.method == "GET" || request.method == "HEAD" {
            // A read authenticates and answers from one snapshot: one trip through the pool.
            return try store.read { ledger in
                let (organization, scope) = try ledger.authenticate(key: key)
                return try handler(APIContext(
                    request: request, body: Body(fields: [:]), parameters: parameters, organization: organization,
                    scope: scope, now: time.now(for: scope), time: time, store: store, snapshot: ledger,
                    publicURL: publicURL.value, idempotency: nil))
            }
        }
        let (organization, scope) = try store.read { try $0.authenticate(key: key) }
        let now = time.now(for: scope)
        let body = try Self.body(of: request)
        let makeContext = { (claim: IdempotencyClaim?) in
            APIContext(request: request, body: body, parameters: parameters, organization: organization, scope: scope,
                       now: now, time: self.time, store: self.store, snapshot: nil, publicURL: self.publicURL.value,
                       idempotency: claim)
        }
        guard request.method == "POST", let key = request.headers["Idempotency-Key"] else {
            return try handler(makeContext(nil))
        }
        return try withIdempotencyKey(key, request: request, scope: scope, now: now) { claim in
            try handler(makeContext(claim))
        }
    }

    /// The key of an `Authorization` header: `Bearer KEY`, or `Basic` of `KEY:` (the key as user
    /// name, empty password).
    static func presentedKey(_ header: String?) throws -> String {
        guard let header, !header.isEmpty else {
            throw APIError(status: 401, type: "authentication_error", code: "missing_api_key",
                           message: "No API key provided. Send it as 'Authorization: Bearer sk_…' or as the HTTP Basic user name.",
                           headers: APIError.authenticationChallenges)
        }
        let malformed = APIError(status: 401, type: "authentication_error", code: "invalid_api_key",
                                 message: "Malformed Authorization header: expected 'Bearer sk_…' or Basic with the key as user name.",
                                 headers: APIError.authenticationChallenges)
        let parts = header.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw malformed }
        let credential = parts[1].trimmingWhitespace(newlines: false)
        switch parts[0].lowercased() {
        case "bearer":
            return credential
        case "basic":
            guard let data = Data(base64Encoded: credential), let decoded = String(data: data, encoding: .utf8),
                  let colon = decoded.firstIndex(of: ":")
            else { throw malformed }
            return String(decoded[..<colon])
        default:
            throw malformed
        }
    }

    /// The JSON body of a POST or PATCH, after checking its media type.
    private static func body(of request: Request) throws -> Body {
        if !request.body.isEmpty {
            guard request.mediaType == "application/json" else {
                throw APIError(status: 415, code: "unsupported_media_type",
                               message: "Send the body as JSON with 'Content-Type: application/json'.",
                               param: "Content-Type")
            }
        }
        return try Body(request.body)
    }

    /// Runs `body` at most once for a key: replays the stored answer of an earlier identical
    /// request, refuses a different request with the same key, and refuses a concurrent one.
    private func withIdempotencyKey(_ key: String, request: Request, scope: Scope, now: Date,
                                    _ body: (IdempotencyClaim) throws -> Response) throws -> Response {
        guard !key.isEmpty, key.count <= IdempotencyRecord.maximumKeyLength else {
            throw APIError.invalid("Idempotency-Key", "Idempotency-Key must be 1 to \(IdempotencyRecord.maximumKeyLength) characters.")
        }
        let claim = IdempotencyClaim(
            key: key, fingerprint: IdempotencyRecord.fingerprint(method: request.method, path: request.path, body: request.body))
        let lock = IdempotencyLocks.name(key: key, scope: scope)
        guard keysInFlight.acquire(lock) else {
            throw APIError(status: 409, type: "idempotency_error", code: "idempotency_key_in_use",
                           message: "A request with this Idempotency-Key is still being processed; retry after it completes.",
                           param: "Idempotency-Key")
        }
        defer { keysInFlight.release(lock) }
        if let record = try store.read({ try $0.idempotencyRecord(key: key, in: scope, now: now) }) {
            guard record.requestHash == claim.fingerprint else {
                throw APIError(status: 409, type: "idempotency_error", code: "idempotency_key_reused",
                               message: "This Idempotency-Key was used with a different request; use a new key for a new request.",
                               param: "Idempotency-Key")
            }
            var replay = Response.json(record.status, record.body)
            replay.headers.add("Idempotent-Replayed", "true")
            return replay
        }
        return try body(claim)
    }
}

/// What a route of the API runs.
enum APIEndpoint: Sendable {
    /// Needs a key: runs in the organization and mode the key decides.
    case authenticated(APIHandler)
    /// Answered to anyone, from the request alone: the API's own description.
    case open(@Sendable (Request) -> Response)
}

extension Router where Handler == APIEndpoint {
    /// Adds an endpoint that needs a key (every endpoint but the API's description).
    mutating func add(_ method: String, _ pattern: String, _ handler: @escaping APIHandler) {
        add(method, pattern, .authenticated(handler))
    }
}

/// Idempotency keys held by requests being handled, by scope and key. A second request with a held
/// key gets 409 `idempotency_key_in_use` instead of running twice. In memory, because one process
/// owns the database: a crash releases every key, and the stored records decide after a restart.
final class IdempotencyLocks: Sendable {
    private let held = Mutex<Set<String>>([])

    /// The lock name of `key` in `scope`.
    static func name(key: String, scope: Scope) -> String {
        "\(scope.organizationID)|\(scope.mode.rawValue)|\(key)"
    }

    /// Takes the lock; false when another request holds it.
    func acquire(_ name: String) -> Bool {
        held.withLock { $0.insert(name).inserted }
    }

    /// Gives the lock back.
    func release(_ name: String) {
        _ = held.withLock { $0.remove(name) }
    }
}
