import Foundation
import Testing

@Suite struct CheckoutSessionsAPITests {
    @Test func sessionForARecurringPlanIsASubscription() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        let session = try server.create("/v1/checkout/sessions", #"{"planId":"\#(plan)","customerEmail":"Ada@Example.COM","metadata":{"order":"42"}}"#)
        let id = try #require(session["id"] as? String)
        let token = try #require(session["token"] as? String)
        #expect(id.hasPrefix("cs_"))
        #expect(token.count >= 22 && token.allSatisfy { $0.isLetter || $0.isNumber })
        #expect(session["url"] as? String == "\(server.url)/c/\(token)")
        #expect(session["status"] as? String == "open")
        #expect(session["kind"] as? String == "subscription")
        #expect(session["amount"] as? Int == 150_000)
        #expect(session["currency"] as? String == "NGN")
        #expect(session["planId"] as? String == plan)
        #expect(session["customerEmail"] as? String == "Ada@example.com")
        let created = try #require(Date.parse(session["createdAt"]))
        let expires = try #require(Date.parse(session["expiresAt"]))
        #expect(expires.timeIntervalSince(created) == 24 * 3600)
        let fetched = try server.api("GET", "/v1/checkout/sessions/\(id)")
        #expect(fetched.json["token"] as? String == token)
    }

    @Test func amountSessionIsOneTimeWithDefaultCurrency() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":250000}"#)
        #expect(session["kind"] as? String == "one_time")
        #expect(session["currency"] as? String == "NGN")
        #expect(session["planId"] is NSNull)
        let yen = try server.create("/v1/checkout/sessions", #"{"amount":500,"currency":"jpy"}"#)
        #expect(yen["currency"] as? String == "JPY")
        let page = try server.request("GET", server.path(of: yen["url"]))
        #expect(page.text.contains("¥500"))
    }

    @Test(arguments: [
        (#"{}"#, "planId"),
        (#"{"amount":0}"#, "amount"),
        (#"{"amount":-1}"#, "amount"),
        (#"{"amount":1.5}"#, "amount"),
        (#"{"amount":100,"currency":"ZZZ"}"#, "currency"),
        (#"{"planId":"plan_missing"}"#, "planId"),
        (#"{"amount":100,"customerEmail":"not-an-email"}"#, "customerEmail"),
        (#"{"amount":100,"successUrl":"javascript:alert(1)"}"#, "successUrl"),
        (#"{"amount":100,"successUrl":"/relative/path"}"#, "successUrl"),
        (#"{"amount":100,"successUrl":"ftp://example.com/x"}"#, "successUrl"),
        (#"{"amount":100,"expiresAt":"tomorrow"}"#, "expiresAt"),
        (#"{"amount":100,"customerPhone":"<script>"}"#, "customerPhone"),
    ])
    func invalidSessionsAre4xxNamingTheField(json: String, param: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/checkout/sessions", json: json)
        #expect(response.status == 400 || response.status == 404)
        #expect(response.errorParam == param)
    }

    @Test func expiresAtMustBeBetweenThirtyMinutesAndADay() throws {
        let server = try TestServer()
        defer { server.stop() }
        func session(expiringIn seconds: TimeInterval) throws -> HTTPResponse {
            let at = Date.ISO8601FormatStyle().format(server.clock.now.addingTimeInterval(seconds))
            return try server.api("POST", "/v1/checkout/sessions", json: #"{"amount":100,"expiresAt":"\#(at)"}"#)
        }
        #expect(try session(expiringIn: 29 * 60).status == 400)
        #expect(try session(expiringIn: 25 * 3600).errorParam == "expiresAt")
        let ok = try session(expiringIn: 2 * 3600)
        #expect(ok.status == 201)
        let created = try #require(Date.parse(ok.json["createdAt"])), expires = try #require(Date.parse(ok.json["expiresAt"]))
        #expect(abs(expires.timeIntervalSince(created) - 7200) <= 1)
    }

    @Test func expireActionAndStatusAfterExpiry() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":100}"#)
        let id = try #require(session["id"] as? String)
        let expired = try server.api("POST", "/v1/checkout/sessions/\(id)/expire")
        #expect(expired.status == 200)
        #expect(expired.json["status"] as? String == "expired")
        #expect(try server.api("POST", "/v1/checkout/sessions/\(id)/expire").json["status"] as? String == "expired")
        #expect(try server.request("GET", server.path(of: session["url"])).status == 410)

        // Past expiresAt without anyone expiring it: expired in the API too.
        let later = try server.create("/v1/checkout/sessions", #"{"amount":100}"#)
        server.clock.advance(24 * 3600 + 1)
        #expect(try server.api("GET", "/v1/checkout/sessions/\(later["id"] as! String)").json["status"] as? String == "expired")
        #expect(try server.api("POST", "/v1/checkout/sessions/sess_nope/expire").status == 404)
    }

    @Test func completedSessionCannotBeExpired() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":100}"#)
        #expect(try server.submit(server.path(of: session["url"]), TestServer.payment()).status == 303)
        let response = try server.api("POST", "/v1/checkout/sessions/\(session["id"] as! String)/expire")
        #expect(response.status == 409)
        #expect(response.errorCode == "invalid_state")
    }
}
