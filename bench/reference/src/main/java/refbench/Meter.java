package refbench;

import java.nio.file.*;
import java.util.concurrent.atomic.LongAdder;

/** Shared harness: loads the corpus, measures a LongAdder over a window, reports rate and CPU cores used. */
public final class Meter {
  public static final LongAdder COUNT = new LongAdder();

  public static String[] loadCorpus() throws Exception {
    String p = System.getProperty("corpus", "target/corpus.txt");
    return new String(Files.readAllBytes(Paths.get(p)), "UTF-8").split("\n");
  }

  /** utime+stime of this process in clock ticks (100 Hz). */
  public static long cpuTicks() {
    try {
      String s = new String(Files.readAllBytes(Paths.get("/proc/self/stat")));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14,15 (1-based, after pid and comm)
    } catch (Exception e) { return -1; }
  }

  static String load() {
    try { return new String(Files.readAllBytes(Paths.get("/proc/loadavg"))).trim(); } catch (Exception e) { return "?"; }
  }

  /** Sleep warmupSec, then measure COUNT over measureSec; prints one RESULT line. */
  public static double measure(String label, double warmupSec, double measureSec) throws InterruptedException {
    Thread.sleep((long) (warmupSec * 1000));
    String l0 = load();
    long c0 = COUNT.sum(), t0 = System.nanoTime(), cpu0 = cpuTicks();
    Thread.sleep((long) (measureSec * 1000));
    long c1 = COUNT.sum(), t1 = System.nanoTime(), cpu1 = cpuTicks();
    double secs = (t1 - t0) / 1e9;
    double rate = (c1 - c0) / secs;
    double cores = (cpu1 - cpu0) / 100.0 / secs;
    System.out.printf("RESULT %s sentences/s=%.0f cores=%.2f window=%.1fs loadavg_before=[%s]%n", label, rate, cores, secs, l0);
    System.out.flush();
    return rate;
  }
}
