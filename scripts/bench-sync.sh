#!/bin/sh
# Sync benchmark, carenode against PouchDB (issue 5, item 7): builds carenode,
# installs PouchDB from bench/pouchdb/package-lock.json into
# bench/pouchdb/node_modules (git-ignored), then runs `carenode bench sync`.
# Extra arguments go to it, e.g. --runs 5, --links loopback, --no-pouchdb.
# The dataset is generated once into .cache/bench-sync and reused; every
# sample is written to .cache/bench-sync/results.json. Takes about an hour
# with the defaults (PouchDB's initial sync and its clinic day at 32 kbit/s
# dominate). Not part of `make test`.
set -eu
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "bench-sync: node (Node.js 18 or later) is needed for the PouchDB side; or pass --no-pouchdb" >&2; exit 1; }
go build -o bin/carenode ./cmd/carenode
if [ ! -d bench/pouchdb/node_modules ] || [ bench/pouchdb/package-lock.json -nt bench/pouchdb/node_modules ]; then
	(cd bench/pouchdb && npm ci --no-audit --no-fund)
	touch bench/pouchdb/node_modules
fi
mkdir -p .cache/bench-sync
exec bin/carenode bench sync --work .cache/bench-sync --pouchdb bench/pouchdb \
	--json .cache/bench-sync/results.json "$@"
