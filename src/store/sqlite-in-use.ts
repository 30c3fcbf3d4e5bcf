import Database from 'better-sqlite3';

/**
 * Whether another process has the SQLite state file open: a running gateway, or an
 * `enrollgate devices …` command. In WAL mode (which every connection of
 * openSqliteStore uses) an open connection, even an idle one, keeps the file from
 * being locked exclusively, so an exclusive lock taken and released at once answers
 * the question. Creates nothing: the file must exist.
 */
export function sqliteFileInUse(file: string): boolean {
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return true;
    throw err;
  } finally {
    db.close();
  }
}
