/// The one error type of the Billing module: what went wrong, in the merchant's terms, and which
/// input caused it. Web decides the HTTP status from `code`; Billing never does.
public struct BillingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is. A struct of static values rather than an enum, so that new
    /// codes can be added without breaking callers that switch over the ones they know.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable machine-readable name, sent to API clients as `error.code`.
        public let name: String

        /// An input is missing or malformed; `param` names it.
        public static let invalidField = Code(name: "parameter_invalid")
        /// A required input is absent; `param` names it.
        public static let missingField = Code(name: "parameter_missing")
        /// The object asked for does not exist in this organization and mode.
        public static let notFound = Code(name: "resource_missing")
        /// A unique value (handle, slug, code) is already taken.
        public static let alreadyExists = Code(name: "resource_already_exists")
        /// A payment-link slug is already used in this organization and mode.
        public static let slugTaken = Code(name: "slug_taken")
        /// A promo code's text is already used in this organization and mode.
        public static let codeTaken = Code(name: "code_taken")
        /// The object is in a state that does not allow the change.
        public static let invalidState = Code(name: "invalid_state")
        /// The API key is unknown, malformed or revoked.
        public static let unauthenticated = Code(name: "invalid_api_key")

        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence a merchant can act on.
    public var message: String
    /// The request field at fault, when there is one (`amount`, `metadata[plan]`).
    public var param: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, param: String? = nil) {
        self.code = code
        self.message = message
        self.param = param
    }

    /// An invalid input named by `param`.
    public static func invalid(_ param: String, _ message: String) -> BillingError {
        BillingError(.invalidField, message, param: param)
    }

    /// A missing input named by `param`.
    public static func missing(_ param: String) -> BillingError {
        BillingError(.missingField, "Missing required param: \(param).", param: param)
    }

    /// An object that does not exist (or is not visible to the caller).
    public static func notFound(_ kind: String, _ id: String, param: String? = "id") -> BillingError {
        BillingError(.notFound, "No such \(kind): '\(id)'", param: param)
    }

    public var description: String {
        param.map { "\(code): \(message) (param: \($0))" } ?? "\(code): \(message)"
    }
}
