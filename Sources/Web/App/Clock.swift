import Billing
import Foundation
import Synchronization

/// Where the current time comes from. Billing rules never read the clock; they are handed `now`,
/// and `BillingTime` decides which `now` that is.
public struct Clock: Sendable {
    /// Returns the current instant.
    public let now: @Sendable () -> Date

    /// A clock reading `now`.
    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    /// The system's wall clock.
    public static let system = Clock { Date() }
}

/// An organization's test clock: the time its test-mode objects live in, so that a merchant's
/// end-to-end test reaches an expiry by moving the clock instead of sleeping.
public struct TestClock: Sendable, Equatable {
    /// Set while the clock stands still: the instant it shows.
    public var frozenAt: Date?
    /// While it runs: how far ahead of the wall clock it is.
    public var offset: TimeInterval = 0

    /// The instant this clock shows when the wall clock shows `wall`.
    public func now(wall: Date) -> Date {
        frozenAt ?? wall.addingTimeInterval(offset)
    }
}

/// Which `now` the billing rules see for a scope: the wall clock, except for the test-mode objects
/// of an organization that set a test clock. Live mode always sees the wall clock. Test clocks
/// live in this process: a restart returns every organization to the wall clock.
public final class BillingTime: Sendable {
    /// The wall clock (a controllable one in this project's own tests).
    public let wall: Clock
    private let testClocks = Mutex<[String: TestClock]>([:])
    // Read on every request; lets the common case (no test clock anywhere) skip the lock.
    private let anyTestClock = Atomic<Bool>(false)

    /// Times read from `wall` until a test clock is set.
    public init(wall: Clock = .system) {
        self.wall = wall
    }

    /// The instant the billing rules see for `scope`.
    public func now(for scope: Scope) -> Date {
        let wallNow = wall.now()
        guard scope.mode == .test, anyTestClock.load(ordering: .relaxed) else { return wallNow }
        return testClocks.withLock { $0[scope.organizationID] }?.now(wall: wallNow) ?? wallNow
    }

    /// The organization's test clock, if it set one.
    public func testClock(of organizationID: String) -> TestClock? {
        guard anyTestClock.load(ordering: .relaxed) else { return nil }
        return testClocks.withLock { $0[organizationID] }
    }

    /// Whether `scope` runs on a test clock (its pages are then never cached: their availability
    /// depends on a time the page cache does not know).
    func isAdjusted(_ scope: Scope) -> Bool {
        scope.mode == .test && testClock(of: scope.organizationID) != nil
    }

    /// Organizations with a test clock: the expiry sweep treats their test objects separately.
    var adjustedOrganizations: [String] {
        guard anyTestClock.load(ordering: .relaxed) else { return [] }
        return testClocks.withLock { Array($0.keys) }
    }

    /// Moves the organization's test clock forward by `seconds` (a frozen clock stays frozen, later).
    @discardableResult
    public func advance(_ organizationID: String, by seconds: TimeInterval) -> TestClock {
        update(organizationID) { clock in
            if let frozen = clock.frozenAt { clock.frozenAt = frozen.addingTimeInterval(seconds) } else { clock.offset += seconds }
        }
    }

    /// Stops the organization's test clock at `instant`. Time never goes backwards: an instant
    /// before the clock's current time is refused (nil), since objects were made at that time.
    public func freeze(_ organizationID: String, at instant: Date) -> TestClock? {
        let current = now(for: Scope(organizationID: organizationID, mode: .test))
        guard instant >= current.truncatedToSeconds else { return nil }
        return update(organizationID) { $0.frozenAt = instant }
    }

    /// Returns the organization's test objects to the wall clock.
    public func reset(_ organizationID: String) {
        testClocks.withLock { clocks in
            clocks[organizationID] = nil
            anyTestClock.store(!clocks.isEmpty, ordering: .relaxed)
        }
    }

    private func update(_ organizationID: String, _ change: (inout TestClock) -> Void) -> TestClock {
        testClocks.withLock { clocks in
            var clock = clocks[organizationID] ?? TestClock()
            change(&clock)
            clocks[organizationID] = clock
            anyTestClock.store(true, ordering: .relaxed)
            return clock
        }
    }
}
