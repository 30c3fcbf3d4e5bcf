/** The variable `store migrate` reads a Redis URL from: unlike --redis-url, it keeps the password out of ps and shell history. */
export const MIGRATION_REDIS_URL_VARIABLE = 'ENROLLGATE_REDIS_URL';
