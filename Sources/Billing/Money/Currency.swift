/// An ISO 4217 currency, with the number of digits of its minor unit (its exponent), which decides
/// how integer amounts are read: 1500 is ₦15.00 in NGN (exponent 2), ¥1,500 in JPY (exponent 0),
/// and 1.500 KWD (exponent 3).
public struct Currency: Hashable, Sendable, CustomStringConvertible {
    /// The upper-case three-letter code (`NGN`, `USD`).
    public let code: String
    /// Digits after the decimal point in the currency's minor unit.
    public let exponent: Int

    /// The currency for `code`, in upper or lower case (`USD`, `usd`: the references use both); nil
    /// for anything else: mixed case (`Usd`), letters outside ASCII that Swift would upper-case into
    /// it (`ınr` → `INR`), and codes that are not active ISO 4217 codes.
    public init?(code: String) {
        let bytes = Array(code.utf8)
        guard bytes.count == 3,
              bytes.allSatisfy({ (65...90).contains($0) }) || bytes.allSatisfy({ (97...122).contains($0) }),
              let exponent = Self.exponents[code.uppercased()]
        else { return nil }
        let upper = code.uppercased()
        self.code = upper
        self.exponent = exponent
    }

    /// Nigerian naira, the Duro references' default.
    public static let ngn = Currency(code: "NGN")!
    /// United States dollar.
    public static let usd = Currency(code: "USD")!

    public var description: String { code }

    /// Minor units in one major unit (100 for USD, 1 for JPY, 1000 for KWD).
    public var minorUnitsPerMajor: Int64 {
        var result: Int64 = 1
        for _ in 0..<exponent { result *= 10 }
        return result
    }

    // Active ISO 4217 codes with their minor-unit digits. Most have two; the exceptions are listed
    // separately so the table stays readable.
    private static let exponents: [String: Int] = {
        let twoDigit = """
            AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN \
            BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS \
            GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR \
            LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD \
            PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN \
            SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD YER ZAR ZMW \
            ZWG
            """
        let zeroDigit = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
        let threeDigit = "BHD IQD JOD KWD LYD OMR TND"
        let fourDigit = "CLF UYW"
        var table: [String: Int] = [:]
        for (codes, digits) in [(twoDigit, 2), (zeroDigit, 0), (threeDigit, 3), (fourDigit, 4)] {
            for code in codes.split(separator: " ") { table[String(code)] = digits }
        }
        return table
    }()
}
