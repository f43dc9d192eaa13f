import Billing
import Foundation
import Testing
@testable import Web

/// The server as a throwaway fixture of a merchant's end-to-end tests: objects with known ids and
/// keys from a file, a test clock, and a way to see the last completion.
@Suite struct FixtureModeTests {
    static let key = "sk_test_fixtureKey00000000000001"
    static let liveKey = "sk_live_fixtureKey00000000000001"
    static let secret = "whsec_fixtureSecret0000000000001"

    /// A fixture file with one of everything, its webhook endpoint pointing at `webhookURL`.
    static func fixture(webhookURL: String = "http://127.0.0.1:9/hooks") -> String {
        """
        {"organizations": [{
          "handle": "fixture-shop", "name": "Fixture Shop", "test_key": "\(key)", "live_key": "\(liveKey)",
          "plans": [{"id": "plan_fixturePro00000001", "name": "Pro", "amount": 150000, "currency": "NGN", "interval": "month"}],
          "prices": [{"id": "price_fixtureShirt000001", "currency": "usd", "unit_amount": 2500, "product": "T-shirt"}],
          "promo_codes": [{"id": "promo_fixtureLaunch0001", "code": "LAUNCH20", "discountType": "percentage", "discountValue": 20}],
          "payment_links": [{"id": "pl_fixturePro0000000001", "planId": "plan_fixturePro00000001", "slug": "pro"}],
          "checkout_links": [{"id": "cl_fixtureShirt00000001", "title": "Shirt", "allow_promotion_codes": true,
                              "line_items": [{"price": "price_fixtureShirt000001", "quantity": 2}]}],
          "checkout_sessions": [{"id": "cs_fixtureOrder00000001", "token": "fixtureOrderToken0000001", "amount": 4999,
                                 "currency": "USD", "expiresAt": "\(Date().addingTimeInterval(3600).iso8601)"},
                                {"id": "cs_fixtureLiveOrder00001", "token": "fixtureLiveToken00000001", "amount": 4999,
                                 "currency": "USD", "livemode": true, "expiresAt": "\(Date().addingTimeInterval(3600).iso8601)"}],
          "webhook_endpoints": [{"id": "we_fixtureHooks00000001", "url": "\(webhookURL)", "enabled_events": ["*"],
                                 "secret": "\(secret)"}]
        }]}
        """
    }

    static func write(_ text: String, extension: String = "json") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fixtures-\(UUID().uuidString).\(`extension`)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func server(_ fixture: String = fixture()) throws -> TestServer {
        let file = try write(fixture)
        return try TestServer { $0.fixturesFile = file }
    }

    @Test func everyFixtureObjectIsThereWithItsGivenIdKeyAndToken() throws {
        let server = try Self.server()
        defer { server.stop() }
        let key = Self.key
        #expect(try server.api("GET", "/v1/plans/plan_fixturePro00000001", key: key).json["amount"] as? Int == 150000)
        #expect(try server.api("GET", "/v1/prices/price_fixtureShirt000001", key: key).status == 200)
        #expect(try server.api("GET", "/v1/promo-codes/promo_fixtureLaunch0001", key: key).json["code"] as? String == "LAUNCH20")
        let link = try server.api("GET", "/v1/payment-links/pl_fixturePro0000000001", key: key).json
        #expect(link["slug"] as? String == "pro")
        #expect(try server.api("GET", "/v1/checkout_links/cl_fixtureShirt00000001", key: key).status == 200)
        #expect(try server.api("GET", "/v1/checkout/sessions/cs_fixtureOrder00000001", key: key).json["token"] as? String
                == "fixtureOrderToken0000001")
        #expect(try server.api("GET", "/v1/webhook_endpoints/we_fixtureHooks00000001", key: key).status == 200)
        // The live object is in live mode: invisible to the test key, visible to the live key.
        #expect(try server.api("GET", "/v1/checkout/sessions/cs_fixtureLiveOrder00001", key: key).status == 404)
        #expect(try server.api("GET", "/v1/checkout/sessions/cs_fixtureLiveOrder00001", key: Self.liveKey).status == 200)
        // The pages are reachable at the addresses a test hard-codes.
        #expect(try server.open("/fixture-shop/test/pro").response.status == 200)
        #expect(try server.open("/pl_fixturePro0000000001").response.status == 200)
        #expect(try server.open("/cl_fixtureShirt00000001").response.status == 200)
        #expect(try server.open("/c/fixtureOrderToken0000001").response.status == 200)
    }

    @Test func aYAMLFileGivesTheSameObjectsWithExactAmounts() throws {
        let file = try Self.write("""
            # The same shape as JSON, in YAML.
            organizations:
              - handle: yaml-shop
                test_key: sk_test_yamlFixtureKey0000000001
                payment_links:
                  - id: pl_yamlDonation000000001
                    amount_usd: 29.99
                    payment_method_id: pm_card
                    description: "Pro Plan: monthly"
            """, extension: "yaml")
        let server = try TestServer { $0.fixturesFile = file }
        defer { server.stop() }
        let link = try server.api("GET", "/v1/payment-links/pl_yamlDonation000000001", key: "sk_test_yamlFixtureKey0000000001")
        #expect(link.status == 200)
        #expect(link.text.contains(#""amount_usd":29.99,"#))
        #expect(link.json["description"] as? String == "Pro Plan: monthly")
    }

    @Test func theWebhookEndpointSignsWithTheGivenSecret() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let server = try Self.server(Self.fixture(webhookURL: receiver.url))
        defer { server.stop() }
        let paid = try server.submit("/c/fixtureOrderToken0000001", TestServer.payment())
        #expect(paid.status == 303)
        let delivery = try #require(receiver.wait(for: 1).first)
        #expect(delivery.type == "checkout.session.completed")
        #expect(Receiver.verify(header: try #require(delivery.headers["Checkout-Signature"]), body: delivery.body, secret: Self.secret))
    }

    @Test func lastCompletionReturnsTheNewestCompletedSessionOfALink() throws {
        let server = try Self.server()
        defer { server.stop() }
        let path = "/v1/test_helpers/last_completion?link=cl_fixtureShirt00000001"
        let before = try server.api("GET", path, key: Self.key)
        #expect(before.status == 404)
        #expect(before.errorParam == "link")
        #expect(try server.submit("/cl_fixtureShirt00000001", TestServer.payment(email: "first@example.com")).status == 303)
        #expect(try server.submit("/cl_fixtureShirt00000001", TestServer.payment(email: "second@example.com")).status == 303)
        let last = try server.api("GET", path, key: Self.key)
        #expect(last.status == 200)
        #expect(last.json["status"] as? String == "complete")
        #expect(last.json["checkoutLinkId"] as? String == "cl_fixtureShirt00000001")
        #expect(last.json["customerEmail"] as? String == "second@example.com")
        #expect(last.json["amountTotal"] as? Int == 5000)
        #expect(try server.api("GET", "/v1/test_helpers/last_completion?link=pl_fixturePro0000000001", key: Self.key).status == 404)
        #expect(try server.api("GET", "/v1/test_helpers/last_completion?link=cl_noSuchLink000000000001", key: Self.key).status == 404)
        #expect(try server.api("GET", "/v1/test_helpers/last_completion?link=nonsense", key: Self.key).status == 400)
        #expect(try server.api("GET", "/v1/test_helpers/last_completion", key: Self.key).errorParam == "link")
        #expect(try server.api("GET", path, key: Self.liveKey).status == 404)
    }

    @Test func advancingTheClockExpiresASessionWithoutSleepingAndOnlyForTestMode() throws {
        let server = try Self.server()
        defer { server.stop() }
        let started = Date()
        let opened = try server.open("/c/fixtureOrderToken0000001")
        #expect(opened.response.status == 200)
        let moved = try server.api("POST", "/v1/test_helpers/clock", key: Self.key, json: #"{"advance_seconds": 7200}"#)
        #expect(moved.status == 200)
        #expect(moved.json["offset_seconds"] as? Int == 7200)
        // The test session is past its expiry at once: the page says so, the API says so, and
        // the event is there before anyone opened anything else.
        #expect(try server.open("/c/fixtureOrderToken0000001").response.status == 410)
        let session = try server.api("GET", "/v1/checkout/sessions/cs_fixtureOrder00000001", key: Self.key).json
        #expect(session["status"] as? String == "expired")
        let events = try server.api("GET", "/v1/events?type=checkout.session.expired", key: Self.key).json
        #expect((events["data"] as? [[String: Any]])?.count == 1)
        // A customer who opened the page before the clock moved is refused, and not charged.
        let paid = try server.submit("/c/fixtureOrderToken0000001", TestServer.payment(), token: opened.csrfToken)
        #expect(paid.status == 410)
        #expect(try server.api("GET", "/v1/checkout/sessions/cs_fixtureOrder00000001", key: Self.key).json["transactionId"] is NSNull)
        // Live mode runs on the wall clock: its session is open, and its key cannot move a clock.
        #expect(try server.open("/c/fixtureLiveToken00000001").response.status == 200)
        #expect(try server.api("GET", "/v1/checkout/sessions/cs_fixtureLiveOrder00001", key: Self.liveKey).json["status"] as? String == "open")
        let live = try server.api("POST", "/v1/test_helpers/clock", key: Self.liveKey, json: #"{"advance_seconds": 60}"#)
        #expect(live.status == 404)
        #expect(try server.api("GET", "/v1/test_helpers/clock", key: Self.liveKey).status == 404)
        // Another organization's test objects keep the wall clock.
        let other = try server.create("/v1/checkout/sessions", #"{"amount": 500, "currency": "USD"}"#)
        #expect(try server.open("/c/\(other["token"] as! String)").response.status == 200)
        #expect(Date().timeIntervalSince(started) < 5, "the test slept")
    }

    @Test func aFrozenClockStandsStillAndNeverGoesBack() throws {
        let server = try Self.server()
        defer { server.stop() }
        let target = Date().addingTimeInterval(86_400 * 30).truncatedToSeconds
        let frozen = try server.api("POST", "/v1/test_helpers/clock", key: Self.key, json: #"{"frozen_at": "\#(target.iso8601)"}"#)
        #expect(frozen.status == 200)
        #expect(frozen.json["frozen"] as? Bool == true)
        #expect(frozen.json["now_unix"] as? Int == Int(target.unixSeconds))
        server.clock.advance(3600)
        #expect(try server.api("GET", "/v1/test_helpers/clock", key: Self.key).json["now_unix"] as? Int == Int(target.unixSeconds))
        // Objects made now carry the frozen time.
        let plan = try server.create("/v1/plans", #"{"name": "Later", "amount": 100}"#, key: Self.key)
        #expect(plan["createdAt"] as? String == target.iso8601)
        let back = try server.api("POST", "/v1/test_helpers/clock", key: Self.key, json: #"{"frozen_at": \#(target.unixSeconds - 1)}"#)
        #expect(back.status == 400)
        #expect(back.errorParam == "frozen_at")
        let advanced = try server.api("POST", "/v1/test_helpers/clock", key: Self.key, json: #"{"advance_seconds": 10}"#)
        #expect(advanced.json["now_unix"] as? Int == Int(target.unixSeconds) + 10)
        for bad in [#"{}"#, #"{"advance_seconds": 0}"#, #"{"advance_seconds": -5}"#, #"{"advance_seconds": 1.5}"#,
                    #"{"advance_seconds": 1, "frozen_at": 1}"#, #"{"frozen_at": "tomorrow"}"#,
                    #"{"frozen_at": 9007199254740991}"#, #"{"advance_seconds": 316224000}"#] {
            let response = try server.api("POST", "/v1/test_helpers/clock", key: Self.key, json: bad)
            #expect(response.status == 400, "\(bad)")
        }
        let reset = try server.api("DELETE", "/v1/test_helpers/clock", key: Self.key)
        #expect(reset.json["active"] as? Bool == false)
        #expect(reset.json["frozen"] as? Bool == false)
    }

    @Test func theSweeperExpiresTestObjectsOnTheirOrganizationsClock() throws {
        let server = try Self.server(Self.fixture())
        defer { server.stop() }
        let other = try server.create("/v1/checkout/sessions",
                                      #"{"amount": 500, "currency": "USD", "expiresAt": "\#(Date().addingTimeInterval(3600).iso8601)"}"#)
        let organization = try #require(try server.application.store.read { try $0.organization(handle: "fixture-shop") })
        let status = { (token: String) in try server.application.store.read { try $0.session(token: token) }?.storedStatus }
        // The fixture organization's test clock stands a minute ahead while the wall clock runs two
        // hours on: only what is due on each one's own clock expires.
        #expect(server.application.time.freeze(organization.id, at: Date().addingTimeInterval(60)) != nil)
        server.clock.advance(7200)
        server.application.sweepNow()
        #expect(try status("fixtureOrderToken0000001") == .open)
        #expect(try status("fixtureLiveToken00000001") == .expired)
        #expect(try status(other["token"] as! String) == .expired)
        // Its clock moves past the expiry: now its session expires, with its event.
        server.application.time.advance(organization.id, by: 7200)
        server.application.sweepNow()
        #expect(try status("fixtureOrderToken0000001") == .expired)
        let events = try server.api("GET", "/v1/events?type=checkout.session.expired", key: Self.key).json
        #expect((events["data"] as? [[String: Any]])?.count == 1)
    }
}

/// A malformed fixture file stops the server with the file, the path and the problem, and
/// creates nothing.
@Suite(.serialized) struct MalformedFixtureTests {
    static func start(_ fixture: String, database: String = ":memory:") throws -> (CommandLineTests.Output, String) {
        let file = try FixtureModeTests.write(fixture)
        let output = try CommandLineTests.run(["serve", "--port", "0", "--db", database, "--fixtures", file,
                                               "--resources", TestServer.packageRoot.path])
        return (output, file)
    }

    @Test(arguments: [
        (#"{"organizations": [{"handle": "a", "plans": [{"name": "x", "amount": "12"}]}]}"#,
         "organizations[0][plans][0][amount]", "must be an integer"),
        (#"{"organizations": [{"handle": "a", "payment_links": [{"planId": "plan_none0000000000000000", "slug": "p"}]}]}"#,
         "organizations[0][payment_links][0][planId]", "No such plan"),
        (#"{"organizations": [{"handle": "a", "paymentLinks": []}]}"#, "organizations[0]", "unknown field \"paymentLinks\""),
        (#"{"organizations": [{"handle": "a", "test_key": "sk_test_short"}]}"#, "organizations[0][test_key]", "sk_test_"),
        (#"{"organizations": [{"handle": "a", "plans": [{"id": "plan_x", "name": "x", "amount": 1}]}]}"#,
         "organizations[0][plans][0][id]", "16 to 64"),
        (#"{"organizations": [{"handle": "a", "webhook_endpoints": [{"url": "ftp://x", "enabled_events": ["*"]}]}]}"#,
         "organizations[0][webhook_endpoints][0][url]", "http"),
        (#"{"organizations": []}"#, "organizations", "non-empty"),
        ("{\"organizations\": [\n  {\"handle\": \"a\" \"b\"}]}", "line 2, column", "not valid JSON"),
    ])
    func theMessageNamesTheFileThePathAndTheProblem(fixture: String, path: String, problem: String) throws {
        let (output, file) = try Self.start(fixture)
        #expect(output.status != 0)
        #expect(output.stderr.contains(file))
        #expect(output.stderr.contains(path), "\(output.stderr)")
        #expect(output.stderr.contains(problem), "\(output.stderr)")
        #expect(!output.stdout.contains("listening"))
    }

    @Test func aMalformedYAMLFileIsNamedWithItsLineAndColumn() throws {
        let file = try FixtureModeTests.write("organizations:\n  - handle: a\n   plans: x\n", extension: "yml")
        let output = try CommandLineTests.run(["serve", "--port", "0", "--db", ":memory:", "--fixtures", file,
                                               "--resources", TestServer.packageRoot.path])
        #expect(output.status != 0)
        #expect(output.stderr.contains("fixtures file '\(file)': not valid YAML (3:4"), "\(output.stderr)")
        let infinite = try FixtureModeTests.write("organizations:\n  - handle: b\n    plans: [{name: x, amount: .inf}]\n",
                                                 extension: "yaml")
        let refused = try CommandLineTests.run(["serve", "--port", "0", "--db", ":memory:", "--fixtures", infinite,
                                                "--resources", TestServer.packageRoot.path])
        #expect(refused.stderr.contains("'.inf' at line 3"), "\(refused.stderr)")
    }

    @Test func aFaultInTheLastObjectLeavesNothingOfTheFirstOnes() throws {
        let database = try CommandLineTests.temporaryDatabase()
        let (output, _) = try Self.start("""
            {"organizations": [
              {"handle": "first", "plans": [{"name": "Kept?", "amount": 100}]},
              {"handle": "second", "plans": [{"name": "Broken", "amount": -1}]}
            ]}
            """, database: database)
        #expect(output.stderr.contains("organizations[1][plans][0][amount]"))
        let store = try Store(path: database)
        defer { try? store.close() }
        #expect(try store.read { try $0.organization(handle: "first") } == nil)
        #expect(try store.read { try $0.organization(handle: "second") } == nil)
    }
}
