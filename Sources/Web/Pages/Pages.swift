import Billing
import Foundation

/// The hosted pages customers open in a browser: a payment link (`/pl_…`, or its readable
/// `/<handle>/<slug>`), a checkout session (`/c/<token>`), and what follows a submit (receipt,
/// decline, errors). Opening a page never writes; submitting it does, in one transaction.
final class Pages: Sendable {
    let renderer: PageRenderer
    let store: Store
    let time: BillingTime
    let signer: FormTokenSigner
    private let cache = PageCache()
    let publicURL: PublicURL
    /// The charge and settle steps.
    let flow: PaymentFlow
    /// Where charges run, off the HTTP worker threads.
    let workers: ChargeWorkers
    /// Called after each committed completion (wakes the webhook dispatcher).
    let onCompletion: @Sendable () -> Void

    init(renderer: PageRenderer, store: Store, time: BillingTime, flow: PaymentFlow, workers: ChargeWorkers,
         publicURL: PublicURL, onCompletion: @escaping @Sendable () -> Void) throws {
        self.renderer = renderer
        self.store = store
        self.time = time
        self.flow = flow
        self.workers = workers
        self.publicURL = publicURL
        self.onCompletion = onCompletion
        signer = FormTokenSigner(secret: try store.write { try $0.serverSecret(named: "form-token") })
    }

    /// What a page path points at.
    enum Target {
        case link(PaymentLink)
        case checkoutLink(CheckoutLink)
        case session(CheckoutSession)
    }

    /// Answers a request for a page path: at once, or (a payment being charged, the bank's
    /// answer being asked for) later, from a charge worker.
    func handle(_ request: Request) -> Reply {
        switch request.method {
        case "GET", "HEAD": return show(request)
        case "POST": return submit(request)
        default:
            var response = message(status: 405, heading: "Method not allowed",
                                   text: "This address can only be opened in a browser.")
            response.headers.add("Allow", "GET, HEAD, POST")
            return .response(response)
        }
    }

    // MARK: Showing

    private func show(_ request: Request) -> Reply {
        let generation = store.writeGeneration
        if let cached = cache.response(for: request.path, generation: generation, time: time) {
            return .response(cached)
        }
        do {
            guard let (target, subject) = try resolve(request.pathSegments) else { return .response(notFound()) }
            let now = time.now(for: subject.scope)
            switch target {
            case .link, .checkoutLink:
                let availability = self.availability(of: target, subject: subject, at: now)
                guard availability.isOpen else { return .response(unavailable(availability, subject: subject)) }
                let response = checkoutPage(subject: subject, path: request.path, status: 200,
                                            input: CheckoutFormInput(), quote: PriceQuote(subtotal: subject.price),
                                            errors: FormErrors(), formError: nil, formActions: formActions(for: target))
                // A page on a test clock is not cached: the cache does not know that time.
                guard !time.isAdjusted(subject.scope) else { return .response(response) }
                var until = FormTokenSigner.nextRotation(after: time.wall.now())
                if case .link(let link) = target, let expiresAt = link.expiresAt { until = min(until, expiresAt) }
                cache.store(response, for: request.path, scope: subject.scope, generation: generation, validUntil: until)
                return .response(response)
            case .session(let session):
                switch session.availability(at: now) {
                case .open where session.paymentStatus == .processing:
                    return try attemptInProgress(of: session, subject: subject, request: request)
                case .open:
                    return .response(checkoutPage(subject: subject, path: request.path, status: 200,
                                                  input: CheckoutFormInput(email: session.customerEmail ?? ""),
                                                  quote: PriceQuote(subtotal: subject.price), errors: FormErrors(),
                                                  formError: nil, formActions: formActions(for: target)))
                case .completed:
                    return .response(try receipt(for: session, subject: subject))
                case let other:
                    return .response(unavailable(other, subject: subject))
                }
            }
        } catch {
            return .response(failure(error, request: request))
        }
    }

    // MARK: Submitting

    private func submit(_ request: Request) -> Reply {
        // Before anything is read or written: a form posted from another site is refused whatever
        // it carries (see CrossSitePolicy).
        guard CrossSitePolicy.allows(request.headers, publicURL: publicURL.value) else {
            return .response(message(status: 403, heading: "This form came from another site",
                                     text: "Nothing was charged or recorded. Open the checkout link itself and submit the form there."))
        }
        do {
            return try submitForm(request)
        } catch {
            return .response(failure(error, request: request))
        }
    }

    private func submitForm(_ request: Request) throws -> Reply {
        let isForm = request.mediaType == "application/x-www-form-urlencoded"
        let form = FormData(isForm ? request.body : [])
        let input = CheckoutFormInput(
            email: form["email"], name: form["name"], cardNumber: form["card_number"], cardExpiry: form["card_expiry"],
            cardCVC: form["card_cvc"], addressLine1: form["address_line1"], addressLine2: form["address_line2"],
            addressCity: form["address_city"], addressPostalCode: form["address_postal_code"],
            addressCountry: form["address_country"], promoCode: form["promo_code"])
        // One snapshot for the link or session, the quote of the code typed and the processor that
        // would charge: each read transaction starts with a cold page cache once anything was
        // written, so one read costs much less than three. It only reads; what the form is
        // allowed to do is decided below, in the same order as ever (404, 415, 403).
        // The discount shown and the card requirement come from this quote; the completion
        // computes it again under the write lock and decides on that one.
        guard let (target, subject, (now, quoted, processor)) = try resolve(request.pathSegments, also: { ledger, subject in
            let now = time.now(for: subject.scope)
            return (now,
                    try ledger.quote(subtotal: subject.price, planID: subject.plan?.id, code: input.promoCode,
                                     acceptsCodes: subject.acceptsPromoCodes, in: subject.scope, now: now),
                    flow.processor(for: subject.scope, in: ledger))
        }) else { return .response(notFound()) }
        guard isForm else {
            return .response(message(status: 415, heading: "Unsupported form", testMode: subject.scope.mode == .test,
                                     text: "The form was sent in a format this page does not read. Go back and submit it again."))
        }
        // The form token guards the form, not a billing rule: it runs on the wall clock.
        guard signer.isValid(form["csrf_token"], for: request.path, at: time.wall.now()) else {
            return .response(message(status: 403, heading: "Please reload the page", testMode: subject.scope.mode == .test,
                                     text: "This form has expired or did not come from this page, so nothing was charged. Reload the page and submit it again."))
        }
        let actions = formActions(for: target)
        if case .session(let session) = target, session.availability(at: now) == .completed {
            return .response(redirect(to: PageURLs.session(publicURL: "", token: session.token)))
        }
        if case .session(let session) = target, session.paymentStatus == .processing {
            return .response(redirect(to: PageURLs.session(publicURL: "", token: session.token)))
        }
        let availability = self.availability(of: target, subject: subject, at: now)
        guard availability.isOpen else { return .response(unavailable(availability, subject: subject)) }
        func page(_ status: Int, _ quote: PriceQuote, _ errors: FormErrors, _ formError: String?,
                  notice: String? = nil) -> Reply {
            .response(checkoutPage(subject: subject, path: request.path, status: status, input: input, quote: quote,
                                   errors: errors, formError: formError, formNotice: notice, formActions: actions))
        }
        // The page says which code its total was computed with. A pay whose code differs (typed
        // and Enter pressed, or cleared) would charge a total the customer has not seen, so it
        // applies the code instead and shows the new total. A form that does not carry the
        // field (a merchant's test posting `action=pay&promo_code=…`) pays at once.
        let codeChanged = form.has("quoted_promo_code") && !Self.sameCode(form["quoted_promo_code"], input.promoCode)
        let applying = form["action"] == "apply_promo" || codeChanged
        let undiscounted = PriceQuote(subtotal: subject.price)
        let quote: PriceQuote
        switch quoted {
        case .success(let value):
            quote = value
        case .failure(let rejection):
            let errors = FormErrors(fields: ["promo_code": rejection.message])
            if applying { return page(422, undiscounted, errors, nil) }
            return page(rejection == .unknown ? 422 : 409, undiscounted, errors,
                        "\(rejection.message) You have not been charged; without the code the total is \(subject.amountText).")
        }
        if codeChanged {
            let total = MoneyText.format(quote.total)
            let notice = quote.promo.map { "\($0.code) is applied: the total is now \(total). Check it, then pay." }
                ?? "Without a promo code the total is \(total). Check it, then pay."
            return page(200, quote, FormErrors(), nil, notice: notice)
        }
        if applying {
            return page(200, quote, FormErrors(), nil)
        }
        let details: CheckoutDetails
        do {
            details = try input.validate(at: now, cardRequired: quote.total.minorUnits > 0,
                                         addressRequired: subject.addressRequired)
        } catch {
            return page(422, quote, error, "Please correct the fields marked below.")
        }
        return try pay(target, path: request.path, subject: subject, details: details, input: input, quote: quote,
                       processor: processor, now: now)
    }

    /// Whether `target` takes payment at `now`.
    func availability(of target: Target, subject: CheckoutSubject, at now: Date) -> CheckoutAvailability {
        switch target {
        case .link(let link): link.availability(at: now, plan: subject.plan)
        case .checkoutLink(let link): link.availability(at: now)
        case .session(let session): session.availability(at: now)
        }
    }

    // MARK: Resolving paths

    /// The link or session a path names, with what it sells; nil when there is none.
    private func resolve(_ segments: [Substring]) throws -> (Target, CheckoutSubject)? {
        try resolve(segments, also: { _, _ in () }).map { ($0.0, $0.1) }
    }

    /// The link or session a path names, with what it sells and what `also` reads of it in the
    /// same snapshot; nil when there is none.
    private func resolve<Extra>(_ segments: [Substring],
                                also: (Ledger, CheckoutSubject) throws -> Extra) throws -> (Target, CheckoutSubject, Extra)? {
        try store.read { ledger -> (Target, CheckoutSubject, Extra)? in
            let target: Target
            switch segments.count {
            case 1 where Identifier.looksLike(String(segments[0]), prefix: "pl"):
                guard let link = try ledger.paymentLink(id: String(segments[0])) else { return nil }
                target = .link(link)
            case 1 where Identifier.looksLike(String(segments[0]), prefix: "cl"):
                guard let link = try ledger.checkoutLink(id: String(segments[0])) else { return nil }
                target = .checkoutLink(link)
            case 2 where segments[0] == "c":
                guard segments[1].count <= 64, let session = try ledger.session(token: String(segments[1])) else { return nil }
                target = .session(session)
            case 2 where Handle.isValid(String(segments[0])) && Handle.isValid(String(segments[1])):
                guard let link = try ledger.paymentLink(handle: String(segments[0]), mode: .live, slug: String(segments[1])) else { return nil }
                target = .link(link)
            case 3 where segments[1] == "test" && Handle.isValid(String(segments[0])) && Handle.isValid(String(segments[2])):
                guard let link = try ledger.paymentLink(handle: String(segments[0]), mode: .test, slug: String(segments[2])) else { return nil }
                target = .link(link)
            default:
                return nil
            }
            let subject = try subject(of: target, in: ledger)
            return (target, subject, try also(ledger, subject))
        }
    }

    private func subject(of target: Target, in ledger: Ledger) throws -> CheckoutSubject {
        let scope: Scope, planID: String?, description: String?, price: Money
        switch target {
        case .link(let link):
            (scope, planID, description, price) = (link.scope, link.planID, link.description, link.price)
        case .session(let session):
            (scope, planID, description, price) = (session.scope, session.planID, session.description, session.price)
        case .checkoutLink(let link):
            return CheckoutSubject(checkoutLink: link, organization: try organization(of: link.scope, in: ledger))
        }
        let plan = try planID.map { try ledger.plan(id: $0, in: scope) }
        return CheckoutSubject(scope: scope, organization: try organization(of: scope, in: ledger), plan: plan,
                               description: description, price: price)
    }

    private func organization(of scope: Scope, in ledger: Ledger) throws -> Organization {
        guard let organization = try ledger.organization(id: scope.organizationID) else {
            throw BillingError.notFound("organization", scope.organizationID)
        }
        return organization
    }

    // MARK: Responses

    func checkoutPage(subject: CheckoutSubject, path: String, status: Int, input: CheckoutFormInput,
                              quote: PriceQuote, errors: FormErrors, formError: String?, formNotice: String? = nil,
                              formActions: [String]) -> Response {
        let lineItems = LineItemView.views(of: subject.lineItems)
        let discounted = quote.promo != nil
        let page = CheckoutPage(
            chrome: PageChrome(title: "\(subject.itemTitle) · \(subject.merchantName)", assetVersion: renderer.assetVersion),
            testMode: subject.scope.mode == .test, merchantName: subject.merchantName, itemTitle: subject.itemTitle,
            itemDescription: subject.itemDescription, lineItems: lineItems, hasLineItems: !lineItems.isEmpty,
            headline: subject.amountText, amount: MoneyText.format(quote.total),
            subtotal: discounted ? subject.amountText : nil,
            discount: discounted ? "−" + MoneyText.format(quote.discount) : nil, appliedPromoCode: quote.promo?.code,
            promoAllowed: subject.acceptsPromoCodes, promoInput: quote.promo?.code ?? input.promoCode,
            interval: subject.intervalText, action: path,
            csrfToken: signer.token(for: path, at: time.wall.now()), form: input, errors: FieldErrors(errors), formError: formError,
            formNotice: formNotice,
            submitLabel: subject.submitLabel(total: quote.total), needsCard: quote.total.minorUnits > 0,
            addressRequired: subject.addressRequired,
            countries: subject.addressRequired ? CountryOption.all(selected: input.addressCountry) : [])
        return renderer.response(status: status, template: "checkout", page: page, formActions: formActions)
    }

    func receipt(for session: CheckoutSession, subject: CheckoutSubject) throws -> Response {
        let (payment, link) = try store.read { ledger in
            (try session.paymentID.map { try ledger.payment(id: $0, in: session.scope) },
             try session.checkoutLinkID.map { try ledger.checkoutLink(id: $0, in: session.scope) })
        }
        var confirmation: String?
        if case .hostedConfirmation(let message)? = link?.afterCompletion { confirmation = message }
        let lineItems = LineItemView.views(of: link?.lineItems ?? [])
        let page = ReceiptPage(
            chrome: PageChrome(title: "Receipt · \(subject.merchantName)", assetVersion: renderer.assetVersion),
            testMode: session.scope.mode == .test, merchantName: subject.merchantName, itemTitle: subject.itemTitle,
            confirmationMessage: confirmation, lineItems: lineItems, hasLineItems: !lineItems.isEmpty,
            amount: MoneyText.format(payment?.amount ?? session.amountTotal),
            interval: session.discountAmount > 0 ? nil : subject.intervalText,
            promoCode: session.promoCode,
            discount: session.discountAmount > 0 ? "−" + MoneyText.format(Money(minorUnits: session.discountAmount, currency: session.price.currency)) : nil,
            subtotal: session.discountAmount > 0 ? MoneyText.format(session.price) : nil,
            email: session.customerEmail, cardBrand: payment?.cardBrand?.cardBrandName, cardLast4: payment?.cardLast4,
            paidAt: (session.completedAt ?? session.createdAt).receiptText, reference: session.id,
            transactionID: payment?.id)
        return renderer.response(status: 200, template: "receipt", page: page)
    }

    func unavailable(_ availability: CheckoutAvailability, subject: CheckoutSubject) -> Response {
        let heading: String, text: String
        switch availability {
        case .expired:
            heading = "This checkout has expired"
            text = "The link you followed is no longer valid. Ask \(subject.merchantName) for a new one."
        case .inactive(let custom), .soldOut(let custom):
            heading = "This checkout is no longer available"
            text = custom ?? "\(subject.merchantName) is not taking payments through this link any more."
        case .open, .completed:
            heading = "This checkout is not available"
            text = "Ask \(subject.merchantName) for a new link."
        }
        let page = UnavailablePage(chrome: PageChrome(title: heading, assetVersion: renderer.assetVersion),
                                   testMode: subject.scope.mode == .test, heading: heading, message: text,
                                   merchantName: subject.merchantName, status: 410)
        return renderer.response(status: 410, template: "message", page: page)
    }

    /// Whether two promo code fields name the same code (codes are compared trimmed, in upper case).
    private static func sameCode(_ first: String, _ second: String) -> Bool {
        first.trimmingWhitespace(newlines: false).uppercased() == second.trimmingWhitespace(newlines: false).uppercased()
    }

    /// Origins the form may lead to besides this server: the success or redirect URL's.
    func formActions(for target: Target) -> [String] {
        let url: String? = switch target {
        case .link: nil
        case .session(let session): session.successURL
        case .checkoutLink(let link): if case .redirect(let url) = link.afterCompletion { url } else { nil }
        }
        return url.flatMap(RedirectURL.origin(of:)).map { [$0] } ?? []
    }

    func redirect(to location: String) -> Response {
        var headers = HTTPHeaders()
        headers.add("Location", location)
        headers.add("Cache-Control", "no-store")
        headers.add("Referrer-Policy", "no-referrer")
        return Response(status: 303, headers: headers)
    }

    func failure(_ error: any Error, request: Request) -> Response {
        message(status: 500, heading: "Something went wrong",
                text: "We could not complete this request and nothing was charged. Try again in a moment. Reference: \(request.id).")
    }

    /// The 404 page.
    func notFound() -> Response {
        message(status: 404, heading: "Page not found",
                text: "There is no checkout at this address. Check the link you were given, or ask the merchant for a new one.")
    }

    /// A page with a heading and a sentence, used for every error a customer can meet.
    func message(status: Int, heading: String, testMode: Bool = false, text: String) -> Response {
        let page = UnavailablePage(chrome: PageChrome(title: heading, assetVersion: renderer.assetVersion),
                                   testMode: testMode, heading: heading, message: text, merchantName: nil, status: status)
        return renderer.response(status: status, template: "message", page: page)
    }
}
