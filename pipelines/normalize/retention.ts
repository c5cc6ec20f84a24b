export interface RetentionPolicy {
  defaultDays: number;
  tenants: Readonly<Record<string, number>>;
}

/** Days a tenant's rows live: its own setting, else the default. */
export function retentionDays(tenant: string, policy: RetentionPolicy): number {
  return Object.hasOwn(policy.tenants, tenant) ? policy.tenants[tenant]! : policy.defaultDays;
}
