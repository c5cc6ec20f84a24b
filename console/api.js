// Talking to the API with the signed-in token. The token lives in sessionStorage only:
// never in a URL, a cookie or the page's address.
const KEY = 'audit-sidecar.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { authorization: `Bearer ${token.get()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (raw && response.ok) return response;
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The filter keys the events API takes, in the order the URL shows them. */
export const FILTER_KEYS = ['action', 'event_type', 'resource_type', 'actor', 'outcome', 'project_id', 'team_id', 'q', 'range', 'from', 'to'];

const RANGES = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

/** URL state -> the API's query parameters (a preset range becomes from). */
export function apiParams(filters, now = Date.now()) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (!value || key === 'range' || key === 'from' || key === 'to') continue;
    params.set(key, value);
  }
  const range = filters.range || '7d';
  if (range === 'custom') {
    if (filters.from) params.set('from', new Date(filters.from).toISOString());
    if (filters.to) params.set('to', new Date(filters.to).toISOString());
  } else if (RANGES[range]) {
    params.set('from', new Date(now - RANGES[range]).toISOString());
  }
  return params;
}
