import Mustache

// Templates read view models by name. Without help, swift-mustache finds a field through `Mirror`,
// which costs more than everything else in a page render put together (measured: 1,150 renders/s
// with reflection). Each view model therefore names its fields itself.

extension PageChrome: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "assetVersion": assetVersion
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
        case "amount": amount
        case "interval": interval
        case "action": action
        case "csrfToken": csrfToken
        case "email": email
        case "name": self.name
        case "cardExpiry": cardExpiry
        case "emailPrefilled": emailPrefilled
        case "errors": errors
        case "formError": formError
        case "submitLabel": submitLabel
        case "needsCard": needsCard
        default: nil
        }
    }
}

extension FieldErrors: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "email": email
        case "name": self.name
        case "cardNumber": cardNumber
        case "cardExpiry": cardExpiry
        case "cardCVC": cardCVC
        case "any": any
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
        case "amount": amount
        case "interval": interval
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
