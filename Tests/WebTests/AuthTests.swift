import Billing
import Foundation
import Testing

@Suite struct AuthTests {
    @Test func bearerAndBasicBothAuthenticate() throws {
        let server = try TestServer()
        defer { server.stop() }
        #expect(try server.api("GET", "/v1/plans").status == 200)
        let basic = Data("\(server.testKey):".utf8).base64EncodedString()
        let response = try server.request("GET", "/v1/plans", headers: [("Authorization", "Basic \(basic)")])
        #expect(response.status == 200)
    }

    @Test(arguments: [
        (nil, "missing_api_key"),
        ("Bearer", "invalid_api_key"),
        ("Token sk_test_abc", "invalid_api_key"),
        ("Bearer sk_test_short", "invalid_api_key"),
        ("Bearer pk_test_0123456789abcdef0123", "invalid_api_key"),
        ("Bearer sk_test_0123456789abcdefghijklmnopqrstuv", "invalid_api_key"),
        ("Basic !!!not-base64", "invalid_api_key"),
        ("Basic " + Data("no-colon".utf8).base64EncodedString(), "invalid_api_key"),
    ] as [(String?, String)])
    func badCredentialsAre401WithChallenge(header: String?, code: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("GET", "/v1/plans", headers: header.map { [("Authorization", $0)] } ?? [])
        #expect(response.status == 401)
        #expect(response.errorCode == code)
        let json = response.json["error"] as? [String: Any]
        #expect(json?["type"] as? String == "authentication_error")
        let challenges = response.headers("WWW-Authenticate")
        #expect(challenges.contains { $0.hasPrefix("Bearer") })
        #expect(challenges.contains { $0.hasPrefix("Basic") })
    }

    @Test func rolledKeyIsRevokedAndTheNewOneWorks() throws {
        let server = try TestServer()
        defer { server.stop() }
        let newKey = try server.application.store.write {
            try $0.rollKey(handle: server.organization.handle, mode: .test, now: Date())
        }
        let old = try server.api("GET", "/v1/plans")
        #expect(old.status == 401)
        #expect((old.json["error"] as? [String: Any])?["message"] as? String == "This API key has been revoked; use the key that replaced it.")
        #expect(try server.api("GET", "/v1/plans", key: newKey.secret).status == 200)
        // The live key is untouched by rolling the test key.
        #expect(try server.api("GET", "/v1/plans", key: server.liveKey).status == 200)
    }

    @Test func testAndLiveObjectsAreInvisibleToEachOther() throws {
        let server = try TestServer()
        defer { server.stop() }
        let created = try server.api("POST", "/v1/plans", json: #"{"name":"Test plan","amount":500}"#)
        #expect(created.status == 201)
        #expect(created.json["livemode"] as? Bool == false)
        let id = try #require(created.json["id"] as? String)

        #expect(try server.api("GET", "/v1/plans/\(id)", key: server.liveKey).status == 404)
        #expect(try server.api("POST", "/v1/plans/\(id)", key: server.liveKey, json: #"{"active":false}"#).status == 404)
        let liveList = try server.api("GET", "/v1/plans", key: server.liveKey)
        #expect((liveList.json["data"] as? [Any])?.isEmpty == true)

        let live = try server.api("POST", "/v1/plans", key: server.liveKey, json: #"{"name":"Live plan","amount":500}"#)
        #expect(live.json["livemode"] as? Bool == true)
        let liveID = try #require(live.json["id"] as? String)
        #expect(try server.api("GET", "/v1/plans/\(liveID)").status == 404)
        #expect(try server.api("GET", "/v1/plans/\(id)").status == 200)
    }

    @Test func anotherOrganizationsObjectsAreInvisible() throws {
        let server = try TestServer()
        defer { server.stop() }
        let other = try server.application.store.write { try $0.createOrganization(handle: "other-org", name: nil, now: Date()) }
        let created = try server.api("POST", "/v1/plans", json: #"{"name":"Mine","amount":500}"#)
        let id = try #require(created.json["id"] as? String)
        #expect(try server.api("GET", "/v1/plans/\(id)", key: other.testKey.secret).status == 404)
    }

    @Test func keysAreStoredOnlyAsHashes() throws {
        let server = try TestServer()
        let path = server.databasePath
        let key = server.testKey
        server.application.stop()
        defer { try? FileManager.default.removeItem(at: server.directory) }
        for suffix in ["", "-wal"] {
            guard let data = FileManager.default.contents(atPath: path + suffix) else { continue }
            #expect(data.range(of: Data(key.utf8)) == nil)
            #expect(data.range(of: Data(key.dropFirst(8).utf8)) == nil)
        }
    }
}
