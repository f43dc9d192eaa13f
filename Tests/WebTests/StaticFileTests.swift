import Foundation
import Testing

@Suite struct StaticFileTests {
    @Test func servesPublicFilesWithETagAndLongCache() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("GET", "/static/checkout.css")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/css; charset=utf-8")
        #expect(response.header("Cache-Control") == "public, max-age=31536000")
        let onDisk = try Data(contentsOf: TestServer.packageRoot.appendingPathComponent("Public/checkout.css"))
        #expect(response.body == [UInt8](onDisk))
        let etag = try #require(response.header("ETag"))
        #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))

        let revalidated = try server.request("GET", "/static/checkout.css", headers: [("If-None-Match", etag)])
        #expect(revalidated.status == 304)
        #expect(revalidated.body.isEmpty)
        #expect(revalidated.header("ETag") == etag)

        let stale = try server.request("GET", "/static/checkout.css", headers: [("If-None-Match", "\"other\"")])
        #expect(stale.status == 200)
    }

    @Test(arguments: ["/static/../Package.swift", "/static/%2e%2e/Package.swift", "/static/..%2fPackage.swift",
                      "/static//etc/passwd", "/static/", "/static/missing.css", "/Package.swift"])
    func pathsOutsidePublicAre404(path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("GET", path)
        #expect(response.status == 404)
        #expect(!response.text.contains("PackageDescription"))
    }
}
