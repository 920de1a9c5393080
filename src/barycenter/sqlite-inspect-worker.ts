import { parentPort, workerData } from 'node:worker_threads';
import { serveInspection } from './sqlite-inspect-server.js';

// An inspection worker of inspectSqlite(), started for it: workerData names the file.
const { file, cacheKiB } = workerData as { file: string; cacheKiB: number };
serveInspection(parentPort!, file, cacheKiB);
