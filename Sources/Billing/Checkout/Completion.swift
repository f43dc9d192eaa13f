import Foundation

/// What happened to an attempt to pay.
public enum CompletionOutcome: Sendable {
    /// Paid now: the session, complete, and what else the completion changed.
    case completed(CheckoutSession, CompletionEffects)
    /// Paid before (a second submit, a double click): the session as it was. Nothing was charged.
    case alreadyCompleted(CheckoutSession)
    /// Not payable; nothing was charged.
    case unavailable(CheckoutAvailability)
    /// The processor refused; nothing was recorded.
    case declined(Decline)
    /// The promo code does not apply (it may have run out since it was applied on the page); nothing
    /// was charged. `undiscounted` is what the checkout costs without it.
    case promoRejected(PromoRejection, undiscounted: Money)
}

/// What a completion changed besides the session, for the events that report it.
public struct CompletionEffects: Sendable {
    /// The subscription it started.
    public var subscription: Subscription?
    /// The checkout link it sold out (its last allowed completion).
    public var deactivatedCheckoutLink: CheckoutLink?
    /// The promo code it redeemed for the last time.
    public var exhaustedPromoCode: PromoCode?
}

extension Ledger {
    /// Pays an open session. Call inside `Store.write`: the rules are checked, the card charged, and
    /// the payment, the session's completion, the customer and the subscription recorded in that one
    /// `BEGIN IMMEDIATE` transaction, so two concurrent submits complete it exactly once.
    public func completeSession(token: String, details: CheckoutDetails, processors: PaymentProcessors,
                                now: Date) throws -> CompletionOutcome? {
        guard let session = try session(token: token) else { return nil }
        switch session.availability(at: now) {
        case .open: break
        case .completed: return .alreadyCompleted(session)
        case let other: return .unavailable(other)
        }
        let plan = try session.planID.map { try self.plan(id: $0, in: session.scope) }
        return try complete(session, plan: plan, acceptsCodes: true, details: details, processors: processors, now: now, isNew: false)
    }

    /// Pays a payment link: its session is created and completed in this one transaction.
    public func completePaymentLink(_ link: PaymentLink, details: CheckoutDetails, processors: PaymentProcessors,
                                    now: Date) throws -> CompletionOutcome {
        // Re-read inside the transaction: the link may have changed since the page was opened.
        let current = try paymentLink(id: link.id, in: link.scope)
        let plan = try current.planID.map { try self.plan(id: $0, in: current.scope) }
        let availability = current.availability(at: now, plan: plan)
        guard availability.isOpen else { return .unavailable(availability) }
        let start = now.truncatedToSeconds
        let session = CheckoutSession(
            id: Identifier.make("cs"), token: Identifier.random(CheckoutSession.tokenLength), scope: current.scope,
            paymentLinkID: current.id, planID: plan?.id, kind: plan?.isRecurring == true ? .subscription : .oneTime,
            price: current.price, description: current.description ?? plan?.description, storedStatus: .open,
            customerEmail: nil, customerPhone: nil, customerName: nil, successURL: nil, metadata: current.metadata,
            expiresAt: start.addingTimeInterval(CheckoutSession.maximumLifetime), createdAt: start)
        return try complete(session, plan: plan, acceptsCodes: true, details: details, processors: processors, now: now, isNew: true)
    }

    /// Pays a checkout link: its session is created and completed, and its completed-session count
    /// raised, in this one transaction. The completion that reaches the limit turns the link off, so
    /// exactly `limit` checkouts complete whatever the concurrency; the others get `soldOut` and are
    /// not charged.
    public func completeCheckoutLink(id: String, details: CheckoutDetails, processors: PaymentProcessors,
                                     now: Date) throws -> CompletionOutcome? {
        guard let link = try checkoutLink(id: id) else { return nil }
        let availability = link.availability(at: now)
        guard availability.isOpen else { return .unavailable(availability) }
        let start = now.truncatedToSeconds
        var successURL: String?
        if case .redirect(let url) = link.afterCompletion { successURL = url }
        var session = CheckoutSession(
            id: Identifier.make("cs"), token: Identifier.random(CheckoutSession.tokenLength), scope: link.scope,
            paymentLinkID: nil, planID: nil, kind: .oneTime, price: link.total, description: link.title,
            storedStatus: .open, customerEmail: nil, customerPhone: nil, customerName: nil, successURL: successURL,
            metadata: link.metadata, expiresAt: start.addingTimeInterval(CheckoutSession.maximumLifetime), createdAt: start)
        session.checkoutLinkID = link.id
        session.billingAddress = details.address
        var outcome = try complete(session, plan: nil, acceptsCodes: link.allowPromotionCodes, details: details,
                                   processors: processors, now: now, isNew: true)
        if case .completed(let completed, var effects) = outcome {
            let count = link.completedSessionCount + 1
            let reachedLimit = link.completedSessionLimit.map { count >= $0 } ?? false
            try execute("""
                UPDATE checkout_link SET completed_sessions_count = ?,
                    active = CASE WHEN ? THEN 0 ELSE active END,
                    deactivation_reason = CASE WHEN ? THEN 'limit_reached' ELSE deactivation_reason END
                WHERE id = ? AND completed_sessions_count = ?
                """, arguments: [count, reachedLimit, reachedLimit, link.id, link.completedSessionCount])
            guard db.changesCount == 1 else {
                throw BillingError(.invalidState, "The checkout link '\(link.id)' changed while being paid.")
            }
            if reachedLimit {
                var closed = link
                closed.completedSessionCount = count
                closed.active = false
                closed.deactivationReason = .limitReached
                effects.deactivatedCheckoutLink = closed
            }
            outcome = .completed(completed, effects)
        }
        return outcome
    }

    private func complete(_ open: CheckoutSession, plan: Plan?, acceptsCodes: Bool, details: CheckoutDetails,
                          processors: PaymentProcessors, now: Date, isNew: Bool) throws -> CompletionOutcome {
        // The total is decided here, under the write lock, from stored data: the page's figure is
        // only a preview, and a code that ran out since it was applied is refused before any charge.
        let quote: PriceQuote
        switch try self.quote(subtotal: open.price, planID: open.planID, code: details.promoCode,
                              acceptsCodes: acceptsCodes, in: open.scope, now: now) {
        case .success(let value): quote = value
        case .failure(let rejection): return .promoRejected(rejection, undiscounted: open.price)
        }
        let amount = quote.total
        var reference: String?
        if amount.minorUnits > 0 {
            guard let card = details.card else {
                throw BillingError.invalid("card_number", "A card is needed to pay \(amount).")
            }
            switch processors.processor(for: open.scope.mode).charge(amount, to: card, in: open.scope) {
            case .declined(let decline): return .declined(decline)
            case .approved(let processorReference): reference = processorReference
            }
        }
        var effects = CompletionEffects()
        if let promo = quote.promo {
            guard try redeem(promo) else {
                // Unreachable under BEGIN IMMEDIATE (the count was read under the same lock); refuse
                // rather than record a redemption past the limit.
                throw BillingError(.invalidState, "The promo code '\(promo.code)' ran out while being redeemed.")
            }
            let redeemed = try promoCode(id: promo.id, in: promo.scope)
            if redeemed.remaining == 0 { effects.exhaustedPromoCode = redeemed }
        }
        let at = now.truncatedToSeconds
        let customer = try customer(email: details.email, name: details.name, in: open.scope, now: at)
        var session = open
        session.storedStatus = .complete
        session.completedAt = at
        session.customerEmail = details.email
        session.customerName = details.name
        session.customerID = customer.id
        session.promoCodeID = quote.promo?.id
        session.promoCode = quote.promo?.code
        session.discountAmount = quote.discount.minorUnits
        let charged = amount.minorUnits > 0
        let payment = Payment(
            id: Identifier.make("txn"), scope: open.scope, checkoutSessionID: session.id, customerID: customer.id,
            amount: amount, status: "succeeded", cardBrand: charged ? details.card?.brand : nil,
            cardLast4: charged ? details.card?.last4 : nil, processorReference: reference, createdAt: at,
            promoCode: quote.promo?.code, discountAmount: quote.discount.minorUnits)
        session.paymentID = payment.id
        var subscription: Subscription?
        if session.kind == .subscription, let plan, let end = plan.periodEnd(from: at) {
            subscription = Subscription(
                id: Identifier.make("sub"), scope: open.scope, customerID: customer.id, planID: plan.id,
                checkoutSessionID: session.id, status: "active", currentPeriodStart: at, currentPeriodEnd: end, createdAt: at,
                discount: quote.promo.map { promo in
                    SubscriptionDiscount(promoCodeID: promo.id, type: promo.discountType, value: promo.discountValue,
                                         duration: promo.duration, cycles: promo.cycles)
                })
            session.subscriptionID = subscription?.id
        }
        if isNew {
            try insert(session)
        } else {
            try execute("""
                UPDATE checkout_session SET status = 'complete', completed_at = ?, customer_email = ?, customer_name = ?,
                    customer_id = ?, payment_id = ?, subscription_id = ?, promo_code_id = ?, promo_code = ?, discount_amount = ?
                WHERE id = ? AND status = 'open'
                """, arguments: [at.unixSeconds, session.customerEmail, session.customerName, customer.id, payment.id,
                                 session.subscriptionID, session.promoCodeID, session.promoCode, session.discountAmount,
                                 session.id])
            guard db.changesCount == 1 else {
                throw BillingError(.invalidState, "The checkout session '\(session.id)' changed while being paid.")
            }
        }
        try insert(payment)
        if let subscription { try insert(subscription) }
        effects.subscription = subscription
        return .completed(session, effects)
    }
}
