// A live service writing to a SQLite database, as a process of its own: `node sqlite-writer.js
// <db> <delete|wal>`. Each transaction moves amounts between 50 random rows of a ledger (the sum
// stays 0), rewrites their padding, counts itself in meta.n and in each row it touched, so that
// sum(touched) = 50 × meta.n in every consistent state and almost never in a mix of two.
// Prints "ready" once the ledger exists, "committed N" every 10 commits; on SIGTERM prints
// "done N errors E" and exits. Waits for locks like Barycenter's sqlx (5 s busy timeout).
import Database from 'better-sqlite3';

export const ROWS = 4000;
export const PER_TXN = 50;

const [dbPath, journal] = process.argv.slice(2);
if (process.argv[1]?.endsWith('sqlite-writer.js')) {
  const db = new Database(dbPath!);
  db.pragma('busy_timeout = 5000');
  db.pragma(`journal_mode = ${journal === 'wal' ? 'WAL' : 'DELETE'}`);
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, touched INTEGER NOT NULL, pad BLOB NOT NULL);
           CREATE TABLE IF NOT EXISTS meta (k INTEGER PRIMARY KEY, n INTEGER NOT NULL);
           INSERT OR IGNORE INTO meta VALUES (1, 0);`);
  if ((db.prepare('SELECT count(*) FROM ledger').pluck().get() as number) === 0) {
    const ins = db.prepare('INSERT INTO ledger VALUES (?, 0, 0, randomblob(8000))');
    db.transaction(() => {
      for (let i = 1; i <= ROWS; i++) ins.run(i);
    })();
  }
  const move = db.prepare(
    'UPDATE ledger SET amount = amount + ?, touched = touched + 1, pad = randomblob(8000) WHERE id = ?',
  );
  const count = db.prepare('UPDATE meta SET n = n + 1 WHERE k = 1');
  const txn = db.transaction(() => {
    for (let i = 0; i < PER_TXN; i += 2) {
      const a = 1 + Math.floor(Math.random() * ROWS);
      let b = 1 + Math.floor(Math.random() * ROWS);
      if (b === a) b = (a % ROWS) + 1;
      const x = 1 + Math.floor(Math.random() * 1000);
      move.run(x, a);
      move.run(-x, b);
    }
    count.run();
  });
  let n = 0;
  let errors = 0;
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  process.stdout.write('ready\n');
  const step = () => {
    if (stopping) {
      process.stdout.write(`done ${n} errors ${errors}\n`);
      db.close();
      return;
    }
    try {
      txn();
      n++;
      if (n % 10 === 0) process.stdout.write(`committed ${n}\n`);
    } catch (e) {
      errors++;
      process.stderr.write(`${(e as Error).message}\n`);
    }
    setImmediate(step); // lets SIGTERM in between transactions
  };
  step();
}
