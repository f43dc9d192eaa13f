import Billing
import Foundation
import Testing
@testable import Web

@Suite struct IdempotencyTests {
    @Test func sameKeyAndBodyReplaysTheStoredResponse() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = #"{"name":"Once","amount":1000}"#
        let first = try server.api("POST", "/v1/plans", json: body, headers: [("Idempotency-Key", "create-once")])
        #expect(first.status == 201)
        #expect(first.header("Idempotent-Replayed") == nil)
        let second = try server.api("POST", "/v1/plans", json: body, headers: [("Idempotency-Key", "create-once")])
        #expect(second.status == 201)
        #expect(second.header("Idempotent-Replayed") == "true")
        #expect(second.body == first.body)
        let list = try server.api("GET", "/v1/plans")
        #expect((list.json["data"] as? [Any])?.count == 1)
    }

    @Test func sameKeyWithAnotherBodyIs409() throws {
        let server = try TestServer()
        defer { server.stop() }
        #expect(try server.api("POST", "/v1/plans", json: #"{"name":"A","amount":1}"#, headers: [("Idempotency-Key", "k1")]).status == 201)
        let reused = try server.api("POST", "/v1/plans", json: #"{"name":"B","amount":1}"#, headers: [("Idempotency-Key", "k1")])
        #expect(reused.status == 409)
        #expect(reused.errorCode == "idempotency_key_reused")
        #expect(reused.errorParam == "Idempotency-Key")
    }

    @Test func keysAreScopedByModeAndOrganization() throws {
        let server = try TestServer()
        defer { server.stop() }
        let test = try server.api("POST", "/v1/plans", json: #"{"name":"A","amount":1}"#, headers: [("Idempotency-Key", "shared")])
        let live = try server.api("POST", "/v1/plans", key: server.liveKey, json: #"{"name":"A","amount":1}"#, headers: [("Idempotency-Key", "shared")])
        #expect(test.status == 201 && live.status == 201)
        #expect(live.header("Idempotent-Replayed") == nil)
        #expect(test.json["id"] as? String != live.json["id"] as? String)
    }

    @Test func failedValidationIsNotStored() throws {
        let server = try TestServer()
        defer { server.stop() }
        let invalid = try server.api("POST", "/v1/plans", json: #"{"name":"A","amount":0}"#, headers: [("Idempotency-Key", "retry-me")])
        #expect(invalid.status == 400)
        #expect(invalid.errorParam == "amount")
        let fixed = try server.api("POST", "/v1/plans", json: #"{"name":"A","amount":10}"#, headers: [("Idempotency-Key", "retry-me")])
        #expect(fixed.status == 201)
        #expect(fixed.header("Idempotent-Replayed") == nil)
    }

    @Test(arguments: ["", String(repeating: "k", count: 256)])
    func keyLengthIsChecked(key: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/plans", json: #"{"name":"A","amount":10}"#, headers: [("Idempotency-Key", key)])
        #expect(response.status == 400)
        #expect(response.errorParam == "Idempotency-Key")
    }

    @Test func twentyConcurrentIdenticalRequestsCreateOneObject() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = #"{"name":"Concurrent","amount":2500}"#
        let responses = try await withThrowingTaskGroup(of: HTTPResponse.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try server.api("POST", "/v1/plans", json: body, headers: [("Idempotency-Key", "burst")])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let created = responses.filter { $0.status == 201 }
        let inUse = responses.filter { $0.status == 409 }
        #expect(created.count + inUse.count == 20)
        #expect(created.count >= 1)
        #expect(inUse.allSatisfy { $0.errorCode == "idempotency_key_in_use" })
        #expect(Set(created.compactMap { $0.json["id"] as? String }).count == 1)
        let list = try server.api("GET", "/v1/plans")
        #expect((list.json["data"] as? [Any])?.count == 1)
    }

    @Test func aRequestInFlightWithTheSameKeyIs409InUse() throws {
        let server = try TestServer()
        defer { server.stop() }
        let scope = Scope(organizationID: server.organization.id, mode: .test)
        let lock = IdempotencyLocks.name(key: "busy-key", scope: scope)
        // Another request is being handled with this key right now.
        #expect(server.application.api.keysInFlight.acquire(lock))
        let body = #"{"name":"Busy","amount":10}"#
        let busy = try server.api("POST", "/v1/plans", json: body, headers: [("Idempotency-Key", "busy-key")])
        #expect(busy.status == 409)
        #expect(busy.errorCode == "idempotency_key_in_use")
        server.application.api.keysInFlight.release(lock)
        let after = try server.api("POST", "/v1/plans", json: body, headers: [("Idempotency-Key", "busy-key")])
        #expect(after.status == 201)
    }

    @Test func aSlowBodyDoesNotLetTwoRequestsCreateTwice() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = Array(#"{"name":"Slow","amount":10}"#.utf8)
        let slow = try server.connect()
        let head = "POST /v1/plans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(server.testKey)\r\nContent-Type: application/json\r\nIdempotency-Key: slow-key\r\nContent-Length: \(body.count)\r\n\r\n"
        try slow.send(Array(head.utf8) + body[..<10])
        let second = try server.api("POST", "/v1/plans", json: String(decoding: body, as: UTF8.self), headers: [("Idempotency-Key", "slow-key")])
        try slow.send(Array(body[10...]))
        let first = try #require(try slow.receive())
        #expect(second.status == 201)
        #expect(first.status == 201)
        #expect(first.header("Idempotent-Replayed") == "true")
        #expect(first.body == second.body)
    }
}
