export interface RetentionPolicy {
  defaultDays: number;
  tenants: Readonly<Record<string, number>>;
  /** Legal holds: a held tenant's rows live at least until `until` (collector/store/retention.ts applies the same rule to stored rows). */
  holds?: ReadonlyArray<{ tenant: string; until: string }>;
}

/** Days a tenant's rows live: its own setting, else the default; longer while a hold on the tenant lasts. */
export function retentionDays(tenant: string, policy: RetentionPolicy, occurredAtNanos?: string): number {
  const days = Object.hasOwn(policy.tenants, tenant) ? policy.tenants[tenant]! : policy.defaultDays;
  if (!policy.holds?.length || occurredAtNanos === undefined) return days;
  const occurred = Math.floor(Number(BigInt(occurredAtNanos) / 1_000_000_000n));
  let held = 0;
  for (const hold of policy.holds) {
    const until = Math.floor(Date.parse(hold.until) / 1000);
    if (hold.tenant !== tenant || until * 1000 <= Date.now() || until <= occurred) continue;
    held = Math.max(held, Math.floor((until - occurred) / 86_400) + 1);
  }
  return Math.min(65_535, Math.max(days, held));
}
