import Billing
import Foundation
import Testing

@Suite struct MoneyTests {
    @Test(arguments: [("NGN", 2), ("usd", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4), ("EUR", 2)])
    func currenciesKnowTheirExponent(code: String, exponent: Int) throws {
        let currency = try #require(Currency(code: code))
        #expect(currency.exponent == exponent)
        #expect(currency.code == code.uppercased())
    }

    @Test(arguments: ["XYZ", "US", "USDD", "", "12A", "usd ", "Usd", "uSD", "ınr"])
    func unknownCodesAreRejected(code: String) {
        #expect(Currency(code: code) == nil)
    }

    @Test(arguments: [
        ("29.99", "USD", 2999 as Int64?),
        ("0.01", "USD", 1),
        ("1500", "NGN", 150000),
        ("0.1", "USD", 10),
        ("29.999", "USD", nil),
        ("500", "JPY", 500),
        ("500.5", "JPY", nil),
        ("1.005", "KWD", 1005),
        ("1.0005", "KWD", nil),
        ("92233720368547758.07", "USD", Int64.max),
        ("92233720368547758.08", "USD", nil),
    ])
    func decimalMajorUnitsConvertExactly(text: String, code: String, expected: Int64?) throws {
        let currency = try #require(Currency(code: code))
        let major = try #require(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")))
        #expect(Money(major: major, currency: currency)?.minorUnits == expected)
    }

    @Test(arguments: [(2999 as Int64, "USD", "29.99"), (500, "JPY", "500"), (1005, "KWD", "1.005"), (1, "USD", "0.01")])
    func minorUnitsRoundTripToMajor(units: Int64, code: String, major: String) throws {
        let money = Money(minorUnits: units, currency: try #require(Currency(code: code)))
        #expect(money.major == Decimal(string: major, locale: Locale(identifier: "en_US_POSIX")))
    }
}

@Suite struct HandleTests {
    @Test(arguments: ["pro", "acme-2024", "a", "a-b-c", String(repeating: "x", count: 64)])
    func validHandles(text: String) {
        #expect(Handle.isValid(text))
    }

    @Test(arguments: ["", "-pro", "pro-", "a--b", "Pro", "pro plan", "pro_plan", "ünï", String(repeating: "x", count: 65)])
    func invalidHandles(text: String) {
        #expect(!Handle.isValid(text))
    }
}

@Suite struct MetadataTests {
    @Test func limitsAreEnforced() throws {
        #expect(throws: BillingError.self) { try Metadata(Dictionary(uniqueKeysWithValues: (0...50).map { ("k\($0)", "v") })) }
        #expect(throws: BillingError.self) { try Metadata([String(repeating: "k", count: 41): "v"]) }
        #expect(throws: BillingError.self) { try Metadata(["k": String(repeating: "v", count: 501)]) }
        #expect(throws: BillingError.self) { try Metadata(["": "v"]) }
        let ok = try Metadata(Dictionary(uniqueKeysWithValues: (0..<50).map { ("k\($0)", String(repeating: "v", count: 500)) }))
        #expect(ok.values.count == 50)
    }
}

@Suite struct IdentifierTests {
    @Test func randomStringsUseTheWholeAlphabetEvenly() {
        var counts: [Character: Int] = [:]
        for _ in 0..<2000 {
            for character in Identifier.random(31) { counts[character, default: 0] += 1 }
        }
        // 62 000 draws over 62 symbols: 1 000 expected each; 800…1 200 is > 6 standard deviations.
        #expect(counts.count == 62)
        #expect(counts.values.allSatisfy { (800...1200).contains($0) })
    }

    @Test(arguments: [1, 9, 10, 11, 24, 32])
    func lengthsAreExact(count: Int) {
        #expect(Identifier.random(count).count == count)
        #expect(Identifier.make("pl").count == 3 + 24)
    }
}
