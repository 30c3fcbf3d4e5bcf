import { Code } from '../packet.js';
import { respond, type Answer, type RadiusHandler, type RadiusRequest } from '../request.js';

/**
 * Status-Server (RFC 5997): "I am here", on either port: Access-Accept on the
 * authentication port, Accounting-Response on the accounting port. Never cached (§3).
 */
export class StatusHandler implements RadiusHandler {
  handle(r: RadiusRequest): Answer {
    return { bytes: respond(r, r.port === 'auth' ? Code.AccessAccept : Code.AccountingResponse), outcome: 'status' };
  }
}
