-- Tamper evidence (see clickhouse/README.md, "Integrity"). Signed checkpoints: one per
-- load of the loader, never expired.
CREATE TABLE IF NOT EXISTS {{database}}.checkpoints {{on_cluster}}
(
    collector_id LowCardinality(String),
    from_seq     UInt64,
    to_seq       UInt64,
    count        UInt32,
    merkle_root  String,
    prev_hash    String,
    created_at   DateTime64(3, 'UTC'),
    key_id       LowCardinality(String),
    signature    String
)
ENGINE = {{merge_tree}}
ORDER BY (collector_id, to_seq);

-- One leaf per loaded row: the SHA-256 of its canonical serialization, with what tells an
-- expired row from a deleted one. Kept 400 days past the row's own expiry. A replayed load
-- writes the same leaves again: they collapse on (collector_id, ingest_seq).
-- retention_days is the value the leaf hashed; expires_at follows `retention apply` and holds.
CREATE TABLE IF NOT EXISTS {{database}}.event_leaves {{on_cluster}}
(
    collector_id   LowCardinality(String),
    ingest_seq     UInt64,
    event_id       String,
    tenant_id      LowCardinality(String),
    occurred_at    DateTime('UTC'),
    retention_days UInt16,
    expires_at     DateTime('UTC'),
    leaf           FixedString(32),
    INDEX idx_event_id event_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = {{replacing_merge_tree}}
ORDER BY (collector_id, ingest_seq)
TTL expires_at + toIntervalDay(400);

-- Every public key that signed checkpoints; the key files under the key directory are the
-- primary copy (verify --public-key takes one from outside the box).
CREATE TABLE IF NOT EXISTS {{database}}.signing_keys {{on_cluster}}
(
    key_id     String,
    public_key String,
    added_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{replacing_merge_tree}}
ORDER BY key_id;
