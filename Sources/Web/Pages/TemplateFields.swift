import Billing
import Mustache

// Templates read view models by name. Without help, swift-mustache finds a field through `Mirror`,
// which costs more than everything else in a page render put together (measured: 1,150 renders/s
// with reflection). Each view model therefore names its fields itself.

extension PageChrome: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "assetVersion": assetVersion
        case "refreshSeconds": refreshSeconds
        default: nil
        }
    }
}

extension CheckoutPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "testMode": testMode
        case "merchantName": merchantName
        case "itemTitle": itemTitle
        case "itemDescription": itemDescription
        case "lineItems": lineItems
        case "hasLineItems": hasLineItems
        case "headline": headline
        case "amount": amount
        case "subtotal": subtotal
        case "discount": discount
        case "appliedPromoCode": appliedPromoCode
        case "promoAllowed": promoAllowed
        case "promoInput": promoInput
        case "interval": interval
        case "action": action
        case "csrfToken": csrfToken
        case "form": form
        case "errors": errors
        case "formError": formError
        case "formNotice": formNotice
        case "submitLabel": submitLabel
        case "needsCard": needsCard
        case "cardHint": cardHint
        case "addressRequired": addressRequired
        case "countries": countries
        default: nil
        }
    }
}

extension CheckoutFormInput: MustacheParent {
    /// What the customer typed, by the form's field names. Card number and CVC are never echoed.
    public func child(named name: String) -> Any? {
        switch name {
        case "email": email
        case "name": self.name
        case "card_expiry": cardExpiry
        case "address_line1": addressLine1
        case "address_line2": addressLine2
        case "address_city": addressCity
        case "address_postal_code": addressPostalCode
        default: nil
        }
    }
}

extension FieldErrors: MustacheParent {
    /// The message of the field named `name` (the form's names: `card_number`, `address_city`).
    func child(named name: String) -> Any? {
        name == "any" ? !fields.isEmpty : fields[name]
    }
}

extension LineItemView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "product": product
        case "quantity": quantity
        case "unitPrice": unitPrice
        case "lineTotal": lineTotal
        default: nil
        }
    }
}

extension CountryOption: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "code": code
        case "name": self.name
        case "selected": selected
        default: nil
        }
    }
}

extension ReceiptPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "testMode": testMode
        case "merchantName": merchantName
        case "itemTitle": itemTitle
        case "confirmationMessage": confirmationMessage
        case "lineItems": lineItems
        case "hasLineItems": hasLineItems
        case "amount": amount
        case "interval": interval
        case "promoCode": promoCode
        case "discount": discount
        case "subtotal": subtotal
        case "email": email
        case "cardBrand": cardBrand
        case "cardLast4": cardLast4
        case "paidAt": paidAt
        case "reference": reference
        case "transactionID": transactionID
        default: nil
        }
    }
}

extension UnavailablePage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "testMode": testMode
        case "heading": heading
        case "message": message
        case "merchantName": merchantName
        case "status": status
        default: nil
        }
    }
}

extension WaitPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "testMode": testMode
        case "merchantName": merchantName
        case "heading": heading
        case "message": message
        case "linkLabel": linkLabel
        case "linkURL": linkURL
        default: nil
        }
    }
}

extension TestBankPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "testMode": testMode
        case "amount": amount
        case "action": action
        case "csrfToken": csrfToken
        case "decided": decided
        default: nil
        }
    }
}
