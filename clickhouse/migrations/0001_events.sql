-- audit.events: one row per audit event. Column names and types are the public contract
-- (schemas/audit-event.ts); engine, sort key, partitioning, codecs and indexes are ours.
-- Tokens in double braces are filled in by the migration runner (database, cluster).
CREATE DATABASE IF NOT EXISTS {{database}} {{on_cluster}};

CREATE TABLE IF NOT EXISTS {{database}}.events {{on_cluster}}
(
    event_id            String,
    tenant_id           LowCardinality(String),
    occurred_at         DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    received_at         DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    event_type          LowCardinality(String),
    action              LowCardinality(String),
    outcome             LowCardinality(String),
    actor_id            String,
    actor_name          String,
    actor_email         String,
    actor_type          LowCardinality(String),
    client_ip           String,
    user_agent          String CODEC(ZSTD(1)),
    team_id             String,
    project_id          String,
    resource_type       LowCardinality(String),
    resource_id         String,
    resource_name       String,
    request_method      LowCardinality(String),
    request_url         String CODEC(ZSTD(1)),
    message             String CODEC(ZSTD(1)),
    changes             String CODEC(ZSTD(1)),
    metadata            String CODEC(ZSTD(1)),
    attributes          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    service_name        LowCardinality(String),
    severity_text       LowCardinality(String),
    severity_number     UInt8,
    trace_id            String,
    span_id             String,
    source              LowCardinality(String),
    raw                 String CODEC(ZSTD(3)),
    retention_days      UInt16,
    collector_id        LowCardinality(String),
    ingest_seq          UInt64,

    -- Export workers scan by (collector_id, ingest_seq): every insert is one contiguous
    -- range of ingest_seq, so per-granule min/max prunes all parts but the newest.
    INDEX idx_ingest_seq ingest_seq TYPE minmax GRANULARITY 1,
    -- Lookups of one event by id (GET /api/v1/events/{id}, duplicate checks).
    INDEX idx_event_id event_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = {{replacing_merge_tree}}
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, occurred_at, event_id)
TTL toDateTime(occurred_at) + toIntervalDay(retention_days)
SETTINGS index_granularity = 8192;

-- Highest ingest_seq each collector may have used. Written before a batch uses numbers
-- past the previous reservation, so a restart continues above anything ever committed,
-- even after TTL has removed the newest rows.
CREATE TABLE IF NOT EXISTS {{database}}.ingest_sequence {{on_cluster}}
(
    collector_id     LowCardinality(String),
    reserved_through UInt64,
    reserved_at      DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{merge_tree}}
ORDER BY (collector_id, reserved_through);
