/**
 * `[DEFAULT] disabled_notifications`: an event type (`image.create`) or a group (`image`,
 * `task`) turns events off. Glance compares each entry with the event type and with its group
 * (the part before the first dot); Iris also takes `image.*`-style patterns, and a group with
 * dots (`image.member`) as a prefix.
 */
export type NotificationFilter = (eventType: string) => boolean;

/** A predicate: true when `eventType` may be sent. */
export function notificationFilter(disabled: readonly string[]): NotificationFilter {
  if (disabled.length === 0) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const raw of disabled) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry === '*') return () => false;
    if (entry.endsWith('.*')) prefixes.push(entry.slice(0, -1));
    else {
      exact.add(entry);
      prefixes.push(`${entry}.`);
    }
  }
  const cache = new Map<string, boolean>();
  return (eventType) => {
    let allowed = cache.get(eventType);
    if (allowed === undefined) {
      allowed = !exact.has(eventType) && !prefixes.some((p) => eventType.startsWith(p));
      cache.set(eventType, allowed);
    }
    return allowed;
  };
}
