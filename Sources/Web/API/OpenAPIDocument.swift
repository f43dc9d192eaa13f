import Foundation

/// The OpenAPI 3.1 description of the merchant API: `OpenAPI/openapi.json` in the resources
/// directory, read once at start and served as it is at `GET /v1/openapi.json`, without a key, so
/// that client generators and API testers can point at a running server.
///
/// The file is written by hand. `OpenAPIDocumentTests` compares its operations with the routes the
/// router registers, so a route cannot exist undocumented (nor a documented one go missing).
struct OpenAPIDocument: Sendable {
    /// Where the document lives inside the resources directory.
    static let relativePath = "OpenAPI/openapi.json"

    /// The file's bytes, served unchanged.
    let bytes: [UInt8]

    /// Reads the document from `resourcesDirectory`. A missing file, or one that is not a JSON
    /// object with `openapi` and `paths`, stops the start: a server that describes itself wrongly
    /// is worse than one that does not start.
    init(resourcesDirectory: String) throws {
        let path = URL(fileURLWithPath: resourcesDirectory).appendingPathComponent(Self.relativePath).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServerError(description: "no OpenAPI document at \(path)")
        }
        bytes = [UInt8](data)
        guard let document = JSON.parse(bytes), document["openapi"] != nil, document["paths"] != nil else {
            throw ServerError(description: "\(path) is not an OpenAPI document (a JSON object with openapi and paths)")
        }
    }

    /// `GET /v1/openapi.json`.
    func response(to request: Request) -> Response {
        .json(200, bytes)
    }
}
