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
