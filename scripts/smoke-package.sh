#!/usr/bin/env bash
# Smoke test of squall as a user gets it: `npm pack` (which builds dist/),
# then a fresh project made by `npm init -y` and `squall init` (run from the
# tarball with npx), the tarball installed into it, and then:
#   - `squall run` the starter topology, on the main thread and on 2 threads
#     (worker threads run the built code), with `--ui 0` (the web view's
#     page, script, style and /metrics are served from the package), and
#     `--typecheck` on a module with a type error fails with E_TYPE_ERRORS;
#   - the generated test (`npm test`);
#   - plain `node` (no tsx) imports squall, squall/testing and squall/kafka
#     and prints a topology's describe;
#   - `tsc --noEmit` with the generated tsconfig.json, no error inside squall
#     with skipLibCheck off, and with the config a stock `tsc --init` writes.
# Prints each step; any failure stops it with a message and exit code 1.
#
#   bash scripts/smoke-package.sh     (npm run smoke:package)
#
# SQUALL_SMOKE_KEEP=1 keeps the temporary directory. npm installs prefer the
# local cache, but need the registry for what is not cached.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/squall-smoke.XXXXXX")
APP="$WORK/app"
NPM_FLAGS=(--no-audit --no-fund --prefer-offline --loglevel=error)
# Each run of squall gets its own control socket directory.
export SQUALL_RUN_DIR="$WORK/run"

cleanup() {
  local code=$?
  if [ -n "${SQUALL_SMOKE_KEEP:-}" ]; then echo "smoke: kept $WORK"; else rm -rf "$WORK"; fi
  if [ "$code" -ne 0 ]; then echo "smoke: FAILED (exit $code); rerun with SQUALL_SMOKE_KEEP=1 to look at $WORK" >&2; fi
}
trap cleanup EXIT

step() { printf '\n== smoke: %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

echo "smoke: node $(node --version), npm $(npm --version), in $WORK"

step "npm pack (its prepare script builds dist/)"
cd "$ROOT"
npm pack --pack-destination "$WORK" --loglevel=error >/dev/null
TARBALL=$(ls "$WORK"/squall-*.tgz)
[ -f "$TARBALL" ] || fail "npm pack made no tarball in $WORK"
LISTING=$(tar tzf "$TARBALL")
echo "$TARBALL: $(echo "$LISTING" | wc -l) files"
for f in package/package.json package/bin/squall.js package/README.md package/dist/index.js package/dist/index.d.ts \
  package/dist/testing/index.js package/dist/testing/index.d.ts package/dist/kafka/index.js package/dist/kafka/index.d.ts \
  package/dist/cli/main.js package/dist/runtime/worker/entry.mjs package/dist/runtime/worker/host-task.js \
  package/dist/ui/index.js package/dist/ui/assets.js; do
  echo "$LISTING" | grep -qx "$f" || fail "the tarball has no $f"
done
if echo "$LISTING" | grep -E '^package/(src|test|bench|scripts|topologies|\.ci)/|\.test\.|tsconfig' >/dev/null; then
  fail "the tarball ships files users do not need: $(echo "$LISTING" | grep -E '^package/(src|test|bench|scripts|topologies|\.ci)/|\.test\.|tsconfig' | head -5 | tr '\n' ' ')"
fi

step "a fresh project: npm init -y"
mkdir -p "$APP" "$SQUALL_RUN_DIR"
cd "$APP"
npm init -y >/dev/null
cp package.json "$WORK/npm-init-package.json"

step "npx squall init . (squall from the tarball)"
npm exec --yes "${NPM_FLAGS[@]}" --package="$TARBALL" -- squall init .
for f in package.json tsconfig.json topologies/hello.ts test/hello.test.ts README.md; do
  [ -f "$f" ] || fail "squall init wrote no $f"
done
# squall init refuses a directory with files of the user's in it.
if out=$(npm exec --yes "${NPM_FLAGS[@]}" --package="$TARBALL" -- squall init . 2>&1); then
  fail "a second squall init in the same directory succeeded"
fi
echo "$out" | grep -q E_DIR_NOT_EMPTY || fail "a second squall init did not fail with E_DIR_NOT_EMPTY: $out"
echo "a second squall init . refuses: $out"

step "npm install the tarball (and the project's dev dependencies)"
npm install "${NPM_FLAGS[@]}" "$TARBALL"
node --input-type=module -e "
import { readFileSync } from 'node:fs';
const before = JSON.parse(readFileSync('$WORK/npm-init-package.json', 'utf8'));
const after = JSON.parse(readFileSync('package.json', 'utf8'));
const written = new Set(['type', 'scripts', 'engines', 'dependencies', 'devDependencies']);
for (const [k, v] of Object.entries(before)) {
  if (!written.has(k) && JSON.stringify(after[k]) !== JSON.stringify(v)) throw new Error('package.json ' + k + ' changed: ' + JSON.stringify(v) + ' -> ' + JSON.stringify(after[k]));
}
if (after.type !== 'module') throw new Error('package.json type is ' + after.type);
console.log('package.json: npm init -y fields kept;', 'type', after.type + ', squall', after.dependencies.squall);
"

step "squall run topologies/hello.ts --duration 3"
npx squall run topologies/hello.ts --duration 3 --json > "$WORK/run.json"
node --input-type=module -e "
import { readFileSync } from 'node:fs';
const r = JSON.parse(readFileSync('$WORK/run.json', 'utf8'));
const s = r.spouts.names;
console.log('run report: spout names acked', s.acked, 'failed', s.failed, 'timed out', s.timedOut, 'errors', r.errors.length);
if (!(s.acked > 0)) throw new Error('no tree acked in 3 s');
if (s.failed > 0 || r.errors.length > 0) throw new Error('failures or errors: ' + JSON.stringify(r.errors));
" || fail "squall run gave no acked trees (report in $WORK/run.json)"

step "squall run topologies/hello.ts --ui 0: the web view's page, script, style and /metrics, from the package"
node --input-type=module -e "
import { spawn } from 'node:child_process';
const p = spawn('npx', ['squall', 'run', 'topologies/hello.ts', '--ui', '0', '--duration', '4'], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
const exited = new Promise((resolve) => p.on('exit', resolve));
const url = await new Promise((resolve, reject) => {
  p.stderr.setEncoding('utf8').on('data', (d) => {
    err += d;
    const m = /serving the web view at (http:\/\/\S+\/) /.exec(err);
    if (m) resolve(m[1]);
  });
  exited.then((code) => reject(new Error('squall exited ' + code + ' before serving the web view: ' + err)));
});
for (const [path, want] of [['', 'squall-token'], ['app.js', 'EventSource'], ['app.css', '.status'], ['metrics', 'squall_tuples_emitted_total']]) {
  const res = await fetch(url + path);
  const text = await res.text();
  if (res.status !== 200 || !text.includes(want)) throw new Error(url + path + ': status ' + res.status + ', no ' + want);
}
console.log('web view at ' + url + ': page, script, style and /metrics served');
const code = await exited;
if (code !== 0) throw new Error('squall run --ui exited ' + code + ': ' + err);
" || fail "squall run --ui did not serve the web view from the package"

step "squall run topologies/hello.ts --threads 2 --duration 2 (worker threads on the built code)"
npx squall run topologies/hello.ts --threads 2 --duration 2 --set names=20000 > "$WORK/run-threads.txt" 2>&1 \
  || { cat "$WORK/run-threads.txt"; fail "squall run --threads 2 failed"; }
tail -n 3 "$WORK/run-threads.txt"
grep -q 'no errors reported' "$WORK/run-threads.txt" || { cat "$WORK/run-threads.txt"; fail "squall run --threads 2 reported errors"; }

step "squall run --typecheck: passes on the starter, fails on a type error"
npx squall run topologies/hello.ts --typecheck --set names=100 --json > /dev/null
sed 's/const n = Number(/const n: string = Number(/' topologies/hello.ts > topologies/broken.ts
if out=$(npx squall run topologies/broken.ts --typecheck --duration 1 2>&1); then fail "squall run --typecheck ran a module with a type error"; fi
echo "$out" | grep -q E_TYPE_ERRORS || fail "squall run --typecheck did not fail with E_TYPE_ERRORS: $out"
echo "$out" | head -n 2
rm topologies/broken.ts

step "npm test (the generated test)"
npm test

step "plain node (no tsx) imports squall and prints a topology's describe"
node --input-type=module -e "
import { BasicBolt, TopologyBuilder, describeTopology, formatDescription } from 'squall';
import { completeTopology } from 'squall/testing';
import { KafkaSpout } from 'squall/kafka';
class Names { declareOutputFields(d) { d.declare(['name']); } open(context, collector) { this.collector = collector; } nextTuple() {} }
class Greet extends BasicBolt {
  declareOutputFields(d) { d.declare(['greeting']); }
  execute(input, out) { out.emit(['hello, ' + input.getString('name')]); }
}
const b = new TopologyBuilder('plain-node');
b.setSpout('names', () => new Names());
b.setBolt('greet', () => new Greet(), { parallelism: 2 }).shuffleGrouping('names');
const topology = b.build();
process.stdout.write(formatDescription(describeTopology(topology)));
const r = await completeTopology(topology, { mockedSources: { names: [['ada']] } });
if (JSON.stringify(r.emitted('greet')) !== JSON.stringify([['hello, ada']])) throw new Error('completeTopology gave ' + JSON.stringify(r.emitted('greet')));
if (typeof KafkaSpout !== 'function') throw new Error('squall/kafka has no KafkaSpout');
console.log('plain node: squall, squall/testing and squall/kafka load; completeTopology ran');
"

step "tsc --noEmit (the generated tsconfig.json)"
npx tsc --noEmit
echo "no type errors"

step "tsc --noEmit --skipLibCheck false: no error inside squall's declarations"
inside=$(npx tsc --noEmit --skipLibCheck false 2>&1 | grep 'node_modules/squall/' || true)
[ -z "$inside" ] || fail "type errors inside squall's .d.ts files:
$inside"
echo "none"

step "tsc --noEmit with the config of a stock tsc --init"
mkdir -p "$WORK/stock" && cd "$WORK/stock"
"$APP/node_modules/.bin/tsc" --init > /dev/null
printf '{ "type": "module" }\n' > package.json
cat > index.ts <<'EOF'
import { submit, TopologyBuilder, type Topology } from 'squall';
import { completeTopology } from 'squall/testing';
import { KafkaSpout } from 'squall/kafka';
export const uses: unknown[] = [submit, TopologyBuilder, completeTopology, KafkaSpout];
export type T = Topology;
EOF
ln -s "$APP/node_modules" node_modules
"$APP/node_modules/.bin/tsc" --noEmit -p .
echo "no type errors"

printf '\nsmoke: the package works from a fresh project: passed\n'
