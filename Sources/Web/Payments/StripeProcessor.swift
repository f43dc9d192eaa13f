import Billing
import Foundation
import Logging

/// Stripe, through its PaymentIntents API, for one organization and mode.
///
/// A charge is two requests: a PaymentMethod from the card fields, then a confirming
/// PaymentIntent (`amount`, `currency`, `payment_method`, `confirm=true`,
/// `metadata[checkout_session]`, `return_url`) sent with the attempt's `Idempotency-Key`. The
/// PaymentMethod's id is journaled on the attempt before the PaymentIntent goes out, so that when
/// the answer is lost, asking again is the same request with the same key, which Stripe answers
/// with the stored result of the first one (https://docs.stripe.com/api/idempotent_requests).
/// The card number and CVC go to Stripe in the PaymentMethod request and nowhere else.
struct StripeProcessor: PaymentProcessor {
    /// The account's secret key (opened from its sealed form for this processor's life only).
    let secretKey: String
    /// `https://api.stripe.com`, or a local fake's.
    let apiBase: String
    let client: StripeClient
    let logger: Logger

    var name: String { "stripe" }

    func charge(_ request: ChargeRequest, card: PaymentCard, journal: ChargeJournal) -> ChargeResult {
        let method = send("POST", "/v1/payment_methods", form: [
            ("type", "card"), ("card[number]", card.number), ("card[exp_month]", String(card.expiryMonth)),
            ("card[exp_year]", String(card.expiryYear)), ("card[cvc]", card.cvc),
        ], idempotencyKey: request.idempotencyKey + "-payment-method")
        let paymentMethod: String
        switch method {
        case .answer(200..<300, let body):
            guard let id = body["id"]?.stringValue else { return .failed(reason: "Stripe answered a PaymentMethod without an id.") }
            paymentMethod = id
        case .answer(402, let body):
            return .declined(Self.decline(in: body))
        case .answer(let status, let body) where status < 500:
            // A card Stripe refuses to tokenize (an invalid number, say) is a decline the customer can act on.
            if body["error"]?["type"]?.stringValue == "card_error" { return .declined(Self.decline(in: body)) }
            return .failed(reason: "Stripe refused the PaymentMethod (\(status)): \(Self.message(in: body))")
        case .answer(let status, _):
            return .failed(reason: "Stripe answered \(status) to the PaymentMethod; nothing was charged")
        case .noAnswer(let reason):
            // No PaymentIntent exists yet, so nothing can have been charged.
            return .failed(reason: "Stripe could not be reached for the PaymentMethod: \(reason)")
        }
        do {
            try journal.record(paymentMethod)
        } catch {
            return .failed(reason: "the attempt could not be journaled: \(error)")
        }
        return result(of: createIntent(request, paymentMethod: paymentMethod))
    }

    func status(of request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus {
        if let reference {
            return status(of: send("GET", "/v1/payment_intents/\(reference)", form: []))
        }
        // No PaymentMethod journaled: the PaymentIntent was never sent, nothing was charged.
        guard let paymentMethod = note else { return .notFound }
        // The same request with the same key: Stripe answers what the first one did, or makes it
        // now if it never arrived.
        return status(of: createIntent(request, paymentMethod: paymentMethod))
    }

    func cancel(_ request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus {
        guard let reference else { return status(of: request, reference: nil, note: note) }
        _ = send("POST", "/v1/payment_intents/\(reference)/cancel", form: [("cancellation_reason", "abandoned")],
                 idempotencyKey: request.idempotencyKey + "-cancel")
        return status(of: request, reference: reference, note: note)
    }

    func refund(_ request: RefundRequest) -> RefundResult {
        var form = [("payment_intent", request.chargeReference), ("amount", String(request.amount.minorUnits))]
        if let reason = request.reason { form.append(("reason", reason)) }
        switch send("POST", "/v1/refunds", form: form, idempotencyKey: request.idempotencyKey) {
        case .answer(200..<300, let body):
            switch body["status"]?.stringValue {
            case "succeeded", "pending":
                // Stripe's `pending` refunds complete on their own; the money is on its way back.
                return .succeeded(reference: body["id"]?.stringValue ?? "")
            default:
                return .failed(reason: body["failure_reason"]?.stringValue ?? "Stripe did not make the refund.")
            }
        case .answer(let status, let body) where status < 500:
            return .failed(reason: Self.message(in: body))
        case .answer(let status, _):
            return .unknown(reason: "Stripe answered \(status)")
        case .noAnswer(let reason):
            return .unknown(reason: reason)
        }
    }

    func status(of request: RefundRequest) -> RefundResult {
        refund(request)
    }

    // MARK: Requests

    private func createIntent(_ request: ChargeRequest, paymentMethod: String) -> StripeClient.Answer {
        send("POST", "/v1/payment_intents", form: [
            ("amount", String(request.amount.minorUnits)), ("currency", request.amount.currency.code.lowercased()),
            ("payment_method", paymentMethod), ("payment_method_types[]", "card"), ("confirm", "true"),
            ("metadata[checkout_session]", request.checkoutSessionID), ("return_url", request.returnURL),
        ], idempotencyKey: request.idempotencyKey)
    }

    private func send(_ method: String, _ path: String, form: [(String, String)], idempotencyKey: String? = nil) -> StripeClient.Answer {
        client.send(method: method, url: apiBase + path, secretKey: secretKey, form: form, idempotencyKey: idempotencyKey)
    }

    /// What a PaymentIntent answer means for a charge just made.
    private func result(of answer: StripeClient.Answer) -> ChargeResult {
        switch status(of: answer) {
        case .succeeded(let reference): .succeeded(reference: reference)
        case .declined(let decline): .declined(decline)
        case .requiresAction(let reference, let url): .requiresAction(reference: reference, redirectURL: url)
        case .notFound: .failed(reason: "Stripe refused the PaymentIntent")
        case .unknown(let reason): .unknown(reason: reason)
        }
    }

    /// What a PaymentIntent answer (to a create, a retrieve or a replay) says of the charge.
    private func status(of answer: StripeClient.Answer) -> ChargeStatus {
        switch answer {
        case .answer(200..<300, let intent):
            let id = intent["id"]?.stringValue ?? ""
            switch intent["status"]?.stringValue {
            case "succeeded":
                return .succeeded(reference: id)
            case "requires_action":
                guard intent["next_action"]?["type"]?.stringValue == "redirect_to_url",
                      let url = intent["next_action"]?["redirect_to_url"]?["url"]?.stringValue else {
                    return .unknown(reason: "Stripe asks for an action this checkout cannot take (\(intent["next_action"]?["type"]?.stringValue ?? "none"))")
                }
                return .requiresAction(reference: id, redirectURL: url)
            case "requires_payment_method", "canceled":
                // Refused, or the bank's check failed: nothing was taken.
                let error = intent["last_payment_error"]
                return .declined(error.map { Self.decline(in: .object([("error", $0)])) } ?? .authenticationFailed)
            case "processing", "requires_capture", "requires_confirmation":
                return .unknown(reason: "the PaymentIntent is \(intent["status"]?.stringValue ?? "")")
            default:
                return .unknown(reason: "the PaymentIntent has status \(intent["status"]?.stringValue ?? "none")")
            }
        case .answer(402, let body):
            return .declined(Self.decline(in: body))
        case .answer(let status, let body) where status == 404 || body["error"]?["code"]?.stringValue == "resource_missing":
            return .notFound
        case .answer(let status, let body) where (400..<500).contains(status) && status != 409 && status != 429:
            // Stripe executed nothing for a request it refused (an invalid request, a wrong key).
            logger.warning("Stripe refused a PaymentIntent request", metadata: ["status": "\(status)", "message": "\(Self.message(in: body))"])
            return .notFound
        case .answer(let status, _):
            return .unknown(reason: "Stripe answered \(status)")
        case .noAnswer(let reason):
            return .unknown(reason: reason)
        }
    }

    /// A decline in Stripe's words: its message is written for the customer.
    static func decline(in body: JSON) -> Decline {
        let error = body["error"]
        let code = error?["decline_code"]?.stringValue ?? error?["code"]?.stringValue ?? "card_declined"
        let message = error?["message"]?.stringValue ?? Decline.cardDeclined.message
        return Decline(code: code, message: message)
    }

    static func message(in body: JSON) -> String {
        body["error"]?["message"]?.stringValue ?? "no message"
    }
}

extension JSON {
    /// The string, when this is one.
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
