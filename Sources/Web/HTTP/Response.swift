/// An HTTP response to send: status, header fields and the whole body.
public struct Response: Sendable {
    /// Status code.
    public var status: Int
    /// Header fields, in order. `Request-Id` is added by the server.
    public var headers: HTTPHeaders
    /// Body bytes.
    public var body: [UInt8]

    /// A response.
    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response from already-serialized bytes.
    public static func json(_ status: Int, _ body: [UInt8]) -> Response {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Cache-Control", "no-store")
        return Response(status: status, headers: headers, body: body)
    }

    /// A JSON response from a value.
    public static func json(_ status: Int, _ value: JSON) -> Response {
        json(status, value.serialized())
    }
}
