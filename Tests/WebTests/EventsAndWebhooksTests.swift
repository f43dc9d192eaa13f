import Foundation
import Testing
@testable import Web

extension TestServer {
    /// A webhook endpoint for `url`; returns its id and secret.
    func webhook(_ url: String, events: String = #"["*"]"#, key: String? = nil) throws -> (id: String, secret: String) {
        let endpoint = try create("/v1/webhook_endpoints", #"{"url":"\#(url)","enabled_events":\#(events),"description":"test"}"#, key: key)
        return (endpoint["id"] as! String, endpoint["secret"] as! String)
    }

    /// Pays a fresh amount link and returns the completed session's id.
    @discardableResult
    func completeAPayment() throws -> String {
        let link = try create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let response = try submit(path(of: link["url"]), TestServer.payment())
        guard response.status == 303 else { throw TestFailure("payment answered \(response.status)") }
        return try list("/v1/checkout/sessions").first?["id"] as? String ?? ""
    }
}

/// Short retries so that tests see several attempts in seconds.
func fastRetries(_ configuration: inout ApplicationConfiguration) {
    configuration.webhookRetry = .init(base: 1, cap: 8, horizon: 120)
    configuration.sweepInterval = 0.2
}

@Suite struct EventsTests {
    @Test func aCompletionWritesItsEventWithTheSessionAsTheAPIShowsIt() throws {
        let server = try TestServer()
        defer { server.stop() }
        let sessionID = try server.completeAPayment()
        let events = try server.list("/v1/events")
        #expect(events.count == 1)
        let event = try #require(events.first)
        let id = try #require(event["id"] as? String)
        #expect(id.hasPrefix("evt_"))
        #expect(event["object"] as? String == "event")
        #expect(event["type"] as? String == "checkout.session.completed")
        #expect(event["livemode"] as? Bool == false)
        #expect(event["created"] is Int)
        let object = try #require((event["data"] as? [String: Any])?["object"] as? [String: Any])
        #expect(object["id"] as? String == sessionID)
        #expect(object["status"] as? String == "complete")
        #expect(object["object"] as? String == "checkout_session")
        let fetched = try server.api("GET", "/v1/events/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.json["id"] as? String == id)
        // Listed and retrieved, the event is the same bytes, in the shape's key order.
        let listed = try server.api("GET", "/v1/events")
        #expect(listed.text.contains(fetched.text))
        #expect(fetched.text.hasPrefix(#"{"id":"evt_"#))
        #expect(try server.api("GET", "/v1/events/\(id)", key: server.liveKey).status == 404)
        #expect(try server.list("/v1/events", key: server.liveKey).isEmpty)
    }

    @Test func everyStateChangeHasItsEvent() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        _ = try server.promo(#"{"code":"ONLYONE","discountType":"percentage","discountValue":10,"maxRedemptions":1}"#)
        let session = try server.create("/v1/checkout/sessions", #"{"planId":"\#(plan)"}"#)
        var fields = TestServer.payment()
        fields["promo_code"] = "ONLYONE"
        #expect(try server.submit(server.path(of: session["url"]), fields).status == 303)

        let limited = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":1}}"#))
        #expect(try server.submit(server.path(of: limited["url"]), TestServer.payment()).status == 303)
        let manual = try server.checkoutLink(checkoutLinkJSON())
        _ = try server.api("POST", "/v1/checkout_links/\(manual["id"] as! String)", json: #"{"active":false}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        _ = try server.api("POST", "/v1/payment-links/\(link["id"] as! String)", json: #"{"active":false}"#)
        _ = try server.api("POST", "/v1/payment-links/\(link["id"] as! String)", json: #"{"active":false}"#)
        let open = try server.create("/v1/checkout/sessions", #"{"amount":100}"#)
        _ = try server.api("POST", "/v1/checkout/sessions/\(open["id"] as! String)/expire")
        _ = try server.api("POST", "/v1/checkout/sessions/\(open["id"] as! String)/expire")

        let events = try server.list("/v1/events?limit=100")
        let types = events.compactMap { $0["type"] as? String }
        #expect(types.filter { $0 == "checkout.session.completed" }.count == 2)
        #expect(types.filter { $0 == "subscription.created" }.count == 1)
        #expect(types.filter { $0 == "promo_code.exhausted" }.count == 1)
        #expect(types.filter { $0 == "checkout_link.deactivated" }.count == 2)
        #expect(types.filter { $0 == "payment_link.deactivated" }.count == 1, "deactivating twice is one change")
        #expect(types.filter { $0 == "checkout.session.expired" }.count == 1)
        let reasons = events.filter { ($0["type"] as? String)?.hasSuffix(".deactivated") == true }
            .compactMap { ($0["data"] as? [String: Any])?["reason"] as? String }
        #expect(reasons.sorted() == ["api", "api", "limit_reached"])
        let exhausted = try #require(events.first { $0["type"] as? String == "promo_code.exhausted" })
        #expect(((exhausted["data"] as? [String: Any])?["object"] as? [String: Any])?["remaining"] as? Int == 0)

        let filtered = try server.list("/v1/events?type=subscription.created")
        #expect(filtered.count == 1)
        #expect(try server.api("GET", "/v1/events?type=nonsense").status == 400)
        // Newest first, and the cursor walks them all.
        let first = try server.list("/v1/events?limit=3")
        let rest = try server.list("/v1/events?limit=100&starting_after=\(first.last!["id"] as! String)")
        #expect(first.count + rest.count == events.count)
    }

    @Test func expiriesHappenWithoutAnyoneOpeningThePage() throws {
        let server = try TestServer(configure: fastRetries)
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":100}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm", "expires_in_seconds": 300}"#)
        server.clock.advance(24 * 3600 + 1)
        let deadline = Date().addingTimeInterval(5)
        var types: [String] = []
        while types.count < 2 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            types = try server.list("/v1/events").compactMap { $0["type"] as? String }
        }
        #expect(types.sorted() == ["checkout.session.expired", "payment_link.deactivated"])
        #expect(try server.api("GET", "/v1/payment-links/\(link["id"] as! String)").json["active"] as? Bool == false)
        let expired = try server.application.store.read { try $0.session(id: session["id"] as! String, in: .init(organizationID: server.organization.id, mode: .test)) }
        #expect(expired.storedStatus == .expired, "stored, not only computed")
        let reason = try server.list("/v1/events?type=payment_link.deactivated").first?["data"] as? [String: Any]
        #expect(reason?["reason"] as? String == "expired")
    }
}

@Suite struct WebhookEndpointTests {
    @Test func createShowsTheSecretOnceAndValidates() throws {
        let server = try TestServer()
        defer { server.stop() }
        let created = try server.create("/v1/webhook_endpoints", #"{"url":"https://shop.example/hooks","enabled_events":["checkout.session.completed"],"description":"orders"}"#)
        let id = try #require(created["id"] as? String)
        #expect(id.hasPrefix("we_"))
        #expect((created["secret"] as? String)?.hasPrefix("whsec_") == true)
        #expect(created["status"] as? String == "enabled")
        #expect(created["enabled_events"] as? [String] == ["checkout.session.completed"])
        #expect(created["created"] is Int)
        let fetched = try server.api("GET", "/v1/webhook_endpoints/\(id)")
        #expect(fetched.json["secret"] == nil)
        #expect(try server.list("/v1/webhook_endpoints").first?["secret"] == nil)

        let updated = try server.api("POST", "/v1/webhook_endpoints/\(id)", json: #"{"url":"https://shop.example/v2","enabled_events":["*"],"disabled":true}"#)
        #expect(updated.json["url"] as? String == "https://shop.example/v2")
        #expect(updated.json["status"] as? String == "disabled")
        #expect(updated.json["enabled_events"] as? [String] == ["*"])
        let deleted = try server.api("DELETE", "/v1/webhook_endpoints/\(id)")
        #expect(deleted.json["deleted"] as? Bool == true)
        #expect(try server.api("GET", "/v1/webhook_endpoints/\(id)").status == 404)
    }

    @Test(arguments: [
        (#"{"enabled_events":["*"]}"#, "url"),
        (#"{"url":"javascript:alert(1)","enabled_events":["*"]}"#, "url"),
        (#"{"url":"/relative","enabled_events":["*"]}"#, "url"),
        (#"{"url":"https://x.example"}"#, "enabled_events"),
        (#"{"url":"https://x.example","enabled_events":[]}"#, "enabled_events"),
        (#"{"url":"https://x.example","enabled_events":["charge.made"]}"#, "enabled_events[0]"),
    ] as [(String, String)])
    func invalidEndpointsAre400(json: String, param: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/webhook_endpoints", json: json)
        #expect(response.status == 400)
        #expect(response.errorParam == param)
    }
}

@Suite(.serialized) struct WebhookDeliveryTests {
    @Test func deliveriesAreSignedWithTheEndpointSecret() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let server = try TestServer(configure: fastRetries)
        defer { server.stop() }
        let (_, secret) = try server.webhook(receiver.url, events: #"["checkout.session.completed"]"#)
        let sessionID = try server.completeAPayment()
        let delivered = try #require(receiver.wait(for: 1).first)
        #expect(delivered.type == "checkout.session.completed")
        #expect(((delivered.json["data"] as? [String: Any])?["object"] as? [String: Any])?["id"] as? String == sessionID)
        let signature = try #require(delivered.headers["Checkout-Signature"])
        #expect(Receiver.verify(header: signature, body: delivered.body, secret: secret))
        #expect(!Receiver.verify(header: signature, body: delivered.body + [32], secret: secret))
        #expect(!Receiver.verify(header: signature, body: delivered.body, secret: secret + "x"))
        #expect(delivered.headers["Content-Type"] == "application/json")
        // The event as delivered is the event as listed.
        let listed = try server.api("GET", "/v1/events/\(delivered.json["id"] as! String)")
        #expect(listed.body == delivered.body)
    }

    @Test func failuresAreRetriedWithGrowingDelaysAndRecorded() throws {
        let receiver = try Receiver(script: [500, 500])
        defer { receiver.stop() }
        let server = try TestServer { $0.webhookRetry = .init(base: 2, cap: 60, horizon: 600) }
        defer { server.stop() }
        let (endpoint, _) = try server.webhook(receiver.url)
        try server.completeAPayment()
        let attempts = receiver.wait(for: 3, timeout: 20)
        #expect(attempts.count == 3)
        guard attempts.count == 3 else { return }
        let first = attempts[1].receivedAt.timeIntervalSince(attempts[0].receivedAt)
        let second = attempts[2].receivedAt.timeIntervalSince(attempts[1].receivedAt)
        #expect(first >= 1.0)
        #expect(second > first)
        Thread.sleep(forTimeInterval: 0.3)
        let deliveries = try server.list("/v1/webhook_endpoints/\(endpoint)/deliveries")
        let delivery = try #require(deliveries.first)
        #expect(delivery["status"] as? String == "succeeded")
        #expect(delivery["attempt_count"] as? Int == 3)
        let recorded = try #require(delivery["attempts"] as? [[String: Any]])
        #expect(recorded.compactMap { $0["status_code"] as? Int } == [500, 500, 200])
        #expect(recorded.allSatisfy { $0["latency_ms"] is Int })
        #expect(recorded.first?["error"] as? String == "HTTP 500")
        // Acknowledged: not sent again.
        Thread.sleep(forTimeInterval: 2.5)
        #expect(receiver.received.count == 3)
    }

    @Test func anAnswerLaterThanTheTimeoutIsAFailedAttemptAndRetried() throws {
        let receiver = try Receiver(delay: 2.5)
        defer { receiver.stop() }
        let server = try TestServer {
            $0.webhookRetry = .init(base: 1, cap: 60, horizon: 600)
            $0.webhookTimeout = 1
        }
        defer { server.stop() }
        let (endpoint, _) = try server.webhook(receiver.url)
        let started = Date()
        try server.completeAPayment()
        Thread.sleep(forTimeInterval: 1.8)
        let delivery = try #require(try server.list("/v1/webhook_endpoints/\(endpoint)/deliveries").first)
        #expect(delivery["status"] as? String == "pending")
        let attempt = try #require((delivery["attempts"] as? [[String: Any]])?.first)
        #expect(attempt["status_code"] is NSNull)
        #expect((attempt["error"] as? String)?.lowercased().contains("time") == true, "\(attempt)")
        #expect((attempt["latency_ms"] as? Int).map { (900...2000).contains($0) } == true, "\(attempt)")
        // The receiver got it (late): the retry sends it again, as at-least-once allows.
        #expect(receiver.wait(for: 2, timeout: 10).count == 2)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func aReceiverThatWasDownGetsTheEventOnceItIsUp() throws {
        let port = try Receiver.freePort()
        let server = try TestServer(configure: fastRetries)
        defer { server.stop() }
        let (endpoint, _) = try server.webhook("http://127.0.0.1:\(port)/hooks")
        try server.completeAPayment()
        Thread.sleep(forTimeInterval: 1.5)
        let failed = try server.list("/v1/webhook_endpoints/\(endpoint)/deliveries").first
        #expect(failed?["status"] as? String == "pending")
        #expect(((failed?["attempts"] as? [[String: Any]])?.first?["error"] as? String)?.isEmpty == false)
        // Sent again by hand while the first is still pending: queued behind it, due at once, and
        // its `next_attempt` says so with its creation time (not 1970).
        let event = try #require(failed?["event"] as? String)
        #expect(try server.api("POST", "/v1/events/\(event)/redeliver").json["queued"] as? Int == 1)
        let queued = try #require(try server.list("/v1/webhook_endpoints/\(endpoint)/deliveries").first)
        #expect(queued["status"] as? String == "pending")
        #expect((queued["attempts"] as? [Any])?.isEmpty == true)
        #expect(queued["next_attempt"] as? Int == queued["created"] as? Int)
        let receiver = try Receiver(port: port)
        defer { receiver.stop() }
        let received = receiver.wait(for: 2, timeout: 20)
        #expect(received.map(\.type) == ["checkout.session.completed", "checkout.session.completed"])
    }

    @Test func aSlowEndpointDoesNotHoldBackTheOthersAndOrderIsKeptPerEndpoint() throws {
        let slow = try Receiver(delay: 2)
        defer { slow.stop() }
        let fast = try Receiver()
        defer { fast.stop() }
        let server = try TestServer(configure: fastRetries)
        defer { server.stop() }
        _ = try server.webhook(slow.url)
        _ = try server.webhook(fast.url)
        let started = Date()
        try server.completeAPayment()
        try server.completeAPayment()
        let quick = fast.wait(for: 2, timeout: 10)
        #expect(quick.count == 2)
        #expect(Date().timeIntervalSince(started) < 2, "the fast endpoint waited for the slow one")
        let late = slow.wait(for: 2, timeout: 15)
        #expect(late.count == 2)
        let order = { (deliveries: [Receiver.Delivery]) in deliveries.compactMap { $0.json["created"] as? Int } }
        #expect(order(late) == order(late).sorted())
        let ids = { (deliveries: [Receiver.Delivery]) in deliveries.compactMap { $0.json["id"] as? String } }
        #expect(ids(late) == ids(quick))
    }

    @Test func redeliverSendsAgain() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let server = try TestServer(configure: fastRetries)
        defer { server.stop() }
        _ = try server.webhook(receiver.url)
        try server.completeAPayment()
        let first = try #require(receiver.wait(for: 1).first)
        let id = try #require(first.json["id"] as? String)
        let response = try server.api("POST", "/v1/events/\(id)/redeliver")
        #expect(response.status == 200)
        #expect(response.json["queued"] as? Int == 1)
        let both = receiver.wait(for: 2)
        #expect(both.count == 2)
        #expect(both.last?.json["id"] as? String == id)
        #expect(try server.api("POST", "/v1/events/evt_nope/redeliver").status == 404)
    }

    @Test func disabledAndFilteredEndpointsReceiveNothing() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let server = try TestServer(configure: fastRetries)
        defer { server.stop() }
        let (disabled, _) = try server.webhook(receiver.url)
        _ = try server.api("POST", "/v1/webhook_endpoints/\(disabled)", json: #"{"disabled":true}"#)
        _ = try server.webhook(receiver.url, events: #"["subscription.created"]"#)
        _ = try server.webhook(receiver.url, key: server.liveKey)
        try server.completeAPayment()
        Thread.sleep(forTimeInterval: 1.5)
        #expect(receiver.received.isEmpty)
    }
}
