import Billing

/// The one error type of the Web module. It renders itself as the API's error shape,
/// `{"error": {"type", "code", "message", "param"}}`, with its status and headers.
public struct APIError: Error, Sendable {
    /// HTTP status.
    public var status: Int
    /// Broad class: `invalid_request_error`, `authentication_error`, `idempotency_error`, `api_error`.
    public var type: String
    /// Specific machine-readable reason.
    public var code: String
    /// A sentence for the developer reading it.
    public var message: String
    /// The request field at fault, if any.
    public var param: String?
    /// Extra response headers (`WWW-Authenticate`, `Allow`).
    public var headers: [(String, String)] = []

    /// An error.
    public init(status: Int, type: String = "invalid_request_error", code: String, message: String,
                param: String? = nil, headers: [(String, String)] = []) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers
    }

    /// 400 for a field that is present but wrong.
    static func invalid(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, code: "parameter_invalid", message: message, param: param)
    }

    /// 400 for a required field that is absent.
    static func missing(_ param: String) -> APIError {
        APIError(status: 400, code: "parameter_missing", message: "Missing required param: \(param).", param: param)
    }

    /// 404 for an API path that does not exist.
    static func unknownRoute(_ method: String, _ path: String) -> APIError {
        APIError(status: 404, code: "route_not_found", message: "Unrecognized request URL (\(method): \(path)).")
    }

    /// 405 for a known path with another method.
    static func methodNotAllowed(_ method: String, allowed: [String]) -> APIError {
        APIError(status: 405, code: "method_not_allowed",
                 message: "\(method) is not allowed here; use \(allowed.joined(separator: ", ")).",
                 headers: [("Allow", allowed.joined(separator: ", "))])
    }

    /// 413 for a body over the limit.
    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: 413, code: "payload_too_large", message: "The request body is larger than \(limit) bytes.")
    }

    /// 500 for a fault of the server's; the details go to the log, not to the client.
    static func internalError(requestID: String) -> APIError {
        APIError(status: 500, type: "api_error", code: "internal_error",
                 message: "Something went wrong on our side; the request was not applied. Request id: \(requestID).")
    }

    /// The error translated from the domain's. The status of each domain code is decided here and
    /// nowhere else.
    init(_ error: BillingError) {
        let status: Int
        var type = "invalid_request_error"
        switch error.code {
        case .invalidField, .missingField: status = 400
        case .unauthenticated: status = 401; type = "authentication_error"
        case .notFound: status = 404
        case .alreadyExists, .invalidState, .slugTaken, .codeTaken: status = 409
        default: status = 400
        }
        self.init(status: status, type: type, code: error.code.name, message: error.message, param: error.param)
        if status == 401 { headers = APIError.authenticationChallenges }
    }

    /// The challenges sent with every 401: both schemes the API accepts.
    static let authenticationChallenges = [
        ("WWW-Authenticate", #"Bearer realm="Hosted Checkout""#),
        ("WWW-Authenticate", #"Basic realm="Hosted Checkout", charset="UTF-8""#),
    ]

    /// The response carrying this error.
    public var response: Response {
        let body = JSON.object([("error", .object([
            ("type", .string(type)),
            ("code", .string(code)),
            ("message", .string(message)),
            ("param", .string(param)),
        ]))])
        var response = Response.json(status, body)
        for (name, value) in headers { response.headers.add(name, value) }
        return response
    }
}
