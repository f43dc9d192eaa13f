import Billing
import Foundation

/// The checkout form page. Property names are what `Templates/checkout.mustache` reads.
struct CheckoutPage {
    let chrome: PageChrome
    /// Show the test-mode banner.
    let testMode: Bool
    let merchantName: String
    /// What is bought: plan name, checkout-link title or description.
    let itemTitle: String
    /// A line under the title, when there is one.
    let itemDescription: String?
    /// The lines of a checkout link; empty otherwise.
    let lineItems: [LineItemView]
    let hasLineItems: Bool
    /// `₦1,500.00`: the price before any discount, shown large with its interval.
    let headline: String
    /// The total, after any discount.
    let amount: String
    /// Before the discount, when one is applied.
    let subtotal: String?
    /// `−₦750.00`, when a code is applied.
    let discount: String?
    /// The code applied (upper case), carried by the pay form.
    let appliedPromoCode: String?
    /// Whether the page offers the promo code field.
    let promoAllowed: Bool
    /// What the customer typed in the promo field.
    let promoInput: String
    /// `per month`, for subscriptions.
    let interval: String?
    /// Where the form posts: the page's own path.
    let action: String
    let csrfToken: String
    /// What the customer typed, kept across a failed submit (never the card number or CVC).
    let form: CheckoutFormInput
    /// One message per field that failed, by field.
    let errors: FieldErrors
    /// A message about the whole form (a decline), shown above the fields.
    let formError: String?
    /// A message that is not an error (the total changed with the code), shown above the fields.
    let formNotice: String?
    /// The submit button's label.
    let submitLabel: String
    /// Whether a card is needed (false when the total is zero).
    let needsCard: Bool
    /// Whether the test-mode banner names the card to pay with: only where card fields are shown,
    /// never on a receipt or an error page.
    var cardHint: Bool { testMode && needsCard }
    /// Whether the billing address fields are shown and required.
    let addressRequired: Bool
    /// The country list, with the customer's choice selected.
    let countries: [CountryOption]
}

/// One line of a checkout link as shown.
struct LineItemView {
    let product: String
    let quantity: Int64
    let unitPrice: String
    let lineTotal: String

    /// The lines as shown.
    static func views(of items: [LineItem]) -> [LineItemView] {
        items.map { item in
            LineItemView(product: item.product, quantity: item.quantity, unitPrice: MoneyText.format(item.unitAmount),
                         lineTotal: MoneyText.format(item.total))
        }
    }
}

/// An `<option>` of the country list.
struct CountryOption {
    let code: String
    let name: String
    let selected: Bool

    /// Every country, `selectedCode` selected.
    static func all(selected selectedCode: String) -> [CountryOption] {
        let chosen = selectedCode.uppercased()
        return Country.all.map { CountryOption(code: $0.code, name: $0.name, selected: $0.code == chosen) }
    }
}

/// Per-field error messages of the checkout form, nil where the field is fine.
struct FieldErrors {
    let fields: [String: String]

    init(_ errors: FormErrors = FormErrors()) {
        fields = errors.fields
    }
}

/// The receipt of a completed session.
struct ReceiptPage {
    let chrome: PageChrome
    let testMode: Bool
    let merchantName: String
    let itemTitle: String
    /// The merchant's confirmation message (checkout links), line breaks kept by CSS.
    let confirmationMessage: String?
    let lineItems: [LineItemView]
    let hasLineItems: Bool
    let amount: String
    let interval: String?
    /// The code and what it took off, when one was redeemed.
    let promoCode: String?
    let discount: String?
    let subtotal: String?
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

/// A page shown while a payment is under way: being charged (it refreshes itself), waiting for
/// the bank, or with an outcome not known yet.
struct WaitPage {
    let chrome: PageChrome
    let testMode: Bool
    let merchantName: String
    let heading: String
    let message: String
    /// Where to go next, when there is somewhere (the bank's page, the checkout).
    let linkLabel: String?
    let linkURL: String?
}

/// The test bank's 3-D Secure page: one form, Approve or Fail.
struct TestBankPage {
    let chrome: PageChrome
    let testMode: Bool
    /// `$29.99`
    let amount: String
    /// Where the form posts: the page's own path.
    let action: String
    let csrfToken: String
    /// Already answered (a second visit): the form is not shown again.
    let decided: Bool
}

/// What a hosted checkout sells, resolved from a link or a session, ready to show.
struct CheckoutSubject {
    let scope: Scope
    let merchantName: String
    let itemTitle: String
    let itemDescription: String?
    let price: Money
    let plan: Plan?
    let lineItems: [LineItem]
    let submitType: CheckoutLink.SubmitType
    let addressRequired: Bool
    /// Payment links and sessions always take codes; checkout links when they allow them.
    let acceptsPromoCodes: Bool

    init(scope: Scope, organization: Organization, plan: Plan?, description: String?, price: Money) {
        self.scope = scope
        merchantName = organization.name
        self.plan = plan
        self.price = price
        lineItems = []
        submitType = .auto
        addressRequired = false
        acceptsPromoCodes = true
        if let plan {
            itemTitle = plan.name
            itemDescription = description ?? plan.description
        } else {
            itemTitle = description ?? "Payment to \(organization.name)"
            itemDescription = nil
        }
    }

    init(checkoutLink link: CheckoutLink, organization: Organization) {
        scope = link.scope
        merchantName = organization.name
        plan = nil
        price = link.total
        itemTitle = link.title
        itemDescription = link.description
        lineItems = link.lineItems
        submitType = link.submitType
        addressRequired = link.billingAddressCollection == .required
        acceptsPromoCodes = link.allowPromotionCodes
    }

    var amountText: String { MoneyText.format(price) }
    var intervalText: String? { MoneyText.interval(of: plan) }

    /// `Pay ₦1,500.00`, `Book for $40.00`, `Donate $25.00`, `Subscribe for ₦1,500.00`;
    /// `Complete order` when nothing is due.
    func submitLabel(total: Money) -> String {
        let amount = MoneyText.format(total)
        if total.minorUnits == 0 { return plan?.isRecurring == true ? "Subscribe" : "Complete order" }
        if plan?.isRecurring == true { return "Subscribe for \(amount)" }
        switch submitType {
        case .auto, .pay: return "Pay \(amount)"
        case .book: return "Book for \(amount)"
        case .donate: return "Donate \(amount)"
        }
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
