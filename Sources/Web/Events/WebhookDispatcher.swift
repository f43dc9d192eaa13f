import Billing
import Foundation
import Logging
import Synchronization

/// Sends pending webhook deliveries: signed POSTs, one at a time per endpoint in event order,
/// endpoints in parallel so a slow one holds back no other. Every attempt is recorded, and the
/// next one scheduled by the retry policy, in the database: after a crash the dispatcher simply
/// finds the pending deliveries again.
///
/// One loop thread, at normal priority, does all the database work: it reads each endpoint's next
/// batch, waits until what it read is on disk, hands the batch to a sender thread, and records the
/// attempts of every batch that came back in one transaction. Sender threads only talk HTTP, at a
/// lowered priority (`senderNiceness`): on a saturated machine the customers' payments get the
/// CPU first and deliveries catch up when it frees. A sender never holds SQLite's write lock, so
/// its low priority cannot stall a payment waiting for that lock (a priority inversion).
final class WebhookDispatcher: Sendable {
    /// A 2xx must arrive within this many seconds (10 unless configured).
    private let timeout: TimeInterval

    private let store: Store
    private let policy: RetryPolicy
    private let logger: Logger
    /// Each endpoint's client, kept between batches so its connection stays alive, with when it
    /// was last put back. Only the one sender of an endpoint's batch (the loop sends one batch per
    /// endpoint at a time) takes it; the loop drops those unused for `idleClientLifetime`.
    private let clients = Mutex<[String: (client: WebhookClient, lastUsed: Date)]>([:])
    /// Batches the senders have finished, waiting for the loop to record them.
    private let sent = Mutex<[SentBatch]>([])
    private let wakeup = DispatchSemaphore(value: 0)
    /// Set when a wake-up is pending, so that a burst of completions wakes the loop once.
    private let wakeRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)
    private let sends = DispatchGroup()

    init(store: Store, policy: RetryPolicy, timeout: TimeInterval = 10, logger: Logger) {
        self.store = store
        self.policy = policy
        self.timeout = timeout
        self.logger = logger
    }

    /// Starts the dispatching thread (once).
    func start() {
        guard running.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else { return }
        Thread.detachNewThread { [self] in
            run()
            finished.signal()
        }
    }

    /// Looks for work now rather than at the next poll (after an event was committed).
    func wake() {
        if wakeRequested.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged {
            wakeup.signal()
        }
    }

    /// Stops taking new deliveries, waits for those in flight (at most their timeout) and records
    /// them. Stopping twice, or without having started, does nothing more.
    func stop() {
        guard running.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
        finished.wait()
        clients.withLock { $0.removeAll() }
    }

    /// Shortest time between two passes of the dispatching loop.
    static let minimumCycle: TimeInterval = 0.05

    /// Deliveries sent per batch before their attempts are recorded together. Large enough that
    /// one endpoint keeps up with thousands of payments a second at a few passes a second; a
    /// crash mid-batch sends at most this many again (each with its `Checkout-Event-Id`).
    static let batchSize = 256
    /// After a batch that emptied an endpoint's queue, how long the endpoint rests before the next
    /// one: events arriving meanwhile go out together, and their attempts are recorded in one
    /// transaction instead of one each (under load, that is most of the cost of delivering).
    static let batchingPause: TimeInterval = 0.1
    /// The niceness of sender threads (0 is normal, 19 the lowest): low enough that payments win
    /// the CPU under load, high enough that deliveries keep moving while they do.
    static let senderNiceness: Int32 = 10
    /// How long an endpoint's client (and its open connection) is kept without a delivery: a
    /// deleted or disabled endpoint's is then dropped, and receivers close idle connections sooner.
    static let idleClientLifetime: TimeInterval = 300

    private func run() {
        // Endpoints whose batch is with a sender, and endpoints resting after a short batch.
        var busy = Set<String>()
        var resting: [String: Date] = [:]
        while !stopping.load(ordering: .sequentiallyConsistent) {
            wakeRequested.store(false, ordering: .sequentiallyConsistent)
            for outcome in record() {
                busy.remove(outcome.batch.endpoint)
                if outcome.attempts.count < Self.batchSize { resting[outcome.batch.endpoint] = Date().addingTimeInterval(Self.batchingPause) }
            }
            let now = Date()
            resting = resting.filter { $0.value > now }
            clients.withLock { $0 = $0.filter { $0.value.lastUsed > now.addingTimeInterval(-Self.idleClientLifetime) } }
            let excluded = busy.union(resting.keys)
            let batches: [Batch]
            let nextRetry: Date?
            do {
                (batches, nextRetry) = try store.read { ledger in try nextBatches(ledger, excluding: excluded, now: now) }
            } catch {
                logger.error("webhook dispatcher cannot read deliveries: \(error)")
                _ = wakeup.wait(timeout: .now() + 1)
                continue
            }
            // A payment's event must not leave before the payment is on disk.
            if !batches.isEmpty { store.waitUntilDurable() }
            for batch in batches {
                busy.insert(batch.endpoint)
                if batch.work.isEmpty {
                    // Only events this endpoint does not listen to: nothing to send, the mark moves on.
                    sent.withLock { $0.append(SentBatch(batch: batch, attempts: [])) }
                    wake()
                    continue
                }
                sends.enter()
                Thread.detachNewThread { [self] in
                    setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.senderNiceness)  // this thread only, on Linux
                    let result = send(batch)
                    sent.withLock { $0.append(result) }
                    sends.leave()
                    wake()
                }
            }
            // Sleep until the next retry is due, an endpoint ends its rest, a send finishes, or an
            // event is committed; at most a second.
            let next = ([nextRetry] + resting.values.map { Optional($0) }).compactMap { $0 }.min()
            let pause = next.map { min(max($0.timeIntervalSince(Date()), 0.01), 1) } ?? 1
            // At most one pass per `minimumCycle`, however many payments wake it: under load each
            // pass then claims and sends a batch, instead of a transaction per payment.
            Thread.sleep(forTimeInterval: Self.minimumCycle)
            _ = wakeup.wait(timeout: .now() + max(0, pause - Self.minimumCycle))
        }
        // Stopping: senders stop after the delivery in hand; what they sent is recorded.
        _ = sends.wait(timeout: .now() + timeout + 1)
        record()
    }

    /// The next batch of every endpoint not in `excluded` that has something due, and when the
    /// earliest retry not yet due falls.
    private func nextBatches(_ ledger: Ledger, excluding excluded: Set<String>, now: Date) throws -> ([Batch], Date?) {
        let heads = try ledger.pendingDeliveryHeads().filter { !excluded.contains($0.endpointID) }
        // An endpoint with a delivery pending (being retried, or redelivered) works through those
        // first; one without goes straight to the new events of the log.
        var batches: [Batch] = []
        for head in heads where head.nextAttemptAt <= now {
            let due = try ledger.pendingDeliveries(endpointID: head.endpointID, limit: Self.batchSize)
                .prefix { $0.delivery.nextAttemptAt <= now }
            batches.append(Batch(endpoint: head.endpointID, work: .pending(Array(due))))
        }
        for endpoint in try ledger.endpointsWithNewEvents() where !excluded.contains(endpoint) {
            let (events, through) = try ledger.newEvents(endpointID: endpoint, limit: Self.batchSize)
            batches.append(Batch(endpoint: endpoint, work: .newEvents(events, through: through)))
        }
        return (batches, heads.map(\.nextAttemptAt).filter { $0 > now }.min())
    }

    /// Sends a batch in order until one delivery fails (the rest wait for it), the batch ends or
    /// the dispatcher stops. Runs on a sender thread.
    private func send(_ batch: Batch) -> SentBatch {
        let client = clients.withLock { $0.removeValue(forKey: batch.endpoint)?.client } ?? WebhookClient(timeout: timeout)
        defer { clients.withLock { $0[batch.endpoint] = (client, Date()) } }
        var attempts: [WebhookAttempt] = []
        for (url, secret, body, eventID) in batch.work.messages {
            guard !stopping.load(ordering: .sequentiallyConsistent) else { break }
            let attempt = send(url: url, secret: secret, body: body, eventID: eventID, client: client)
            attempts.append(attempt)
            if let error = attempt.error {
                logger.notice("webhook of \(eventID) to \(url) failed: \(error)")
                break
            }
        }
        return SentBatch(batch: batch, attempts: attempts)
    }

    /// Records every batch the senders finished, in one transaction, and returns them.
    @discardableResult
    private func record() -> [SentBatch] {
        let batches = sent.withLock { batches in
            defer { batches.removeAll() }
            return batches
        }
        guard !batches.isEmpty else { return [] }
        do {
            // Not fsynced: an attempt lost to a power cut only means the delivery is sent again,
            // which at-least-once delivery allows; money is never recorded this way.
            try store.write(durability: .relaxed) { ledger in
                for outcome in batches {
                    switch outcome.batch.work {
                    case .pending(let deliveries):
                        try ledger.recordAttempts(zip(deliveries, outcome.attempts).map { ($0.delivery.seq, $1) }, policy: policy)
                    case .newEvents(let events, let through):
                        // Stopped early: the mark goes no further than the last event handled.
                        let mark = outcome.attempts.count == events.count ? through : (events.prefix(outcome.attempts.count).last?.seq ?? 0)
                        try ledger.recordNewEventDeliveries(endpointID: outcome.batch.endpoint, Array(zip(events, outcome.attempts)),
                                                            through: mark, policy: policy)
                    }
                }
            }
        } catch {
            logger.error("cannot record webhook attempts: \(error)")
        }
        return batches
    }

    private func send(url: String, secret: String, body: [UInt8], eventID: String, client: WebhookClient) -> WebhookAttempt {
        let started = Date()
        let outcome = client.post(url: url, headers: [
            "Content-Type: application/json",
            "User-Agent: HostedCheckout-Webhooks/1",
            "Checkout-Signature: \(WebhookSignature.header(secret: secret, timestamp: started.unixSeconds, body: body))",
            // The event id lets a receiver drop the duplicates at-least-once delivery may bring.
            "Checkout-Event-Id: \(eventID)",
        ], body: body)
        let latency = Int(Date().timeIntervalSince(started) * 1000)
        let problem = outcome.error ?? outcome.status.flatMap { (200..<300).contains($0) ? nil : "HTTP \($0)" }
        return WebhookAttempt(attemptedAt: started, statusCode: outcome.status, latencyMilliseconds: latency, error: problem)
    }
}

/// What the loop hands a sender: an endpoint's next deliveries, in event order.
private struct Batch: Sendable {
    /// Deliveries already pending (retries, redeliveries), or new events of the log with the
    /// sequence number up to which the log was read.
    enum Work: Sendable {
        case pending([DueDelivery])
        case newEvents([NewEvent], through: Int64)

        /// Whether there is nothing to POST.
        var isEmpty: Bool {
            switch self {
            case .pending(let deliveries): deliveries.isEmpty
            case .newEvents(let events, _): events.isEmpty
            }
        }

        /// What to POST, in order.
        var messages: [(url: String, secret: String, body: [UInt8], eventID: String)] {
            switch self {
            case .pending(let deliveries): deliveries.map { ($0.url, $0.secret, $0.body, $0.delivery.eventID) }
            case .newEvents(let events, _): events.map { ($0.url, $0.secret, $0.body, $0.id) }
            }
        }
    }

    let endpoint: String
    let work: Work
}

/// A batch as its sender left it: one attempt per delivery tried, in order.
private struct SentBatch: Sendable {
    let batch: Batch
    let attempts: [WebhookAttempt]
}
