import Foundation
import Testing

@Suite struct PaymentLinksAPITests {
    @Test func planLinkHasTheDuroFieldsAndBothURLs() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        let link = try server.create("/v1/payment-links", #"{"planId":"\#(plan)","slug":"pro-monthly","metadata":{"campaign":"launch"}}"#)
        let id = try #require(link["id"] as? String)
        #expect(id.hasPrefix("pl_") && id.count >= 3 + 24)
        #expect(link["planId"] as? String == plan)
        #expect(link["slug"] as? String == "pro-monthly")
        #expect(link["active"] as? Bool == true)
        #expect((link["createdAt"] as? String)?.hasSuffix("Z") == true)
        #expect(link["url"] as? String == "\(server.url)/\(id)")
        #expect(link["slugUrl"] as? String == "\(server.url)/\(server.organization.handle)/test/pro-monthly")
        #expect(link["metadata"] as? [String: String] == ["campaign": "launch"])
        // Both URLs open the same page.
        #expect(try server.request("GET", "/\(id)").status == 200)
        #expect(try server.request("GET", server.path(of: link["slugUrl"])).status == 200)
    }

    @Test func liveSlugURLHasNoTestSegmentAndModesDoNotShareSlugs() throws {
        let server = try TestServer()
        defer { server.stop() }
        let livePlan = try server.monthlyPlan(key: server.liveKey)
        let testPlan = try server.monthlyPlan()
        let live = try server.create("/v1/payment-links", #"{"planId":"\#(livePlan)","slug":"pro"}"#, key: server.liveKey)
        #expect(live["slugUrl"] as? String == "\(server.url)/\(server.organization.handle)/pro")
        // The same slug is free in test mode.
        _ = try server.create("/v1/payment-links", #"{"planId":"\#(testPlan)","slug":"pro"}"#)
        let taken = try server.api("POST", "/v1/payment-links", json: #"{"planId":"\#(testPlan)","slug":"pro"}"#)
        #expect(taken.status == 409)
        #expect(taken.errorCode == "slug_taken")
        #expect(taken.errorParam == "slug")
        // A live plan cannot be sold by a test link.
        let crossMode = try server.api("POST", "/v1/payment-links", json: #"{"planId":"\#(livePlan)","slug":"other"}"#)
        #expect(crossMode.status == 404)
        #expect(crossMode.errorParam == "planId")
    }

    @Test(arguments: ["-pro", "pro-", "pro--plan", "Pro", "pro plan", "", String(repeating: "a", count: 65), "prö"])
    func invalidSlugsAre400(slug: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        let response = try server.api("POST", "/v1/payment-links", json: #"{"planId":"\#(plan)","slug":"\#(slug)"}"#)
        #expect(response.status == 400)
        #expect(response.errorParam == "slug")
    }

    @Test func inactivePlanCannotBeLinked() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        _ = try server.api("POST", "/v1/plans/\(plan)", json: #"{"active":false}"#)
        let response = try server.api("POST", "/v1/payment-links", json: #"{"planId":"\#(plan)","slug":"x"}"#)
        #expect(response.status == 400)
        #expect(response.errorParam == "planId")
    }

    @Test func amountLinkHasTheBillingIOFieldsAndExactCents() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/payment-links", json: #"""
            {"amount_usd": 29.99, "payment_method_id": "pm_a1b2c3d4e5f6", "description": "Pro Plan - Monthly", "expires_in_seconds": 300}
            """#)
        #expect(response.status == 201)
        let link = response.json
        let id = try #require(link["id"] as? String)
        #expect(link["org_id"] as? String == server.organization.id)
        #expect(response.text.contains(#""amount_usd":29.99"#))
        #expect(link["payment_method_id"] as? String == "pm_a1b2c3d4e5f6")
        #expect(link["description"] as? String == "Pro Plan - Monthly")
        #expect(link["url"] as? String == "\(server.url)/\(id)")
        #expect(link["environment"] as? String == "sandbox")
        let created = try #require(Date.parse(link["created_at"]))
        let expires = try #require(Date.parse(link["expires_at"]))
        #expect(expires.timeIntervalSince(created) == 300)
        let page = try server.request("GET", "/\(id)")
        #expect(page.text.contains("$29.99"))

        let live = try server.create("/v1/payment-links", #"{"amount_usd": 1000, "payment_method_id": "pm_x"}"#, key: server.liveKey)
        #expect(live["environment"] as? String == "live")
        #expect(live["expires_at"] is NSNull)
        #expect(live["description"] is NSNull)
    }

    @Test(arguments: [
        (#"{"amount_usd": 29.999, "payment_method_id": "pm"}"#, "amount_usd"),
        (#"{"amount_usd": 0.001, "payment_method_id": "pm"}"#, "amount_usd"),
        (#"{"amount_usd": 0, "payment_method_id": "pm"}"#, "amount_usd"),
        (#"{"amount_usd": -5, "payment_method_id": "pm"}"#, "amount_usd"),
        (#"{"amount_usd": "29.99", "payment_method_id": "pm"}"#, "amount_usd"),
        (#"{"payment_method_id": "pm"}"#, "amount_usd"),
        (#"{"amount_usd": 10}"#, "payment_method_id"),
        (#"{"amount_usd": 10, "payment_method_id": ""}"#, "payment_method_id"),
        (#"{"amount_usd": 10, "payment_method_id": "pm", "description": "\#(String(repeating: "d", count: 513))"}"#, "description"),
        (#"{"amount_usd": 10, "payment_method_id": "pm", "expires_in_seconds": 299}"#, "expires_in_seconds"),
        (#"{"amount_usd": 10, "payment_method_id": "pm", "expires_in_seconds": 1.5}"#, "expires_in_seconds"),
        (#"{}"#, "planId"),
        (#"{"metadata": {}}"#, "planId"),
        (#"{"planId": "plan_x"}"#, "slug"),
    ])
    func invalidLinksAre400NamingTheField(json: String, param: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/payment-links", json: json)
        #expect(response.status == 400)
        #expect(response.errorParam == param)
    }

    @Test func descriptionAtTheLimitIsAccepted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/payment-links", json: #"{"amount_usd": 0.01, "payment_method_id": "pm", "description": "\#(String(repeating: "é", count: 512))"}"#)
        #expect(response.status == 201)
    }

    @Test func retrieveListAndDeactivate() throws {
        let server = try TestServer()
        defer { server.stop() }
        let first = try server.create("/v1/payment-links", #"{"amount_usd": 5, "payment_method_id": "pm"}"#)
        let plan = try server.monthlyPlan()
        let second = try server.create("/v1/payment-links", #"{"planId":"\#(plan)","slug":"second"}"#)
        let firstID = try #require(first["id"] as? String), secondID = try #require(second["id"] as? String)
        #expect(try server.list("/v1/payment-links").compactMap { $0["id"] as? String } == [secondID, firstID])
        #expect(try server.list("/v1/payment-links?limit=1&starting_after=\(secondID)").compactMap { $0["id"] as? String } == [firstID])
        let fetched = try server.api("GET", "/v1/payment-links/\(firstID)")
        #expect(fetched.json["amount_usd"] as? Double == 5)

        let updated = try server.api("POST", "/v1/payment-links/\(firstID)", json: #"{"active": false, "description": "Sold out"}"#)
        #expect(updated.status == 200)
        #expect(updated.json["active"] as? Bool == false)
        #expect(updated.json["description"] as? String == "Sold out")
        #expect(try server.request("GET", "/\(firstID)").status == 410)
        _ = try server.api("POST", "/v1/payment-links/\(firstID)", json: #"{"active": true}"#)
        #expect(try server.request("GET", "/\(firstID)").status == 200)
        #expect(try server.api("GET", "/v1/payment-links/\(firstID)", key: server.liveKey).status == 404)
    }
}

extension Date {
    static func parse(_ value: Any?) -> Date? {
        guard let text = value as? String else { return nil }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
