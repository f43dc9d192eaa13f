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
        migrator.registerMigration("v2-payment-links-sessions-payments") { db in
            try db.execute(sql: """
                CREATE TABLE server_secret (
                    name TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL
                );
                CREATE TABLE payment_link (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    plan_id TEXT REFERENCES plan(id),
                    slug TEXT,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    payment_method_id TEXT,
                    description TEXT,
                    metadata TEXT NOT NULL DEFAULT '{}',
                    active INTEGER NOT NULL DEFAULT 1,
                    expires_at INTEGER,
                    created_at INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX payment_link_slug ON payment_link(organization_id, livemode, slug) WHERE slug IS NOT NULL;
                CREATE INDEX payment_link_by_scope ON payment_link(organization_id, livemode, seq);
                CREATE TABLE customer (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    email TEXT NOT NULL,
                    name TEXT,
                    created_at INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX customer_by_email ON customer(organization_id, livemode, email);
                CREATE INDEX customer_by_scope ON customer(organization_id, livemode, seq);
                CREATE TABLE checkout_session (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    token TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    payment_link_id TEXT REFERENCES payment_link(id),
                    plan_id TEXT REFERENCES plan(id),
                    kind TEXT NOT NULL CHECK (kind IN ('one_time', 'subscription')),
                    amount INTEGER NOT NULL CHECK (amount >= 0),
                    currency TEXT NOT NULL,
                    description TEXT,
                    status TEXT NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
                    customer_email TEXT,
                    customer_phone TEXT,
                    customer_name TEXT,
                    success_url TEXT,
                    metadata TEXT NOT NULL DEFAULT '{}',
                    expires_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    completed_at INTEGER,
                    expired_at INTEGER,
                    customer_id TEXT REFERENCES customer(id),
                    payment_id TEXT,
                    subscription_id TEXT
                );
                CREATE INDEX checkout_session_by_scope ON checkout_session(organization_id, livemode, seq);
                CREATE INDEX checkout_session_by_link ON checkout_session(payment_link_id, seq);
                CREATE TABLE payment (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    checkout_session_id TEXT NOT NULL UNIQUE REFERENCES checkout_session(id),
                    customer_id TEXT REFERENCES customer(id),
                    amount INTEGER NOT NULL CHECK (amount >= 0),
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL,
                    card_brand TEXT,
                    card_last4 TEXT,
                    processor_reference TEXT,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX payment_by_scope ON payment(organization_id, livemode, seq);
                CREATE TABLE subscription (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    customer_id TEXT NOT NULL REFERENCES customer(id),
                    plan_id TEXT NOT NULL REFERENCES plan(id),
                    checkout_session_id TEXT NOT NULL UNIQUE REFERENCES checkout_session(id),
                    status TEXT NOT NULL,
                    current_period_start INTEGER NOT NULL,
                    current_period_end INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX subscription_by_scope ON subscription(organization_id, livemode, seq);
                """)
        }
        migrator.registerMigration("v3-prices-checkout-links") { db in
            try db.execute(sql: """
                CREATE TABLE price (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    unit_amount INTEGER NOT NULL CHECK (unit_amount >= 0),
                    product TEXT NOT NULL,
                    tax_behavior TEXT NOT NULL DEFAULT 'unspecified',
                    active INTEGER NOT NULL DEFAULT 1,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX price_by_scope ON price(organization_id, livemode, seq);
                CREATE TABLE checkout_link (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    active INTEGER NOT NULL DEFAULT 1,
                    deactivation_reason TEXT,
                    mode TEXT NOT NULL,
                    title TEXT NOT NULL,
                    description TEXT,
                    currency TEXT NOT NULL,
                    after_completion TEXT NOT NULL,
                    billing_address_collection TEXT NOT NULL,
                    metadata TEXT NOT NULL DEFAULT '{}',
                    inactive_message TEXT,
                    payment_method_types TEXT NOT NULL,
                    allow_promotion_codes INTEGER NOT NULL DEFAULT 0,
                    completed_sessions_limit INTEGER CHECK (completed_sessions_limit >= 1),
                    completed_sessions_count INTEGER NOT NULL DEFAULT 0,
                    submit_type TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    CHECK (completed_sessions_limit IS NULL OR completed_sessions_count <= completed_sessions_limit)
                );
                CREATE INDEX checkout_link_by_scope ON checkout_link(organization_id, livemode, seq);
                CREATE TABLE checkout_link_item (
                    checkout_link_id TEXT NOT NULL REFERENCES checkout_link(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    quantity INTEGER NOT NULL CHECK (quantity >= 1),
                    price_id TEXT REFERENCES price(id),
                    currency TEXT NOT NULL,
                    unit_amount INTEGER NOT NULL CHECK (unit_amount >= 0),
                    product TEXT NOT NULL,
                    tax_behavior TEXT NOT NULL,
                    PRIMARY KEY (checkout_link_id, position)
                );
                ALTER TABLE checkout_session ADD COLUMN checkout_link_id TEXT REFERENCES checkout_link(id);
                ALTER TABLE checkout_session ADD COLUMN billing_address TEXT;
                CREATE INDEX checkout_session_by_checkout_link ON checkout_session(checkout_link_id, seq);
                """)
        }
        migrator.registerMigration("v4-promo-codes") { db in
            try db.execute(sql: """
                CREATE TABLE promo_code (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    code TEXT NOT NULL,
                    plan_id TEXT REFERENCES plan(id),
                    discount_type TEXT NOT NULL CHECK (discount_type IN ('percentage', 'fixed')),
                    discount_value INTEGER NOT NULL CHECK (discount_value > 0),
                    currency TEXT,
                    duration TEXT NOT NULL CHECK (duration IN ('once', 'forever', 'repeating')),
                    duration_cycles INTEGER,
                    max_redemptions INTEGER CHECK (max_redemptions >= 1),
                    redeemed_count INTEGER NOT NULL DEFAULT 0,
                    active INTEGER NOT NULL DEFAULT 1,
                    expires_at INTEGER,
                    created_at INTEGER NOT NULL,
                    CHECK (max_redemptions IS NULL OR redeemed_count <= max_redemptions)
                );
                CREATE UNIQUE INDEX promo_code_by_code ON promo_code(organization_id, livemode, code);
                CREATE INDEX promo_code_by_scope ON promo_code(organization_id, livemode, seq);
                ALTER TABLE checkout_session ADD COLUMN promo_code_id TEXT REFERENCES promo_code(id);
                ALTER TABLE checkout_session ADD COLUMN promo_code TEXT;
                ALTER TABLE checkout_session ADD COLUMN discount_amount INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE payment ADD COLUMN promo_code TEXT;
                ALTER TABLE payment ADD COLUMN discount_amount INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE subscription ADD COLUMN promo_code_id TEXT REFERENCES promo_code(id);
                ALTER TABLE subscription ADD COLUMN discount_type TEXT;
                ALTER TABLE subscription ADD COLUMN discount_value INTEGER;
                ALTER TABLE subscription ADD COLUMN discount_duration TEXT;
                ALTER TABLE subscription ADD COLUMN discount_cycles INTEGER;
                """)
        }
        migrator.registerMigration("v5-events-webhooks") { db in
            try db.execute(sql: """
                ALTER TABLE payment_link ADD COLUMN deactivation_reason TEXT;
                CREATE TABLE event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE INDEX event_by_scope ON event(organization_id, livemode, seq);
                CREATE INDEX event_by_type ON event(organization_id, livemode, type, seq);
                CREATE TABLE webhook_endpoint (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    url TEXT NOT NULL,
                    enabled_events TEXT NOT NULL,
                    description TEXT,
                    secret TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
                    deleted INTEGER NOT NULL DEFAULT 0,
                    delivered_through INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX webhook_endpoint_by_scope ON webhook_endpoint(organization_id, livemode, seq);
                -- A delivery's id is `whd_<seq>`: no random key, so rows append at the end of every
                -- index instead of dirtying a random page each (deliveries are written in bulk).
                CREATE TABLE webhook_delivery (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    endpoint_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    event_seq INTEGER NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL, -- milliseconds since 1970
                    created_at INTEGER NOT NULL,
                    completed_at INTEGER,
                    -- A delivery acknowledged at its first attempt keeps that attempt here instead of
                    -- in webhook_attempt: one row per event delivered, the common case.
                    first_status_code INTEGER,
                    first_latency_ms INTEGER
                );
                CREATE INDEX webhook_delivery_pending ON webhook_delivery(status, endpoint_id, event_seq);
                CREATE INDEX webhook_delivery_by_endpoint ON webhook_delivery(endpoint_id, seq);
                CREATE TABLE webhook_attempt (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    delivery_seq INTEGER NOT NULL,
                    attempted_at INTEGER NOT NULL,
                    status_code INTEGER,
                    latency_ms INTEGER NOT NULL,
                    error TEXT
                );
                CREATE INDEX webhook_attempt_by_delivery ON webhook_attempt(delivery_seq, seq);
                CREATE INDEX checkout_session_open_by_expiry ON checkout_session(status, expires_at);
                CREATE INDEX payment_link_active_by_expiry ON payment_link(active, expires_at);
                """)
        }
        migrator.registerMigration("v6-pending-deliveries-index") { db in
            // Only pending deliveries are ever looked up by status. Nearly every delivery succeeds
            // at once, so an index of the pending ones alone stays a few entries long and costs
            // nothing on the hot path of recording thousands of successes a second.
            try db.execute(sql: """
                DROP INDEX webhook_delivery_pending;
                CREATE INDEX webhook_delivery_pending ON webhook_delivery(endpoint_id, event_seq) WHERE status = 'pending';
                """)
        }
        migrator.registerMigration("v7-reservations-test-charges") { db in
            // A completion is reserve → charge → settle. The places a reservation holds are counted
            // beside the completions, and claimed by conditional updates
            // (`completed + reserved < limit`), so the limit holds without a global lock. Every
            // completion writes an attempt and a test charge: they carry no AUTOINCREMENT counter
            // and as few indexes as their lookups need (the idempotency key is the session id and
            // the attempt number, unique with them; the recovery pass reads the active attempts
            // through the partial index of active ones).
            try db.execute(sql: """
                ALTER TABLE checkout_link ADD COLUMN reserved_sessions_count INTEGER NOT NULL DEFAULT 0 CHECK (reserved_sessions_count >= 0);
                ALTER TABLE promo_code ADD COLUMN reserved_count INTEGER NOT NULL DEFAULT 0 CHECK (reserved_count >= 0);
                ALTER TABLE checkout_session ADD COLUMN payment_status TEXT NOT NULL DEFAULT 'unpaid'
                    CHECK (payment_status IN ('unpaid', 'processing', 'paid', 'no_payment_required'));
                UPDATE checkout_session SET payment_status = CASE WHEN amount - discount_amount > 0 THEN 'paid' ELSE 'no_payment_required' END
                    WHERE status = 'complete';
                CREATE TABLE reservation (
                    id TEXT PRIMARY KEY NOT NULL,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    checkout_session_id TEXT NOT NULL REFERENCES checkout_session(id),
                    attempt INTEGER NOT NULL CHECK (attempt >= 1),
                    idempotency_key TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('charging', 'requires_action', 'settled', 'released')),
                    checkout_link_id TEXT REFERENCES checkout_link(id),
                    promo_code_id TEXT REFERENCES promo_code(id),
                    promo_code TEXT,
                    amount INTEGER NOT NULL CHECK (amount >= 0),
                    currency TEXT NOT NULL,
                    discount_amount INTEGER NOT NULL DEFAULT 0,
                    customer_email TEXT NOT NULL,
                    customer_name TEXT NOT NULL,
                    billing_address TEXT,
                    card_brand TEXT,
                    card_last4 TEXT,
                    processor TEXT NOT NULL,
                    processor_reference TEXT,
                    action_url TEXT,
                    outcome TEXT,
                    expires_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    resolved_at INTEGER,
                    UNIQUE (checkout_session_id, attempt)
                );
                CREATE UNIQUE INDEX reservation_active_by_session ON reservation(checkout_session_id)
                    WHERE state IN ('charging', 'requires_action');
                CREATE TABLE test_charge (
                    idempotency_key TEXT PRIMARY KEY NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    amount INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('succeeded', 'declined', 'requires_action', 'failed')),
                    decline_code TEXT,
                    decline_message TEXT,
                    amount_refunded INTEGER NOT NULL DEFAULT 0,
                    return_url TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v8-refunds") { db in
            // A refund is reserve → refund at the processor → settle too: the amount is held on the
            // payment (`refund_pending`) by a conditional update, so two refunds at once can never
            // take back more than was paid.
            try db.execute(sql: """
                ALTER TABLE payment ADD COLUMN amount_refunded INTEGER NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0);
                ALTER TABLE payment ADD COLUMN refund_pending INTEGER NOT NULL DEFAULT 0 CHECK (refund_pending >= 0);
                ALTER TABLE payment ADD COLUMN processor TEXT;
                UPDATE payment SET processor = 'test' WHERE livemode = 0 AND amount > 0;
                CREATE TABLE refund (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    payment_id TEXT NOT NULL REFERENCES payment(id),
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
                    reason TEXT CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
                    processor TEXT NOT NULL,
                    processor_reference TEXT,
                    failure_reason TEXT,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX refund_by_scope ON refund(organization_id, livemode, seq);
                CREATE INDEX refund_pending ON refund(created_at) WHERE status = 'pending';
                CREATE TABLE test_refund (
                    idempotency_key TEXT PRIMARY KEY NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    charge_id TEXT NOT NULL REFERENCES test_charge(id),
                    amount INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v9-processor-accounts") { db in
            // The processor an operator connects per organization and mode; its secret key sealed
            // with the master key (AES-GCM), never stored in clear. A charge's steps at the
            // processor (Stripe's PaymentMethod before its PaymentIntent) are journaled on the
            // attempt, so the recovery pass can ask about the exact request that was sent.
            try db.execute(sql: """
                CREATE TABLE processor_account (
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('stripe')),
                    sealed_secret BLOB NOT NULL,
                    api_base TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (organization_id, livemode)
                );
                ALTER TABLE reservation ADD COLUMN processor_note TEXT;
                """)
        }
        migrator.registerMigration("v10-fewer-pages-per-completion") { db in
            // Every page a transaction changes is one more WAL frame written (inside the write
            // lock) and flushed; a completion is three transactions, so each index it touches
            // costs up to three frames. Here, for the plain completion:
            // - an attempt is one B-tree keyed by its session and number (WITHOUT ROWID), instead
            //   of a rowid table with two unique indexes of random keys beside it: every lookup
            //   of an attempt goes through its session (its `id` names it in URLs and logs); it
            //   keeps the card's expiry too (never its number or code), so that the form shown
            //   again after the bank refused asks only for those;
            // - a test charge likewise is one B-tree keyed by its idempotency key, plus its id;
            // - only the sessions the sweeper may expire are indexed by expiry (open, not being
            //   paid): a session a link makes being paid, then completed, no longer enters that
            //   index and leaves it;
            // - sessions are indexed by payment link or checkout link only when they have one.
            try db.execute(sql: """
                CREATE TABLE reservation_v10 (
                    checkout_session_id TEXT NOT NULL REFERENCES checkout_session(id),
                    attempt INTEGER NOT NULL CHECK (attempt >= 1),
                    id TEXT NOT NULL,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('charging', 'requires_action', 'settled', 'released')),
                    checkout_link_id TEXT REFERENCES checkout_link(id),
                    promo_code_id TEXT REFERENCES promo_code(id),
                    promo_code TEXT,
                    amount INTEGER NOT NULL CHECK (amount >= 0),
                    currency TEXT NOT NULL,
                    discount_amount INTEGER NOT NULL DEFAULT 0,
                    customer_email TEXT NOT NULL,
                    customer_name TEXT NOT NULL,
                    billing_address TEXT,
                    card_brand TEXT,
                    card_last4 TEXT,
                    card_expiry TEXT,
                    processor TEXT NOT NULL,
                    processor_reference TEXT,
                    processor_note TEXT,
                    action_url TEXT,
                    outcome TEXT,
                    expires_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    resolved_at INTEGER,
                    PRIMARY KEY (checkout_session_id, attempt)
                ) WITHOUT ROWID;
                INSERT INTO reservation_v10 (checkout_session_id, attempt, id, organization_id, livemode, idempotency_key, state,
                    checkout_link_id, promo_code_id, promo_code, amount, currency, discount_amount, customer_email, customer_name,
                    billing_address, card_brand, card_last4, processor, processor_reference, processor_note, action_url, outcome,
                    expires_at, created_at, resolved_at)
                SELECT checkout_session_id, attempt, id, organization_id, livemode, idempotency_key, state,
                    checkout_link_id, promo_code_id, promo_code, amount, currency, discount_amount, customer_email, customer_name,
                    billing_address, card_brand, card_last4, processor, processor_reference, processor_note, action_url, outcome,
                    expires_at, created_at, resolved_at
                FROM reservation;
                DROP TABLE reservation;
                ALTER TABLE reservation_v10 RENAME TO reservation;
                CREATE UNIQUE INDEX reservation_active_by_session ON reservation(checkout_session_id)
                    WHERE state IN ('charging', 'requires_action');

                CREATE TABLE test_charge_v10 (
                    idempotency_key TEXT PRIMARY KEY NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
                    livemode INTEGER NOT NULL,
                    amount INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('succeeded', 'declined', 'requires_action', 'failed')),
                    decline_code TEXT,
                    decline_message TEXT,
                    amount_refunded INTEGER NOT NULL DEFAULT 0,
                    return_url TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO test_charge_v10 SELECT idempotency_key, id, organization_id, livemode, amount, currency, status,
                    decline_code, decline_message, amount_refunded, return_url, created_at FROM test_charge;
                DROP TABLE test_charge;
                ALTER TABLE test_charge_v10 RENAME TO test_charge;

                DROP INDEX checkout_session_open_by_expiry;
                CREATE INDEX checkout_session_open_by_expiry ON checkout_session(expires_at)
                    WHERE status = 'open' AND payment_status != 'processing';
                DROP INDEX checkout_session_by_link;
                CREATE INDEX checkout_session_by_link ON checkout_session(payment_link_id, seq) WHERE payment_link_id IS NOT NULL;
                DROP INDEX checkout_session_by_checkout_link;
                CREATE INDEX checkout_session_by_checkout_link ON checkout_session(checkout_link_id, seq)
                    WHERE checkout_link_id IS NOT NULL;
                """)
        }
        return migrator
    }
}
