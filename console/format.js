// How times and values are shown.
export function showTime(iso, local) {
  if (!iso) return '';
  if (!local) return iso.replace('T', ' ').replace(/\.(\d{3})\d*Z$/, '.$1 UTC');
  const d = new Date(iso);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export const showValue = (value) => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));

export const actorLabel = (e) => e.actor_email || e.actor_name || e.actor_id || '—';

export const resourceLabel = (e) => [e.resource_type, e.resource_name || e.resource_id].filter(Boolean).join(' · ') || '—';
