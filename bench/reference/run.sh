#!/usr/bin/env bash
# Reference word counts on this machine: a plain Java loop, Apache Flink 1.20
# and Apache Storm 2.8, on squall's realistic corpus. Interleaved rounds (the
# order rotates each round), one JVM per run; RESULT lines go to
# target/results.txt, then summarize.mjs prints medians and ratios.
#
#   bash bench/reference/run.sh            # 3 rounds, 10 s warm-up + 20 s per run (about 15 min a round)
#   ROUNDS=1 WARM=5 MEAS=10 bash bench/reference/run.sh
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-3}
WARM=${WARM:-10}
MEAS=${MEAS:-20}
mkdir -p target
# The corpus the word-count benchmarks use (topologies/corpus.ts, makeCorpus() defaults), one sentence a line.
node --import tsx -e "import('../../topologies/corpus.ts').then((m) => require('node:fs').writeFileSync('target/corpus.txt', m.makeCorpus().join('\n')))"
mvn -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt
mvn -q compile
CP="target/classes:$(cat target/cp.txt)"
CONFIGS=(
  "refbench.Bare split $WARM $MEAS"
  "refbench.FlinkWc 1 noreuse $WARM $MEAS"
  "refbench.StormWc acked 1 1 $WARM $MEAS"
  "refbench.FlinkWc 2 noreuse $WARM $MEAS"
  "refbench.StormWc unacked 1 0 $WARM $MEAS"
  "refbench.FlinkWc 1 reuse $WARM $MEAS"
  "refbench.FlinkWc 2 reuse $WARM $MEAS"
)
N=${#CONFIGS[@]}
for r in $(seq 1 "$ROUNDS"); do
  for k in $(seq 0 $((N - 1))); do
    c="${CONFIGS[$(((k + (r - 1) * 3) % N))]}"
    # shellcheck disable=SC2086
    line=$(java -Xmx2g -cp "$CP" $c 2>>target/stderr.log | grep RESULT || echo "RESULT-MISSING $c")
    echo "round=$r $line" | tee -a target/results.txt
  done
done
node summarize.mjs target/results.txt
