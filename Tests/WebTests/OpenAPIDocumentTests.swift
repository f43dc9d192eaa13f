import Foundation
import Testing
@testable import Web

/// `OpenAPI/openapi.json` against the server: the same operations as the router, the same
/// authentication, and served as it is.
@Suite struct OpenAPIDocumentTests {
    static let file = TestServer.packageRoot.appendingPathComponent("OpenAPI/openapi.json")
    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The document parsed, with its operations as `METHOD /path/{param}`.
    struct Document {
        let json: [String: Any]
        let operations: [String: [String: Any]]

        init() throws {
            let data = try Data(contentsOf: OpenAPIDocumentTests.file)
            json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let paths = try #require(json["paths"] as? [String: [String: Any]])
            var operations: [String: [String: Any]] = [:]
            for (path, item) in paths {
                for (method, operation) in item where OpenAPIDocumentTests.methods.contains(method) {
                    operations["\(method.uppercased()) \(path)"] = operation as? [String: Any] ?? [:]
                }
            }
            self.operations = operations
        }
    }

    /// A router pattern in OpenAPI's notation: `/v1/plans/:id` → `/v1/plans/{id}`.
    static func openAPIPath(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() throws {
        let server = try TestServer()
        defer { server.stop() }
        let routes = server.application.api.routes.map { "\($0.method) \(Self.openAPIPath($0.pattern))" }
        #expect(routes.count == Set(routes).count, "a route is registered twice")
        let documented = Set(try Document().operations.keys)
        let undocumented = Set(routes).subtracting(documented).sorted()
        let missing = documented.subtracting(routes).sorted()
        #expect(undocumented.isEmpty, "routes without an operation in OpenAPI/openapi.json: \(undocumented)")
        #expect(missing.isEmpty, "documented operations the router does not have: \(missing)")
        #expect(routes.count >= 40)
    }

    @Test func pathTranslation() {
        #expect(Self.openAPIPath("/v1/plans/:id") == "/v1/plans/{id}")
        #expect(Self.openAPIPath("/v1/webhook_endpoints/:id/deliveries") == "/v1/webhook_endpoints/{id}/deliveries")
        #expect(Self.openAPIPath("/v1/plans") == "/v1/plans")
    }

    /// Each operation is answered 401 without a key unless the document says it needs none, and
    /// every operation that needs one documents the 401.
    @Test func documentedSecurityIsWhatTheServerDoes() throws {
        let server = try TestServer()
        defer { server.stop() }
        let document = try Document()
        for (name, operation) in document.operations {
            let parts = name.split(separator: " ")
            let path = String(parts[1]).replacingOccurrences(of: "{id}", with: "x_unknown")
            let open = (operation["security"] as? [Any])?.isEmpty == true
            let response = try server.request(String(parts[0]), path)
            if open {
                #expect(response.status == 200, "\(name) is documented as open")
            } else {
                #expect(response.status == 401, "\(name) is documented as needing a key")
                let responses = operation["responses"] as? [String: Any] ?? [:]
                #expect(responses["401"] != nil, "\(name) does not document its 401")
            }
        }
    }

    /// Every operation has a unique `operationId` (stateful testers and client generators link
    /// operations by it), and every `$ref` points at something that exists.
    @Test func operationIDsAreUniqueAndReferencesResolve() throws {
        let document = try Document()
        let ids = document.operations.values.compactMap { $0["operationId"] as? String }
        #expect(ids.count == document.operations.count)
        #expect(Set(ids).count == ids.count)
        let text = try String(contentsOf: Self.file, encoding: .utf8)
        let components = try #require(document.json["components"] as? [String: [String: Any]])
        let references = try NSRegularExpression(pattern: ##""\$ref": "#/components/([A-Za-z]+)/([A-Za-z0-9_.-]+)""##)
        let matches = references.matches(in: text, range: NSRange(text.startIndex..., in: text))
        #expect(!matches.isEmpty)
        for match in matches {
            let kind = String(text[Range(match.range(at: 1), in: text)!])
            let name = String(text[Range(match.range(at: 2), in: text)!])
            #expect(components[kind]?[name] != nil, "unresolved $ref #/components/\(kind)/\(name)")
        }
    }

    @Test func theDocumentIsServedWithoutAKey() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("GET", "/v1/openapi.json")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.body == [UInt8](try Data(contentsOf: Self.file)))
        #expect((response.json["openapi"] as? String)?.hasPrefix("3.1") == true)

        let head = try server.request("HEAD", "/v1/openapi.json")
        #expect(head.status == 200)
        let post = try server.request("POST", "/v1/openapi.json")
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
        #expect(post.errorCode == "method_not_allowed")
    }

    @Test func aServerWithoutTheDocumentDoesNotStart() throws {
        let resources = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-resources-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: resources) }
        try FileManager.default.createDirectory(at: resources, withIntermediateDirectories: true)
        for folder in ["Templates", "Public"] {
            try FileManager.default.copyItem(at: TestServer.packageRoot.appendingPathComponent(folder),
                                             to: resources.appendingPathComponent(folder))
        }
        #expect(throws: ServerError.self) {
            try TestServer { $0.resourcesDirectory = resources.path }.stop()
        }
        try FileManager.default.createDirectory(at: resources.appendingPathComponent("OpenAPI"), withIntermediateDirectories: true)
        try Data("{\"not\":\"a document\"}".utf8).write(to: resources.appendingPathComponent("OpenAPI/openapi.json"))
        #expect(throws: ServerError.self) {
            try TestServer { $0.resourcesDirectory = resources.path }.stop()
        }
    }
}
