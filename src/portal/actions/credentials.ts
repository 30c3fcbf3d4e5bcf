import type { ClientFields } from '../../audit/events.js';
import type { Credentials } from '../../devices/enrollment-service.js';

/** Login form fields, bounded: nothing longer is a real username or password. */
export function credentials(body: unknown, client: ClientFields): Credentials | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  const username = typeof b.username === 'string' ? b.username.trim() : '';
  const password = typeof b.password === 'string' ? b.password : '';
  if (username === '' || password === '' || username.length > 256 || password.length > 1024) return undefined;
  return { username, password, ...(client.ip ? { from: client.ip } : {}), client };
}
