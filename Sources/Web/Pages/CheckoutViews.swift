import Billing
import Foundation

/// The checkout form page. Property names are what `Templates/checkout.mustache` reads.
struct CheckoutPage {
    let chrome: PageChrome
    /// Show the test-mode banner.
    let testMode: Bool
    let merchantName: String
    /// What is bought: plan name or description.
    let itemTitle: String
    /// A line under the title, when there is one.
    let itemDescription: String?
    /// `₦1,500.00`
    let amount: String
    /// `per month`, for subscriptions.
    let interval: String?
    /// Where the form posts: the page's own path.
    let action: String
    let csrfToken: String
    /// What the customer typed, kept across a failed submit (never the card number or CVC).
    let email: String
    let name: String
    let cardExpiry: String
    /// Whether the session's email came from the merchant.
    let emailPrefilled: Bool
    /// One message per field that failed, by field.
    let errors: FieldErrors
    /// A message about the whole form (a decline), shown above the fields.
    let formError: String?
    /// The submit button's label.
    let submitLabel: String
    /// Whether a card is needed (false when the total is zero).
    let needsCard: Bool
}

/// Per-field error messages of the checkout form, nil where the field is fine.
struct FieldErrors {
    let email: String?
    let name: String?
    let cardNumber: String?
    let cardExpiry: String?
    let cardCVC: String?
    /// Whether any field has an error.
    let any: Bool

    init(_ errors: FormErrors = FormErrors()) {
        email = errors.fields["email"]
        name = errors.fields["name"]
        cardNumber = errors.fields["card_number"]
        cardExpiry = errors.fields["card_expiry"]
        cardCVC = errors.fields["card_cvc"]
        any = !errors.fields.isEmpty
    }
}

/// The receipt of a completed session.
struct ReceiptPage {
    let chrome: PageChrome
    let testMode: Bool
    let merchantName: String
    let itemTitle: String
    let amount: String
    let interval: String?
    let email: String?
    /// `Visa`, when a card was charged.
    let cardBrand: String?
    let cardLast4: String?
    /// `21 November 2026, 13:05 UTC`
    let paidAt: String
    /// The session id: what to quote to the merchant.
    let reference: String
    let transactionID: String?
}

/// A page that says why a checkout cannot be paid (or found).
struct UnavailablePage {
    let chrome: PageChrome
    let testMode: Bool
    let heading: String
    let message: String
    let merchantName: String?
    let status: Int
}

/// What a hosted checkout sells, resolved from a link or a session, ready to show.
struct CheckoutSubject {
    let scope: Scope
    let merchantName: String
    let itemTitle: String
    let itemDescription: String?
    let price: Money
    let plan: Plan?
    let expiresAt: Date?

    init(scope: Scope, organization: Organization, plan: Plan?, description: String?, price: Money, expiresAt: Date?) {
        self.scope = scope
        merchantName = organization.name
        self.plan = plan
        self.price = price
        self.expiresAt = expiresAt
        if let plan {
            itemTitle = plan.name
            itemDescription = description ?? plan.description
        } else {
            itemTitle = description ?? "Payment to \(organization.name)"
            itemDescription = nil
        }
    }

    var amountText: String { MoneyText.format(price) }
    var intervalText: String? { MoneyText.interval(of: plan) }

    /// `Subscribe`, or `Pay ₦1,500.00`.
    var submitLabel: String {
        plan?.isRecurring == true ? "Subscribe for \(amountText)" : "Pay \(amountText)"
    }
}

extension Date {
    /// `21 November 2026, 13:05 UTC`, the same for every reader.
    var receiptText: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: self)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]
        func twoDigits(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(parts.day ?? 0) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 0), \(twoDigits(parts.hour)):\(twoDigits(parts.minute)) UTC"
    }
}

extension String {
    /// `visa` → `Visa`, `mastercard` → `Mastercard`, `amex` → `American Express`.
    var cardBrandName: String {
        switch self {
        case "amex": "American Express"
        case "unionpay": "UnionPay"
        case "jcb": "JCB"
        case "diners": "Diners Club"
        case "unknown": "Card"
        default: prefix(1).uppercased() + dropFirst()
        }
    }
}
