import Billing
import Foundation
import Logging
import Synchronization

/// Sends pending webhook deliveries: signed POSTs, one at a time per endpoint in event order,
/// endpoints in parallel so a slow one holds back no other. Every attempt is recorded, and the
/// next one scheduled by the retry policy, in the database: after a crash the dispatcher simply
/// finds the pending deliveries again.
///
/// Its threads run at normal priority on purpose. They take SQLite's single write lock to record
/// what was sent; a thread of lowered priority holding that lock on a saturated machine is
/// preempted by everything else while every payment waits for it (a priority inversion). Its
/// cost is kept low instead: libcurl on a kept-alive connection per endpoint, and one transaction
/// per batch of deliveries.
final class WebhookDispatcher: Sendable {
    /// A 2xx must arrive within this many seconds (10 unless configured).
    private let timeout: TimeInterval

    private let store: Store
    private let policy: RetryPolicy
    private let logger: Logger
    /// Each endpoint's client, kept between passes so its connection stays alive. Only the one
    /// thread sending to an endpoint (the `busy` set guarantees one) takes its client.
    private let clients = Mutex<[String: WebhookClient]>([:])
    /// Endpoints with a send in flight.
    private let busy = Mutex<Set<String>>([])
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

    /// Stops taking new deliveries and waits for those in flight (at most their timeout). Stopping
    /// twice, or without having started, does nothing more.
    func stop() {
        guard running.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
        finished.wait()
        _ = sends.wait(timeout: .now() + timeout + 1)
        clients.withLock { $0.removeAll() }
    }

    private func run() {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            wakeRequested.store(false, ordering: .sequentiallyConsistent)
            let now = Date()
            let excluded = busy.withLock { $0 }
            let heads: [DueDelivery]
            let fresh: [String]
            do {
                (heads, fresh) = try store.read { ledger in
                    (try ledger.pendingDeliveryHeads().filter { !excluded.contains($0.delivery.endpointID) },
                     try ledger.endpointsWithNewEvents().filter { !excluded.contains($0) })
                }
            } catch {
                logger.error("webhook dispatcher cannot read deliveries: \(error)")
                _ = wakeup.wait(timeout: .now() + 1)
                continue
            }
            // An endpoint with a delivery pending (being retried, or redelivered) works through those
            // first; one without goes straight to the new events of the log.
            let due = heads.filter { $0.delivery.nextAttemptAt <= now }.map { ($0.delivery.endpointID, true) }
                + fresh.map { ($0, false) }
            for (endpoint, hasPending) in due {
                busy.withLock { _ = $0.insert(endpoint) }
                sends.enter()
                Thread.detachNewThread { [self] in
                    let client = clients.withLock { $0.removeValue(forKey: endpoint) } ?? WebhookClient(timeout: timeout)
                    let sent = hasPending ? drain(endpoint: endpoint, client: client)
                        : drainNewEvents(endpoint: endpoint, client: client)
                    clients.withLock { $0[endpoint] = client }
                    if sent < Self.batchSize && !stopping.load(ordering: .sequentiallyConsistent) {
                        Thread.sleep(forTimeInterval: Self.batchingPause)
                    }
                    busy.withLock { _ = $0.remove(endpoint) }
                    sends.leave()
                    wake()
                }
            }
            // Sleep until the next retry is due, a send finishes, or an event is committed; at most a second.
            let next = heads.map(\.delivery.nextAttemptAt).filter { $0 > now }.min()
            let pause = next.map { min(max($0.timeIntervalSince(Date()), 0.01), 1) } ?? 1
            // At most one pass per `minimumCycle`, however many payments wake it: under load each
            // pass then claims and sends a batch, instead of a transaction per payment.
            Thread.sleep(forTimeInterval: Self.minimumCycle)
            _ = wakeup.wait(timeout: .now() + max(0, pause - Self.minimumCycle))
        }
    }

    /// Shortest time between two passes of the dispatching loop.
    static let minimumCycle: TimeInterval = 0.05

    /// Deliveries sent per batch before their attempts are recorded together.
    static let batchSize = 64
    /// After a batch that emptied an endpoint's queue, how long the endpoint rests before the next
    /// one: events arriving meanwhile go out together, and their attempts are recorded in one
    /// transaction instead of one each (under load, that is most of the cost of delivering).
    static let batchingPause: TimeInterval = 0.1

    /// Sends the endpoint's due deliveries in event order until one fails (the rest wait for it) or
    /// the batch ends, then records every attempt in one transaction. Returns how many were sent.
    @discardableResult
    private func drain(endpoint: String, client: WebhookClient) -> Int {
        let batch: [DueDelivery]
        do {
            batch = try store.read { try $0.pendingDeliveries(endpointID: endpoint, limit: Self.batchSize) }
        } catch {
            logger.error("webhook dispatcher cannot read deliveries of \(endpoint): \(error)")
            return 0
        }
        var attempts: [(DueDelivery, WebhookAttempt)] = []
        for item in batch {
            guard item.delivery.nextAttemptAt <= Date(), !stopping.load(ordering: .sequentiallyConsistent) else { break }
            let attempt = send(url: item.url, secret: item.secret, body: item.body, eventID: item.delivery.eventID, client: client)
            attempts.append((item, attempt))
            if let error = attempt.error {
                logger.notice("webhook \(item.delivery.id) to \(item.url) failed: \(error)")
                break
            }
        }
        guard !attempts.isEmpty else { return 0 }
        do {
            // Not fsynced: an attempt lost to a power cut only means the delivery is sent again,
            // which at-least-once delivery allows; money is never recorded this way.
            try store.write(durability: .relaxed) { ledger in
                try ledger.recordAttempts(attempts.map { ($0.0.delivery.seq, $0.1) }, policy: policy)
            }
        } catch {
            logger.error("cannot record webhook attempts of \(endpoint): \(error)")
        }
        return attempts.count
    }

    /// Sends the endpoint's next events straight from the log, in order, until one fails or the
    /// batch ends; then records them (one row each) and moves the endpoint's mark, in one
    /// transaction. Returns how many were sent.
    private func drainNewEvents(endpoint: String, client: WebhookClient) -> Int {
        let events: [NewEvent], through: Int64
        do {
            (events, through) = try store.read { try $0.newEvents(endpointID: endpoint, limit: Self.batchSize) }
        } catch {
            logger.error("webhook dispatcher cannot read new events for \(endpoint): \(error)")
            return 0
        }
        var outcomes: [(event: NewEvent, attempt: WebhookAttempt)] = []
        for event in events {
            guard !stopping.load(ordering: .sequentiallyConsistent) else { break }
            let attempt = send(url: event.url, secret: event.secret, body: event.body, eventID: event.id, client: client)
            outcomes.append((event, attempt))
            if let error = attempt.error {
                logger.notice("webhook of \(event.id) to \(event.url) failed: \(error)")
                break
            }
        }
        // Stopped early: the mark goes no further than the last event handled.
        let mark = outcomes.count == events.count ? through : (outcomes.last?.event.seq ?? 0)
        do {
            try store.write(durability: .relaxed) { ledger in
                try ledger.recordNewEventDeliveries(endpointID: endpoint, outcomes, through: mark, policy: policy)
            }
        } catch {
            logger.error("cannot record webhook deliveries of \(endpoint): \(error)")
        }
        return outcomes.count
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
