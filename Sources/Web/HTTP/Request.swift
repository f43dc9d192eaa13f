import Billing
import Foundation

/// An HTTP request as the application sees it: fully received, body included.
public struct Request: Sendable {
    /// Upper-case method (`GET`, `POST`).
    public let method: String
    /// The path without the query string, as sent (not normalized: `/static/../x` stays as it is).
    public let path: String
    /// Query parameters, decoded; the first occurrence of a name wins.
    public let query: [String: String]
    /// Request headers.
    public let headers: HTTPHeaders
    /// The body bytes (empty when there is none).
    public let body: [UInt8]
    /// The id sent back in `Request-Id` and written to the log line.
    public let id: String

    /// A request.
    public init(method: String, path: String, query: [String: String] = [:], headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = [], id: String = Request.makeID()) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.id = id
    }

    /// A fresh request id: `req_` and 20 random characters.
    public static func makeID() -> String {
        "req_" + Identifier.random(20)
    }

    /// The path split on `/`, without the empty first segment (`/v1/plans/x` → `v1`, `plans`, `x`).
    public var pathSegments: [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 }
    }
}

/// Header fields with case-insensitive names. Order is kept, and so are repeated fields.
public struct HTTPHeaders: Sendable, Sequence {
    private var fields: [(name: String, value: String)] = []

    /// No fields.
    public init() {}

    /// Fields from pairs, in order.
    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { (name: $0.0, value: $0.1) }
    }

    /// Adds a field, keeping any of the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}
