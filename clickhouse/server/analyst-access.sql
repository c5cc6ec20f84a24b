-- Read-only access for analysts on a ClickHouse server (not needed for the embedded store).
-- Run as an administrator; replace the names, passwords and tenants. The database is the
-- sidecar's `exporters.clickhouse.database` (audit by default).

-- What every analyst may do: read the events, nothing else, within limits.
CREATE ROLE IF NOT EXISTS audit_analyst;
GRANT SELECT ON audit.events TO audit_analyst;
-- Deliberately not granted: audit.destinations (holds receivers' header secrets),
-- audit.export_positions, audit.ingest_sequence, audit.schema_migrations.

CREATE SETTINGS PROFILE IF NOT EXISTS audit_analyst_limits
    SETTINGS readonly = 1, max_execution_time = 60, max_result_rows = 1000000,
             result_overflow_mode = 'throw', max_memory_usage = 4000000000
    TO audit_analyst;

-- Once a table has row policies, a user that no policy covers sees no rows: give the
-- sidecar and organisation-wide analysts an explicit "all rows" policy.
CREATE ROLE IF NOT EXISTS audit_analyst_all_tenants;
GRANT audit_analyst TO audit_analyst_all_tenants;
CREATE ROW POLICY IF NOT EXISTS audit_all_rows ON audit.events FOR SELECT USING 1 TO audit_analyst_all_tenants, audit_sidecar;

-- One role per tenant whose analysts must see only that tenant's events.
CREATE ROLE IF NOT EXISTS audit_analyst_acme;
GRANT audit_analyst TO audit_analyst_acme;
CREATE ROW POLICY IF NOT EXISTS audit_tenant_acme ON audit.events FOR SELECT USING tenant_id = 'acme' TO audit_analyst_acme;

-- Users.
CREATE USER IF NOT EXISTS audit_sidecar IDENTIFIED WITH sha256_password BY 'change-me';
GRANT INSERT, SELECT ON audit.* TO audit_sidecar;   -- with create_schema: false; else also CREATE TABLE ON audit.*
CREATE USER IF NOT EXISTS alice IDENTIFIED WITH sha256_password BY 'change-me' DEFAULT ROLE audit_analyst_all_tenants;
GRANT audit_analyst_all_tenants TO alice;
CREATE USER IF NOT EXISTS bob_acme IDENTIFIED WITH sha256_password BY 'change-me' DEFAULT ROLE audit_analyst_acme;
GRANT audit_analyst_acme TO bob_acme;
