import Foundation

/// Card details as typed by a customer, validated. Lives only for the length of one request: the
/// number and CVC are never stored, only `brand` and `last4`.
public struct PaymentCard: Sendable {
    /// Digits only.
    public let number: String
    /// 1–12.
    public let expiryMonth: Int
    /// Four digits.
    public let expiryYear: Int
    /// Three or four digits.
    public let cvc: String

    /// `visa`, `mastercard`, `amex`, `discover`, `jcb`, `diners`, `unionpay` or `unknown`.
    public var brand: String { Self.brand(of: number) }
    /// The last four digits, the only part of the number ever kept.
    public var last4: String { String(number.suffix(4)) }

    /// The expiry as the form takes it, `MM/YY`.
    public var expiryText: String {
        let month = expiryMonth < 10 ? "0\(expiryMonth)" : "\(expiryMonth)"
        let year = expiryYear % 100
        return month + "/" + (year < 10 ? "0\(year)" : "\(year)")
    }

    /// The brand a number belongs to, from its leading digits.
    static func brand(of number: String) -> String {
        let digits = Array(number.utf8).map { Int($0) - 48 }
        func prefix(_ count: Int) -> Int { digits.prefix(count).reduce(0) { $0 * 10 + $1 } }
        switch true {
        case digits.first == 4: return "visa"
        case (51...55).contains(prefix(2)), (2221...2720).contains(prefix(4)): return "mastercard"
        case [34, 37].contains(prefix(2)): return "amex"
        case prefix(4) == 6011, prefix(2) == 65, (644...649).contains(prefix(3)): return "discover"
        case (3528...3589).contains(prefix(4)): return "jcb"
        case prefix(2) == 36, (300...305).contains(prefix(3)): return "diners"
        case prefix(2) == 62: return "unionpay"
        default: return "unknown"
        }
    }

    /// Whether `digits` passes the Luhn check.
    static func passesLuhn(_ digits: String) -> Bool {
        var sum = 0
        for (index, byte) in digits.utf8.reversed().enumerated() {
            var digit = Int(byte) - 48
            if index % 2 == 1 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return sum % 10 == 0
    }
}

/// What a customer submitted on a checkout page, before validation. Field names are the page's.
public struct CheckoutFormInput: Sendable {
    /// `email`
    public var email: String
    /// `name`
    public var name: String
    /// `card_number`
    public var cardNumber: String
    /// `card_expiry`, MM/YY
    public var cardExpiry: String
    /// `card_cvc`
    public var cardCVC: String
    /// `address_line1`
    public var addressLine1: String
    /// `address_line2`
    public var addressLine2: String
    /// `address_city`
    public var addressCity: String
    /// `address_postal_code`
    public var addressPostalCode: String
    /// `address_country`
    public var addressCountry: String
    /// `promo_code`
    public var promoCode: String

    /// An input.
    public init(email: String = "", name: String = "", cardNumber: String = "", cardExpiry: String = "", cardCVC: String = "",
                addressLine1: String = "", addressLine2: String = "", addressCity: String = "", addressPostalCode: String = "",
                addressCountry: String = "", promoCode: String = "") {
        self.email = email
        self.name = name
        self.cardNumber = cardNumber
        self.cardExpiry = cardExpiry
        self.cardCVC = cardCVC
        self.addressLine1 = addressLine1
        self.addressLine2 = addressLine2
        self.addressCity = addressCity
        self.addressPostalCode = addressPostalCode
        self.addressCountry = addressCountry
        self.promoCode = promoCode
    }
}

/// A checkout form that passed validation.
public struct CheckoutDetails: Sendable {
    /// The customer's email, trimmed and lowercased in its domain.
    public let email: String
    /// The customer's name.
    public let name: String
    /// The card, when the total needs one.
    public let card: PaymentCard?
    /// The billing address, when the checkout asks for one.
    public let address: BillingAddress?
    /// The promo code the customer typed, if any (checked in the completing transaction).
    public var promoCode: String? = nil
}

/// The fields of a form that did not validate, each with a sentence for the customer.
public struct FormErrors: Error, Equatable, Sendable {
    /// Field name (as on the page) → message.
    public var fields: [String: String]

    /// No errors.
    public init(fields: [String: String] = [:]) {
        self.fields = fields
    }
}

extension CheckoutFormInput {
    /// Longest name accepted.
    public static let maximumNameLength = 200

    /// Validates every field at once, so the customer sees all problems together. A card expiring
    /// this month is still valid; one that expired last month is not (months in UTC).
    public func validate(at now: Date, cardRequired: Bool = true, addressRequired: Bool = false) throws(FormErrors) -> CheckoutDetails {
        var errors = FormErrors()
        let email = self.email.trimmingWhitespace()
        if email.isEmpty {
            errors.fields["email"] = "Enter your email address."
        } else if !EmailAddress.isValid(email) {
            errors.fields["email"] = "Enter a valid email address, like name@example.com."
        }
        let name = self.name.trimmingWhitespace()
        if name.isEmpty {
            errors.fields["name"] = "Enter the name on the card."
        } else if name.count > Self.maximumNameLength {
            errors.fields["name"] = "The name can be at most \(Self.maximumNameLength) characters."
        }
        var card: PaymentCard?
        if cardRequired {
            card = validateCard(at: now, into: &errors)
        }
        let address = addressRequired ? validateAddress(into: &errors) : nil
        guard errors.fields.isEmpty else { throw errors }
        let code = promoCode.trimmingWhitespace(newlines: false)
        return CheckoutDetails(email: EmailAddress.normalized(email), name: name, card: card, address: address,
                               promoCode: code.isEmpty ? nil : code)
    }

    /// Longest address line, city or postal code.
    public static let maximumAddressFieldLength = 200

    private func validateAddress(into errors: inout FormErrors) -> BillingAddress? {
        func required(_ value: String, _ field: String, _ missing: String) -> String {
            let trimmed = value.trimmingWhitespace()
            if trimmed.isEmpty {
                errors.fields[field] = missing
            } else if trimmed.count > Self.maximumAddressFieldLength {
                errors.fields[field] = "This can be at most \(Self.maximumAddressFieldLength) characters."
            }
            return trimmed
        }
        let line1 = required(addressLine1, "address_line1", "Enter the street address.")
        let city = required(addressCity, "address_city", "Enter the city.")
        let postalCode = required(addressPostalCode, "address_postal_code", "Enter the postal code.")
        let line2 = addressLine2.trimmingWhitespace()
        if line2.count > Self.maximumAddressFieldLength {
            errors.fields["address_line2"] = "This can be at most \(Self.maximumAddressFieldLength) characters."
        }
        let country = addressCountry.trimmingWhitespace(newlines: false).uppercased()
        if country.isEmpty {
            errors.fields["address_country"] = "Choose the country."
        } else if !Country.isValid(country) {
            errors.fields["address_country"] = "Choose a country from the list (two-letter ISO code)."
        }
        guard !errors.fields.keys.contains(where: { $0.hasPrefix("address_") }) else { return nil }
        return BillingAddress(line1: line1, line2: line2.isEmpty ? nil : line2, city: city, postalCode: postalCode, country: country)
    }

    private func validateCard(at now: Date, into errors: inout FormErrors) -> PaymentCard? {
        let number = cardNumber.filter { $0 != " " && $0 != "-" }
        if number.isEmpty {
            errors.fields["card_number"] = "Enter your card number."
        } else if !number.allSatisfy({ $0.isASCIIDigit }) || !(12...19).contains(number.count) {
            errors.fields["card_number"] = "A card number is 12 to 19 digits."
        } else if !PaymentCard.passesLuhn(number) {
            errors.fields["card_number"] = "This card number is not valid; check for a typo."
        }
        var month = 0, year = 0
        let parts = cardExpiry.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.trimmingWhitespace(newlines: false) }
        if parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCIIDigit } }),
           parts[0].count <= 2, parts[1].count == 2 || parts[1].count == 4,
           let parsedMonth = Int(parts[0]), let parsedYear = Int(parts[1]) {
            month = parsedMonth
            year = parts[1].count == 2 ? 2000 + parsedYear : parsedYear
            if !(1...12).contains(month) {
                errors.fields["card_expiry"] = "The month must be between 01 and 12."
            } else {
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = TimeZone(identifier: "UTC")!
                let today = calendar.dateComponents([.year, .month], from: now)
                if year * 12 + month < (today.year ?? 0) * 12 + (today.month ?? 0) {
                    errors.fields["card_expiry"] = "This card has expired."
                }
            }
        } else {
            errors.fields["card_expiry"] = cardExpiry.trimmingWhitespace(newlines: false).isEmpty
                ? "Enter the expiry date as MM/YY." : "Enter the expiry date as MM/YY, like 04/29."
        }
        let cvc = cardCVC.trimmingWhitespace(newlines: false)
        if cvc.isEmpty {
            errors.fields["card_cvc"] = "Enter the security code."
        } else if !(3...4).contains(cvc.count) || !cvc.allSatisfy({ $0.isASCIIDigit }) {
            errors.fields["card_cvc"] = "The security code is 3 or 4 digits."
        }
        guard errors.fields.keys.allSatisfy({ !$0.hasPrefix("card_") }) else { return nil }
        return PaymentCard(number: number, expiryMonth: month, expiryYear: year, cvc: cvc)
    }
}

/// Email addresses as checkout accepts them: one `@`, a non-empty local part, a domain with a dot,
/// no spaces, at most 254 characters. Deliverability is the merchant's business, not ours.
public enum EmailAddress {
    /// Whether `text` looks like an address.
    public static func isValid(_ text: String) -> Bool {
        guard text.utf8.count <= 254, !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," }) else {
            return false
        }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
    }

    /// The address with its domain in lowercase (the local part is case-sensitive by the RFC).
    public static func normalized(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        return text[..<at] + text[at...].lowercased()
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
