// Peer for bench_log: pino writing the same two shapes to /dev/null,
// synchronously (one write per line). Installed into this folder by
// scripts/bench (npm install pino), never committed.
import pino from 'pino';

const N = 200000;
const dest = pino.destination({ dest: '/dev/null', sync: true });
const log = pino({ base: null }, dest);
const fields = { int: 42, user: 'alice@example.com', ok: true, ratio: 0.25, path: '/api/v1/users/42',
                 bytes: 123456, method: 'GET', status: 200, request_id: '4bf92f3577b34da6', elapsed: 0.0015 };
function measure(fn) {
  for (let i = 0; i < 10000; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - t0) / N;
}
const ten = measure(() => log.info(fields, 'request served'));
const child = log.child(fields);
const one = measure(() => child.info({ attempt: 1 }, 'request served'));
console.log(`ten_fields ${ten.toFixed(1)}\nten_bound_plus_one ${one.toFixed(1)}`);
