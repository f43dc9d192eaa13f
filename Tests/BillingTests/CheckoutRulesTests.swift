@testable import Billing
import Foundation
import Testing

/// 2026-11-21T12:00:00Z
let november2026 = Date(timeIntervalSince1970: 1_795_262_400)

@Suite struct CardValidationTests {
    static func input(card: String = "4242424242424242", expiry: String = "12/30", cvc: String = "123",
                      email: String = "ada@example.com", name: String = "Ada") -> CheckoutFormInput {
        CheckoutFormInput(email: email, name: name, cardNumber: card, cardExpiry: expiry, cardCVC: cvc)
    }

    @Test(arguments: [
        ("4242424242424242", "visa"), ("4242 4242 4242 4242", "visa"), ("4242-4242-4242-4242", "visa"),
        ("5555555555554444", "mastercard"), ("2223003122003222", "mastercard"), ("378282246310005", "amex"),
        ("6011111111111117", "discover"), ("3566002020360505", "jcb"), ("6200000000000005", "unionpay"),
    ])
    func validCardsPassWithTheirBrand(number: String, brand: String) throws {
        let details = try Self.input(card: number).validate(at: november2026)
        #expect(details.card?.brand == brand)
        #expect(details.card?.last4 == String(number.filter(\.isNumber).suffix(4)))
    }

    @Test(arguments: [
        ("", "card_number"), ("4242424242424241", "card_number"), ("4242", "card_number"),
        ("4242a24242424242", "card_number"), ("42424242424242424242", "card_number"),
    ])
    func invalidNumbersAreRefused(number: String, field: String) {
        #expect(throws: FormErrors.self) { try Self.input(card: number).validate(at: november2026) }
        do {
            _ = try Self.input(card: number).validate(at: november2026)
        } catch {
            #expect(error.fields.keys.sorted() == [field])
        }
    }

    @Test(arguments: [
        ("11/26", true), ("11/2026", true), ("12/26", true), ("1/27", true), ("10/26", false), ("00/27", false),
        ("13/27", false), ("1227", false), ("12/", false), ("", false), ("ab/cd", false), ("12/026", false),
    ])
    func expiryIsThisMonthOrLater(expiry: String, valid: Bool) {
        let result = Result { try Self.input(expiry: expiry).validate(at: november2026) }
        if valid {
            #expect((try? result.get()) != nil)
        } else {
            guard case .failure(let error as FormErrors) = result else {
                Issue.record("expected a failure for \(expiry)")
                return
            }
            #expect(error.fields["card_expiry"] != nil)
        }
    }

    @Test(arguments: [("123", true), ("1234", true), ("12", false), ("12345", false), ("12a", false), ("", false)])
    func cvcIsThreeOrFourDigits(cvc: String, valid: Bool) {
        #expect(((try? Self.input(cvc: cvc).validate(at: november2026)) != nil) == valid)
    }

    @Test(arguments: [
        ("ada@example.com", true), ("a.b+c@sub.example.co", true), ("ada@example", false), ("ada@", false),
        ("@example.com", false), ("ada @example.com", false), ("ada@@example.com", false), ("", false),
        ("ada@-example.com", false), ("<ada>@example.com", false),
    ])
    func emailsAreChecked(email: String, valid: Bool) {
        #expect(((try? Self.input(email: email).validate(at: november2026)) != nil) == valid)
    }

    @Test func everyProblemIsReportedAtOnce() {
        do {
            _ = try CheckoutFormInput().validate(at: november2026)
            Issue.record("an empty form validated")
        } catch {
            #expect(error.fields.keys.sorted() == ["card_cvc", "card_expiry", "card_number", "email", "name"])
        }
    }

    @Test func noCardIsNeededForAZeroTotal() throws {
        let details = try CheckoutFormInput(email: "a@b.co", name: "A").validate(at: november2026, cardRequired: false)
        #expect(details.card == nil)
    }
}

@Suite struct TestCardProcessorTests {
    static func request(key: String = "cs_x-attempt-1", scope: Scope) -> ChargeRequest {
        ChargeRequest(amount: Money(minorUnits: 100, currency: .usd), scope: scope, idempotencyKey: key,
                      checkoutSessionID: "cs_x", returnURL: "https://pay.example/c/token?payment_return=rsv_x")
    }

    /// A store with one organization, and its test scope.
    static func storeWithScope() throws -> (TemporaryStore, Scope) {
        let temporary = try TemporaryStore()
        let created = try temporary.store.write { try $0.createOrganization(handle: "cards", name: "Cards", now: fixedNow) }
        return (temporary, Scope(organizationID: created.organization.id, mode: .test))
    }

    @Test(arguments: [
        ("4242424242424242", nil), ("5555555555554444", nil),
        ("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"),
    ] as [(String, String?)])
    func testCardsAreDeterministicAndRecordedUnderTheirKey(number: String, decline: String?) throws {
        let (temporary, scope) = try Self.storeWithScope()
        defer { temporary.remove() }
        let processor = TestCardProcessor(store: temporary.store) { "https://pay.example/test-bank/\($0)" }
        let card = try #require(try CardValidationTests.input(card: number).validate(at: november2026).card)
        let first = processor.charge(Self.request(scope: scope), card: card, journal: .none)
        switch first {
        case .succeeded(let reference):
            #expect(decline == nil)
            #expect(processor.status(of: Self.request(key: "cs_x-attempt-1", scope: scope), reference: nil, note: nil) == .succeeded(reference: reference))
        case .declined(let reason):
            #expect(reason.code == decline)
            #expect(processor.status(of: Self.request(key: "cs_x-attempt-1", scope: scope), reference: nil, note: nil) == .declined(reason))
        default:
            Issue.record("unexpected \(first)")
        }
        // The same key again is the same charge, not a second one.
        #expect(processor.charge(Self.request(scope: scope), card: card, journal: .none) == first)
        #expect(try temporary.store.read { try $0.testCharge(key: "cs_x-attempt-1") } != nil)
        #expect(processor.status(of: Self.request(key: "cs_x-attempt-2", scope: scope), reference: nil, note: nil) == .notFound)
        // Another scope cannot see it.
        #expect(processor.status(of: Self.request(key: "cs_x-attempt-1", scope: Scope(organizationID: scope.organizationID, mode: .live)), reference: nil, note: nil) == .notFound)
    }

    @Test func theAuthenticationCardWaitsForTheBank() throws {
        let (temporary, scope) = try Self.storeWithScope()
        defer { temporary.remove() }
        let processor = TestCardProcessor(store: temporary.store) { "https://pay.example/test-bank/\($0)" }
        let card = try #require(try CardValidationTests.input(card: "4000 0027 6000 3184").validate(at: november2026).card)
        guard case .requiresAction(let reference, let url) = processor.charge(Self.request(scope: scope), card: card, journal: .none) else {
            Issue.record("the 3-D Secure card did not ask for the bank")
            return
        }
        #expect(url == "https://pay.example/test-bank/\(reference)")
        #expect(processor.status(of: Self.request(key: "cs_x-attempt-1", scope: scope), reference: reference, note: nil) == .requiresAction(reference: reference, redirectURL: url))
        let approved = try temporary.store.write { try $0.decideTestCharge(id: reference, approve: true) }
        #expect(approved?.status == .succeeded)
        // A second answer keeps the first.
        #expect(try temporary.store.write { try $0.decideTestCharge(id: reference, approve: false) }?.status == .succeeded)
        #expect(processor.status(of: Self.request(key: "cs_x-attempt-1", scope: scope), reference: reference, note: nil) == .succeeded(reference: reference))

        guard case .requiresAction(let other, _) = processor.charge(Self.request(key: "cs_x-attempt-2", scope: scope), card: card, journal: .none) else {
            Issue.record("no bank step")
            return
        }
        // Given up before the customer answered: a late Approve cannot take the money.
        #expect(processor.cancel(Self.request(key: "cs_x-attempt-2", scope: scope), reference: other, note: nil) == .declined(.authenticationFailed))
        #expect(try temporary.store.write { try $0.decideTestCharge(id: other, approve: true) }?.status == .failed)
    }

    @Test func liveModeWithoutAProcessorDeclines() throws {
        let (temporary, scope) = try Self.storeWithScope()
        defer { temporary.remove() }
        let card = try #require(try CardValidationTests.input().validate(at: november2026).card)
        let outcome = UnavailableProcessor().charge(Self.request(scope: Scope(organizationID: scope.organizationID, mode: .live)),
                                                    card: card, journal: .none)
        guard case .declined(let decline) = outcome else {
            Issue.record("live charge without a processor was approved")
            return
        }
        #expect(decline.code == "live_payments_unavailable")
    }
}

@Suite struct AvailabilityTests {
    static func link(active: Bool = true, expiresAt: Date? = nil) -> PaymentLink {
        PaymentLink(id: "pl_x", scope: Scope(organizationID: "org", mode: .test), planID: nil, slug: nil,
                    price: Money(minorUnits: 100, currency: .usd), paymentMethodID: "pm", description: nil,
                    metadata: .empty, active: active, expiresAt: expiresAt, createdAt: november2026)
    }

    @Test(arguments: [
        (true, nil, CheckoutAvailability.open),
        (false, nil, .inactive(message: nil)),
        (true, 60, .open),
        (true, 0, .expired),
        (true, -1, .expired),
        (false, -1, .expired),
    ] as [(Bool, TimeInterval?, CheckoutAvailability)])
    func linkAvailability(active: Bool, expiresIn: TimeInterval?, expected: CheckoutAvailability) {
        let link = Self.link(active: active, expiresAt: expiresIn.map { november2026.addingTimeInterval($0) })
        #expect(link.availability(at: november2026, plan: nil) == expected)
    }

    @Test(arguments: [
        ("https://shop.example/thanks", "https://shop.example"), ("http://127.0.0.1:8000/x?y={CHECKOUT_SESSION_ID}", "http://127.0.0.1:8000"),
        ("HTTPS://Shop.Example:443/a", "https://shop.example:443"),
    ])
    func redirectOrigins(url: String, origin: String) {
        #expect(RedirectURL.origin(of: url) == origin)
    }

    @Test(arguments: ["javascript:alert(1)", "data:text/html,x", "/relative", "//no-scheme.example", "https://", "ftp://x.example",
                      "https://exa mple.com", "https://x.example/" + String(repeating: "a", count: 2048)])
    func badRedirectsAreRefused(url: String) {
        #expect(!RedirectURL.isValid(url))
    }
}

@Suite struct FormTokenTests {
    let signer = FormTokenSigner(secret: Array(repeating: 7, count: 32))

    @Test func tokensAreBoundToTheirPathAndLifetime() {
        let token = signer.token(for: "/pl_abc", at: november2026)
        #expect(signer.isValid(token, for: "/pl_abc", at: november2026))
        #expect(signer.isValid(token, for: "/pl_abc", at: november2026.addingTimeInterval(23 * 3600)))
        #expect(!signer.isValid(token, for: "/pl_abc", at: november2026.addingTimeInterval(26 * 3600)))
        #expect(!signer.isValid(token, for: "/pl_other", at: november2026))
        #expect(!FormTokenSigner(secret: Array(repeating: 8, count: 32)).isValid(token, for: "/pl_abc", at: november2026))
        #expect(!signer.isValid(token + "x", for: "/pl_abc", at: november2026))
        #expect(!signer.isValid("", for: "/pl_abc", at: november2026))
        // Same page, same hour, same token: pages can be cached.
        #expect(signer.token(for: "/pl_abc", at: november2026.addingTimeInterval(60)) == token)
    }
}
