import { ServerResponse } from 'node:http';

/**
 * Loaded into a gateway process by a crash test (`node --import tsx --import this-file`):
 * right after the gateway has handed its Nth 201 to POST /api/agent/v1/enroll to the
 * socket (N from STOP_AFTER_ENROLLMENTS_ENV), the process stops itself with SIGSTOP, before
 * it runs anything else: no further event-loop turn, no group commit, no timer. The test
 * then kills it with SIGKILL. Whatever the store had not made durable when the gateway
 * answered is lost every time, not only when a kill sent on receipt happens to land before
 * the store catches up.
 */
export const STOP_AFTER_ENROLLMENTS_ENV = 'ENROLLGATE_TEST_STOP_AFTER_ENROLLMENTS';

const stopAfter = Number(process.env[STOP_AFTER_ENROLLMENTS_ENV]);
if (Number.isInteger(stopAfter) && stopAfter > 0) {
  let answered = 0;
  const end = ServerResponse.prototype.end;
  // end() writes the last of the response to the socket before it returns (http's OutgoingMessage uncorks at once).
  ServerResponse.prototype.end = function (this: ServerResponse, ...args: unknown[]) {
    const result = (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    if (this.req.method === 'POST' && this.req.url === '/api/agent/v1/enroll' && this.statusCode === 201 && ++answered === stopAfter) {
      process.kill(process.pid, 'SIGSTOP');
    }
    return result;
  } as typeof end;
}
