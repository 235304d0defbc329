// Medians per configuration from run.sh's RESULT lines, and the ratios bench/README.md quotes.
import { readFileSync } from 'node:fs';

const runs = new Map();
for (const line of readFileSync(process.argv[2] ?? 'target/results.txt', 'utf8').split('\n')) {
  const m = /RESULT (\S+) sentences\/s=(\d+) cores=([\d.]+)/.exec(line);
  if (m === null) continue;
  if (!runs.has(m[1])) runs.set(m[1], []);
  runs.get(m[1]).push({ rate: Number(m[2]), cores: Number(m[3]) });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rate = new Map();
const perCore = new Map();
for (const [name, rs] of runs) {
  rate.set(name, median(rs.map((r) => r.rate)));
  perCore.set(name, median(rs.map((r) => r.rate / r.cores)));
  console.log(`${name.padEnd(40)} median ${String(Math.round(rate.get(name))).padStart(9)}/s  per CPU-second ${String(Math.round(perCore.get(name))).padStart(9)}  cores ${median(rs.map((r) => r.cores)).toFixed(2)}  runs ${rs.map((r) => r.rate).join(', ')}`);
}
const ratio = (a, b) => {
  if (!rate.has(a) || !rate.has(b)) return;
  console.log(`${a} / ${b} = ${(rate.get(a) / rate.get(b)).toFixed(3)} (per CPU-second ${(perCore.get(a) / perCore.get(b)).toFixed(3)})`);
};
const bare = 'bare-split';
ratio('flink-p1-noreuse', bare);
ratio('flink-p1-reuse', bare);
ratio('flink-p2-noreuse', 'flink-p1-noreuse');
ratio('flink-p2-reuse', 'flink-p1-reuse');
ratio('storm-acked-spouts1-ackers1-workers1', bare);
ratio('storm-unacked-spouts1-ackers0-workers1', bare);
