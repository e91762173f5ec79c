// One PouchDB node of carenode's sync benchmark (sync/bench, run by
// `carenode bench sync`). It speaks the same line protocol as the Go peer:
// one JSON command a line on stdin, one JSON reply a line on stdout.
//
//   node peer.js --role hub --dataset FILE   serves database "hub" over HTTP
//                                            (express-pouchdb) on a loopback
//                                            port, after loading FILE into it
//   node peer.js --role desk                 holds database "desk" and syncs
//                                            it with a URL it is given
//
// Both databases are in memory (pouchdb-adapter-memory), so disk speed plays
// no part on this side; carenode's nodes write to bbolt with fsync.
'use strict';

const readline = require('readline');
const crypto = require('crypto');
const PouchDB = require('pouchdb-node').plugin(require('pouchdb-adapter-memory'));
const MemPouch = PouchDB.defaults({ adapter: 'memory' });

function arg(name) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const role = arg('role');
const db = new MemPouch(role === 'hub' ? 'hub' : 'desk');
let requests = 0;

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function usage() {
  const u = process.resourceUsage(); // CPU times in microseconds, maxRSS in KiB
  return { cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKiB: u.maxRSS, requests };
}

// readDocs reads a newline-delimited JSON file of documents.
async function readDocs(file) {
  const fs = require('fs');
  const docs = [];
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() !== '') docs.push(JSON.parse(line));
  }
  return docs;
}

// load writes documents as an application would: a new document, or a new
// revision of the one held.
async function load(file) {
  const docs = await readDocs(file);
  for (let i = 0; i < docs.length; i += 500) {
    const chunk = docs.slice(i, i + 500);
    const held = await db.allDocs({ keys: chunk.map((d) => d._id) });
    held.rows.forEach((row, k) => {
      if (row.value && !row.value.deleted) chunk[k]._rev = row.value.rev;
    });
    const res = await db.bulkDocs(chunk);
    const bad = res.filter((r) => r.error);
    if (bad.length > 0) throw new Error(`load ${file}: ${bad.length} documents refused, first: ${JSON.stringify(bad[0])}`);
  }
  return { records: docs.length };
}

// state: the document count and a digest of every document's winning
// revision and conflicts, equal on two converged databases.
async function state() {
  const h = crypto.createHash('sha256');
  let n = 0;
  let startkey;
  for (;;) {
    const page = await db.allDocs(startkey === undefined ? { limit: 5000 } : { limit: 5001, startkey, skip: 1 });
    if (page.rows.length === 0) break;
    for (const row of page.rows) {
      h.update(row.id + '\0' + row.value.rev + '\n');
      n++;
    }
    startkey = page.rows[page.rows.length - 1].id;
    if (page.rows.length < 5000) break;
  }
  return { records: n, state: n + ':' + h.digest('hex') };
}

// sync replicates both ways with the remote database once, as
// PouchDB.sync does without live: push and pull at the same time.
async function sync(url) {
  let clientRequests = 0;
  const remote = new PouchDB(url, {
    fetch: (u, opts) => {
      clientRequests++;
      return PouchDB.fetch(u, opts);
    },
  });
  const start = process.hrtime.bigint();
  const res = await db.sync(remote);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const errs = [...(res.push.errors || []), ...(res.pull.errors || [])];
  if (errs.length > 0) throw new Error('sync: ' + JSON.stringify(errs[0]));
  const sent = res.push.docs_written;
  const received = res.pull.docs_written;
  return { wallMs, sent, received, idle: sent === 0 && received === 0, clientRequests };
}

async function serve() {
  const express = require('express');
  const app = express();
  app.use((req, res, next) => {
    requests++;
    next();
  });
  app.use('/', require('express-pouchdb')(MemPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: '/dev/null' }));
  return new Promise((resolve, reject) => {
    const srv = app.listen(0, '127.0.0.1', () => resolve(srv));
    srv.on('error', reject);
  });
}

async function main() {
  if (role !== 'hub' && role !== 'desk') throw new Error(`--role ${role}: want hub or desk`);
  let srv;
  if (role === 'hub') {
    const dataset = arg('dataset');
    if (dataset) await load(dataset);
    srv = await serve();
    reply({ addr: `127.0.0.1:${srv.address().port}` });
  } else {
    reply({ ready: true });
  }
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      reply({ err: `command ${line}: ${e.message}` });
      continue;
    }
    try {
      switch (cmd.op) {
        case 'usage':
          reply(usage());
          break;
        case 'state':
          reply(await state());
          break;
        case 'load':
          reply(await load(cmd.file));
          break;
        case 'sync':
          if (role !== 'desk') throw new Error('the hub does not sync; it serves');
          reply(await sync(cmd.url));
          break;
        case 'quit':
          reply({});
          if (srv) srv.close();
          process.exit(0);
          break;
        default:
          reply({ err: `unknown op ${cmd.op}` });
      }
    } catch (e) {
      reply({ err: String((e && e.stack) || e) });
    }
  }
  if (srv) srv.close();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
