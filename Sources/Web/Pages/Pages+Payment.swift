import Billing
import Foundation

// Paying from a page: reserve here, on the HTTP worker thread (one short transaction); charge
// and settle on a charge worker while the connection is suspended; then the answer. A charge that
// is one local write (the instant test cards) is made and settled here too: handing it to a charge
// thread would cost more than it.

extension Pages {
    /// Reserves, then (when something is to be charged) charges through `processor` and answers,
    /// later from a charge worker when the charge is a round trip.
    func pay(_ target: Target, path: String, subject: CheckoutSubject, details: CheckoutDetails, input: CheckoutFormInput,
             quote: PriceQuote, processor: any PaymentProcessor, now: Date) throws -> Reply {
        let attemptID = Reservation.newID()
        // Claimed before its reservation exists: the recovery pass never takes it for a lost one.
        flow.claim(attemptID)
        let outcome: ReserveOutcome?
        var chargedAtOnce: PaymentFlow.Result?
        do {
            if processor.chargesAtOnce {
                // A charge that is one local write, with nothing to wait for: the three steps (each
                // its own transaction, as ever) run back to back under one hold of the write lock,
                // on this thread. Two HTTP threads paying at once then hand the lock over once per
                // payment instead of three times, each handover a sleep and a wake-up.
                (outcome, chargedAtOnce) = try store.exclusively {
                    let outcome = try reserve(target, processor: processor.name, details: details, now: now, attemptID: attemptID)
                    guard case .reserved(let reservation, let session)? = outcome, let card = details.card else { return (outcome, nil) }
                    return (outcome, flow.charge(reservation, session: session, card: card, processor: processor))
                }
            } else {
                outcome = try reserve(target, processor: processor.name, details: details, now: now, attemptID: attemptID)
            }
        } catch {
            flow.unclaim(attemptID)
            throw error
        }
        if let chargedAtOnce {
            return .response(afterAttempt(chargedAtOnce, subject: subject, input: input, quote: quote))
        }
        if case .reserved? = outcome {} else { flow.unclaim(attemptID) }
        let undiscounted = PriceQuote(subtotal: subject.price)
        let form = { (status: Int, quote: PriceQuote, errors: FormErrors, formError: String?) -> Reply in
            .response(self.checkoutPage(subject: subject, path: path, status: status, input: input, quote: quote,
                                        errors: errors, formError: formError, formActions: self.formActions(for: target)))
        }
        switch outcome {
        case nil:
            return .response(notFound())
        case .completed(let session, _):
            onCompletion()
            return .response(redirect(to: Self.afterPayment(session)))
        case .alreadyCompleted(let session):
            return .response(redirect(to: Self.afterPayment(session)))
        case .inProgress(let session):
            // A second submit while the first is being charged: its outcome shows on the session's page.
            return .response(redirect(to: PageURLs.session(publicURL: "", token: session.token)))
        case .unavailable(let availability):
            return .response(unavailable(availability, subject: subject))
        case .promoRejected(let rejection, let undiscountedTotal):
            return form(409, undiscounted, FormErrors(fields: ["promo_code": rejection.message]),
                        "\(rejection.message) You have not been charged; without the code the total is \(MoneyText.format(undiscountedTotal)).")
        case .allRedemptionsReserved(let undiscountedTotal):
            let reason = "Every remaining use of this code is being paid for right now. Try again in a few minutes, or pay without it."
            return form(409, undiscounted, FormErrors(fields: ["promo_code": reason]),
                        "\(reason) You have not been charged; without the code the total is \(MoneyText.format(undiscountedTotal)).")
        case .allPlacesReserved:
            return .response(message(status: 409, heading: "Every remaining place is being paid for",
                                     testMode: subject.scope.mode == .test,
                                     text: "Every remaining place is being paid for right now. Try again in a few minutes. You have not been charged."))
        case .reserved(let reservation, let session):
            guard let card = details.card else {
                flow.unclaim(attemptID)
                throw BillingError.invalid("card_number", "A card is needed.")
            }
            return .later { answer in
                self.workers.run {
                    let result = self.flow.charge(reservation, session: session, card: card, processor: processor)
                    answer(self.afterAttempt(result, subject: subject, input: input, quote: quote))
                }
            }
        }
    }

    /// Step 1, in one short write; a completion with nothing to charge writes its events with it.
    private func reserve(_ target: Target, processor: String, details: CheckoutDetails, now: Date,
                         attemptID: String) throws -> ReserveOutcome? {
        let wallTime = time.wall.now()
        let publicURL = self.publicURL.value
        // A link's new session's id and token are drawn here, not under the write lock: each
        // random id is a few system calls.
        let identity: CheckoutSession.Identity? = if case .session = target { nil } else { .new() }
        // Relaxed: nothing leaves the process on the strength of this commit alone. A charge at a
        // processor outside the database waits until it is on disk first (`PaymentFlow.charge`),
        // and every answer waits for everything committed before it (`TopLevelRouter`).
        return try store.write(durability: .relaxed) { ledger in
            let outcome: ReserveOutcome? = switch target {
            case .link(let link):
                try ledger.reservePaymentLink(link, details: details, processor: processor, now: now, wallTime: wallTime,
                                              attemptID: attemptID, identity: identity ?? .new())
            case .checkoutLink(let link):
                try ledger.reserveCheckoutLink(link, details: details, processor: processor, now: now, wallTime: wallTime,
                                               attemptID: attemptID, identity: identity ?? .new())
            case .session(let session):
                try ledger.reserveSession(token: session.token, details: details, processor: processor, now: now,
                                          wallTime: wallTime, attemptID: attemptID)
            }
            if case .completed(let session, let effects)? = outcome {
                try EventLog.completion(session, effects, Representation(publicURL: publicURL, now: now, handle: ""),
                                        in: ledger, now: now)
            }
            return outcome
        }
    }

    /// The page once an attempt has an outcome. A form shown again posts to the session's own
    /// page, so another try is the session's next attempt, not a new session.
    func afterAttempt(_ result: PaymentFlow.Result, subject: CheckoutSubject, input: CheckoutFormInput,
                      quote: PriceQuote) -> Response {
        func formAgain(_ session: CheckoutSession, status: Int, _ message: String) -> Response {
            checkoutPage(subject: subject, path: PageURLs.session(publicURL: "", token: session.token), status: status,
                         input: input, quote: quote, errors: FormErrors(), formError: message,
                         formActions: formActions(for: .session(session)))
        }
        switch result {
        case .completed(let session):
            return redirect(to: Self.afterPayment(session))
        case .declined(let session, let decline):
            return formAgain(session, status: 402, decline.message)
        case .failed(let session):
            return formAgain(session, status: 502, "The payment could not be completed, nothing was charged. Try again in a moment.")
        case .requiresAction(_, let url):
            return redirect(to: url)
        case .unknown(let session):
            return waitPage(status: 502, subject: subject, heading: "We could not confirm your payment yet",
                            text: "The payment service did not answer in time. If your payment went through, this checkout will show it within a few minutes; you will never be charged twice for it.",
                            link: session.map { ("See this checkout", PageURLs.session(publicURL: "", token: $0.token)) })
        }
    }

    /// A session with an attempt under way: a page that refreshes itself until it settles, the
    /// bank's step, or (back from the bank) the outcome, asked from the processor.
    func attemptInProgress(of session: CheckoutSession, subject: CheckoutSubject, request: Request) throws -> Reply {
        guard let reservation = try store.read({ try $0.activeReservation(sessionID: session.id) }) else {
            // Settled or released a moment ago: show the page as it is now.
            return .response(redirect(to: PageURLs.session(publicURL: "", token: session.token)))
        }
        switch reservation.state {
        case .requiresAction where request.query["payment_return"] == reservation.id && !flow.isCharging(reservation.id):
            // Back from the bank. Asking the processor is a round trip: on a charge worker.
            // What the customer typed comes back, the card's expiry with it; its number and code
            // were never kept.
            let input = CheckoutFormInput(email: reservation.email, name: reservation.name, cardExpiry: reservation.cardExpiry ?? "",
                                          addressLine1: reservation.billingAddress?.line1 ?? "",
                                          addressLine2: reservation.billingAddress?.line2 ?? "",
                                          addressCity: reservation.billingAddress?.city ?? "",
                                          addressPostalCode: reservation.billingAddress?.postalCode ?? "",
                                          addressCountry: reservation.billingAddress?.country ?? "",
                                          promoCode: reservation.promoCode ?? "")
            let promo = try reservation.promoCodeID.map { id in try store.read { try $0.promoCode(id: id, in: reservation.scope) } }
            let quote = promo.map { PriceQuote(subtotal: session.price, promo: $0) } ?? PriceQuote(subtotal: session.price)
            return .later { answer in
                self.workers.run {
                    guard let result = self.flow.resolve(reservation) else {
                        answer(self.processingPage(subject: subject))
                        return
                    }
                    answer(self.afterAttempt(result, subject: subject, input: input, quote: quote))
                }
            }
        case .requiresAction:
            return .response(waitPage(status: 200, subject: subject, heading: "Confirm this payment with your bank",
                                      text: "Your bank asked to confirm this payment. Nothing has been charged yet.",
                                      link: reservation.actionURL.map { ("Continue to your bank", $0) }))
        case .charging, .settled, .released:
            return .response(processingPage(subject: subject))
        }
    }

    /// "Your payment is being processed", refreshing itself every 2 seconds (no script needed).
    func processingPage(subject: CheckoutSubject) -> Response {
        waitPage(status: 200, subject: subject, heading: "Your payment is being processed",
                 text: "This page updates by itself in a moment. Please do not pay again: you will not be charged twice.",
                 link: nil, refresh: 2)
    }

    private func waitPage(status: Int, subject: CheckoutSubject, heading: String, text: String,
                          link: (label: String, url: String)?, refresh: Int? = nil) -> Response {
        let page = WaitPage(chrome: PageChrome(title: "\(heading) · \(subject.merchantName)", assetVersion: renderer.assetVersion,
                                               refreshSeconds: refresh),
                            testMode: subject.scope.mode == .test, merchantName: subject.merchantName, heading: heading,
                            message: text, linkLabel: link?.label, linkURL: link?.url)
        return renderer.response(status: status, template: "wait", page: page)
    }

    /// Where a paid session sends the customer: the merchant's success URL, else its receipt.
    static func afterPayment(_ session: CheckoutSession) -> String {
        session.resolvedSuccessURL ?? PageURLs.session(publicURL: "", token: session.token)
    }
}
