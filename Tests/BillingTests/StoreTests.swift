import Billing
import Foundation
import Testing

/// A fresh database file per test, removed afterwards.
struct TemporaryStore {
    let directory: URL
    let path: String
    let store: Store

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("billing-\(UUID().uuidString)")
        path = directory.appendingPathComponent("db.sqlite").path
        store = try Store(path: path)
    }

    func remove() {
        try? store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

let fixedNow = Date(timeIntervalSince1970: 1_790_000_000)

@Suite struct StoreTests {
    @Test func reopeningMigratesNothingAndKeepsData() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let created = try temporary.store.write { try $0.createOrganization(handle: "keep", name: "Keep", now: fixedNow) }
        let migrations = try temporary.store.appliedMigrations()
        #expect(!migrations.isEmpty)
        try temporary.store.close()

        let reopened = try Store(path: temporary.path)
        defer { try? reopened.close() }
        #expect(try reopened.appliedMigrations() == migrations)
        let organization = try reopened.read { try $0.organization(handle: "keep") }
        #expect(organization == created.organization)
    }

    @Test func aFailedWriteLeavesNothingBehind() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        #expect(throws: BillingError.self) {
            try temporary.store.write { ledger in
                _ = try ledger.createOrganization(handle: "half", name: nil, now: fixedNow)
                throw BillingError(.invalidState, "abort")
            }
        }
        #expect(try temporary.store.read { try $0.organization(handle: "half") } == nil)
    }
}

@Suite struct OrganizationTests {
    @Test func keysAuthenticateToTheirModeOnly() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let created = try temporary.store.write { try $0.createOrganization(handle: "shop", name: "Shop", now: fixedNow) }
        #expect(created.testKey.secret.hasPrefix("sk_test_"))
        #expect(created.liveKey.secret.hasPrefix("sk_live_"))
        #expect(created.testKey.secret.count == 8 + 32)
        let (organization, testScope) = try temporary.store.read { try $0.authenticate(key: created.testKey.secret) }
        #expect(organization.id == created.organization.id)
        #expect(testScope.mode == .test)
        let (_, liveScope) = try temporary.store.read { try $0.authenticate(key: created.liveKey.secret) }
        #expect(liveScope.mode == .live)
    }

    @Test func handlesAreUniqueAndValidated() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        _ = try temporary.store.write { try $0.createOrganization(handle: "taken", name: nil, now: fixedNow) }
        let duplicate = #expect(throws: BillingError.self) {
            try temporary.store.write { try $0.createOrganization(handle: "taken", name: nil, now: fixedNow) }
        }
        #expect(duplicate?.code == .alreadyExists)
        let invalid = #expect(throws: BillingError.self) {
            try temporary.store.write { try $0.createOrganization(handle: "Not Valid", name: nil, now: fixedNow) }
        }
        #expect(invalid?.param == "handle")
    }

    @Test func rollingRevokesEveryEarlierKeyOfThatMode() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let created = try temporary.store.write { try $0.createOrganization(handle: "roll", name: nil, now: fixedNow) }
        let second = try temporary.store.write { try $0.rollKey(handle: "roll", mode: .test, now: fixedNow) }
        let third = try temporary.store.write { try $0.rollKey(handle: "roll", mode: .test, now: fixedNow) }
        for revoked in [created.testKey.secret, second.secret] {
            let error = #expect(throws: BillingError.self) { try temporary.store.read { try $0.authenticate(key: revoked) } }
            #expect(error?.code == .unauthenticated)
        }
        #expect(try temporary.store.read { try $0.authenticate(key: third.secret) }.1.mode == .test)
        #expect(try temporary.store.read { try $0.authenticate(key: created.liveKey.secret) }.1.mode == .live)
        #expect(throws: BillingError.self) { try temporary.store.write { try $0.rollKey(handle: "nobody", mode: .live, now: fixedNow) } }
    }
}

@Suite struct PlanTests {
    @Test(arguments: [
        (PlanDraft(name: "ok", amount: 100), nil as String?),
        (PlanDraft(name: "  ", amount: 100), "name"),
        (PlanDraft(name: String(repeating: "n", count: 251), amount: 100), "name"),
        (PlanDraft(name: "x", amount: 0), "amount"),
        (PlanDraft(name: "x", amount: 100, currency: "XXX1"), "currency"),
        (PlanDraft(name: "x", amount: 100, interval: "hour"), "interval"),
        (PlanDraft(name: "x", amount: 100, intervalCount: 1), "intervalCount"),
        (PlanDraft(name: "x", amount: 100, interval: "year", intervalCount: 37), "intervalCount"),
        (PlanDraft(name: "x", amount: 100, description: String(repeating: "d", count: 1001)), "description"),
    ])
    func draftsAreValidated(draft: PlanDraft, failingParam: String?) throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let org = try temporary.store.write { try $0.createOrganization(handle: "plans", name: nil, now: fixedNow) }
        let scope = Scope(organizationID: org.organization.id, mode: .test)
        if let failingParam {
            let error = #expect(throws: BillingError.self) { try temporary.store.write { try $0.createPlan(draft, in: scope, now: fixedNow) } }
            #expect(error?.param == failingParam)
        } else {
            let plan = try temporary.store.write { try $0.createPlan(draft, in: scope, now: fixedNow) }
            #expect(plan.price == Money(minorUnits: 100, currency: .ngn))
            #expect(plan.createdAt == fixedNow)
        }
    }

    @Test func pagesWalkEveryPlanOnceNewestFirst() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let org = try temporary.store.write { try $0.createOrganization(handle: "pages", name: nil, now: fixedNow) }
        let scope = Scope(organizationID: org.organization.id, mode: .live)
        let ids = try (0..<7).map { index in
            try temporary.store.write { try $0.createPlan(PlanDraft(name: "p\(index)", amount: 1), in: scope, now: fixedNow).id }
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try temporary.store.read { try $0.plans(in: scope, try PageRequest(limit: 3, startingAfter: cursor)) }
            seen += page.items.map(\.id)
            cursor = page.hasMore ? page.items.last?.id : nil
        } while cursor != nil
        #expect(seen == ids.reversed())
        let otherMode = try temporary.store.read { try $0.plans(in: Scope(organizationID: org.organization.id, mode: .test), PageRequest()) }
        #expect(otherMode.items.isEmpty)
    }
}

@Suite struct IdempotencyRecordTests {
    @Test func recordsExpireAfterTheRetention() throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let org = try temporary.store.write { try $0.createOrganization(handle: "idem", name: nil, now: fixedNow) }
        let scope = Scope(organizationID: org.organization.id, mode: .test)
        let record = IdempotencyRecord(requestHash: "h", status: 201, body: Array("{}".utf8))
        try temporary.store.write { try $0.saveIdempotencyRecord(record, key: "k", in: scope, now: fixedNow) }
        let dayLater = fixedNow.addingTimeInterval(24 * 3600)
        #expect(try temporary.store.read { try $0.idempotencyRecord(key: "k", in: scope, now: dayLater) }?.status == 201)
        let muchLater = fixedNow.addingTimeInterval(IdempotencyRecord.retention + 1)
        #expect(try temporary.store.read { try $0.idempotencyRecord(key: "k", in: scope, now: muchLater) } == nil)
        #expect(try temporary.store.read { try $0.idempotencyRecord(key: "k", in: Scope(organizationID: org.organization.id, mode: .live), now: fixedNow) } == nil)
    }

    @Test func fingerprintCoversMethodPathAndBody() {
        let base = IdempotencyRecord.fingerprint(method: "POST", path: "/v1/plans", body: Array("{}".utf8))
        #expect(base == IdempotencyRecord.fingerprint(method: "POST", path: "/v1/plans", body: Array("{}".utf8)))
        #expect(base != IdempotencyRecord.fingerprint(method: "POST", path: "/v1/plans/x", body: Array("{}".utf8)))
        #expect(base != IdempotencyRecord.fingerprint(method: "POST", path: "/v1/plans", body: Array("{ }".utf8)))
        #expect(base.count == 64)
    }
}
