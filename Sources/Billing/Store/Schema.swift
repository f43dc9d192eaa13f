import GRDB

/// Every schema change, in order. A migration, once released, is never edited: a change is a new
/// migration appended to the list.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-organizations-keys-plans-idempotency") { db in
            try db.execute(sql: """
                CREATE TABLE organization (
                    id TEXT PRIMARY KEY NOT NULL,
                    handle TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE api_key (
                    id TEXT PRIMARY KEY NOT NULL,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    mode TEXT NOT NULL CHECK (mode IN ('test', 'live')),
                    secret_hash TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE INDEX api_key_by_organization ON api_key(organization_id, mode);
                CREATE TABLE plan (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    interval TEXT CHECK (interval IN ('day', 'week', 'month', 'year')),
                    interval_count INTEGER,
                    description TEXT,
                    metadata TEXT NOT NULL DEFAULT '{}',
                    active INTEGER NOT NULL DEFAULT 1,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX plan_by_scope ON plan(organization_id, livemode, seq);
                CREATE TABLE idempotency_key (
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    response_body BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (organization_id, livemode, key)
                );
                CREATE INDEX idempotency_key_by_age ON idempotency_key(created_at);
                """)
        }
        return migrator
    }
}
