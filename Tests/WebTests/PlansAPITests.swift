import Foundation
import Testing

@Suite struct PlansAPITests {
    @Test func createReturnsTheDocumentedFieldsWithDefaults() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/plans", json: #"{"name":"Starter","amount":150000}"#)
        #expect(response.status == 201)
        let plan = response.json
        let id = try #require(plan["id"] as? String)
        #expect(id.hasPrefix("plan_") && id.count >= 29)
        #expect(plan["name"] as? String == "Starter")
        #expect(plan["amount"] as? Int == 150000)
        #expect(plan["currency"] as? String == "NGN")
        #expect(plan["interval"] is NSNull)
        #expect(plan["intervalCount"] is NSNull)
        #expect(plan["active"] as? Bool == true)
        #expect(plan["livemode"] as? Bool == false)
        let createdAt = try #require(plan["createdAt"] as? String)
        #expect(createdAt.hasSuffix("Z") && createdAt.count == 20)
    }

    @Test func recurringPlanKeepsIntervalAndCount() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/plans", json: #"""
            {"name":"Pro","amount":2999,"currency":"usd","interval":"month","intervalCount":3,
             "description":"Quarterly","metadata":{"tier":"pro","seats":5},"unknownField":true}
            """#)
        #expect(response.status == 201)
        #expect(response.json["currency"] as? String == "USD")
        #expect(response.json["interval"] as? String == "month")
        #expect(response.json["intervalCount"] as? Int == 3)
        #expect(response.json["metadata"] as? [String: String] == ["tier": "pro", "seats": "5"])
        let id = try #require(response.json["id"] as? String)
        let fetched = try server.api("GET", "/v1/plans/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.body == response.body)
    }

    @Test(arguments: [
        (#"{"amount":100}"#, "name", "parameter_missing"),
        (#"{"name":"","amount":100}"#, "name", "parameter_invalid"),
        (#"{"name":"x"}"#, "amount", "parameter_missing"),
        (#"{"name":"x","amount":0}"#, "amount", "parameter_invalid"),
        (#"{"name":"x","amount":-5}"#, "amount", "parameter_invalid"),
        (#"{"name":"x","amount":10.5}"#, "amount", "parameter_invalid"),
        (#"{"name":"x","amount":"100"}"#, "amount", "parameter_invalid"),
        (#"{"name":"x","amount":100,"currency":"ABC"}"#, "currency", "parameter_invalid"),
        (#"{"name":"x","amount":100,"interval":"fortnight"}"#, "interval", "parameter_invalid"),
        (#"{"name":"x","amount":100,"intervalCount":2}"#, "intervalCount", "parameter_invalid"),
        (#"{"name":"x","amount":100,"interval":"week","intervalCount":0}"#, "intervalCount", "parameter_invalid"),
        (#"{"name":"x","amount":100,"metadata":"nope"}"#, "metadata", "parameter_invalid"),
        (#"{"name":"x","amount":100,"metadata":{"k":{"nested":1}}}"#, "metadata[k]", "parameter_invalid"),
        (#"{"name":5,"amount":100}"#, "name", "parameter_invalid"),
    ])
    func invalidInputIs400NamingTheParam(json: String, param: String, code: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/plans", json: json)
        #expect(response.status == 400)
        #expect(response.errorParam == param)
        #expect(response.errorCode == code)
        let error = try #require(response.json["error"] as? [String: Any])
        #expect(error["type"] as? String == "invalid_request_error")
        #expect((error["message"] as? String)?.isEmpty == false)
    }

    @Test(arguments: ["{", "[]", "\"text\"", "{\"name\":}"])
    func malformedJSONIs400(body: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/plans", json: body)
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_json")
    }

    @Test(arguments: [nil, "text/plain", "application/x-www-form-urlencoded"])
    func nonJSONContentTypeIs415(contentType: String?) throws {
        let server = try TestServer()
        defer { server.stop() }
        var headers = [("Authorization", "Bearer \(server.testKey)")]
        if let contentType { headers.append(("Content-Type", contentType)) }
        let response = try server.request("POST", "/v1/plans", headers: headers, body: Array(#"{"name":"x","amount":1}"#.utf8))
        #expect(response.status == 415)
        #expect(response.errorCode == "unsupported_media_type")
    }

    @Test func jsonWithCharsetIsAccepted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("POST", "/v1/plans", headers: [
            ("Authorization", "Bearer \(server.testKey)"), ("Content-Type", "application/json; charset=utf-8"),
        ], body: Array(#"{"name":"x","amount":1}"#.utf8))
        #expect(response.status == 201)
    }

    @Test func listIsNewestFirstWithLimitAndCursor() throws {
        let server = try TestServer()
        defer { server.stop() }
        var ids: [String] = []
        for index in 1...5 {
            let response = try server.api("POST", "/v1/plans", json: #"{"name":"Plan \#(index)","amount":\#(index * 100)}"#)
            ids.append(try #require(response.json["id"] as? String))
        }
        let first = try server.api("GET", "/v1/plans?limit=2")
        #expect(first.json["object"] as? String == "list")
        #expect(first.json["has_more"] as? Bool == true)
        let firstIDs = (first.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(firstIDs == [ids[4], ids[3]])
        let second = try server.api("GET", "/v1/plans?limit=2&starting_after=\(ids[3])")
        #expect((second.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
        let last = try server.api("GET", "/v1/plans?limit=2&starting_after=\(ids[1])")
        #expect((last.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[0]])
        #expect(last.json["has_more"] as? Bool == false)
    }

    @Test(arguments: ["limit=0", "limit=101", "limit=abc", "starting_after=plan_unknown"])
    func badListParametersAre400(query: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("GET", "/v1/plans?\(query)")
        #expect(response.status == 400)
        #expect(response.errorParam == String(query.split(separator: "=")[0]))
    }

    @Test func updateChangesActiveNameAndDescription() throws {
        let server = try TestServer()
        defer { server.stop() }
        let created = try server.api("POST", "/v1/plans", json: #"{"name":"Old","amount":100}"#)
        let id = try #require(created.json["id"] as? String)
        let updated = try server.api("POST", "/v1/plans/\(id)", json: #"{"active":false,"name":"New","description":"Now with more"}"#)
        #expect(updated.status == 200)
        #expect(updated.json["active"] as? Bool == false)
        #expect(updated.json["name"] as? String == "New")
        #expect(updated.json["description"] as? String == "Now with more")
        #expect(updated.json["amount"] as? Int == 100)
        let fetched = try server.api("GET", "/v1/plans/\(id)")
        #expect(fetched.body == updated.body)
        let bad = try server.api("PATCH", "/v1/plans/\(id)", json: #"{"active":"no"}"#)
        #expect(bad.status == 400)
        #expect(bad.errorParam == "active")
        #expect(try server.api("GET", "/v1/plans/plan_doesnotexist").status == 404)
    }
}
