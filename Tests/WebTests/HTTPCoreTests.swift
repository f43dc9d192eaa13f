import Foundation
import Testing

/// The HTTP layer: health, keep-alive, body limits, malformed framing, request ids, routing errors.
@Suite struct HTTPCoreTests {
    @Test func healthzAnswersOK() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("GET", "/healthz")
        #expect(response.status == 200)
        #expect(response.text == #"{"status":"ok"}"#)
        #expect(response.header("Content-Type") == "application/json")
    }

    @Test func everyResponseCarriesADistinctRequestID() throws {
        let server = try TestServer()
        defer { server.stop() }
        let responses = [
            try server.request("GET", "/healthz"),
            try server.request("GET", "/v1/plans"),
            try server.request("GET", "/no-such-page"),
            try server.request("GET", "/static/checkout.css"),
            try server.api("GET", "/v1/nope"),
        ]
        let ids = responses.compactMap { $0.header("Request-Id") }
        #expect(ids.count == responses.count)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("req_") })
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try TestServer()
        defer { server.stop() }
        let connection = try server.connect()
        for _ in 0..<5 {
            try connection.send("GET", "/healthz")
            let response = try #require(try connection.receive())
            #expect(response.status == 200)
            #expect(response.header("Connection")?.lowercased() != "close")
        }
        // Pipelined: two requests sent before reading either.
        try connection.send("GET", "/healthz")
        try connection.send("GET", "/v1/plans", headers: [("Authorization", "Bearer \(server.testKey)")])
        #expect(try connection.receive()?.status == 200)
        #expect(try connection.receive()?.status == 200)
    }

    @Test func bodyOverTheLimitIs413WithTheJSONError() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024 + 1)
        let response = try server.api("POST", "/v1/plans", json: String(decoding: body, as: UTF8.self))
        #expect(response.status == 413)
        #expect(response.errorCode == "payload_too_large")
        // Exactly at the limit is read (and then judged on its content, not its size).
        let atLimit = try server.api("POST", "/v1/plans", json: String(repeating: " ", count: 64 * 1024 - 2) + "{}")
        #expect(atLimit.status == 400)
        #expect(atLimit.errorParam == "name")
    }

    @Test func chunkedBodyOverTheLimitIs413() throws {
        let server = try TestServer()
        defer { server.stop() }
        let connection = try server.connect()
        let payload = [UInt8](repeating: UInt8(ascii: "a"), count: 70_000)
        let head = "POST /v1/plans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(server.testKey)\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        try connection.send(Array(head.utf8) + Array(String(payload.count, radix: 16).utf8) + [13, 10] + payload + Array("\r\n0\r\n\r\n".utf8))
        let response = try #require(try connection.receive())
        #expect(response.status == 413)
        #expect(response.errorCode == "payload_too_large")
    }

    @Test func configuredBodyLimitIsHonoured() throws {
        let server = try TestServer { $0.server.maximumBodySize = 2048 }
        defer { server.stop() }
        let response = try server.api("POST", "/v1/plans", json: #"{"name":"\#(String(repeating: "x", count: 3000))","amount":1}"#)
        #expect(response.status == 413)
    }

    @Test func duplicateContentLengthIs400AndNothingIsCreated() throws {
        let server = try TestServer()
        defer { server.stop() }
        let connection = try server.connect()
        let body = #"{"name":"Smuggled","amount":100}"#
        try connection.send(Array("POST /v1/plans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(server.testKey)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nContent-Length: 5\r\n\r\n\(body)".utf8))
        let response = try #require(try connection.receive())
        #expect(response.status == 400)
        #expect(response.errorCode == "bad_request")
        let list = try server.api("GET", "/v1/plans")
        #expect((list.json["data"] as? [Any])?.count == 0)
    }

    @Test func unknownAPIRouteIs404JSON() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("GET", "/v1/does-not-exist")
        #expect(response.status == 404)
        #expect(response.errorCode == "route_not_found")
        #expect(response.header("Content-Type") == "application/json")
    }

    @Test(arguments: [("DELETE", "/v1/plans"), ("PUT", "/v1/plans/plan_x"), ("POST", "/healthz")])
    func wrongMethodIs405WithAllow(method: String, path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api(method, path)
        #expect(response.status == 405)
        #expect(response.errorCode == "method_not_allowed")
        let allow = try #require(response.header("Allow"))
        #expect(allow.contains("GET"))
    }

    @Test func unknownPageIsAReadable404Page() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("GET", "/pl_unknown")
        #expect(response.status == 404)
        #expect(response.header("Content-Type") == "text/html; charset=utf-8")
        #expect(response.text.contains("<h1>Page not found</h1>"))
        #expect(response.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
        #expect(response.header("X-Content-Type-Options") == "nosniff")
        #expect(response.header("Referrer-Policy") == "no-referrer")
    }
}
