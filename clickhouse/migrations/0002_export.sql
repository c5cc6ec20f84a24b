-- Re-export to downstream OTLP receivers: each destination's position in this
-- collector's ingest sequence, persisted after every acknowledged batch so a restart or
-- an outage resumes where the receiver last acknowledged.
CREATE TABLE IF NOT EXISTS {{database}}.export_positions {{on_cluster}}
(
    destination_id String,
    collector_id   LowCardinality(String),
    position       UInt64,
    updated_at     DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{replacing_merge_tree}}(updated_at)
ORDER BY (destination_id, collector_id);

-- Destinations created through the admin API (config-file destinations live in the
-- config). `spec` is the destination as JSON, header values included: keep this table
-- out of analysts' reach (see clickhouse/README.md). The newest version of an id wins;
-- a deleted destination is a version with deleted = 1.
CREATE TABLE IF NOT EXISTS {{database}}.destinations {{on_cluster}}
(
    id         String,
    spec       String,
    deleted    UInt8,
    version    UInt64,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{replacing_merge_tree}}(version)
ORDER BY id;
