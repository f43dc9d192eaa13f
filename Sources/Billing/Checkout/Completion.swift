import Foundation

// Paying a checkout is three steps, so that no transaction is ever open during a charge:
//
// 1. reserve (one short write): the rules are decided at `now`, the session is marked as being
//    paid, one place of a checkout link's limit and one redemption of a promo code are claimed by
//    conditional updates (`completed + reserved < limit`), and the attempt is recorded with the
//    idempotency key its charge will carry;
// 2. charge, outside every transaction, through the `PaymentProcessor`;
// 3. settle (one short write): the payment, customer, subscription and counts are recorded and
//    the places turned into completions; or, when nothing was charged, the reservation is
//    released and its places come back.
//
// Correctness comes from the conditional updates and the one-active-attempt-per-session index,
// not from SQLite's single writer, so it holds on any database with row-level atomic updates.

/// What happened to an attempt to start paying.
public enum ReserveOutcome: Sendable {
    /// Places claimed: charge `reservation` now, then settle or release it.
    case reserved(Reservation, CheckoutSession)
    /// Nothing was due (a 100 % discount): completed at once, nothing charged.
    case completed(CheckoutSession, CompletionEffects)
    /// Paid before (a second submit, a double click): the session as it is. Nothing was charged.
    case alreadyCompleted(CheckoutSession)
    /// Another attempt of this session is being charged right now; its outcome will show.
    case inProgress(CheckoutSession)
    /// Not payable; nothing was charged.
    case unavailable(CheckoutAvailability)
    /// The promo code does not apply (it may have run out since it was applied on the page).
    /// `undiscounted` is what the checkout costs without it.
    case promoRejected(PromoRejection, undiscounted: Money)
    /// Every remaining place of the checkout link is held by attempts being paid right now.
    case allPlacesReserved
    /// Every remaining redemption of the promo code is held by attempts being paid right now.
    case allRedemptionsReserved(undiscounted: Money)
}

/// What settling (or releasing) an attempt did.
public enum SettleOutcome: Sendable {
    /// Paid: the session, complete, and what else the completion changed.
    case completed(CheckoutSession, CompletionEffects)
    /// Given up with nothing charged: the session is open again (unpaid), its places free.
    case released(CheckoutSession, Reservation)
    /// Someone else resolved it first (the recovery pass, a second return from the bank): the
    /// attempt and its session as they are.
    case alreadyResolved(Reservation, CheckoutSession)
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
    // MARK: Reserve

    /// Starts paying an open session (API-made, or one a link made on an earlier attempt).
    ///
    /// `now` decides the rules (a test clock's time, for test objects); `wallTime` stamps the
    /// attempt, whose 15 minutes are an operational deadline on the real clock. `attemptID` is
    /// the id the attempt gets: a caller that chooses it can mark it as its own before it exists.
    public func reserveSession(token: String, details: CheckoutDetails, processor: String, now: Date,
                               wallTime: Date, attemptID: String = Reservation.newID()) throws -> ReserveOutcome? {
        guard let session = try session(token: token) else { return nil }
        switch session.availability(at: now) {
        case .open: break
        case .completed: return .alreadyCompleted(session)
        case let other: return .unavailable(other)
        }
        let attemptUnderWay = try activeReservation(sessionID: session.id) != nil
        if session.paymentStatus == .processing || attemptUnderWay {
            return .inProgress(session)
        }
        if let linkID = session.checkoutLinkID, let link = try checkoutLink(id: linkID) {
            let availability = link.availability(at: now)
            guard availability.isOpen else { return .unavailable(availability) }
            return try reserve(session, isNew: false, plan: nil, acceptsCodes: link.allowPromotionCodes, details: details,
                               processor: processor, now: now, wallTime: wallTime, attemptID: attemptID)
        }
        let plan = try session.planID.map { try self.plan(id: $0, in: session.scope) }
        return try reserve(session, isNew: false, plan: plan, acceptsCodes: true, details: details, processor: processor,
                           now: now, wallTime: wallTime, attemptID: attemptID)
    }

    /// Starts paying a payment link: its session is created, being paid, in this transaction, with
    /// `identity` (drawn by the caller before the write lock, or here).
    public func reservePaymentLink(_ link: PaymentLink, details: CheckoutDetails, processor: String, now: Date,
                                   wallTime: Date, attemptID: String = Reservation.newID(),
                                   identity: CheckoutSession.Identity = .new()) throws -> ReserveOutcome {
        // Re-read inside the transaction: the link may have changed since the page was opened.
        let current = try paymentLink(id: link.id, in: link.scope)
        let plan = try current.planID.map { try self.plan(id: $0, in: current.scope) }
        let availability = current.availability(at: now, plan: plan)
        guard availability.isOpen else { return .unavailable(availability) }
        let start = now.truncatedToSeconds
        let session = CheckoutSession(
            id: identity.id, token: identity.token, scope: current.scope,
            paymentLinkID: current.id, planID: plan?.id, kind: plan?.isRecurring == true ? .subscription : .oneTime,
            price: current.price, description: current.description ?? plan?.description, storedStatus: .open,
            customerEmail: nil, customerPhone: nil, customerName: nil, successURL: nil, metadata: current.metadata,
            expiresAt: start.addingTimeInterval(CheckoutSession.maximumLifetime), createdAt: start)
        return try reserve(session, isNew: true, plan: plan, acceptsCodes: true, details: details, processor: processor,
                           now: now, wallTime: wallTime, attemptID: attemptID)
    }

    /// Starts paying a checkout link: its session is created, being paid, and one place of its
    /// completed-session limit claimed, in this transaction. While every remaining place is held
    /// by attempts being paid, the answer is `allPlacesReserved` and nothing is charged.
    ///
    /// `link` is as read a moment ago (the page's request read it, outside the write lock): the
    /// place is claimed by the conditional update, which sees the link as it is now, so a link
    /// turned off or sold out since is refused all the same; its price and settings are those of
    /// that read, as if the request had come that moment earlier.
    public func reserveCheckoutLink(_ link: CheckoutLink, details: CheckoutDetails, processor: String, now: Date,
                                    wallTime: Date, attemptID: String = Reservation.newID(),
                                    identity: CheckoutSession.Identity = .new()) throws -> ReserveOutcome {
        let availability = link.availability(at: now)
        guard availability.isOpen else { return .unavailable(availability) }
        let start = now.truncatedToSeconds
        var successURL: String?
        if case .redirect(let url) = link.afterCompletion { successURL = url }
        var session = CheckoutSession(
            id: identity.id, token: identity.token, scope: link.scope,
            paymentLinkID: nil, planID: nil, kind: .oneTime, price: link.total, description: link.title,
            storedStatus: .open, customerEmail: nil, customerPhone: nil, customerName: nil, successURL: successURL,
            metadata: link.metadata, expiresAt: start.addingTimeInterval(CheckoutSession.maximumLifetime), createdAt: start)
        session.checkoutLinkID = link.id
        return try reserve(session, isNew: true, plan: nil, acceptsCodes: link.allowPromotionCodes, details: details,
                           processor: processor, now: now, wallTime: wallTime, attemptID: attemptID)
    }

    private func reserve(_ open: CheckoutSession, isNew: Bool, plan: Plan?, acceptsCodes: Bool, details: CheckoutDetails,
                         processor: String, now: Date, wallTime: Date, attemptID: String) throws -> ReserveOutcome {
        // The total is decided here from stored data: the page's figure is only a preview, and a
        // code that ran out since it was applied is refused before any charge.
        let quote: PriceQuote
        switch try self.quote(subtotal: open.price, planID: open.planID, code: details.promoCode,
                              acceptsCodes: acceptsCodes, in: open.scope, now: now) {
        case .success(let value): quote = value
        case .failure(let rejection): return .promoRejected(rejection, undiscounted: open.price)
        }
        let amount = quote.total
        if amount.minorUnits > 0, details.card == nil {
            throw BillingError.invalid("card_number", "A card is needed to pay \(amount).")
        }
        if let promo = quote.promo {
            try execute("""
                UPDATE promo_code SET reserved_count = reserved_count + 1
                WHERE id = ? AND (max_redemptions IS NULL OR redeemed_count + reserved_count < max_redemptions)
                """, arguments: [promo.id])
            if db.changesCount == 0 {
                let current = try promoCode(id: promo.id, in: promo.scope)
                return current.remaining == 0 ? .promoRejected(.usedUp, undiscounted: open.price)
                    : .allRedemptionsReserved(undiscounted: open.price)
            }
        }
        if let linkID = open.checkoutLinkID {
            try execute("""
                UPDATE checkout_link SET reserved_sessions_count = reserved_sessions_count + 1
                WHERE id = ? AND active = 1
                  AND (completed_sessions_limit IS NULL OR completed_sessions_count + reserved_sessions_count < completed_sessions_limit)
                """, arguments: [linkID])
            if db.changesCount == 0 {
                // The redemption claimed above goes back in this same transaction.
                if let promo = quote.promo { try releaseRedemption(promo.id) }
                guard let link = try checkoutLink(id: linkID) else { return .unavailable(.inactive(message: nil)) }
                let availability = link.availability(at: now)
                return availability.isOpen ? .allPlacesReserved : .unavailable(availability)
            }
        }
        var session = open
        session.paymentStatus = .processing
        if isNew {
            try insert(session)
        } else {
            try execute("""
                UPDATE checkout_session SET payment_status = 'processing' WHERE id = ? AND status = 'open' AND payment_status = 'unpaid'
                """, arguments: [session.id])
            guard db.changesCount == 1 else {
                throw BillingError(.invalidState, "The checkout session '\(session.id)' changed while being reserved.")
            }
        }
        // A session made by this reserve has no attempt before this one.
        let attempt = isNew ? 1 : (try fetchValue(Int.self, "SELECT MAX(attempt) FROM reservation WHERE checkout_session_id = ?",
                                                  arguments: [session.id]) ?? 0) + 1
        let at = wallTime.truncatedToSeconds
        let charged = amount.minorUnits > 0
        var reservation = Reservation(
            id: attemptID, scope: session.scope, checkoutSessionID: session.id, attempt: attempt,
            idempotencyKey: Reservation.Key(sessionID: session.id, attempt: attempt).idempotencyKey, state: .charging,
            checkoutLinkID: session.checkoutLinkID,
            promoCodeID: quote.promo?.id, promoCode: quote.promo?.code, amount: amount, discountAmount: quote.discount.minorUnits,
            email: details.email, name: details.name, billingAddress: details.address,
            cardBrand: charged ? details.card?.brand : nil, cardLast4: charged ? details.card?.last4 : nil,
            processor: charged ? processor : "none", processorReference: nil, actionURL: nil,
            expiresAt: at.addingTimeInterval(Reservation.lifetime), createdAt: at)
        if charged { reservation.cardExpiry = details.card?.expiryText }
        try insert(reservation)
        guard charged else {
            // Nothing to charge: settled in this same transaction.
            switch try settle(reservation, of: session, reference: nil, now: now) {
            case .completed(let completed, let effects): return .completed(completed, effects)
            case .released, .alreadyResolved:
                throw BillingError(.invalidState, "The reservation '\(reservation.id)' could not be settled.")
            }
        }
        return .reserved(reservation, session)
    }

    // MARK: Settle

    /// Records the payment of an attempt the processor charged (`reference` is its id for the
    /// charge): customer, session, payment, subscription, and its places turned into completions.
    /// The completion that reaches a checkout link's limit turns the link off. An attempt already
    /// resolved is returned as it is: settling twice records once.
    public func settle(_ key: Reservation.Key, reference: String?, now: Date) throws -> SettleOutcome {
        guard let reservation = try reservation(key) else {
            throw BillingError.notFound("reservation", key.idempotencyKey)
        }
        let session = try self.session(id: reservation.checkoutSessionID, in: reservation.scope)
        guard reservation.state.isActive else { return .alreadyResolved(reservation, session) }
        return try settle(reservation, of: session, reference: reference, now: now)
    }

    /// Settles `reservation` as the reserve step returned it, with its `session`, without reading
    /// either again: while an attempt holds its session (`processing`) nothing but its own settle
    /// or release changes either row, and the conditional update below finds out if that happened.
    public func settle(_ reservation: Reservation, of session: CheckoutSession, reference: String?,
                       now: Date) throws -> SettleOutcome {
        let at = now.truncatedToSeconds
        try execute("""
            UPDATE reservation SET state = 'settled', processor_reference = COALESCE(?, processor_reference), resolved_at = ?
            WHERE checkout_session_id = ? AND attempt = ? AND state IN ('charging', 'requires_action')
            """, arguments: [reference, at.unixSeconds, reservation.checkoutSessionID, reservation.attempt])
        guard db.changesCount == 1 else {
            // Resolved meanwhile (the recovery pass, a second return from the bank): as it is now.
            return .alreadyResolved(try self.reservation(reservation.key) ?? reservation,
                                    try self.session(id: session.id, in: session.scope))
        }
        var session = session

        var effects = CompletionEffects()
        if let linkID = reservation.checkoutLinkID {
            // RETURNING (SQLite 3.35, PostgreSQL) says whether this completion reached the limit,
            // without a second statement.
            let reachedLimit = try fetchValue(Bool.self, """
                UPDATE checkout_link SET completed_sessions_count = completed_sessions_count + 1,
                    reserved_sessions_count = reserved_sessions_count - 1,
                    active = CASE WHEN completed_sessions_limit IS NOT NULL AND completed_sessions_count + 1 >= completed_sessions_limit
                                  THEN 0 ELSE active END,
                    deactivation_reason = CASE WHEN completed_sessions_limit IS NOT NULL AND completed_sessions_count + 1 >= completed_sessions_limit
                                  THEN 'limit_reached' ELSE deactivation_reason END
                WHERE id = ?
                RETURNING completed_sessions_limit IS NOT NULL AND completed_sessions_count = completed_sessions_limit
                """, arguments: [linkID]) ?? false
            // The whole link (its items too) is read only for the completion that turned it off.
            if reachedLimit, let link = try checkoutLink(id: linkID) {
                effects.deactivatedCheckoutLink = link
            }
        }
        if let promoID = reservation.promoCodeID {
            try execute("UPDATE promo_code SET redeemed_count = redeemed_count + 1, reserved_count = reserved_count - 1 WHERE id = ?",
                        arguments: [promoID])
            let redeemed = try promoCode(id: promoID, in: reservation.scope)
            if redeemed.remaining == 0 { effects.exhaustedPromoCode = redeemed }
        }
        let customer = try customer(email: reservation.email, name: reservation.name, in: reservation.scope, now: at)
        let charged = reservation.amount.minorUnits > 0
        let payment = Payment(
            id: Identifier.make("txn"), scope: reservation.scope, checkoutSessionID: session.id, customerID: customer.id,
            amount: reservation.amount, status: "succeeded", cardBrand: reservation.cardBrand, cardLast4: reservation.cardLast4,
            processorReference: reference ?? reservation.processorReference, createdAt: at, promoCode: reservation.promoCode,
            discountAmount: reservation.discountAmount, processor: charged ? reservation.processor : nil)
        session.storedStatus = .complete
        session.paymentStatus = charged ? .paid : .noPaymentRequired
        session.completedAt = at
        session.customerEmail = reservation.email
        session.customerName = reservation.name
        session.customerID = customer.id
        session.promoCodeID = reservation.promoCodeID
        session.promoCode = reservation.promoCode
        session.discountAmount = reservation.discountAmount
        session.paymentID = payment.id
        if reservation.billingAddress != nil { session.billingAddress = reservation.billingAddress }
        var subscription: Subscription?
        if session.kind == .subscription, let planID = session.planID {
            let plan = try self.plan(id: planID, in: session.scope)
            if let end = plan.periodEnd(from: at) {
                let promo = try reservation.promoCodeID.map { try promoCode(id: $0, in: reservation.scope) }
                subscription = Subscription(
                    id: Identifier.make("sub"), scope: session.scope, customerID: customer.id, planID: plan.id,
                    checkoutSessionID: session.id, status: "active", currentPeriodStart: at, currentPeriodEnd: end, createdAt: at,
                    discount: promo.map { promo in
                        SubscriptionDiscount(promoCodeID: promo.id, type: promo.discountType, value: promo.discountValue,
                                             duration: promo.duration, cycles: promo.cycles)
                    })
                session.subscriptionID = subscription?.id
            }
        }
        // A session whose time ran out while it was being charged is still completed: the money moved.
        try execute("""
            UPDATE checkout_session SET status = 'complete', payment_status = ?, completed_at = ?, customer_email = ?,
                customer_name = ?, customer_id = ?, payment_id = ?, subscription_id = ?, promo_code_id = ?, promo_code = ?,
                discount_amount = ?, billing_address = ?
            WHERE id = ? AND status = 'open'
            """, arguments: [session.paymentStatus.rawValue, at.unixSeconds, session.customerEmail, session.customerName,
                             customer.id, payment.id, session.subscriptionID, session.promoCodeID, session.promoCode,
                             session.discountAmount, try session.billingAddress.map(AddressColumn.encode), session.id])
        guard db.changesCount == 1 else {
            throw BillingError(.invalidState, "The checkout session '\(session.id)' changed while being paid.")
        }
        try insert(payment)
        if let subscription { try insert(subscription) }
        effects.subscription = subscription
        return .completed(session, effects)
    }

    /// Gives up an attempt that charged nothing (declined, failed, the bank did not confirm,
    /// never reached the processor): its places come back and the session can be paid again.
    /// `outcome` is kept with the attempt (a decline code). An attempt already resolved is
    /// returned as it is.
    public func release(_ key: Reservation.Key, outcome: String, now: Date) throws -> SettleOutcome {
        guard let reservation = try reservation(key) else {
            throw BillingError.notFound("reservation", key.idempotencyKey)
        }
        var session = try self.session(id: reservation.checkoutSessionID, in: reservation.scope)
        guard reservation.state.isActive else { return .alreadyResolved(reservation, session) }
        try execute("""
            UPDATE reservation SET state = 'released', outcome = ?, resolved_at = ?
            WHERE checkout_session_id = ? AND attempt = ? AND state IN ('charging', 'requires_action')
            """, arguments: [outcome, now.unixSeconds, reservation.checkoutSessionID, reservation.attempt])
        guard db.changesCount == 1 else { return .alreadyResolved(reservation, session) }
        if let linkID = reservation.checkoutLinkID {
            try execute("UPDATE checkout_link SET reserved_sessions_count = reserved_sessions_count - 1 WHERE id = ?", arguments: [linkID])
        }
        if let promoID = reservation.promoCodeID { try releaseRedemption(promoID) }
        try execute("UPDATE checkout_session SET payment_status = 'unpaid' WHERE id = ? AND payment_status = 'processing'",
                    arguments: [session.id])
        session.paymentStatus = .unpaid
        var released = reservation
        released.state = .released
        return .released(session, released)
    }

    private func releaseRedemption(_ promoID: String) throws {
        try execute("UPDATE promo_code SET reserved_count = reserved_count - 1 WHERE id = ?", arguments: [promoID])
    }
}
