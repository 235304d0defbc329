/**
 * How much CPU this process, and everything else on the machine, used over a
 * measured window: the way to tell a figure taken on a quiet machine from one
 * taken while other work ran. This process's time comes from
 * process.cpuUsage() (every thread: the main thread and the workers); the
 * machine's from /proc/stat (Linux; elsewhere `otherCores` is left out).
 * Both are in cores: 1.0 is one core busy for the whole window.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuShare {
  /** Cores this process kept busy, on average over the window. */
  selfCores: number;
  /** Cores everything else kept busy (Linux only). */
  otherCores?: number;
  /** Cores the machine has. */
  cores: number;
  /** Kafka benchmarks: the part of otherCores the broker used (when its pid is known). */
  brokerCores?: number;
}

interface Mark {
  at: number;
  self: NodeJS.CpuUsage;
  /** Busy and total jiffies over all cores, or null without /proc/stat. */
  machine: { busy: number; total: number } | null;
}

export function cpuMark(): Mark {
  return { at: performance.now(), self: process.cpuUsage(), machine: machineJiffies() };
}

export function cpuSince(start: Mark): CpuShare {
  const end = cpuMark();
  const wallUs = (end.at - start.at) * 1000;
  const d = process.cpuUsage(start.self);
  const selfCores = (d.user + d.system) / wallUs;
  const cores = availableParallelism();
  const out: CpuShare = { selfCores: round2(selfCores), cores };
  if (start.machine !== null && end.machine !== null && end.machine.total > start.machine.total) {
    const busyCores = ((end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total)) * cores;
    out.otherCores = round2(Math.max(0, busyCores - selfCores));
  }
  return out;
}

function machineJiffies(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3]! + f[4]!;
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
